#!/usr/bin/env bash
# User-space instructions per request of each HTTP server, the load-independent
# view of BENCHMARKS.md's HTTP section: each server under callgrind, loaded by
# wrk for a few seconds, its whole instruction count over the requests wrk
# counted (start-up included). Needs valgrind and wrk; build first with
#   cargo build --release --bin http_eventlet --bin http_may --bin http_hyper
#
#   bench/http_callgrind.sh                 every server, plaintext (pipelined 16) and json
#   SERVERS="eventlet-rt-borrowed" bench/http_callgrind.sh
set -euo pipefail
cd "$(dirname "$0")"
BIN=target/release
PORT=${PORT:-9700}
SECONDS_LOADED=${SECONDS_LOADED:-6}
CONNECTIONS=${CONNECTIONS:-64}
SERVERS=${SERVERS:-"eventlet-rt eventlet-rt-borrowed may_minihttp hyper"}
OUT=$(mktemp -d)

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
for route in plaintext json; do
    for server in $SERVERS; do
        PORT=$((PORT + 1))
        # shellcheck disable=SC2046 # the command is split on purpose
        valgrind --tool=callgrind --callgrind-out-file="$OUT/$server-$route.out" \
            $(command_of "$server" "$PORT") >/dev/null 2>"$OUT/$server-$route.log" &
        pid=$!
        for _ in $(seq 1 100); do
            (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
            sleep 0.2
        done
        lua=()
        [ "$route" = plaintext ] && lua=(-s http/pipeline.lua -- 16)
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
rm -rf "$OUT"
