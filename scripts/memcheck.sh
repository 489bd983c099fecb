#!/usr/bin/env bash
# Runs the test binaries, and the echo server under a short load, under valgrind's memcheck:
# invalid reads and writes, uses of uninitialised memory, bad frees, and memory *definitely* lost
# (allocated and no longer pointed to by anything) all fail the run. Miri (scripts/miri.sh) checks
# the unsafe code against Rust's own rules but cannot run sockets; memcheck runs the real binaries,
# with real epoll, eventfd and sockets, and checks what reaches the allocator and the kernel.
#
# Usage: scripts/memcheck.sh            (a few minutes; logs in target/memcheck/)
#
# Each run uses:
#   valgrind --tool=memcheck --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite
# "Possibly lost" and "still reachable" blocks do not fail the run: the test harness and std keep
# some allocations (thread locals, the stdout buffer) alive until exit on purpose.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || { echo "memcheck.sh: valgrind is not installed" >&2; exit 2; }
VALGRIND=(valgrind --tool=memcheck --error-exitcode=1 --leak-check=full
    --errors-for-leak-kinds=definite)
LOGS=target/memcheck
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log "$LOGS"/*.out

# Test binaries, and the tests skipped under valgrind with the reason. Valgrind runs everything
# 20-50x slower and on one core at a time, so tests that assert on wall-clock or CPU time, or that
# only repeat a path many times over, are left out; every path they take is still run by others.
TESTS=(
    "lib"
    "runtime"
    "timers --skip a_million_dropped_timeouts_leave_the_timers_empty --skip an_idle_one_second_sleep_costs_almost_no_cpu"
    "sync"
    "net --skip two_hundred_clients_each_echo_a_thousand_messages"
    "net_faults"
    "reliability_panics"
    "reliability_wakers"
    "reliability_shutdown"
    "worker"
)
# a_million_dropped_timeouts...: a million timers, ~3 minutes under valgrind (thousands run in
#   timeout_gives_up... and the reliability tests).
# an_idle_one_second_sleep_costs_almost_no_cpu: measures the thread's CPU time, which valgrind's
#   own work inflates.
# (interval_ticks_on_its_grid... used to be skipped: a real 10 ms grid that valgrind made the loop
#   miss. It runs on paused time now, where valgrind's slowness changes nothing.)
# two_hundred_clients_each_echo_a_thousand_messages: 200 000 round trips; the echo server load
#   below takes the same path.

echo "== building"
cargo_args=()
for spec in "${TESTS[@]}"; do
    name=${spec%% *}
    if [ "$name" = lib ]; then cargo_args+=(--lib); else cargo_args+=(--test "$name"); fi
done
executables=$(cargo test --no-run --message-format=json "${cargo_args[@]}" 2>/dev/null |
    grep -o '"executable":"[^"]*"' | sed 's/^"executable":"//; s/"$//')
cargo build --release --example echo_server --example echo_client 2>&1 | tail -1

# Reads a valgrind log and prints one line: the error count and what was definitely lost.
summary() {
    local log=$1 errors lost
    errors=$(grep -h 'ERROR SUMMARY' "$log" | tail -1 | sed 's/.*ERROR SUMMARY: //; s/ (suppressed.*//')
    if grep -q 'no leaks are possible' "$log"; then
        lost="no leaks possible"
    else
        lost="definitely lost: $(grep -h 'definitely lost' "$log" | tail -1 | sed 's/.*definitely lost: //')"
    fi
    echo "$errors; $lost"
}

# True if the log reports no error and no definite leak (also for a process ended by a signal,
# whose exit status valgrind cannot set).
clean() {
    grep -q 'ERROR SUMMARY: 0 errors' "$1" &&
        { grep -q 'no leaks are possible' "$1" || grep -q 'definitely lost: 0 bytes' "$1"; }
}

failed=0
report=()

