#!/usr/bin/env bash
# What metrics cost per transaction through the real proxy: the pooler harness bench.py (path in BENCH_PY) runs
# pgbench against three Release builds of Sluice side by side, taking turns each round:
#
#   before     BEFORE_REF (default main): the metrics as they were before this checkout's HEAD
#   metrics    this checkout's HEAD: the metrics as they are now
#   nometrics  HEAD built with -p:SluiceMetricsOff=true: every recording call of SluiceMetrics returns at once
#
#   BENCH_PY=/path/to/bench.py bench/metrics-cost.sh                       # select-simple-c10, 3 rounds
#   BENCH_PY=/path/to/bench.py bench/metrics-cost.sh --scenario tpcb-c20 --rounds 5
#
# Arguments are passed to bench.py (default: --scenario select-simple-c10 --rounds 3). Each build is made from
# `git archive` of its ref in a temp folder (uncommitted changes are not measured), which is removed on exit.
# Read the CPU µs/txn row: bench.py measures the proxy process's CPU time over each run, divided by transactions.
set -euo pipefail

: "${BENCH_PY:?set BENCH_PY to the path of bench.py}"
BEFORE_REF=${BEFORE_REF:-main}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d /tmp/sluice-metrics-cost.XXXXXX)
trap 'rm -rf "$work"' EXIT

build() {
    local name=$1 ref=$2
    shift 2
    mkdir -p "$work/$name/src"
    git -C "$repo" archive "$ref" | tar -x -C "$work/$name/src"
    echo "metrics-cost: building $name from $ref ($(git -C "$repo" rev-parse --short "$ref")) $*" >&2
    dotnet build "$work/$name/src/src/Proxy" -c Release -o "$work/$name/out" -nologo -v quiet "$@" >&2
}

build before "$BEFORE_REF"
build metrics HEAD
build nometrics HEAD -p:SluiceMetricsOff=true

if [ $# -eq 0 ]; then
    set -- --scenario select-simple-c10 --rounds 3
fi

python3 "$BENCH_PY" \
    --target "before=sluice:$work/before/out/sluice.dll" \
    --target "metrics=sluice:$work/metrics/out/sluice.dll" \
    --target "nometrics=sluice:$work/nometrics/out/sluice.dll" \
    "$@"
