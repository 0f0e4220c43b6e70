#!/usr/bin/env bash
# make demo: a throwaway PostgreSQL under .pgmend/ (unless PGMEND_DEMO_DB names a database),
# the drifted demo database loaded into it, pgmend run against it, and the result verified
# against the run's post-snapshot and the committed Snapshots/schema-cleanup.expected.json.
#
#   scripts/demo.sh            start (or reuse) the cluster, reload the demo database, run pgmend
#   scripts/demo.sh stop       stop the cluster and delete .pgmend/
#
# PGMEND_DEMO_DB   conninfo of an existing, empty database to use instead of the local cluster
# PGMEND_DEMO_USERS size of the demo database in users (default 1000)
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
  rm -rf "$state"
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

pgmend="$(swift build --show-bin-path)/pgmend"
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

run() {
  echo
  echo "\$ pgmend $*"
  "$pgmend" "$@"
}
# The demo application's models and Alembic history (Plans/demo/app), its schema document, and
# the database, compared; drift exits 1 when a source differs, which here is the point.
app=Plans/demo/app
drift() { # DOCUMENT
  echo
  echo "\$ pgmend drift --db ... --models app.models:Base --path $app --migrations $app/alembic.ini --docs $1"
  local status=0
  "$pgmend" drift --db "$conninfo" --models app.models:Base --path "$app" --python "$root/.build/venv/bin/python" \
    --migrations "$app/alembic.ini" --docs "$1" || status=$?
  (( status <= 1 )) || { echo "demo: drift failed (exit $status)" >&2; exit "$status"; }
}
run ping --db "$conninfo"
drift Plans/demo/DATABASE_SCHEMA.md
run docs --db "$conninfo" -o Snapshots/runs/demo-DATABASE_SCHEMA-before.md
run run schema-cleanup --db "$conninfo" --dry-run
run run schema-cleanup --db "$conninfo" --yes --snapshots Snapshots/runs/demo
post=$(ls -t Snapshots/runs/demo/*-post.json | head -1)
run verify "$post" --db "$conninfo"
# The committed expected schema: what the plan must leave on any copy of the demo database.
run verify Snapshots/schema-cleanup.expected.json --db "$conninfo"
run run schema-cleanup --db "$conninfo" --yes --snapshots Snapshots/runs/demo

# The other plans for this database, each as a dry run, for real, then once more (it must find
# nothing to do): the phone fields of users.metadata to columns, UUID and timestamp types, the
# duplicate indexes and the cascades the models declare, and models for the claude_code_*
# tables. types comes before indexes-and-keys: a foreign key needs both sides of one type.
for plan in metadata-columns types indexes-and-keys claude-code-models; do
  [[ -f "Plans/$plan.yaml" ]] || continue
  run run "$plan" --db "$conninfo" --dry-run
  run run "$plan" --db "$conninfo" --yes --snapshots Snapshots/runs/demo
  again=$("$pgmend" run "$plan" --db "$conninfo" --yes --snapshots Snapshots/runs/demo --format json)
  if grep -Eq '"statements_executed" *: *0[,}]?$' <<<"$again"; then
    echo "demo: $plan again: nothing to do"
  else
    echo "demo: $plan did something on its second run:" >&2; echo "$again" >&2; exit 1
  fi
done
run docs --db "$conninfo" -o Snapshots/runs/demo-DATABASE_SCHEMA-after.md
# After the plans: the tables the review found missing or misnamed are there; what still differs
# is inside tables both have (docs/drift.md), and the rewritten document agrees.
drift Snapshots/runs/demo-DATABASE_SCHEMA-after.md

cat <<MSG

demo: the schema document the team kept (stale):  Plans/demo/DATABASE_SCHEMA.md
demo: the database before and after the repair:   Snapshots/runs/demo-DATABASE_SCHEMA-{before,after}.md
demo: what ran is journaled in schema pgmend:     psql "$conninfo" -c 'TABLE pgmend.statements'
demo: the other plans it ran: Plans/metadata-columns.yaml, types.yaml, indexes-and-keys.yaml, claude-code-models.yaml
demo: the generated models and migration:       generated/ (Plans/claude-code-models.yaml)
demo: explore it:  psql "$conninfo"
demo: stop it:     make demo-stop
MSG
