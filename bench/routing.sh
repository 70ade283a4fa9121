#!/usr/bin/env bash
# Read/write split under load: pgbench -S (read-only) through Sluice in front of a primary + streaming replica,
# with routing.read_write_split on and off, and where the transactions went (RUNS=split). Then (RUNS=mixed) the mixed
# workload of routing.read_consistency: the same readers next to writers updating pgbench_accounts at fixed rates,
# for causal, session and lag_budget side by side, and what learning a commit's WAL position on the write path would
# cost instead (a write transaction followed by SELECT pg_current_wal_insert_lsn(), straight on the primary).
#
#   bench/routing.sh                       # both, 10 s per run, 10 clients, transaction mode
#   BENCH_SECONDS=30 CLIENTS=20 RUNS=mixed WRITE_RATES="100" bench/routing.sh
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
#   RUNS           which tables: "split mixed" (default)      WRITE_RATES  writes/s of the mixed runs (default "10 100 1000")
#   CONSISTENCIES  read_consistency values (default "causal session lag_budget")
#   SYNC_COMMIT    the primary's synchronous_commit (default on, PostgreSQL's default; with off a commit streams to the
#                  replica only when the WAL writer flushes, up to wal_writer_delay later)
#   MAX_READ_WAIT  routing.max_read_wait of the mixed runs (default: Sluice's default)
set -euo pipefail

BENCH_SECONDS=${BENCH_SECONDS:-10}
CLIENTS=${CLIENTS:-10}
THREADS=${THREADS:-2}
POOL=${POOL:-10}
SCALE=${SCALE:-1}
PROTOCOL=${PROTOCOL:-extended}
RUNS=${RUNS:-split mixed}
WRITE_RATES=${WRITE_RATES:-10 100 1000}
CONSISTENCIES=${CONSISTENCIES:-causal session lag_budget}
SYNC_COMMIT=${SYNC_COMMIT:-on}
MAX_READ_WAIT=${MAX_READ_WAIT:-}

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
synchronous_commit = $SYNC_COMMIT
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

start_sluice() { # read_write_split: true | false; extra [routing] lines
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
${2:-}

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

metric() { # name [label filter] -> the sum of its samples for database bench
    curl -s "http://127.0.0.1:$sluice_http_port/metrics" \
        | awk -v m="$1{" -v f="${2:-}" 'index($0, m) == 1 && index($0, "database=\"bench\"") && index($0, f) { s += $NF } END { printf "%d", s }'
}
route_counter() { metric sluice_transactions_total "route=\"$1\""; } # route -> sluice_transactions_total{database="bench",route=...}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # utime + stime of a pid, in clock ticks
xact_commit() { # port -> xact_commit of database bench on that server
    "$psql" -X -A -t -h "$work" -p "$1" -U postgres -d postgres -c "SELECT xact_commit FROM pg_stat_database WHERE datname = 'bench'"
}

rows=()
for split in true false; do
    case " $RUNS " in *" split "*) ;; *) break ;; esac
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

about="PostgreSQL $pg_version primary + streaming replica (synchronous_commit = $SYNC_COMMIT), Sluice ${sluice_version:--} ($(basename "$(dirname "$(dirname "$dll")")") build); $(nproc) CPUs"
if [ ${#rows[@]} -gt 0 ]; then
    echo
    echo "pgbench -n -S -M $PROTOCOL -c $CLIENTS -j $THREADS -T $BENCH_SECONDS through Sluice (transaction mode, pool $POOL), scale $SCALE;"
    echo "$about, load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%d)."
    echo
    echo "| read_write_split | TPS | sluice_transactions_total primary | replica | on the replica | pg_stat_database xact_commit primary | replica |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    printf '%s\n' "${rows[@]}"
fi

case " $RUNS " in *" mixed "*) ;; *) exit 0 ;; esac

# --- mixed workload: readers (pgbench -S) next to writers at a fixed rate, per read_consistency ---------------------------
cat >"$work/write.sql" <<'SQL'
\set aid random(1, 100000 * :scale)
UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;
SQL
cat >"$work/write-then-position.sql" <<'SQL'
\set aid random(1, 100000 * :scale)
UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;
SELECT pg_current_wal_insert_lsn();
SQL

# What a write would pay to learn its own commit position on its own server: one more statement after each commit.
position_rows=()
for script in write write-then-position; do
    out=$(timeout --kill-after=5 $((BENCH_SECONDS + 60)) "$pgbench" -n -M "$PROTOCOL" -f "$work/$script.sql" -c 2 -j 2 -T "$BENCH_SECONDS" \
        -h 127.0.0.1 -p "$primary_port" -U bench bench 2>&1) || log "pgbench failed: $(tail -3 <<<"$out" | tr '\n' ' ')"
    position_rows+=("| $script | $(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -1 | xargs printf '%.0f') | $(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out") |")
