#!/usr/bin/env bash
# End-to-end throughput: pgbench straight at PostgreSQL, through PgBouncer and through Sluice, side by side.
#
#   bench/pgbench.sh                      # session mode, pool 20, 10 s per run
#   MODE=transaction BENCH_SECONDS=30 bench/pgbench.sh
#
# Besides the throughput table (simple, extended and prepared protocol), a second table: RATE_CLIENTS clients
# (default 1,000) at a fixed rate (pgbench -R RATE, default 5,000 tx/s) for RATE_SECONDS, with p50/p99 latency
# computed from pgbench's per-transaction log (-l), PgBouncer next to Sluice with the same pool. (Straight at
# PostgreSQL that many clients would exceed max_connections, so that run has no direct column.)
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
#   RATE_CLIENTS   clients of the fixed-rate run (default 1000; 0 = skip it)
#   RATE           pgbench -R of that run, transactions per second (default 5000)
#   RATE_SECONDS   length of that run (default 30; logins take part of it)
#   KEEP_WORK      set: keep the temp folder (logs of PostgreSQL, PgBouncer, Sluice; pgbench logs) for a look afterwards
#   CASES          throughput runs instead of the default table, one "label|pgbench arguments ending in -c N" per line,
#                  e.g. CASES=$'tpcb-like, prepared, new connection per transaction|-C -M prepared -c 10'
set -euo pipefail

BENCH_SECONDS=${BENCH_SECONDS:-10}
MODE=${MODE:-session}
POOL=${POOL:-20}
SCALE=${SCALE:-1}
THREADS=${THREADS:-2}
AUTH=${AUTH:-scram-sha-256}
WARMUP_SECONDS=${WARMUP_SECONDS:-3}
TARGETS=${TARGETS:-direct pgbouncer sluice}
RATE_CLIENTS=${RATE_CLIENTS:-1000}
RATE=${RATE:-5000}
RATE_SECONDS=${RATE_SECONDS:-30}

# Every client is a socket in pgbench and in the pooler (PgBouncer inherits this limit): 1,000 clients need more
# than the usual 1,024 descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 8192 2>/dev/null || true

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
    if [ -n "${KEEP_WORK:-}" ]; then log "kept $work (KEEP_WORK)"; else rm -rf "$work"; fi
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
# Protocol-level prepared statements in transaction mode need PgBouncer 1.21+ (max_prepared_statements); an older
# one would fail pgbench -M prepared as soon as a client lands on another server, so those runs are left out.
pgbouncer_prepared=yes
pgbouncer_extra=""
if wants pgbouncer; then
    pgbouncer_version=$("$pgbouncer" --version | head -1 | awk '{print $2}')
    if [ "$MODE" != session ]; then
        if [ "$(printf '%s\n1.21\n' "$pgbouncer_version" | sort -V | head -1)" = "1.21" ]; then
            pgbouncer_extra=$'\nmax_prepared_statements = 200'
        else
            pgbouncer_prepared=no
        fi
    fi
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
max_client_conn = $((RATE_CLIENTS + 1000))
server_reset_query = DISCARD ALL${pgbouncer_extra}
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
logfile = $work/pgbouncer.log
pidfile = $work/pgbouncer.pid
INI
    chown -R "$server_user:" "$work/pgbouncer.ini" "$work/userlist.txt" 2>/dev/null || true
    # runuser starts a PAM session, which puts the soft descriptor limit back to 1,024: raise it again for PgBouncer.
    as_server_user bash -c 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"' pgbouncer "$pgbouncer" -d "$work/pgbouncer.ini"
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
max_client_connections = $((RATE_CLIENTS + 1000))

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
    if ! out=$(timeout --kill-after=5 $((BENCH_SECONDS + 60)) "$pgbench" -P 5 -n -h 127.0.0.1 -p "$port" -U bench "$@" bench 2>&1); then
        log "pgbench $* on port $port failed: $(echo "$out" | grep -v '^progress\|^pgbench (' | grep -i -m 3 'error\|abort\|fatal\|timed out' | tr '\n' ' ')$(echo "$out" | grep -v '^progress\|^pgbench (' | tail -1)"
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

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b == 0) print "-"; else printf "%.2f", a / b }'; }
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

