#!/usr/bin/env bash
# The `http` part of run.sh alone, without its build step, for BENCHMARKS.md's
# HTTP section: every server under wrk on plaintext (pipelined 16) and json,
# one hub (server on core 0, wrk on core 1) then every core, rounds
# alternated (the rounds themselves are `http/rounds.sh`, which run.sh runs
# too); prints the section as the report writes it. Build first with
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

SERVER_CORE=() LOADGEN_CORE=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    SERVER_CORE=(taskset -c 0) LOADGEN_CORE=(taskset -c 1)
fi
# shellcheck source=http/rounds.sh
. "$BENCH_DIR/http/rounds.sh"
trap 'for pid in "${HTTP_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done' EXIT
HUBS="1"
[ "$(nproc)" -gt 1 ] && HUBS="1 $(nproc)"
# shellcheck disable=SC2086 # one argument per hub count
http_rounds $HUBS
"$BIN/report" "$RESULTS" | awk '/^## HTTP/ {on = 1; print; next} on && /^## / {exit} on'
