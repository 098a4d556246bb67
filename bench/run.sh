#!/usr/bin/env bash
# Runs every benchmark of eventlet-rt against its peers and writes BENCHMARKS.md
# at the repository root. Bounded: about 20 minutes on 2 cores.
#
#   bench/run.sh                   everything
#   QUICK=1 bench/run.sh           a short pass (about 4 minutes): one run of
#                                  everything, shorter criterion and echo
#                                  measurements, memory at 10k and 100k only
#
#   PARTS="echo" bench/run.sh      only some parts (of: micro memory echo http tls cores); a
#                                  partial report goes to
#                                  bench/target/bench-results/BENCHMARKS.md,
#                                  leaving the repository's one alone
#
# Any of the variables below can be set on the command line too.
#
# Loopback only. Servers run on core 0 and the load generator on core 1 when
# `taskset` and two cores are there, except in the cores part (many_cores, then
# echo over CORES_THREADS threads per server, nothing pinned).
set -euo pipefail
cd "$(dirname "$0")"
BENCH_DIR=$(pwd)
ROOT=$(cd .. && pwd)

if [ "${QUICK:-0}" = 1 ]; then
    export BENCH_QUICK=1
    REPEATS=${REPEATS:-1} ECHO_REPEATS=${ECHO_REPEATS:-1} ECHO_SECONDS=${ECHO_SECONDS:-1}
    HTTP_REPEATS=${HTTP_REPEATS:-1} HTTP_SECONDS=${HTTP_SECONDS:-2}
    MEMORY_SIZES=${MEMORY_SIZES:-"10000 100000"} MEMORY_REPEATS=${MEMORY_REPEATS:-1}
fi
ALL_PARTS="micro memory echo http tls cores"
PARTS=${PARTS:-$ALL_PARTS}
REPEATS=${REPEATS:-3}               # criterion runs of the micro-benchmarks
ECHO_REPEATS=${ECHO_REPEATS:-5}     # load generator rounds (one run per server and load each)
ECHO_SECONDS=${ECHO_SECONDS:-2}     # measured seconds per load generator run (after 1 s warm-up)
MEMORY_SIZES=${MEMORY_SIZES:-"10000 100000 1000000"}
MEMORY_SETTLE=${MEMORY_SETTLE:-13} # seconds idle before the second reading: past the hub's 10 s stow time
MEMORY_REPEATS=${MEMORY_REPEATS:-3} # rounds of the idle-connection measurements
IDLE_ECHO_CONNECTIONS=${IDLE_ECHO_CONNECTIONS:-9000}
IDLE_HTTP_CONNECTIONS=${IDLE_HTTP_CONNECTIONS:-10000}
CONNECTIONS=${CONNECTIONS:-"1 100 1000"}
HTTP_REPEATS=${HTTP_REPEATS:-3}     # wrk rounds per server, route and hub count
HTTP_SECONDS=${HTTP_SECONDS:-5}     # measured seconds per wrk run (after 1 s warm-up)
CORES_THREADS=${CORES_THREADS:-2}  # threads of every server in the cores part's echo
CORES_CONNECTIONS=${CORES_CONNECTIONS:-"100 1000"}
PORT=${PORT:-9400}
RESULTS=$BENCH_DIR/target/bench-results
BIN=$BENCH_DIR/target/release

# Runs a part of the benchmark only when PARTS names it.
wanted() {
    [[ " $PARTS " == *" $1 "* ]]
}

rm -rf "$RESULTS" && mkdir -p "$RESULTS"
: >"$RESULTS/commands.txt"

# Runs a command and records it, as typed, in commands.txt.
run() {
    echo "$*" >>"$RESULTS/commands.txt"
    "$@"
}

SERVER_CORE=() LOADGEN_CORE=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    SERVER_CORE=(taskset -c 0) LOADGEN_CORE=(taskset -c 1)
fi

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "cores: $(nproc)"
    echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    echo "kernel: $(uname -r)"
    echo "rustc: $(rustc --version)"
    echo "eventlet-rt commit: $(git -C "$ROOT" rev-parse --short HEAD)"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "pass: $([ "${QUICK:-0}" = 1 ] && echo 'QUICK=1 (short)' || echo full): REPEATS=$REPEATS ECHO_REPEATS=$ECHO_REPEATS ECHO_SECONDS=$ECHO_SECONDS MEMORY_SIZES=\"$MEMORY_SIZES\" MEMORY_SETTLE=$MEMORY_SETTLE MEMORY_REPEATS=$MEMORY_REPEATS PARTS=\"$PARTS\""
} >"$RESULTS/machine.txt"