default_cases=(
    "select-only, simple, 10 clients|-S -M simple -c 10"
    "select-only, simple, 100 clients|-S -M simple -c 100"
    "select-only, extended, 10 clients|-S -M extended -c 10"
    "select-only, extended, 100 clients|-S -M extended -c 100"
    "select-only, prepared, 10 clients|-S -M prepared -c 10"
    "select-only, prepared, 100 clients|-S -M prepared -c 100"
    "select-only, new connection per transaction (-C), 10 clients|-S -C -M simple -c 10"
)
if [ -n "${CASES:-}" ]; then mapfile -t cases <<<"$CASES"; else cases=("${default_cases[@]}"); fi

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
    if [[ " ${args[*]} " == *" prepared "* ]] && [ "$pgbouncer_prepared" = no ]; then
        pgb_tps="n/a"; pgb_cpu="-"
    else
        read -r pgb_tps pgb_cpu <<<"$(run "$pgbouncer_port" "$(pgbouncer_pid)" "${args[@]}")"
    fi
    read -r sluice_tps sluice_cpu <<<"$(run "$sluice_port" "$sluice_pid" "${args[@]}")"
    rows+=("| $label | $direct_tps | $pgb_tps | $sluice_tps | $(ratio "$sluice_tps" "$pgb_tps") | $(ratio "$sluice_tps" "$direct_tps") | $pgb_cpu | $sluice_cpu |")
done

