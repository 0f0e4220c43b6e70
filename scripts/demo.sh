#!/usr/bin/env bash
# make demo: a throwaway PostgreSQL under .pgmend/ (unless PGMEND_DEMO_DB names a database),
# the drifted demo database loaded into it, then one story an operator can follow: what drifted,
# and each plan as a dry run, for real, verified against its committed expected snapshot
# (Snapshots/<plan>.expected.json), and run again to show it has nothing left to do. Every
# command is echoed as it can be pasted, after the exports the demo echoes first.
#
#   scripts/demo.sh            start (or reuse) the cluster, reload the demo database, run pgmend
#   scripts/demo.sh stop       stop the cluster, delete .pgmend/ and what the demo wrote
#                              (Snapshots/demo/, generated/)
#
# PGMEND_DEMO_DB   conninfo of an existing, empty database to use instead of the local cluster
# PGMEND_DEMO_USERS size of the demo database in users (default 1000)
# PGMEND_BIN       the pgmend binary (default: the debug build's)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
state="$root/.pgmend"
data="$state/data"
port=54329              # names the socket file only: the cluster listens on no TCP address
database=pgmend_demo
users=${PGMEND_DEMO_USERS:-1000}

as_server_user() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop_cluster() {
  if [[ -f "$data/postmaster.pid" ]]; then
    as_server_user "$("$root/scripts/pg-bindir.sh")/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    echo "demo: stopped the cluster in $state"
  fi
  rm -rf "$state" Snapshots/demo generated
  echo "demo: removed .pgmend/, Snapshots/demo/ and generated/"
}

start_cluster() {
  local bindir
  bindir=$("$root/scripts/pg-bindir.sh")
  mkdir -p "$state"
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres "$state"
    if ! runuser -u postgres -- test -w "$state"; then
      echo "demo: user postgres cannot write $state (a parent directory is closed to it)." >&2
      echo "demo: clone pgmend somewhere postgres can reach, or set PGMEND_DEMO_DB." >&2
      exit 4
    fi
  fi
  if [[ ! -f "$data/PG_VERSION" ]]; then
    echo "demo: creating a throwaway cluster in $data"
    as_server_user "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
      --no-instructions >"$state/initdb.log" 2>&1 || { cat "$state/initdb.log" >&2; exit 4; }
  fi
  if ! as_server_user "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_server_user "$bindir/pg_ctl" -D "$data" -l "$state/server.log" -w -t 60 \
      -o "-p $port -k $state -c listen_addresses=''" start >/dev/null \
      || { tail -20 "$state/server.log" >&2; exit 4; }
    echo "demo: PostgreSQL started (socket in $state, port $port)"
  fi
}

if [[ "${1:-}" == stop ]]; then stop_cluster; exit 0; fi

pgmend="${PGMEND_BIN:-$(swift build --show-bin-path)/pgmend}"
[[ -x "$pgmend" ]] || { echo "demo: $pgmend is not built; run make demo" >&2; exit 1; }

