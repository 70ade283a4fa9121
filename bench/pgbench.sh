#!/usr/bin/env bash
# End-to-end throughput: pgbench straight at PostgreSQL, through PgBouncer and through Sluice, side by side.
#
#   bench/pgbench.sh                      # session mode, pool 20, 10 s per run
#   MODE=transaction BENCH_SECONDS=30 bench/pgbench.sh
#
# Starts its own throwaway PostgreSQL (initdb/pg_ctl in a temp folder, as the `postgres` OS user when run as
# root), PgBouncer (apt-installed when missing) and Sluice (built in Release from this checkout), all on
# 127.0.0.1, and stops every one of them by pid when it exits. Prints a markdown table: TPS per target, the
# ratios Sluice/PgBouncer and Sluice/direct, and each pooler's CPU time per transaction.
#
# Settings (environment):
#   BENCH_SECONDS  length of each pgbench run (default 10)     MODE     session | transaction (default session)
#   POOL           server connections per pool (default 20)    SCALE    pgbench -i scale (default 1)
#   THREADS        pgbench -j upper bound (default 2)          AUTH     scram-sha-256 | trust (default scram-sha-256)
#   WARMUP_SECONDS a first run per pooler, not reported (default 3; JIT and pools warm up)
#   TARGETS        which targets to run (default "direct pgbouncer sluice")
#   SLUICE_DLL     a built sluice.dll to use instead of building src/Proxy in Release
#   PG_BIN         PostgreSQL's bin folder (default: initdb's on PATH, else the newest /usr/lib/postgresql/*/bin)
set -euo pipefail

BENCH_SECONDS=${BENCH_SECONDS:-10}
MODE=${MODE:-session}
POOL=${POOL:-20}
SCALE=${SCALE:-1}
THREADS=${THREADS:-2}
AUTH=${AUTH:-scram-sha-256}
WARMUP_SECONDS=${WARMUP_SECONDS:-3}
TARGETS=${TARGETS:-direct pgbouncer sluice}

case "$MODE" in session | transaction) ;; *) echo "MODE must be session or transaction" >&2; exit 2 ;; esac
case "$AUTH" in scram-sha-256 | trust) ;; *) echo "AUTH must be scram-sha-256 or trust" >&2; exit 2 ;; esac

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { echo "bench: $*" >&2; }
wants() { [[ " $TARGETS " == *" $1 "* ]]; }

# --- programs -------------------------------------------------------------------------------------------------
find_pg_bin() {
    if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
    local initdb
    if initdb=$(command -v initdb 2>/dev/null); then
        local dir; dir=$(dirname "$(readlink -f "$initdb")")
        if [ -x "$dir/pg_ctl" ] && [ -x "$dir/pgbench" ]; then echo "$dir"; return; fi
    fi
    local newest
    newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n | tail -1)
    [ -n "$newest" ] || { echo "PostgreSQL not found (set PG_BIN)" >&2; exit 1; }
    echo "$newest"
}
pg_bin=$(find_pg_bin)
pgbench="$pg_bin/pgbench"
[ -x "$pgbench" ] || pgbench=$(command -v pgbench)