# --- many clients at a fixed rate: latency percentiles from the per-transaction log ------------------------------------
# run_rate PORT PID NAME ARGS... -> "STEADY_TPS P50_MS P99_MS CONNECT_S FAILED CPU_US_PER_TX" (dashes when it failed)
run_rate() {
    local port=$1 pid=$2 name=$3; shift 3
    [ -n "$port" ] || { echo "- - - - - -"; return; }
    local dir="$work/rate-$name" before=0 after=0 out tps txs failed
    rm -rf "$dir"; mkdir -p "$dir"
    [ -n "$pid" ] && before=$(cpu_ticks "$pid")
    if ! out=$(cd "$dir" && timeout --kill-after=5 $((RATE_SECONDS + 120)) "$pgbench" -n -h 127.0.0.1 -p "$port" -U bench "$@" bench 2>&1); then
        log "pgbench $* on port $port failed: $(echo "$out" | grep -v '^progress\|^pgbench (' | grep -i -m 3 'error\|abort\|fatal\|timed out' | tr '\n' ' ')$(echo "$out" | grep -v '^progress\|^pgbench (' | tail -1)"
    fi
    [ -n "$pid" ] && after=$(cpu_ticks "$pid")
    [ -n "${KEEP_RATE_LOGS:-}" ] && mkdir -p "$KEEP_RATE_LOGS" && cp -r "$dir" "$KEEP_RATE_LOGS/"
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -1)
    txs=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out" | head -1)
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out" | head -1)
    if [ -z "$tps" ] || ! compgen -G "$dir/pgbench_log.*" >/dev/null; then
        log "pgbench $* on port $port reported no tps: $(echo "$out" | tail -3 | tr '\n' ' ')"
        echo "- - - - - -"; return
    fi
    # Log lines: client transaction latency_us script epoch_s epoch_us [lag_us], written as each transaction ends;
    # with -R the latency counts from the scheduled start, so queueing for a server (or behind a slow pooler) shows.
    # pgbench logs in every client before the first transaction, and its -T clock runs meanwhile (1,000 SCRAM logins
    # take seconds; it prints that as "initial connection time"), so the TPS here is over the logged part only: from
    # the first scheduled start to the last end.
    local percentiles
    percentiles=$(cat "$dir"/pgbench_log.* | awk '$3 != "skipped" && $3 != "failed" { printf "%s %.6f\n", $3, $5 + $6 / 1e6 }' | sort -n \
        | awk '{ v[NR] = $1; if (tmax == "" || $2 > tmax) tmax = $2; if (start == "" || $2 - $1 / 1e6 < start) start = $2 - $1 / 1e6 }
             END { if (NR == 0 || tmax <= start) { print "- - -"; exit }
                   i50 = int(NR * 0.50); if (i50 < NR * 0.50) i50++; i99 = int(NR * 0.99); if (i99 < NR * 0.99) i99++;
                   printf "%.0f %.2f %.2f", NR / (tmax - start), v[i50] / 1000, v[i99] / 1000 }')
    local login
    login=$(sed -n 's/^initial connection time = \([0-9.]*\) ms.*/\1/p' <<<"$out" | head -1)
    login=$(awk -v ms="${login:-}" 'BEGIN { if (ms == "") print "-"; else printf "%.1f", ms / 1000 }')
    percentiles="$percentiles $login"
    local cpu="-"
    if [ -n "$pid" ] && [ "${txs:-0}" -gt 0 ]; then
        cpu=$(awk -v t=$((after - before)) -v hz="$clk_tck" -v n="$txs" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
    fi
    echo "$percentiles ${failed:-0} $cpu"
}

rate_rows=()
if [ "$RATE_CLIENTS" -gt 0 ]; then
    for protocol in extended prepared; do
        args=(-S -M "$protocol" -c "$RATE_CLIENTS" -j "$(threads "$RATE_CLIENTS")" -R "$RATE" -T "$RATE_SECONDS" -l)
        log "select-only, $protocol, $RATE_CLIENTS clients at $RATE tx/s"
        if [ "$protocol" = prepared ] && [ "$pgbouncer_prepared" = no ]; then
            pgb=(n/a - - - - -)
        else
            read -r -a pgb <<<"$(run_rate "$pgbouncer_port" "$(pgbouncer_pid)" "pgbouncer-$protocol" "${args[@]}")"
        fi
        read -r -a sl <<<"$(run_rate "$sluice_port" "$sluice_pid" "sluice-$protocol" "${args[@]}")"
        rate_rows+=("| select-only, $protocol, $RATE_CLIENTS clients, -R $RATE | ${pgb[0]} | ${pgb[1]} | ${pgb[2]} | ${pgb[3]} | ${pgb[4]} | ${pgb[5]} | ${sl[0]} | ${sl[1]} | ${sl[2]} | ${sl[3]} | ${sl[4]} | ${sl[5]} |")
    done
fi

# --- report -----------------------------------------------------------------------------------------------------------
echo
echo "pgbench -S, ${BENCH_SECONDS} s per run, scale $SCALE, pool mode $MODE, pool size $pool$([ "$pool" != "$POOL" ] && echo " (POOL=$POOL raised: session mode needs a server per client)"), auth $AUTH;"
echo "PostgreSQL $pg_version, PgBouncer $pgbouncer_version, Sluice ${sluice_version:--}; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "| run | direct TPS | PgBouncer TPS | Sluice TPS | Sluice/PgBouncer | Sluice/direct | PgBouncer CPU µs/tx | Sluice CPU µs/tx |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
[ "$pgbouncer_prepared" = no ] && echo && echo "n/a: PgBouncer $pgbouncer_version has no protocol-level prepared statements in $MODE mode (1.21+ has max_prepared_statements)."
if [ "${#rate_rows[@]}" -gt 0 ]; then
    echo
    echo "$RATE_CLIENTS clients at a fixed rate (pgbench -R $RATE), ${RATE_SECONDS} s per run, same pool ($pool). From pgbench's per-transaction log (-l),"
    echo "after every client had logged in ('login s': how long that took, inside the run's time): TPS over the logged part,"
    echo "p50/p99 latency in ms from each transaction's scheduled start. CPU µs/tx is over the whole run, logins included."
    echo
    echo "| run | PgBouncer TPS | p50 | p99 | login s | failed | CPU µs/tx | Sluice TPS | p50 | p99 | login s | failed | CPU µs/tx |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    printf '%s\n' "${rate_rows[@]}"
fi