if [[ -n "${PGMEND_DEMO_DB:-}" ]]; then
  conninfo=$PGMEND_DEMO_DB
  tables=$(psql "$conninfo" -XAtqc "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                                     WHERE c.relkind IN ('r','p','v','m') AND n.nspname NOT IN ('pg_catalog','information_schema')
                                       AND n.nspname NOT LIKE 'pg\_%'")
  if [[ "$tables" != 0 ]]; then
    echo "demo: PGMEND_DEMO_DB has $tables tables; the demo loads only into an empty database" >&2
    exit 2
  fi
else
  start_cluster
  admin="host=$state port=$port user=postgres dbname=postgres"
  PGOPTIONS="-c client_min_messages=warning" psql "$admin" -XAtqc "DROP DATABASE IF EXISTS $database WITH (FORCE)" -c "CREATE DATABASE $database"
  conninfo="host=$state port=$port user=postgres dbname=$database"
fi

echo "demo: loading the drifted demo database ($users users)"
start=$(date +%s%N)
psql "$conninfo" -Xq -v ON_ERROR_STOP=1 -v users="$users" -f Plans/demo/drifted.sql >/dev/null
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "demo: loaded in ${elapsed_ms} ms"

# What the demo writes, all of it removed by `make demo-stop`: run snapshots, archives, the
# schema documents and the drift reports it writes, and (the models plan) generated/.
rm -rf Snapshots/demo generated
mkdir -p Snapshots/demo
export PATH="$(dirname "$pgmend"):$PATH" PGMEND_DB="$conninfo"
export PGMEND_SNAPSHOTS=Snapshots/demo/runs PGMEND_ARCHIVES=Snapshots/demo/archive

# `$ command`, wrapped at 100 columns with backslashes so it can be pasted as it stands.
say() {
  local line="\$" word
  for word in "$@"; do
    if (( ${#line} + 1 + ${#word} > 97 )); then echo "$line \\"; line="   "; fi
    line+=" $word"
  done
  echo "$line"
}
# Echoes the command (as `say` does) and runs it.
run() {
  say "$@"
  "$@"
}
chapter() { echo; echo "== $*" | fold -s -w 100; }

chapter "The database, and what drifted from the application's models, migrations and docs"
say export PATH="\"$(dirname "$pgmend"):\$PATH\""
say export PGMEND_DB="\"$conninfo\""
say export PGMEND_SNAPSHOTS=Snapshots/demo/runs PGMEND_ARCHIVES=Snapshots/demo/archive
run pgmend ping
# The demo application (Plans/demo/app): its models, its Alembic history and its schema
# document, against the database; drift exits 1 when a source differs, which is the point here.
app=Plans/demo/app
drift() { # OUTPUT DOCUMENT
  say pgmend drift --models app.models:Base --path $app --python .build/venv/bin/python \
    --migrations $app/alembic.ini --docs "$2" ">" "$1"
  local status=0
  pgmend drift --models app.models:Base --path $app --python .build/venv/bin/python \
    --migrations $app/alembic.ini --docs "$2" >"$1" || status=$?
  (( status <= 1 )) || { echo "demo: drift failed (exit $status)" >&2; exit "$status"; }
  say tail -1 "$1"
  tail -1 "$1"
}
drift Snapshots/demo/drift-before.txt Plans/demo/DATABASE_SCHEMA.md

# Each plan: a short dry run (--dry-run alone adds each step's SQL), the run, verify against
# the plan's committed expected snapshot, and a second run that must find nothing to do.
# types comes before indexes-and-keys: a foreign key needs both sides of one type.
plans=(schema-cleanup metadata-columns types indexes-and-keys claude-code-models)
for plan in "${plans[@]}"; do
  chapter "$plan: $(sed -n 's/^description: //p' "Plans/$plan.yaml")"
  run pgmend run "$plan" --dry-run --brief
  echo
  run pgmend run "$plan" --yes
  echo
  run pgmend verify "Snapshots/$plan.expected.json"
  say pgmend run "$plan" --yes "|" tail -1
  again=$(pgmend run "$plan" --yes | tail -1)
  echo "$again"
  [[ "$again" == "nothing to do: every step is satisfied (0 statements executed)" ]] \
    || { echo "demo: $plan did something on its second run" >&2; exit 1; }
done

chapter "After the plans: what still differs is inside tables both sides have (docs/drift.md)"
run pgmend docs -o Snapshots/demo/DATABASE_SCHEMA-after.md
drift Snapshots/demo/drift-after.txt Snapshots/demo/DATABASE_SCHEMA-after.md

cat <<MSG

demo: snapshots, drift reports, schema docs: Snapshots/demo/
demo: archives of the dropped tables:        pgmend archive list
demo: models and migration generated:        generated/
demo: what ran, journaled in the database:   psql "\$PGMEND_DB" -c 'TABLE pgmend.statements'
demo: remove it all:                         make demo-stop
MSG
