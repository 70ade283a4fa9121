#!/usr/bin/env bash
# Read/write split under load: pgbench -S (read-only) through Sluice in front of a primary + streaming replica,
# with routing.read_write_split on and off, and where the transactions went.
#
#   bench/routing.sh                       # 10 s per run, 10 clients, transaction mode
#   BENCH_SECONDS=30 CLIENTS=20 bench/routing.sh
#
# Starts its own throwaway primary and pg_basebackup replica (as the `postgres` OS user when run as root) and Sluice
# (built in Release from this checkout unless SLUICE_DLL is set), all on 127.0.0.1, and stops every one of them by pid
# when it exits. Per run it reports TPS, sluice_transactions_total{route} deltas from /metrics and each server's
# pg_stat_database xact_commit delta (which includes a few monitor/stat queries of its own), as a markdown table.
#
# Settings (environment):
#   BENCH_SECONDS  length of each pgbench run (default 10)    CLIENTS  pgbench -c (default 10)
#   THREADS        pgbench -j (default 2)                     POOL     server connections per pool (default 10)
#   SCALE          pgbench -i scale (default 1)               PROTOCOL pgbench -M (default extended)
#   SLUICE_DLL     a built sluice.dll to use instead of building src/Proxy in Release
#   PG_BIN         PostgreSQL's bin folder (default: the newest /usr/lib/postgresql/*/bin)
set -euo pipefail

BENCH_SECONDS=${BENCH_SECONDS:-10}
CLIENTS=${CLIENTS:-10}
THREADS=${THREADS:-2}
POOL=${POOL:-10}
SCALE=${SCALE:-1}
PROTOCOL=${PROTOCOL:-extended}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { echo "bench: $*" >&2; }

pg_bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n | tail -1)}
[ -x "$pg_bin/pg_ctl" ] || { echo "PostgreSQL not found (set PG_BIN)" >&2; exit 1; }
pgbench="$pg_bin/pgbench"
psql="$pg_bin/psql"

if [ "$(id -u)" -eq 0 ]; then
    server_user=postgres
    as_server_user() { runuser -u postgres -- "$@"; }
else
    server_user=$(id -un)
    as_server_user() { "$@"; }
fi

# --- cleanup: everything started here is stopped by pid ---------------------------------------------------------------
work=$(mktemp -d /tmp/sluice-routing-bench.XXXXXX)
sluice_pid=""
stop_pid() { # pid: TERM, up to 10 s, then KILL
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}
stop_server() { # data directory
    if [ -s "$1/postmaster.pid" ]; then
        as_server_user "$pg_bin/pg_ctl" -D "$1" -m immediate -w stop >/dev/null 2>&1 || stop_pid "$(head -1 "$1/postmaster.pid")"
    fi
}
cleanup() {
    set +e
    [ -n "$sluice_pid" ] && stop_pid "$sluice_pid"
    stop_server "$work/replica"
    stop_server "$work/primary"
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 10000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
    done
}

wait_listening() { # port pid seconds
    local port=$1 pid=$2 deadline=$((SECONDS + $3)) rc
    while [ $SECONDS -lt $deadline ]; do
        kill -0 "$pid" 2>/dev/null || return 1
        rc=0; "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1 || rc=$?
        [ $rc -le 1 ] && return 0
        sleep 0.2
    done
    return 1
}

# --- primary and streaming replica --------------------------------------------------------------------------------------
chmod 755 "$work"
[ "$server_user" = "$(id -un)" ] || chown "$server_user:" "$work"
primary_port=$(free_port)
replica_port=$(free_port)
while [ "$replica_port" = "$primary_port" ]; do replica_port=$(free_port); done
echo postgres >"$work/pwfile"; chmod 644 "$work/pwfile"
log "initdb in $work (PostgreSQL from $pg_bin)"
as_server_user "$pg_bin/initdb" -D "$work/primary" -U postgres --pwfile="$work/pwfile" --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C --no-sync >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log" >&2; exit 1; }
cat >>"$work/primary/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $primary_port
unix_socket_directories = '$work'
max_connections = 200
shared_buffers = '128MB'
wal_level = replica
max_wal_senders = 5
hot_standby = on
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
cat >"$work/primary/pg_hba.conf" <<HBA
local all all trust
local replication all trust
host  all all 127.0.0.1/32 scram-sha-256
HBA
as_server_user "$pg_bin/pg_ctl" -D "$work/primary" -l "$work/primary.log" -w start >/dev/null \
    || { tail -20 "$work/primary.log" >&2; exit 1; }
"$psql" -X -q -h "$work" -p "$primary_port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE bench LOGIN PASSWORD 'bench'" -c "CREATE DATABASE bench OWNER bench"
export PGPASSWORD=bench PGPASSFILE=/dev/null PGSSLMODE=disable
unset PGHOST PGPORT PGUSER PGDATABASE PGSERVICE PGOPTIONS
log "pgbench -i -s $SCALE"
"$pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$primary_port" -U bench bench >"$work/pgbench-init.log" 2>&1 \
    || { cat "$work/pgbench-init.log" >&2; exit 1; }

log "pg_basebackup the replica"
as_server_user "$pg_bin/pg_basebackup" -h "$work" -p "$primary_port" -U postgres -D "$work/replica" -R -X stream \
    >"$work/basebackup.log" 2>&1 || { cat "$work/basebackup.log" >&2; exit 1; }
