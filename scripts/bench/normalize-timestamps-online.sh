#!/usr/bin/env bash
# Benchmark: normalize_timestamps, method online, against the same hand-written ALTERs as
# normalize-timestamps.sh (which documents both; this runs it with BENCH_METHOD=online).
set -euo pipefail
BENCH_PORT=${BENCH_PORT:-54348} BENCH_METHOD=online exec "$(dirname "$0")/normalize-timestamps.sh" "$@"
