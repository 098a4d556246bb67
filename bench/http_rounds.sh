#!/usr/bin/env bash
# The `http` part of run.sh alone, without its build step, for BENCHMARKS.md's
# HTTP section: every server under wrk on plaintext (pipelined 16) and json,
# one hub (server on core 0, wrk on core 1) then every core, rounds
# alternated; prints the section as the report writes it. Build first with
#   cargo build --release --bin http_eventlet --bin http_may --bin http_hyper --bin http_wrk --bin report
#
#   bench/http_rounds.sh                      3 rounds of 5 s per server, route and hub count
#   HTTP_REPEATS=5 HTTP_SECONDS=3 bench/http_rounds.sh
set -euo pipefail
cd "$(dirname "$0")"
BENCH_DIR=$(pwd)
BIN=$BENCH_DIR/target/release
HTTP_REPEATS=${HTTP_REPEATS:-3}
HTTP_SECONDS=${HTTP_SECONDS:-5}
PORT=${PORT:-9600}
RESULTS=${RESULTS:-$BENCH_DIR/target/http-rounds}
rm -rf "$RESULTS" && mkdir -p "$RESULTS"
: >"$RESULTS/http.jsonl"
: >"$RESULTS/commands.txt"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

run() {
    echo "$*" >>"$RESULTS/commands.txt"
    "$@"
}

HUBS="1"
[ "$(nproc)" -gt 1 ] && HUBS="1 $(nproc)"
PIDS=()
trap 'for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done' EXIT
for hubs in $HUBS; do
    PINNED=() LOADER=()
    if [ "$hubs" = 1 ] && command -v taskset >/dev/null; then
        PINNED=(taskset -c 0) LOADER=(taskset -c 1)
    fi
    declare -A HTTP_SERVERS=(
        [eventlet-rt]="$BIN/http_eventlet 127.0.0.1:PORT $hubs"
        [eventlet-rt-borrowed]="$BIN/http_eventlet 127.0.0.1:PORT $hubs borrowed"
        [may_minihttp]="$BIN/http_may 127.0.0.1:PORT $hubs"
        [hyper]="$BIN/http_hyper 127.0.0.1:PORT $hubs"
    )
    HTTP_ORDER=(eventlet-rt eventlet-rt-borrowed may_minihttp hyper)
    declare -A PORTS=() SERVER_PID=()
    for server in "${HTTP_ORDER[@]}"; do
        PORT=$((PORT + 1))
        command=${HTTP_SERVERS[$server]//PORT/$PORT}
        echo "${PINNED[*]} $command &" >>"$RESULTS/commands.txt"
        # shellcheck disable=SC2086 # the server command is split on purpose
        "${PINNED[@]}" $command &
        PORTS[$server]=$PORT SERVER_PID[$server]=$!
        PIDS+=($!)
    done
    sleep 1 # let every server bind its port
    for round in $(seq 1 "$HTTP_REPEATS"); do
        for route in plaintext json; do
            pipeline=1
            [ "$route" = plaintext ] && pipeline=16
            for k in "${!HTTP_ORDER[@]}"; do
                server=${HTTP_ORDER[$(((k + round - 1) % ${#HTTP_ORDER[@]}))]}
                line=$(run timeout 60 "${LOADER[@]}" "$BIN/http_wrk" "http://127.0.0.1:${PORTS[$server]}/$route" 256 "$pipeline" "$HTTP_SECONDS" "${SERVER_PID[$server]}" "$BENCH_DIR/http/pipeline.lua") || line=""
                if [ -n "$line" ]; then
                    echo "{\"server\":\"$server\",\"threads\":$hubs,\"route\":\"$route\",\"round\":$round,\"result\":$line}" >>"$RESULTS/http.jsonl"
                else
                    echo "{\"server\":\"$server\",\"skipped\":\"wrk failed on $route with $hubs hubs\"}" >>"$RESULTS/http.jsonl"
                fi
            done
        done
    done
    for server in "${HTTP_ORDER[@]}"; do
        kill "${SERVER_PID[$server]}" && wait "${SERVER_PID[$server]}" 2>/dev/null || true
    done
    PIDS=()
    unset PORTS SERVER_PID HTTP_SERVERS
done
"$BIN/report" "$RESULTS" | awk '/^## HTTP/ {on = 1; print; next} on && /^## / {exit} on'