echo "port = $replica_port" >>"$work/replica/postgresql.conf"
as_server_user "$pg_bin/pg_ctl" -D "$work/replica" -l "$work/replica.log" -w start >/dev/null \
    || { tail -20 "$work/replica.log" >&2; exit 1; }
for _ in $(seq 100); do
    streaming=$("$psql" -X -A -t -h "$work" -p "$primary_port" -U postgres -d postgres -c "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
    [ "$streaming" != 0 ] && break
    sleep 0.2
done
[ "$streaming" != 0 ] || { log "the replica is not streaming"; tail -20 "$work/replica.log" >&2; exit 1; }
pg_version=$("$psql" -X -A -t -h "$work" -p "$primary_port" -U postgres -d postgres -c "SHOW server_version")

# --- Sluice ---------------------------------------------------------------------------------------------------------------
dll=${SLUICE_DLL:-}
if [ -z "$dll" ]; then
    log "building Sluice (Release)"
    dotnet build "$repo/src/Proxy/Sluice.Proxy.csproj" -c Release -v q --nologo >"$work/build.log" 2>&1 \
        || { log "build failed:"; tail -20 "$work/build.log" >&2; exit 1; }
    dll="$repo/src/Proxy/bin/Release/net10.0/sluice.dll"
fi
[ -f "$dll" ] || { log "$dll does not exist"; exit 1; }
sluice_version=$(dotnet "$dll" --version 2>/dev/null | sed -n 's/^sluice //p' | head -1 || true)

start_sluice() { # read_write_split: true | false
    sluice_port=$(free_port)
    sluice_http_port=$(free_port)
    cat >"$work/proxy.toml" <<TOML
[server]
listen = ["127.0.0.1:$sluice_port"]
http_listen = "127.0.0.1:$sluice_http_port"

[pool]
mode = "transaction"
size = $POOL

[routing]
read_write_split = $1
max_replica_lag = "1s"
lag_check_interval = "100ms"
health_check_interval = "200ms"
ban_time = "1s"

[[users]]
name = "bench"
password = "bench"

[[databases]]
name = "bench"
servers = [
  { host = "127.0.0.1", port = $primary_port, role = "primary" },
  { host = "127.0.0.1", port = $replica_port, role = "replica" },
]
TOML
    dotnet "$dll" --config "$work/proxy.toml" >"$work/sluice-$1.log" 2>&1 &
    sluice_pid=$!
    wait_listening "$sluice_port" "$sluice_pid" 30 || { log "Sluice did not start:"; tail -20 "$work/sluice-$1.log" >&2; exit 1; }
    # Reads go to the replica only once the monitor has checked it: wait for /replica to say 200 (bounded).
    for _ in $(seq 50); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$sluice_http_port/replica")" = 200 ] && break
        sleep 0.2
    done
}

route_counter() { # route -> sluice_transactions_total{database="bench",route=...}
    curl -s "http://127.0.0.1:$sluice_http_port/metrics" \
        | awk -v r="route=\"$1\"" '/^sluice_transactions_total\{/ && index($0, "database=\"bench\"") && index($0, r) { s += $NF } END { printf "%d", s }'
}
xact_commit() { # port -> xact_commit of database bench on that server
    "$psql" -X -A -t -h "$work" -p "$1" -U postgres -d postgres -c "SELECT xact_commit FROM pg_stat_database WHERE datname = 'bench'"
}

rows=()
for split in true false; do
    start_sluice "$split"
    log "read_write_split = $split: warm-up 2 s, then $BENCH_SECONDS s"
    timeout 60 "$pgbench" -n -S -M "$PROTOCOL" -c "$CLIENTS" -j "$THREADS" -T 2 -h 127.0.0.1 -p "$sluice_port" -U bench bench >/dev/null 2>&1 || true
    primary_metric=$(route_counter primary); replica_metric=$(route_counter replica)
    primary_xact=$(xact_commit "$primary_port"); replica_xact=$(xact_commit "$replica_port")
    out=$(timeout --kill-after=5 $((BENCH_SECONDS + 60)) "$pgbench" -n -S -M "$PROTOCOL" -c "$CLIENTS" -j "$THREADS" -T "$BENCH_SECONDS" \
        -h 127.0.0.1 -p "$sluice_port" -U bench bench 2>&1) || log "pgbench failed: $(tail -3 <<<"$out" | tr '\n' ' ')"
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -1)
    to_primary=$(($(route_counter primary) - primary_metric)); to_replica=$(($(route_counter replica) - replica_metric))
    primary_commits=$(($(xact_commit "$primary_port") - primary_xact)); replica_commits=$(($(xact_commit "$replica_port") - replica_xact))
    share=$(awk -v r="$to_replica" -v p="$to_primary" 'BEGIN { if (r + p == 0) print "-"; else printf "%.1f %%", 100 * r / (r + p) }')
    rows+=("| $split | $(printf '%.0f' "${tps:-0}") | $to_primary | $to_replica | $share | $primary_commits | $replica_commits |")
    stop_pid "$sluice_pid"; sluice_pid=""
done

echo
echo "pgbench -n -S -M $PROTOCOL -c $CLIENTS -j $THREADS -T $BENCH_SECONDS through Sluice (transaction mode, pool $POOL), scale $SCALE;"
echo "PostgreSQL $pg_version primary + streaming replica, Sluice ${sluice_version:--} ($(basename "$(dirname "$(dirname "$dll")")") build); $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%d)."
echo
echo "| read_write_split | TPS | sluice_transactions_total primary | replica | on the replica | pg_stat_database xact_commit primary | replica |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
