# shellcheck shell=bash
# The HTTP rounds that `run.sh`'s `http` part and `http_rounds.sh` both run:
# for each hub count, every server up at once (one hub: pinned to a core, wrk
# to the other), wrk on plaintext (pipelined 16) then json against each in
# turn, rounds alternated (each round starts with the next server), one JSON
# line per wrk run appended to $RESULTS/http.jsonl.
#
# Sourced. Needs BIN, BENCH_DIR, RESULTS, HTTP_REPEATS, HTTP_SECONDS, PORT
# (raised for each server), SERVER_CORE and LOADGEN_CORE (pinning commands,
# perhaps empty) and a `run` function that records and runs a command. A
# caller may define `http_extra_servers HUBS` to add to HTTP_SERVERS and
# HTTP_ORDER (the commands say PORT where their port goes). HTTP_PIDS holds
# the servers running, for a caller's exit trap.

HTTP_PIDS=()

http_rounds() {
    local hubs server command round route pipeline k line
    for hubs in "$@"; do
        local -a PINNED=() LOADER=()
        if [ "$hubs" = 1 ]; then
            PINNED=("${SERVER_CORE[@]}") LOADER=("${LOADGEN_CORE[@]}")
        fi
        local -A HTTP_SERVERS=(
            [eventlet-rt]="$BIN/http_eventlet 127.0.0.1:PORT $hubs"
            [eventlet-rt-borrowed]="$BIN/http_eventlet 127.0.0.1:PORT $hubs borrowed"
            [may_minihttp]="$BIN/http_may 127.0.0.1:PORT $hubs"
            [hyper]="$BIN/http_hyper 127.0.0.1:PORT $hubs"
        )
        local -a HTTP_ORDER=(eventlet-rt eventlet-rt-borrowed may_minihttp hyper)
        if declare -F http_extra_servers >/dev/null; then
            http_extra_servers "$hubs"
        fi
        local -A PORTS=() PIDS=()
        for server in "${HTTP_ORDER[@]}"; do
            PORT=$((PORT + 1))
            command=${HTTP_SERVERS[$server]//PORT/$PORT}
            echo "${PINNED[*]} $command &" >>"$RESULTS/commands.txt"
            # shellcheck disable=SC2086 # the server command is split on purpose
            "${PINNED[@]}" $command &
            PORTS[$server]=$PORT PIDS[$server]=$!
            HTTP_PIDS+=($!)
        done
        sleep 1 # let every server bind its port
        for round in $(seq 1 "$HTTP_REPEATS"); do
            for route in plaintext json; do
                pipeline=1
                [ "$route" = plaintext ] && pipeline=16
                for k in "${!HTTP_ORDER[@]}"; do
                    server=${HTTP_ORDER[$(((k + round - 1) % ${#HTTP_ORDER[@]}))]}
                    line=$(run timeout 60 "${LOADER[@]}" "$BIN/http_wrk" "http://127.0.0.1:${PORTS[$server]}/$route" 256 "$pipeline" "$HTTP_SECONDS" "${PIDS[$server]}" "$BENCH_DIR/http/pipeline.lua") || line=""
                    if [ -n "$line" ]; then
                        echo "{\"server\":\"$server\",\"threads\":$hubs,\"route\":\"$route\",\"round\":$round,\"result\":$line}" >>"$RESULTS/http.jsonl"
                    else
                        echo "{\"server\":\"$server\",\"skipped\":\"wrk failed on $route with $hubs hubs\"}" >>"$RESULTS/http.jsonl"
                    fi
                done
            done
        done
        for server in "${HTTP_ORDER[@]}"; do
            kill "${PIDS[$server]}" && wait "${PIDS[$server]}" 2>/dev/null || true
        done
        HTTP_PIDS=()
    done
}
