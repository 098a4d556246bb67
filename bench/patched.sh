#!/usr/bin/env bash
# monkey_patch() against green::net, in one run, rounds alternated:
#  - echo through std sockets under monkey_patch() (echo_patched) against the
#    same server on green::net (echo_eventlet): server CPU per round trip;
#  - a libc call outside green code before and after patching (patched_call);
#  - third-party clients, 50 calls of about 200 ms from 50 green threads, patched
#    and not (patched_clients; the other clients are in
#    eventlet-rt/tests/monkey_patch_fifty.rs).
#
#   bench/patched.sh        ROUNDS=5 CONNECTIONS="100 1000" SECONDS_PER_RUN=2
set -euo pipefail
cd "$(dirname "$0")"
ROUNDS=${ROUNDS:-5}
CONNECTIONS=${CONNECTIONS:-"100 1000"}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-2}
PORT=${PORT:-9500}
BIN=target/release
cargo build --release --bin echo_eventlet --bin echo_patched --bin loadgen --bin patched_clients
SERVER_CORE=() LOADGEN_CORE=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    SERVER_CORE=(taskset -c 0) LOADGEN_CORE=(taskset -c 1)
fi
declare -A SERVERS=([eventlet-rt]=echo_eventlet [eventlet-patched]=echo_patched)
for connections in $CONNECTIONS; do
    for round in $(seq "$ROUNDS"); do
        for server in eventlet-rt eventlet-patched; do
            port=$((PORT++))
            "${SERVER_CORE[@]}" "$BIN/${SERVERS[$server]}" "127.0.0.1:$port" &
            pid=$!
            sleep 0.5
            line=$("${LOADGEN_CORE[@]}" "$BIN/loadgen" "127.0.0.1:$port" "$connections" 64 "$SECONDS_PER_RUN" "$pid" || true)
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            cpu=$(echo "$line" | grep -o '"server_cpu_us_per_round_trip":[0-9.]*' | cut -d: -f2)
            rate=$(echo "$line" | grep -o '"round_trips_per_sec":[0-9.]*' | cut -d: -f2)
            echo "echo $connections conns round $round $server: ${cpu:-?} us server CPU per round trip, ${rate:-?} round trips/s"
        done
    done
done
cargo bench --bench patched_call -- --warm-up-time 1 --measurement-time 3 2>&1 | grep -E "^read_dev_zero|time:"
for client in postgres memcached-r2d2 reqwest-blocking curl; do
    for mode in patched unpatched; do
        timeout 300 "$BIN/patched_clients" "$client" "$mode" 50 | tail -1
    done
done
