#!/usr/bin/env bash
# The transport comparison in bench/RESULTS.md: PgBouncer and Sluice with each socket implementation, with and
# without inline socket completions, in one interleaved run of the bench.py harness (the pooler comparison harness
# that runs pgbench and raw idle clients against each target; pass its path).
#
#   bench/transports.sh PATH/TO/bench.py                     # 3 rounds of 10 s, the five scenarios below
#   ROUNDS=1 DURATION=5 bench/transports.sh PATH/TO/bench.py # a quick look
#   VARIANTS="socket:1 stream:1" bench/transports.sh PATH/TO/bench.py --json /tmp/t.json   # extra args go to bench.py
#
# Each variant is TRANSPORT:INLINE[:THREADS], TRANSPORT one of socket | stream | sockets-unofficial | epoll (the hidden
# SLUICE_TRANSPORT switch, read once at start-up) and INLINE the value of DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS
# (1 or 0; epoll runs its own loops and only uses .NET's for accepting), and THREADS, when given, the number of event
# loop threads (SLUICE_EPOLL_THREADS for epoll, DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT otherwise; default one per
# core). Builds src/Proxy in Release (or uses SLUICE_DLL) and runs every variant from a small wrapper script, so the
# targets differ only in those variables. Runs as root (bench.py does).
set -euo pipefail

BENCH_PY=${1:?usage: bench/transports.sh PATH/TO/bench.py [bench.py args...]}
shift
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
VARIANTS=${VARIANTS:-socket:1 socket:0 stream:1 stream:0 sockets-unofficial:1 sockets-unofficial:0}
SCENARIOS=${SCENARIOS:-select-simple-c10 select-simple-c100 select-extended-c10 connect-c10 idle-memory}

root=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z ${SLUICE_DLL:-} ]]; then
    dotnet build -c Release "$root/src/Proxy" >/dev/null
    SLUICE_DLL=$root/src/Proxy/bin/Release/net10.0/sluice.dll
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

args=(--target pgbouncer)
for variant in $VARIANTS; do
    IFS=: read -r transport inline threads <<<"$variant"
    name=${transport/sockets-unofficial/psu}-i$inline
    threading=
    if [[ -n $threads ]]; then
        name+=-t$threads
        threading="SLUICE_EPOLL_THREADS=$threads DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT=$threads"
    fi
    wrapper=$work/$name
    printf '#!/bin/sh\nSLUICE_TRANSPORT=%s DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=%s %s exec dotnet %q "$@"\n' \
        "$transport" "$inline" "$threading" "$SLUICE_DLL" >"$wrapper"
    chmod +x "$wrapper"
    args+=(--target "$name=sluice:$wrapper")
done
for scenario in $SCENARIOS; do
    args+=(--scenario "$scenario")
done

python3 "$BENCH_PY" "${args[@]}" --rounds "$ROUNDS" --duration "$DURATION" "$@"
