#!/usr/bin/env bash
# Prints the directory holding initdb and pg_ctl: $PGMEND_PG_BINDIR, the newest
# /usr/lib/postgresql/*/bin (Debian keeps server programs off PATH), pg_config --bindir, PATH.
# The Swift test harness (MendTestSupport/ThrowawayCluster.swift) searches in the same order.
set -euo pipefail
has_server() { [[ -x "$1/initdb" && -x "$1/pg_ctl" ]]; }
if [[ -n "${PGMEND_PG_BINDIR:-}" ]]; then
  has_server "$PGMEND_PG_BINDIR" && { echo "$PGMEND_PG_BINDIR"; exit 0; }
  echo "PGMEND_PG_BINDIR=$PGMEND_PG_BINDIR has no initdb and pg_ctl" >&2; exit 1
fi
for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -rn) \
           "$(pg_config --bindir 2>/dev/null || true)" $(tr ':' ' ' <<<"$PATH"); do
  has_server "$dir" && { echo "$dir"; exit 0; }
done
echo "no PostgreSQL server programs (initdb, pg_ctl) found: apt-get install -y postgresql" >&2
exit 1
