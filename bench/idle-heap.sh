#!/usr/bin/env bash
# What an idle client costs Sluice, counted exactly: the live managed heap (dotnet-gcdump, which collects first)
# before and after N raw clients log in and stay idle, per client, next to the RSS growth (which also holds garbage
# not yet collected, so it moves from run to run). One line per build, builds interleaved ROUNDS times.
#
#   bench/idle-heap.sh PORT DLL [DLL...]        # PORT: a PostgreSQL primary on 127.0.0.1 with trust for `postgres`
#   CLIENTS=5000 ROUNDS=2 bench/idle-heap.sh 55432 /tmp/before/sluice.dll src/Proxy/bin/Release/net10.0/sluice.dll
#   KEEP_DUMP=/tmp/dumps bench/idle-heap.sh 55432 DLL     # also keeps a heap dump per build, named after its folder
#
# Needs dotnet-gcdump (`dotnet tool install -g dotnet-gcdump`), python3, psql and pgbench; the database `bench`
# (pgbench -i) on that server. Sluice listens on 127.0.0.1:6601 (SLUICE_PORT) in transaction mode, pool 20.
set -euo pipefail

PG_PORT=${1:?usage: bench/idle-heap.sh PG_PORT DLL [DLL...]}
shift
CLIENTS=${CLIENTS:-5000}
ROUNDS=${ROUNDS:-1}
PORT=${SLUICE_PORT:-6601}
GCDUMP=${GCDUMP:-$(command -v dotnet-gcdump || echo "$HOME/.dotnet/tools/dotnet-gcdump")}

work=$(mktemp -d)
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
ulimit -n $((CLIENTS + 1000))

cat >"$work/proxy.toml" <<TOML
[server]
listen = ["127.0.0.1:$PORT"]
http_listen = "127.0.0.1:$((PORT + 1))"
max_client_connections = $((CLIENTS + 1000))

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
servers = [ { host = "127.0.0.1", port = $PG_PORT, role = "primary" } ]
TOML

# N clients through startup to ReadyForQuery, then idle until stdin closes.
cat >"$work/idle.py" <<'PY'
import asyncio, struct, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
params = b"user\0postgres\0database\0bench\0\0"
startup = struct.pack("!ii", 8 + len(params), 196608) + params
async def one(gate):
    async with gate:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(startup)
        while True:
            head = await r.readexactly(5)
            await r.readexactly(int.from_bytes(head[1:], "big") - 4)
            if head[:1] == b"Z":
                return w
async def main():
    gate = asyncio.Semaphore(100)
    writers = await asyncio.wait_for(asyncio.gather(*(one(gate) for _ in range(n))), 180)
    print("connected", len(writers), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for w in writers:
        w.write(b"X\0\0\0\4")
        w.close()
asyncio.run(main())
PY

heap() { "$GCDUMP" report -p "$1" 2>/dev/null | awk '/GC Heap bytes/{gsub(",","",$1); print $1; exit}'; }
rss() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }

printf '%-50s %8s %14s %12s\n' build clients "heap B/client" "RSS KiB/client"
for _ in $(seq "$ROUNDS"); do
    for dll in "$@"; do
        dotnet "$dll" --config "$work/proxy.toml" >"$work/sluice.log" 2>&1 &
        pid=$!
        for _ in $(seq 100); do psql -h 127.0.0.1 -p "$PORT" -U postgres -d bench -Atc 'select 1' >/dev/null 2>&1 && break; sleep 0.2; done
        pgbench -h 127.0.0.1 -p "$PORT" -U postgres -n -S -T 3 -c 10 bench >/dev/null 2>&1
        heap0=$(heap "$pid"); rss0=$(rss "$pid")
        mkfifo "$work/hold"
        python3 "$work/idle.py" "$PORT" "$CLIENTS" <"$work/hold" >"$work/idle.out" 2>&1 &
        idle=$!
        exec 3>"$work/hold"
        for _ in $(seq 400); do grep -q connected "$work/idle.out" && break; sleep 0.5; done
        sleep 1
        rss1=$(rss "$pid"); heap1=$(heap "$pid")
        if [[ -n ${KEEP_DUMP:-} ]]; then
            # What the idle clients hold, by type: dotnet-gcdump report FILE
            "$GCDUMP" collect -p "$pid" -o "$KEEP_DUMP/$(basename "$(dirname "$dll")")-$CLIENTS.gcdump" >/dev/null 2>&1 || true
        fi
        exec 3>&-
        wait "$idle" || true
        rm -f "$work/hold"
        kill "$pid"; wait "$pid" 2>/dev/null || true
        pid=
        printf '%-50s %8d %14d %12.2f\n' "$dll" "$CLIENTS" $(((heap1 - heap0) / CLIENTS)) "$(echo "($rss1 - $rss0) / $CLIENTS" | bc -l)"
    done
done
