#!/usr/bin/env bash
# Installs what pgmend needs to build and test, when it is missing: libpq (client library and
# headers), libyaml, zlib and libdeflate (archives), pkg-config, and the PostgreSQL server that
# tests and the demo start.
# Run as root it installs with apt-get; otherwise it says what to install and fails.
set -euo pipefail

packages=(libpq-dev libyaml-dev zlib1g-dev libdeflate-dev pkg-config postgresql postgresql-client)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "install-deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # The postgresql package would start a system cluster; pgmend starts its own instead.
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run 'sudo apt-get install -y ${missing[*]}' (or make as root)" >&2
    exit 1
  fi
fi

if ! command -v swift >/dev/null 2>&1; then
  echo "install-deps: no 'swift' on PATH; pgmend needs Swift 6.0 or later" >&2
  exit 1
fi