# Each live green thread or may coroutine holds two kernel maps (its stack and
# its guard page): 100,000 sleepers (the timers benchmark) and the largest
# idle-memory size need `vm.max_map_count` above Linux's default of 65530.
# Raised here once, for every part, when this runs as root.
largest=100000
for size in $MEMORY_SIZES; do
    [ "$size" -gt "$largest" ] && largest=$size
done
need=$((2 * largest + 100000))
if [ "$(cat /proc/sys/vm/max_map_count)" -lt "$need" ] && [ "$(id -u)" = 0 ]; then
    run sysctl -qw vm.max_map_count="$need"
fi

echo "== build"
run cargo build --release --bins
run cargo bench --no-run
if wanted memory; then
    # The examples' echo server (Eventlet's), measured idle with the others.
    run cargo build --release --manifest-path "$ROOT/Cargo.toml" -p eventlet-examples --bin echo_server
fi

if wanted micro; then
echo "== micro-benchmarks ($REPEATS runs)"
BENCHES=()
for file in benches/*.rs; do
    BENCHES+=(--bench "$(basename "$file" .rs)")
done
for n in $(seq 1 "$REPEATS"); do
    rm -rf target/criterion
    run "${SERVER_CORE[@]}" cargo bench "${BENCHES[@]}" -- --noplot
    cp -r target/criterion "$RESULTS/criterion-$n"
done

fi

if wanted memory; then
echo "== idle memory"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
: >"$RESULTS/memory.jsonl"
for size in $MEMORY_SIZES; do
    need=$((2 * size + 100000)) # two maps per task, raised above when root
    for runtime in eventlet-rt tokio may; do
        if [ "$runtime" != tokio ] && [ "$(cat /proc/sys/vm/max_map_count)" -lt "$need" ]; then
            echo "{\"runtime\":\"$runtime\",\"tasks\":$size,\"skipped\":\"vm.max_map_count below $need and not root\"}" >>"$RESULTS/memory.jsonl"
            echo "skipping $runtime at $size: vm.max_map_count is below $need and this is not root"
            continue
        fi
        run timeout 600 "${SERVER_CORE[@]}" "$BIN/idle_memory" sleepers "$runtime" "$size" "$MEMORY_SETTLE" >>"$RESULTS/memory.jsonl"
    done
done

# Idle connections: each server started fresh by idle_memory, which opens
# the connections, makes one exchange on each, lets them idle MEMORY_SETTLE
# seconds and reads the server's RSS growth. BEFORE_BIN (a bench/target/release
# of an older commit) adds its eventlet-rt servers, for before/after figures
# from one run. Rounds alternate the order of the servers.
declare -A IDLE_SERVERS=(
    [echo_seed]="echo $BIN/echo_seed 127.0.0.1:PORT"
    [echo_eventlet]="echo $BIN/echo_eventlet 127.0.0.1:PORT"
    [echo_server]="echo $ROOT/target/release/echo_server --host 127.0.0.1 --port PORT"
    [echo_tokio]="echo $BIN/echo_tokio 127.0.0.1:PORT"
    [echo_may]="echo $BIN/echo_may 127.0.0.1:PORT"
    [echo_mio]="echo $BIN/echo_mio 127.0.0.1:PORT"
    [http_eventlet]="http $BIN/http_eventlet 127.0.0.1:PORT 1"
    [http_hyper]="http $BIN/http_hyper 127.0.0.1:PORT 1"
    [http_may]="http $BIN/http_may 127.0.0.1:PORT 1"
)
IDLE_ORDER=(echo_seed echo_eventlet echo_server echo_tokio echo_may echo_mio http_eventlet http_hyper http_may)
if [ -x /usr/sbin/nginx ]; then
    IDLE_SERVERS[nginx]="http nginx"
    IDLE_ORDER+=(nginx)
else
    echo "{\"connections\":{\"server\":\"nginx\",\"skipped\":\"/usr/sbin/nginx missing: apt-get install nginx-light\"}}" >>"$RESULTS/memory.jsonl"
fi
if [ -n "${BEFORE_BIN:-}" ]; then
    for server in echo_seed echo_eventlet http_eventlet; do
        IDLE_SERVERS[before_$server]=${IDLE_SERVERS[$server]//$BIN/$BEFORE_BIN}
        IDLE_ORDER+=("before_$server")
    done
fi
# What releasing a parked green thread's stack costs, and its wake-up after.
line=$(run timeout 300 "${SERVER_CORE[@]}" "$BIN/idle_memory" stow-cost 10000 5) || line=""
[ -n "$line" ] && echo "{\"stow_cost\":$line}" >>"$RESULTS/memory.jsonl"
for round in $(seq 1 "$MEMORY_REPEATS"); do
    for k in "${!IDLE_ORDER[@]}"; do
        server=${IDLE_ORDER[$(((k + round - 1) % ${#IDLE_ORDER[@]}))]}
        read -r kind command <<<"${IDLE_SERVERS[$server]}"
        count=$IDLE_HTTP_CONNECTIONS
        [ "$kind" = echo ] && count=$IDLE_ECHO_CONNECTIONS
        # shellcheck disable=SC2086 # the server command is split on purpose
        line=$(run timeout 300 "${SERVER_CORE[@]}" "$BIN/idle_memory" connections "$kind" "$count" "$MEMORY_SETTLE" $command) || line=""
        if [ -n "$line" ]; then
            echo "{\"connections\":{\"server\":\"$server\",\"round\":$round,\"result\":$line}}" >>"$RESULTS/memory.jsonl"
        else
            echo "{\"connections\":{\"server\":\"$server\",\"round\":$round,\"skipped\":\"idle_memory failed\"}}" >>"$RESULTS/memory.jsonl"
        fi
    done
done

# With BEFORE_BIN: the HTTP server's CPU per request before and after, both
# servers up at once, rounds alternated (what giving idle memory back costs
# a busy server: nothing, is the aim).
if [ -n "${BEFORE_BIN:-}" ] && command -v wrk >/dev/null; then
    declare -A AB_PORTS=() AB_PIDS=()
    for variant in after before; do
        dir=$BIN
        [ "$variant" = before ] && dir=$BEFORE_BIN
        PORT=$((PORT + 1))
        echo "${SERVER_CORE[*]} $dir/http_eventlet 127.0.0.1:$PORT 1 &" >>"$RESULTS/commands.txt"
        "${SERVER_CORE[@]}" "$dir/http_eventlet" "127.0.0.1:$PORT" 1 &
        AB_PORTS[$variant]=$PORT AB_PIDS[$variant]=$!
    done
    sleep 1
    for round in $(seq 1 "$HTTP_REPEATS"); do
        for route in plaintext json; do
            pipeline=1
            [ "$route" = plaintext ] && pipeline=16
            order=(after before)
            [ $((round % 2)) = 0 ] && order=(before after)
            for variant in "${order[@]}"; do
                line=$(run timeout 60 "${LOADGEN_CORE[@]}" "$BIN/http_wrk" "http://127.0.0.1:${AB_PORTS[$variant]}/$route" 256 "$pipeline" "$HTTP_SECONDS" "${AB_PIDS[$variant]}" "$BENCH_DIR/http/pipeline.lua") || line=""
                [ -n "$line" ] && echo "{\"cpu_ab\":{\"variant\":\"$variant\",\"route\":\"$route\",\"round\":$round,\"result\":$line}}" >>"$RESULTS/memory.jsonl"
            done
        done
    done
    for pid in "${AB_PIDS[@]}"; do
        kill "$pid" && wait "$pid" 2>/dev/null || true
    done
    unset AB_PORTS AB_PIDS
fi

fi

# Python Eventlet, the seed's reference, in a virtual environment of its own.
VENV=$BENCH_DIR/target/py-venv
python_eventlet() {
    if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import eventlet' 2>/dev/null; then
        run python3 -m venv "$VENV" && run "$VENV/bin/pip" install --quiet eventlet || true
    fi
    "$VENV/bin/python" -c 'import eventlet' 2>/dev/null
}

if wanted echo; then
echo "== echo"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
python_eventlet || true

# The command that starts each server; the port comes last.
declare -A SERVERS=(
    [mio]="$BIN/echo_mio 127.0.0.1:"
    [tokio]="$BIN/echo_tokio 127.0.0.1:"
    [may]="$BIN/echo_may 127.0.0.1:"
    [eventlet-py]="env PYTHONWARNINGS=ignore $VENV/bin/python $BENCH_DIR/py/eventlet_echo.py "
)
if [ -x "$BIN/echo_eventlet" ]; then
    SERVERS[eventlet-rt]="$BIN/echo_eventlet 127.0.0.1:"
fi
if [ -x "$BIN/echo_patched" ]; then
    SERVERS[eventlet-patched]="$BIN/echo_patched 127.0.0.1:"
fi
: >"$RESULTS/echo.jsonl"
# Every server is started first (idle ones cost nothing), then each round
# loads them one after another at each connection count: the machine's load
# drifts (2 shared cores), and interleaving spreads that drift over all servers
# instead of charging it to whichever ran at the wrong moment.
declare -A PORTS=() PIDS=()
for server in eventlet-rt eventlet-patched mio tokio may eventlet-py; do
    if [ -z "${SERVERS[$server]:-}" ]; then
        echo "{\"server\":\"$server\",\"skipped\":\"no server binary yet\"}" >>"$RESULTS/echo.jsonl"
        continue
    fi
    if [ "$server" = eventlet-py ] && ! "$VENV/bin/python" -c 'import eventlet' 2>/dev/null; then
        echo "{\"server\":\"$server\",\"skipped\":\"pip could not install eventlet\"}" >>"$RESULTS/echo.jsonl"
        continue
    fi
    PORT=$((PORT + 1))
    # shellcheck disable=SC2086 # the server command is split on purpose
    echo "${SERVER_CORE[*]} ${SERVERS[$server]}$PORT &" >>"$RESULTS/commands.txt"
    "${SERVER_CORE[@]}" ${SERVERS[$server]}$PORT &
    PORTS[$server]=$PORT PIDS[$server]=$!
done
sleep 1 # let every server bind its port
# Each round starts one server later than the one before, so that none always
# runs first or last in a round; the report compares servers within a round.
ORDER=(eventlet-rt eventlet-patched mio tokio may eventlet-py)
for round in $(seq 1 "$ECHO_REPEATS"); do
    for connections in $CONNECTIONS; do
        for k in "${!ORDER[@]}"; do
            server=${ORDER[$(((k + round - 1) % ${#ORDER[@]}))]}
            [ -n "${PIDS[$server]:-}" ] || continue
            line=$(run timeout 60 "${LOADGEN_CORE[@]}" "$BIN/loadgen" "127.0.0.1:${PORTS[$server]}" "$connections" 64 "$ECHO_SECONDS" "${PIDS[$server]}") || line=""
            if [ -n "$line" ]; then
                echo "{\"server\":\"$server\",\"round\":$round,\"result\":$line}" >>"$RESULTS/echo.jsonl"
            else
                echo "{\"server\":\"$server\",\"round\":$round,\"skipped\":\"load generator failed at $connections connections\"}" >>"$RESULTS/echo.jsonl"
            fi
        done
    done
done
for pid in "${PIDS[@]}"; do
    kill "$pid" && wait "$pid" 2>/dev/null || true
done
fi

if wanted http; then
echo "== http"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
: >"$RESULTS/http.jsonl"
# Python Eventlet's wsgi.server joins the one-hub rounds when pip installed it.
http_extra_servers() {
    [ "$1" = 1 ] || return 0
    if python_eventlet; then
        HTTP_SERVERS[eventlet-py]="env PYTHONWARNINGS=ignore $VENV/bin/python $BENCH_DIR/py/eventlet_wsgi.py PORT"
        HTTP_ORDER+=(eventlet-py)
    else
        echo "{\"server\":\"eventlet-py\",\"skipped\":\"pip could not install eventlet\"}" >>"$RESULTS/http.jsonl"
    fi
}
# shellcheck source=http/rounds.sh
. "$BENCH_DIR/http/rounds.sh"
HUBS="1"
[ "$(nproc)" -gt 1 ] && HUBS="1 $(nproc)"
# shellcheck disable=SC2086 # one argument per hub count
http_rounds $HUBS
fi

if wanted tls; then
echo "== TLS (bench/tls, its own workspace)"
echo "cd tls" >>"$RESULTS/commands.txt"
(
    cd tls
    run cargo bench --no-run --bench tls
    run "${SERVER_CORE[@]}" cargo bench --bench tls
) >"$RESULTS/tls.txt" 2>"$RESULTS/tls.stderr" || echo "TLS benchmark failed: see $RESULTS/tls.stderr" >>"$RESULTS/tls.txt"
echo "cd .." >>"$RESULTS/commands.txt"
fi

if wanted cores; then
echo "== many cores (both cores, no pinning: every runtime runs 2 threads)"
run timeout 300 "$BIN/many_cores" "$ECHO_SECONDS" >"$RESULTS/cores.md"

echo "== echo over $CORES_THREADS threads (nothing pinned; the load generator shares the cores)"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
declare -A CORES_SERVERS=(
    [eventlet-rt-1]="$BIN/echo_eventlet 127.0.0.1:PORT 1"
    [eventlet-rt-n]="$BIN/echo_eventlet 127.0.0.1:PORT $CORES_THREADS"
    [mio-n]="$BIN/echo_mio 127.0.0.1:PORT $CORES_THREADS"
    [tokio-n]="$BIN/echo_tokio 127.0.0.1:PORT $CORES_THREADS"
    [may-n]="$BIN/echo_may 127.0.0.1:PORT $CORES_THREADS"
)
CORES_ORDER=(eventlet-rt-1 eventlet-rt-n mio-n tokio-n may-n)
: >"$RESULTS/echo-cores.jsonl"
declare -A PORTS=() PIDS=()
for server in "${CORES_ORDER[@]}"; do
    PORT=$((PORT + 1))
    command=${CORES_SERVERS[$server]//PORT/$PORT}
    echo "$command &" >>"$RESULTS/commands.txt"
    # shellcheck disable=SC2086 # the server command is split on purpose
    $command &
    PORTS[$server]=$PORT PIDS[$server]=$!
done
sleep 1 # let every server bind its port
for round in $(seq 1 "$ECHO_REPEATS"); do
    echo "round $round, load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS/cores-load.txt"
    for connections in $CORES_CONNECTIONS; do
        for k in "${!CORES_ORDER[@]}"; do
            server=${CORES_ORDER[$(((k + round - 1) % ${#CORES_ORDER[@]}))]}
            line=$(run timeout 60 "$BIN/loadgen" "127.0.0.1:${PORTS[$server]}" "$connections" 64 "$ECHO_SECONDS" "${PIDS[$server]}") || line=""
            if [ -n "$line" ]; then
                echo "{\"server\":\"$server\",\"round\":$round,\"result\":$line}" >>"$RESULTS/echo-cores.jsonl"
            else
                echo "{\"server\":\"$server\",\"round\":$round,\"skipped\":\"load generator failed at $connections connections\"}" >>"$RESULTS/echo-cores.jsonl"
            fi
        done
    done
done
for pid in "${PIDS[@]}"; do
    kill "$pid" && wait "$pid" 2>/dev/null || true
done
unset PORTS PIDS
{
    echo
    "$BIN/report" --echo-cores "$RESULTS/echo-cores.jsonl" "$CORES_THREADS"
    echo "Load average by round: $(sed 's/^round [0-9]*, load average //' "$RESULTS/cores-load.txt" | paste -sd';' | sed 's/;/; /g')."
} >>"$RESULTS/cores.md"
fi

echo "== report"
REPORT=$ROOT/BENCHMARKS.md
if [ "$PARTS" != "$ALL_PARTS" ]; then
    REPORT=$RESULTS/BENCHMARKS.md
fi
"$BIN/report" "$RESULTS" >"$REPORT"
if [ -s "$RESULTS/cores.md" ]; then
    { echo; cat "$RESULTS/cores.md"; } >>"$REPORT"
fi
echo "wrote $REPORT"
