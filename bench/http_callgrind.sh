#!/usr/bin/env bash
# User-space instructions per request of each HTTP server, the load-independent
# view of BENCHMARKS.md's HTTP section: each server under callgrind, warmed up
# by wrk for a second, its counts zeroed, then loaded by wrk for a few seconds:
# the instructions counted from the zeroing to the server's exit over the
# requests the measured wrk run counted (start-up left out). Needs valgrind
# and wrk; build first with
#   cargo build --release --bin http_eventlet --bin http_may --bin http_hyper
#
#   bench/http_callgrind.sh                 every server, plaintext (pipelined 16) and json
#   SERVERS="eventlet-rt-borrowed" ROUTES=json KEEP=/tmp/cg bench/http_callgrind.sh
set -euo pipefail
cd "$(dirname "$0")"
BIN=target/release
PORT=${PORT:-9700}
SECONDS_LOADED=${SECONDS_LOADED:-6}
CONNECTIONS=${CONNECTIONS:-64}
SERVERS=${SERVERS:-"eventlet-rt eventlet-rt-borrowed may_minihttp hyper"}
ROUTES=${ROUTES:-"plaintext json"}
# KEEP=DIR keeps the callgrind profiles there, for callgrind_annotate;
# CACHE=1 simulates the caches too (misses per request in the profiles).
OUT=${KEEP:-$(mktemp -d)}
mkdir -p "$OUT"

command_of() {
    case $1 in
        eventlet-rt) echo "$BIN/http_eventlet 127.0.0.1:$2 1" ;;
        eventlet-rt-borrowed) echo "$BIN/http_eventlet 127.0.0.1:$2 1 borrowed" ;;
        may_minihttp) echo "$BIN/http_may 127.0.0.1:$2 1" ;;
        hyper) echo "$BIN/http_hyper 127.0.0.1:$2 1" ;;
    esac
}

echo "| route | server | requests | instructions | instructions per request |"
echo "|---|---|---|---|---|"
for route in $ROUTES; do
    for server in $SERVERS; do
        PORT=$((PORT + 1))
        # shellcheck disable=SC2046 # the command is split on purpose
        valgrind --tool=callgrind --cache-sim="$([ "${CACHE:-0}" = 1 ] && echo yes || echo no)" \
            --callgrind-out-file="$OUT/$server-$route.out" \
            $(command_of "$server" "$PORT") >/dev/null 2>"$OUT/$server-$route.log" &
        pid=$!
        for _ in $(seq 1 100); do
            (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
            sleep 0.2
        done
        lua=()
        [ "$route" = plaintext ] && lua=(-s http/pipeline.lua -- 16)
        wrk -t1 -c"$CONNECTIONS" -d1s "http://127.0.0.1:$PORT/$route" "${lua[@]}" >/dev/null
        callgrind_control --zero "$pid" >/dev/null 2>&1
        requests=$(wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_LOADED}s" "http://127.0.0.1:$PORT/$route" "${lua[@]}" |
            awk '/requests in/ {print $1}')
        kill -INT "$pid" 2>/dev/null || true
        sleep 1
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        total=$(awk '/^(summary|totals):/ {print $2; exit}' "$OUT/$server-$route.out" 2>/dev/null || echo 0)
        if [ -n "$total" ] && [ "${requests:-0}" -gt 0 ]; then
            echo "| $route | $server | $requests | $total | $((total / requests)) |"
        else
            echo "| $route | $server | ${requests:-0} | ${total:-?} | - |"
        fi
    done
done
[ -n "${KEEP:-}" ] || rm -rf "$OUT"