done

mixed_rows=()
for rate in $WRITE_RATES; do
    for consistency in $CONSISTENCIES; do
        extra="read_consistency = \"$consistency\""
        [ -n "$MAX_READ_WAIT" ] && extra="$extra
max_read_wait = \"$MAX_READ_WAIT\""
        start_sluice true "$extra"
        log "mixed: read_consistency = $consistency, $rate writes/s: $BENCH_SECONDS s"
        timeout 60 "$pgbench" -n -S -M "$PROTOCOL" -c "$CLIENTS" -j "$THREADS" -T 2 -h 127.0.0.1 -p "$sluice_port" -U bench bench >/dev/null 2>&1 || true
        replica_before=$(metric sluice_reads_total 'route="replica"'); primary_before=$(metric sluice_reads_total 'route="primary"')
        waits_before=$(metric sluice_read_floor_waits_total); fallbacks_before=$(metric sluice_read_floor_fallbacks_total)
        cpu_before=$(cpu_ticks "$sluice_pid")
        timeout --kill-after=5 $((BENCH_SECONDS + 60)) "$pgbench" -n -M "$PROTOCOL" -f "$work/write.sql" -R "$rate" -c 2 -j 1 -T "$BENCH_SECONDS" \
            -h 127.0.0.1 -p "$sluice_port" -U bench bench >"$work/writers.log" 2>&1 &
        writers_pid=$!
        reads=$(timeout --kill-after=5 $((BENCH_SECONDS + 60)) "$pgbench" -n -S -M "$PROTOCOL" -c "$CLIENTS" -j "$THREADS" -T "$BENCH_SECONDS" \
            -h 127.0.0.1 -p "$sluice_port" -U bench bench 2>&1) || log "pgbench (readers) failed: $(tail -3 <<<"$reads" | tr '\n' ' ')"
        wait "$writers_pid" || log "pgbench (writers) failed: $(tail -3 "$work/writers.log" | tr '\n' ' ')"
        cpu_after=$(cpu_ticks "$sluice_pid")
        read_tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$reads" | head -1)
        read_latency=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$reads")
        read_count=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$reads")
        write_tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/writers.log" | head -1)
        write_count=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/writers.log")
        to_replica=$(($(metric sluice_reads_total 'route="replica"') - replica_before))
        to_primary=$(($(metric sluice_reads_total 'route="primary"') - primary_before))
        waits=$(($(metric sluice_read_floor_waits_total) - waits_before))
        fallbacks=$(($(metric sluice_read_floor_fallbacks_total) - fallbacks_before))
        share=$(awk -v r="$to_replica" -v p="$to_primary" 'BEGIN { if (r + p == 0) print "-"; else printf "%.1f %%", 100 * r / (r + p) }')
        cpu_us=$(awk -v t=$((cpu_after - cpu_before)) -v hz="$(getconf CLK_TCK)" -v n=$((${read_count:-0} + ${write_count:-0})) \
            'BEGIN { if (n == 0) print "-"; else printf "%.0f", t / hz * 1e6 / n }')
        mixed_rows+=("| $rate | $consistency | $(printf '%.0f' "${read_tps:-0}") | ${read_latency:--} | $(printf '%.0f' "${write_tps:-0}") | $share | $waits | $fallbacks | $cpu_us |")
        stop_pid "$sluice_pid"; sluice_pid=""
    done
done

echo
echo "Mixed workload: readers pgbench -n -S -M $PROTOCOL -c $CLIENTS -j $THREADS -T $BENCH_SECONDS and writers pgbench -f write.sql -R RATE -c 2"
echo "(one UPDATE of pgbench_accounts per transaction), both through Sluice (transaction mode, pool $POOL, read_write_split on,"
echo "max_read_wait ${MAX_READ_WAIT:-default}), scale $SCALE; $about, load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%d)."
echo "Reads on the replica, waits and fallbacks are deltas of sluice_reads_total{route}, sluice_read_floor_waits_total and"
echo "sluice_read_floor_fallbacks_total; CPU is Sluice's utime+stime over the run divided by read + write transactions."
echo
echo "| writes/s | read_consistency | read TPS | read latency ms | write TPS | reads on the replica | waits | fallbacks | Sluice CPU µs/tx |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${mixed_rows[@]}"
echo
echo "Learning a commit's position on the write path instead: pgbench -n -M $PROTOCOL -c 2 -j 2 -T $BENCH_SECONDS straight on the primary."
echo
echo "| script | TPS | latency ms |"
echo "| --- | ---: | ---: |"
printf '%s\n' "${position_rows[@]}"
