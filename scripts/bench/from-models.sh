#!/usr/bin/env bash
# Benchmark: `pgmend snapshot take --from-models` on a model set of BENCH_MODELS tables, scratch
# database included, against the application doing the same work itself in the same run.
#
#   candidate  pgmend snapshot take --from-models bench_models:Base: creates a scratch database
#              on the server of --db, runs the application's Python (create_all), reads the
#              catalog back, drops the scratch database. Target: under 10 s for 200 tables.
#   baseline   what the application's own tooling spends on the same schema: CREATE DATABASE
#              (template0), the same Python importing the same models and running create_all,
#              pg_dump --schema-only of the result, DROP DATABASE.
#
# The models: BENCH_MODELS declarative classes of 10 columns each (integer key, UUID, generic
# String and DateTime, Numeric, JSONB, Boolean, an enum-like String(20) with a check), a unique
# constraint, two indexes and a foreign key to the class before. Pairs run alternately after
# one untimed warm-up of each; the report gives medians, the median of the pairs' ratios and
# their spread.
#
#   BENCH_MODELS  tables in the model set (default 200)
#   BENCH_ROUNDS  timed pairs (default 5)
#   BENCH_PORT    port of the throwaway cluster; names its socket only (default 54343)
#   PGMEND_BIN    a pgmend binary to time instead of building the release one
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

models=${BENCH_MODELS:-200}
rounds=${BENCH_ROUNDS:-5}
port=${BENCH_PORT:-54343}

source "$root/scripts/bench/lib/common.sh"

python=""
write_models() { # FILE
  "$python" - "$models" >"$1" <<'PY'
import sys
n = int(sys.argv[1])
print("import uuid")
print("from sqlalchemy import (Boolean, CheckConstraint, Column, DateTime, ForeignKey, Index, Integer,")
print("                        Numeric, String, UniqueConstraint)")
print("from sqlalchemy.dialects.postgresql import JSONB, UUID")
print("from sqlalchemy.orm import declarative_base")
print("Base = declarative_base()")
for i in range(n):
    parent = f'ForeignKey("t{i-1:04d}.id", ondelete="CASCADE"), ' if i else ""
    print(f'''
class T{i:04d}(Base):
    __tablename__ = "t{i:04d}"
    __table_args__ = (UniqueConstraint("public_id", "name"), Index("ix_t{i:04d}_created", "created_at"),
                      CheckConstraint("status IN ('new', 'done')", name="t{i:04d}_status_check"))
    id = Column(Integer, primary_key=True)
    public_id = Column(UUID(as_uuid=True), nullable=False, default=uuid.uuid4)
    parent_id = Column(Integer, {parent}index=True)
    name = Column(String, nullable=False)
    created_at = Column(DateTime, nullable=False)
    amount = Column(Numeric(12, 2))
    payload = Column(JSONB)
    active = Column(Boolean, default=True)
    status = Column(String(20), nullable=False)
    note = Column(String(200))''')
PY
}

baseline() {
  sql postgres -c "CREATE DATABASE bench_app TEMPLATE template0 ENCODING 'UTF8'"
  PYTHONPATH="$work/app" "$python" -c '
import sys
from sqlalchemy import create_engine, pool
from bench_models import Base
Base.metadata.create_all(create_engine(sys.argv[1], poolclass=pool.NullPool))' \
    "postgresql+psycopg2://postgres@/bench_app?host=$work&port=$port"
  "$pg_dump" --schema-only -d "$(conninfo bench_app)" -f "$work/app-schema.sql"
  sql postgres -c "DROP DATABASE bench_app"
}
candidate() {
  "$pgmend" snapshot take --from-models bench_models:Base --path "$work/app" --python "$python" \
    --db "$(conninfo postgres)" -o "$work/models.json"
}

main() {
  require_count BENCH_MODELS "$models"
  require_count BENCH_ROUNDS "$rounds"
  require_count BENCH_PORT "$port"
  make_work
  find_pgmend snapshot take
  "$root/scripts/python-venv.sh"
  python="$root/.build/venv/bin/python"
  start_cluster
  print_machine
  mkdir -p "$work/app"
  write_models "$work/app/bench_models.py"

  local round b c
  local -a base_ns=() cand_ns=() ratios=()
  timed "the application's create_all (warm-up)" baseline
  timed "snapshot take --from-models (warm-up)" candidate
  local tables
  tables=$(grep -c '"name": "t[0-9]*"' "$work/models.json" || true)
  (( tables == models )) || die "the snapshot holds $tables tables, not $models"
  for (( round = 1; round <= rounds; round++ )); do
    timed "the application's create_all" baseline; b=$elapsed; base_ns+=("$b")
    timed "snapshot take --from-models" candidate; c=$elapsed; cand_ns+=("$c")
    ratios+=("$(( (c * 100 + b / 2) / b ))")
  done
  local base cand ratio low high verdict=PASS
  base=$(median "${base_ns[@]}")
  cand=$(median "${cand_ns[@]}")
  ratio=$(median "${ratios[@]}")
  low=$(printf '%s\n' "${ratios[@]}" | sort -n | head -1)
  high=$(printf '%s\n' "${ratios[@]}" | sort -n | tail -1)
  (( cand <= 10 * 1000000000 )) || verdict=MISS
  echo "bench from-models: snapshot take --from-models ($models tables) $(seconds "$cand") s," \
       "the application's createdb + create_all + pg_dump --schema-only + dropdb $(seconds "$base") s" \
       "(medians of $rounds pairs), ratio $(hundredths "$ratio") (pairs $(hundredths "$low")-$(hundredths "$high"));" \
       "target < 10 s $verdict"
}

main "$@"