# 1. The test binaries.
for spec in "${TESTS[@]}"; do
    read -r name skips <<<"$spec"
    prefix=$name
    [ "$name" = lib ] && prefix=evloop
    exe=$(grep "/deps/${prefix}-[0-9a-f]*$" <<<"$executables" | head -1)
    [ -n "$exe" ] || { echo "memcheck.sh: no test binary for $name" >&2; exit 2; }
    echo "== $name"
    start=$SECONDS
    # shellcheck disable=SC2086 # the skips are separate words on purpose
    if "${VALGRIND[@]}" --log-file="$LOGS/$name.log" "$exe" -q $skips >"$LOGS/$name.out" 2>&1 &&
        clean "$LOGS/$name.log"; then
        status=ok
    else
        status=FAILED
        failed=1
        tail -20 "$LOGS/$name.out"
    fi
    tests=$(grep -h 'test result' "$LOGS/$name.out" | sed 's/test result: //; s/; 0 measured//; s/; finished in.*//')
    report+=("$(printf '%-22s %-6s %4ss  %s | %s' "$name" "$status" $((SECONDS - start)) \
        "$tests" "$(summary "$LOGS/$name.log")")")
done

# 2. The echo server under load: started under valgrind on a free port, driven by echo_client
#    runs (also under valgrind) that verify every byte, then stopped with SIGTERM. Twice: echoing
#    on the loop, and passing every message through spawn_blocking on the pool's threads.
#    Usage: serve_under_load NAME "SERVER ARGS" "CLIENT ARGS"...
serve_under_load() {
    local name=$1 server_args=$2 server addr load client_ok=1 start=$SECONDS clients=()
    shift 2
    echo "== $name under echo_client load"
    # shellcheck disable=SC2086
    "${VALGRIND[@]}" --log-file="$LOGS/$name.log" target/release/examples/echo_server \
        127.0.0.1:0 $server_args >"$LOGS/$name.out" 2>&1 &
    server=$!
    addr=""
    for _ in $(seq 600); do # up to 60 s for valgrind to start the server
        addr=$(sed -n 's/^listening on //p' "$LOGS/$name.out")
        [ -n "$addr" ] && break
        kill -0 "$server" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$addr" ]; then
        echo "memcheck.sh: the echo server did not start" >&2
        kill -TERM "$server" 2>/dev/null || true
        failed=1
        return
    fi
    for load in "$@"; do
        # shellcheck disable=SC2086
        if "${VALGRIND[@]}" --log-file="$LOGS/$name-client.log" target/release/examples/echo_client \
            "$addr" $load >>"$LOGS/$name-client.out" 2>&1 && clean "$LOGS/$name-client.log"; then
            status=ok
        else
            status=FAILED
            client_ok=0
        fi
        clients+=("$(printf '%-22s %-6s        %s | %s' "  echo_client" "$status" \
            "$load: $(tail -1 "$LOGS/$name-client.out" | cut -d' ' -f1-5)" \
            "$(summary "$LOGS/$name-client.log")")")
    done
    kill -TERM "$server"
    wait "$server" || true # ended by the signal: valgrind's exit status is the signal's
    if [ $client_ok = 1 ] && clean "$LOGS/$name.log"; then status=ok; else status=FAILED; failed=1; fi
    report+=("$(printf '%-22s %-6s %4ss  %s | %s' "$name" "$status" $((SECONDS - start)) \
        "echo_server${server_args:+ $server_args}, stopped by SIGTERM" "$(summary "$LOGS/$name.log")")")
    report+=("${clients[@]}")
}

serve_under_load echo_server "" \
    "--conns 100 --count 200 --size 4096" "--conns 20 --count 20 --size 65536"
serve_under_load echo_server_pool "--work-ms 0 --worker threads" \
    "--conns 50 --count 100 --size 1024"

echo
echo "== memcheck summary (logs in $LOGS/)"
printf '%s\n' "${report[@]}"
exit $failed
