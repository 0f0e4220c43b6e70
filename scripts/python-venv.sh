#!/usr/bin/env bash
# Creates .build/venv, the Python that the generate_models tests run SQLAlchemy and Alembic in
# (compare_metadata against the live database, an Alembic upgrade of the generated migration),
# when it is missing or lacks one of its packages. Pinned to versions the generated code is
# written for: SQLAlchemy 2.1 (Mapped[...], mapped_column; it reflects domain columns as DOMAIN,
# which 2.0 reflects as their base type, so compare_metadata could not check them) and Alembic 1.
# Prints nothing when the venv is already complete, so `make test` stays quiet.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.build/venv
requirements=("sqlalchemy>=2.1,<3" "alembic>=1.13,<2" "psycopg2-binary>=2.9,<3")

complete() {
  [[ -x $venv/bin/python ]] && "$venv/bin/python" -c '
import sqlalchemy, alembic, psycopg2
assert tuple(int(part) for part in sqlalchemy.__version__.split(".")[:2]) >= (2, 1)' 2>/dev/null
}

complete && exit 0

python=${PYTHON:-$(command -v python3 || true)}
if [[ -z $python ]]; then
  echo "python-venv: no python3 on PATH; install it (apt-get install -y python3 python3-venv)" >&2
  exit 1
fi
if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "python-venv: installing python3-venv" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
  else
    echo "python-venv: $python cannot create a virtualenv; install python3-venv" >&2
    exit 1
  fi
fi

echo "python-venv: creating $venv with ${requirements[*]}" >&2
mkdir -p .build
"$python" -m venv --clear "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}"
complete || { echo "python-venv: $venv still cannot import sqlalchemy, alembic, psycopg2" >&2; exit 1; }