pgbouncer=$(command -v pgbouncer 2>/dev/null || true)
[ -n "$pgbouncer" ] || { [ -x /usr/sbin/pgbouncer ] && pgbouncer=/usr/sbin/pgbouncer; } || true
if wants pgbouncer && [ -z "$pgbouncer" ]; then
    log "installing pgbouncer"
    sudo=(); [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends pgbouncer >&2
    pgbouncer=/usr/sbin/pgbouncer
fi

# PostgreSQL and PgBouncer refuse to run as root.
if [ "$(id -u)" -eq 0 ]; then
    server_user=postgres
    as_server_user() { runuser -u postgres -- "$@"; }
else
    server_user=$(id -un)
    as_server_user() { "$@"; }
fi

# --- cleanup: everything started here is stopped by pid ---------------------------------------------------------
work=$(mktemp -d /tmp/sluice-bench.XXXXXX)
sluice_pid=""
stop_pid() { # pid: TERM, up to 10 s, then KILL
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
    set +e
    [ -n "$sluice_pid" ] && stop_pid "$sluice_pid"
    [ -s "$work/pgbouncer.pid" ] && stop_pid "$(cat "$work/pgbouncer.pid")"
    if [ -s "$work/pg/postmaster.pid" ]; then
        as_server_user "$pg_bin/pg_ctl" -D "$work/pg" -m immediate -w stop >/dev/null 2>&1 \
            || stop_pid "$(head -1 "$work/pg/postmaster.pid")"
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port nobody listens on (checked by connecting), from a range the kernel does not hand out for outgoing connections.
free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 10000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
    done
}

# Waits until something answers the PostgreSQL protocol on the port (pg_isready: 0 = accepting, 1 = rejecting).
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

# --- PostgreSQL ----------------------------------------------------------------------------------------------------
chmod 755 "$work"
[ "$server_user" = "$(id -un)" ] || chown "$server_user:" "$work"
pg_port=$(free_port)
echo postgres >"$work/pwfile"; chmod 644 "$work/pwfile"
log "initdb in $work (PostgreSQL from $pg_bin)"
as_server_user "$pg_bin/initdb" -D "$work/pg" -U postgres --pwfile="$work/pwfile" --auth-local=trust \
    --auth-host="$AUTH" -E UTF8 --locale=C --no-sync >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log" >&2; exit 1; }
cat >>"$work/pg/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$work'
max_connections = 400
shared_buffers = '256MB'
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
cat >"$work/pg/pg_hba.conf" <<HBA
local all all trust
host  all all 127.0.0.1/32 $AUTH
HBA
as_server_user "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/postgres.log" -w start >/dev/null \
    || { tail -20 "$work/postgres.log" >&2; exit 1; }
"$pg_bin/psql" -X -q -h "$work" -p "$pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE bench LOGIN PASSWORD 'bench'" -c "CREATE DATABASE bench OWNER bench"
export PGPASSWORD=bench PGPASSFILE=/dev/null PGSSLMODE=disable
unset PGHOST PGPORT PGUSER PGDATABASE PGSERVICE PGOPTIONS
log "pgbench -i -s $SCALE"
"$pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$pg_port" -U bench bench >"$work/pgbench-init.log" 2>&1 \
    || { cat "$work/pgbench-init.log" >&2; exit 1; }
pg_version=$("$pg_bin/psql" -X -A -t -h "$work" -p "$pg_port" -U postgres -d postgres -c "SHOW server_version")

# In session mode a client holds its server connection until it disconnects: with more clients than the pool,
# the rest would just wait. So session-mode runs give both poolers a pool as large as the largest client count.
max_clients=100
pool=$POOL
if [ "$MODE" = session ] && [ "$pool" -lt "$max_clients" ]; then pool=$max_clients; fi

# --- PgBouncer -------------------------------------------------------------------------------------------------------
pgbouncer_port=""
pgbouncer_version="-"
if wants pgbouncer; then
    pgbouncer_port=$(free_port)
    pgbouncer_auth=$([ "$AUTH" = trust ] && echo trust || echo scram-sha-256)
    cat >"$work/userlist.txt" <<USERS
"bench" "bench"
USERS
    cat >"$work/pgbouncer.ini" <<INI
[databases]
bench = host=127.0.0.1 port=$pg_port dbname=bench

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $pgbouncer_port
unix_socket_dir =
auth_type = $pgbouncer_auth
auth_file = $work/userlist.txt
pool_mode = $MODE
default_pool_size = $pool
max_client_conn = 2000
server_reset_query = DISCARD ALL
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
logfile = $work/pgbouncer.log
pidfile = $work/pgbouncer.pid
INI
    chown -R "$server_user:" "$work/pgbouncer.ini" "$work/userlist.txt" 2>/dev/null || true
    pgbouncer_version=$("$pgbouncer" --version | head -1 | awk '{print $2}')
    as_server_user "$pgbouncer" -d "$work/pgbouncer.ini"
    for _ in $(seq 50); do [ -s "$work/pgbouncer.pid" ] && break; sleep 0.1; done
    if ! [ -s "$work/pgbouncer.pid" ] || ! wait_listening "$pgbouncer_port" "$(cat "$work/pgbouncer.pid")" 15; then
        log "PgBouncer did not start:"; tail -20 "$work/pgbouncer.log" >&2 || true
        pgbouncer_port=""
    fi
fi

# --- Sluice ------------------------------------------------------------------------------------------------------------
sluice_port=""
sluice_version="-"
if wants sluice; then
    dll=${SLUICE_DLL:-}
    if [ -z "$dll" ]; then
        log "building Sluice (Release)"
        if dotnet build "$repo/src/Proxy/Sluice.Proxy.csproj" -c Release -v q --nologo >"$work/build.log" 2>&1; then
            dll="$repo/src/Proxy/bin/Release/net10.0/sluice.dll"
        else
            log "build failed:"; tail -20 "$work/build.log" >&2
        fi
    fi
    if [ -n "$dll" ] && [ ! -f "$dll" ]; then
        log "$dll does not exist"; dll=""
    fi
    if [ -n "$dll" ]; then
        sluice_port=$(free_port)
        sluice_http_port=$(free_port)
        sluice_auth=$([ "$AUTH" = trust ] && echo trust || echo scram-sha-256)
        cat >"$work/proxy.toml" <<TOML
[server]
listen = ["127.0.0.1:$sluice_port"]
http_listen = "127.0.0.1:$sluice_http_port"
max_client_connections = 2000

[pool]
mode = "$MODE"
size = $pool

[[users]]
name = "bench"
password = "bench"
auth = "$sluice_auth"

[[databases]]
name = "bench"
servers = [
  { host = "127.0.0.1", port = $pg_port, role = "primary" },
]
TOML
        sluice_version=$(dotnet "$dll" --version 2>/dev/null | sed -n 's/^sluice //p' | head -1 || true)
        dotnet "$dll" --config "$work/proxy.toml" >"$work/sluice.log" 2>&1 &
        sluice_pid=$!
        if ! wait_listening "$sluice_port" "$sluice_pid" 30; then
            log "Sluice did not start:"; tail -20 "$work/sluice.log" >&2 || true
            stop_pid "$sluice_pid"; sluice_pid=""; sluice_port=""
        fi
    fi
fi

# --- runs ------------------------------------------------------------------------------------------------------------
clk_tck=$(getconf CLK_TCK)
cpu_ticks() { # pid -> utime+stime in clock ticks
    local stat; stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    stat=${stat##*) }
    # shellcheck disable=SC2086
    set -- $stat
    echo $((${12} + ${13}))
}

# run PORT PID ARGS... -> prints "TPS CPU_US_PER_TX" (or "- -" when it failed); PID "" = no CPU measurement
run() {
    local port=$1 pid=$2; shift 2
    [ -n "$port" ] || { echo "- -"; return; }
    local before=0 after=0 out tps txs
    [ -n "$pid" ] && before=$(cpu_ticks "$pid")
    if ! out=$(timeout --kill-after=5 $((BENCH_SECONDS + 60)) "$pgbench" -n -h 127.0.0.1 -p "$port" -U bench "$@" bench 2>&1); then
        log "pgbench $* on port $port failed: $(echo "$out" | grep -v '^progress' | tail -3 | tr '\n' ' ')"
    fi
    [ -n "$pid" ] && after=$(cpu_ticks "$pid")
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -1)
    txs=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out" | head -1)
    if [ -z "$tps" ]; then
        log "pgbench $* on port $port reported no tps: $(echo "$out" | tail -3 | tr '\n' ' ')"
        echo "- -"; return
    fi
    tps=$(printf '%.0f' "$tps")
    if [ -n "$pid" ] && [ "${txs:-0}" -gt 0 ]; then
        echo "$tps $(awk -v t=$((after - before)) -v hz="$clk_tck" -v n="$txs" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')"
    else
        echo "$tps -"
    fi
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
threads() { [ "$1" -lt "$THREADS" ] && echo "$1" || echo "$THREADS"; }
pgbouncer_pid() { [ -s "$work/pgbouncer.pid" ] && cat "$work/pgbouncer.pid" || true; }

if [ "$WARMUP_SECONDS" -gt 0 ]; then
    log "warm-up ($WARMUP_SECONDS s per pooler)"
    saved=$BENCH_SECONDS; BENCH_SECONDS=$WARMUP_SECONDS
    # As many clients as the largest run, so every pool has opened its server connections before measuring.
    [ -n "$pgbouncer_port" ] && run "$pgbouncer_port" "" -S -M extended -c "$max_clients" -j "$THREADS" -T "$WARMUP_SECONDS" >/dev/null
    [ -n "$sluice_port" ] && run "$sluice_port" "" -S -M extended -c "$max_clients" -j "$THREADS" -T "$WARMUP_SECONDS" >/dev/null
    BENCH_SECONDS=$saved
fi

cases=(
    "select-only, simple, 10 clients|-S -M simple -c 10"
    "select-only, simple, 100 clients|-S -M simple -c 100"
    "select-only, extended, 10 clients|-S -M extended -c 10"
    "select-only, extended, 100 clients|-S -M extended -c 100"
    "select-only, new connection per transaction (-C), 10 clients|-S -C -M simple -c 10"
)

rows=()
for case in "${cases[@]}"; do
    label=${case%%|*}
    # shellcheck disable=SC2206
    args=(${case#*|})
    clients=${args[-1]}
    args+=(-j "$(threads "$clients")" -T "$BENCH_SECONDS")
    log "$label"
    # The three targets back to back for each case, so a noisy neighbour hurts them alike.
    read -r direct_tps _ <<<"$( wants direct && run "$pg_port" "" "${args[@]}" || echo "- -")"
    read -r pgb_tps pgb_cpu <<<"$(run "$pgbouncer_port" "$(pgbouncer_pid)" "${args[@]}")"
    read -r sluice_tps sluice_cpu <<<"$(run "$sluice_port" "$sluice_pid" "${args[@]}")"
    rows+=("| $label | $direct_tps | $pgb_tps | $sluice_tps | $(ratio "$sluice_tps" "$pgb_tps") | $(ratio "$sluice_tps" "$direct_tps") | $pgb_cpu | $sluice_cpu |")
done

# --- report -----------------------------------------------------------------------------------------------------------
echo
echo "pgbench -S, ${BENCH_SECONDS} s per run, scale $SCALE, pool mode $MODE, pool size $pool$([ "$pool" != "$POOL" ] && echo " (POOL=$POOL raised: session mode needs a server per client)"), auth $AUTH;"
echo "PostgreSQL $pg_version, PgBouncer $pgbouncer_version, Sluice ${sluice_version:--}; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "| run | direct TPS | PgBouncer TPS | Sluice TPS | Sluice/PgBouncer | Sluice/direct | PgBouncer CPU µs/tx | Sluice CPU µs/tx |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
