#!/usr/bin/env bash
# Syscalls per transaction of the proxy under `pgbench -S`, for each SLUICE_TRANSPORT given: starts the Release build
# against the bench cluster (bench.py's, 127.0.0.1:55432, database bench, user postgres; start it first), attaches
# `strace -c -f` for one pgbench run, and divides each syscall's count by the transactions pgbench reports.
#
#   bench/syscalls.sh socket epoll                 # 10 clients, 10 s each
#   CLIENTS=100 DURATION=5 bench/syscalls.sh epoll
#
# strace slows the proxy several-fold: read the counts per transaction, not the throughput.
set -euo pipefail

CLIENTS=${CLIENTS:-10}
SECONDS_PER_RUN=${DURATION:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z ${SLUICE_DLL:-} ]]; then
    dotnet build -c Release "$root/src/Proxy" >/dev/null
    SLUICE_DLL=$root/src/Proxy/bin/Release/net10.0/sluice.dll
fi

work=$(mktemp -d)
proxy_pid=
cleanup() {
    [[ -n $proxy_pid ]] && kill "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
cat >"$work/proxy.toml" <<TOML
[server]
listen = ["127.0.0.1:$port"]
http_listen = "127.0.0.1:$((port + 1))"

[pool]
mode = "transaction"
size = 20

[routing]
read_write_split = false

[[users]]
name = "postgres"
auth = "trust"

[[databases]]
name = "bench"
servers = [ { host = "127.0.0.1", port = 55432, role = "primary" } ]
TOML

for transport in "$@"; do
    SLUICE_TRANSPORT=$transport dotnet "$SLUICE_DLL" --config "$work/proxy.toml" >"$work/$transport.log" 2>&1 &
    proxy_pid=$!
    for _ in $(seq 100); do
        psql -h 127.0.0.1 -p "$port" -U postgres -d bench -Atc 'select 1' >/dev/null 2>&1 && break
        sleep 0.2
    done
    # Warm up (JIT, pool), then count over one run.
    pgbench -h 127.0.0.1 -p "$port" -U postgres -S -c "$CLIENTS" -j 2 -T 3 bench >/dev/null 2>&1
    strace -c -f -p "$proxy_pid" -o "$work/$transport.strace" &
    strace_pid=$!
    sleep 1
    txns=$(pgbench -h 127.0.0.1 -p "$port" -U postgres -S -c "$CLIENTS" -j 2 -T "$SECONDS_PER_RUN" bench 2>/dev/null |
        awk '/number of transactions actually processed/ { split($0, a, ": "); split(a[2], b, "/"); print b[1] }')
    kill -INT "$strace_pid"
    wait "$strace_pid" 2>/dev/null || true
    echo "== SLUICE_TRANSPORT=$transport: $txns transactions, $CLIENTS clients, syscalls per transaction"
    awk -v t="$txns" '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ && $NF != "total" { printf "  %-16s %8.2f\n", $NF, $4 / t; sum += $4 }
        END { printf "  %-16s %8.2f\n", "all", sum / t }' "$work/$transport.strace" | sort -k2 -nr | head -12
    kill "$proxy_pid"
    wait "$proxy_pid" 2>/dev/null || true
    proxy_pid=
done
