#!/usr/bin/env bash
# Runs the whole test suite N times with CPU hogs running beside it, and reports every failure.
#
# A test that bounds wall-clock time ("under 50 ms", "exactly one slow-poll warning") passes on an
# idle machine and fails on a loaded one: the loaded machine is where such a test is found out.
# This script makes the load on purpose — one busy loop per CPU by default, so the tests get about
# half the machine — and runs the suite again and again.
#
# Usage: scripts/stress-test.sh [RUNS] [HOGS]     (defaults: 3 runs, one hog per CPU)
#   RUN_TIMEOUT=1800   seconds one run of the suite may take before it counts as hung
#   TEST_ARGS="..."    extra arguments for the test binaries (after `--`), e.g. "--test-threads=2"
# Logs: target/stress/run-N.log. Exit status: 0 if every run passed, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."

RUNS=${1:-3}
HOGS=${2:-$(nproc)}
RUN_TIMEOUT=${RUN_TIMEOUT:-1800}
TEST_ARGS=${TEST_ARGS:-}
LOGS=target/stress
mkdir -p "$LOGS"
rm -f "$LOGS"/run-*.log

echo "== building the tests (before the hogs start)"
cargo test --no-run -q || { echo "stress-test.sh: the tests do not build" >&2; exit 2; }

# The hogs: plain shell busy loops, one process each. Only these pids are ever killed.
hogs=()
stop_hogs() {
    for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${hogs[@]}"; do wait "$pid" 2>/dev/null; done
    hogs=()
}
trap stop_hogs EXIT
trap 'exit 130' INT TERM
for _ in $(seq "$HOGS"); do
    ( while :; do :; done ) &
    hogs+=("$!")
done
echo "== $HOGS CPU hog(s) running (pids ${hogs[*]}); $RUNS run(s) of cargo test"

# "test NAME ... FAILED" lines, each prefixed with the binary it ran in ("tests/timers.rs").
failures_in() {
    awk '
        /^     Running / { binary = $2 }
        /^   Doc-tests / { binary = "doc-tests " $2 }
        /^test .* \.\.\. FAILED$/ { sub(/^test /, ""); sub(/ \.\.\. FAILED$/, ""); print binary ": " $0 }
    ' "$1"
}

failed_runs=0
for run in $(seq "$RUNS"); do
    log="$LOGS/run-$run.log"
    start=$(date +%s)
    # --no-fail-fast: one failing binary must not hide the others.
    # shellcheck disable=SC2086 # TEST_ARGS is meant to split into arguments
    timeout --kill-after=30 "$RUN_TIMEOUT" cargo test --no-fail-fast -- $TEST_ARGS >"$log" 2>&1
    status=$?
    took=$(( $(date +%s) - start ))
    if [ "$status" -eq 0 ]; then
        echo "run $run: ok (${took} s)"
        continue
    fi
    failed_runs=$((failed_runs + 1))
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        echo "run $run: HUNG, killed after ${RUN_TIMEOUT} s (log: $log)"
    else
        echo "run $run: FAILED (${took} s, log: $log)"
    fi
    failures_in "$log" | sed 's/^/    /'
done

echo "== summary: $failed_runs of $RUNS run(s) failed"
if [ "$failed_runs" -gt 0 ]; then
    echo "failures per test, over all runs:"
    for run in $(seq "$RUNS"); do failures_in "$LOGS/run-$run.log"; done | sort | uniq -c | sort -rn
    exit 1
fi
