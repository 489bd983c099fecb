#!/usr/bin/env bash
# What the loop's always-on instrumentation costs: the micro benches with and without it.
#
# Usage:  scripts/bench-overhead.sh [WORKLOAD N]...     (default: spawn 100000 pingpong 100000)
#
# After every poll the loop times it (`Core::record_poll`: the coarse clock, and the precise clock
# when the kernel tick moved; longest poll, slow-poll warning) and records the task's wake-to-poll
# delay (`Counters::record_lag`); and it has `log` calls on its hot paths, which with logging off
# cost a check of `log`'s max level. To see what each costs, this script copies the source tree to
# a scratch directory and patches the copies -- the repository itself is not touched and no
# switch is added to the runtime:
#
#   precise  every poll timed with the precise clock (what a slow-poll threshold below two ticks
#            does, and what the loop did before `clock.rs`)
#   none     record_poll only counts the poll, no clock read at all; no lag
#   nolog    every log macro compiled out (`log` feature `max_level_off`); stats as in full
#   clock    record_poll only counts the poll and reads the precise clock; no lag, no bookkeeping
#
# `full` is this tree as it is. The bench starts env_logger with RUST_LOG unset, as an application
# would: only errors enabled. The poll counter stays in every variant because the reactor check
# interval (EVENT_INTERVAL) counts polls.
#
# It runs full and every variant back to back (in a rotating order), REPS times, pinned to CPU
# $CPU, and prints per row the median ns_per_op of each and, per variant, the median (min-max
# over reps) of full/variant, and the ratio of the fastest runs ("mins", the least disturbed by
# other load on the machine): the cost of what the variant removes is (full/variant - 1).
#
# Environment: REPS (default 5), CPU (default 0), VARIANTS (default "precise none nolog"),
# SCRATCH (default ${TMPDIR:-/tmp}/evloop-overhead).
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${REPS:-5}
CPU=${CPU:-0}
VARIANTS=${VARIANTS:-precise none nolog}
SCRATCH=${SCRATCH:-${TMPDIR:-/tmp}/evloop-overhead}
if [ $# -eq 0 ]; then set -- spawn 100000 pingpong 100000; fi

bench_bin() { # source dir -> path of the built micro bench
    (cd "$1" && CARGO_TARGET_DIR="$1/target" cargo bench --bench micro --no-run --message-format=json 2>/dev/null) |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1
}

# Replaces the fixed string $1 by $2 in file $3, and fails loudly if $1 is not there (the source
# moved on: update this script).
replace() {
    grep -qF "$1" "$3" || { echo "not found in $3: $1" >&2; exit 1; }
    local from to
    from=$(printf '%s' "$1" | sed 's/[][\/.*^$&]/\\&/g')
    to=$(printf '%s' "$2" | sed 's/[\/&]/\\&/g')
    sed -i "s/$from/$to/" "$3"
}

make_variant() { # name
    local dir=$SCRATCH/$1
    local core=$dir/src/runtime/core.rs stats=$dir/src/stats.rs
    mkdir -p "$dir"
    rm -rf "$dir/src" "$dir/benches"
    cp -r Cargo.toml Cargo.lock src benches "$dir/"
    local poll='pub(crate) fn record_poll(&self, start: Instant, task: Option<&dyn RawTask>) {'
    local lag='start.saturating_duration_since(notified.woken_at)'
    case $1 in
    clock | none)
        local keep='Counters::bump(&self.counters.polls); let _ = (start, task);'
        if [ "$1" = clock ]; then keep="$keep self.clock.set(Instant::now());"; fi
        replace "$poll" "$poll $keep return;" "$core"
        # No lag: neither the subtraction in run_task (a call into std the compiler cannot
        # drop) nor the histogram.
        replace "$lag" 'Duration::ZERO' "$core"
        replace 'pub(crate) fn record_lag(&self, lag: Duration) {' \
            'pub(crate) fn record_lag(&self, lag: Duration) { return;' "$stats"
        replace 'pub(crate) fn record_zero_lag(&self) {' \
            'pub(crate) fn record_zero_lag(&self) { return;' "$stats"
        ;;
    precise)
        replace 'if tick == self.clock_tick.get() && !self.precise_polls {' \
            'if tick == self.clock_tick.get() && false {' "$core"
        ;;
    nolog)
        replace 'log = "0.4"' 'log = { version = "0.4", features = ["max_level_off"] }' "$dir/Cargo.toml"
        ;;
    *) echo "unknown variant $1" >&2; exit 2 ;;
    esac
}

declare -A bin
bin[full]=$(bench_bin "$PWD")
for v in $VARIANTS; do
    make_variant "$v"
    bin[$v]=$(bench_bin "$SCRATCH/$v")
    if [ ! -x "${bin[$v]}" ]; then
        echo "build of variant $v failed; see: (cd $SCRATCH/$v && cargo bench --bench micro --no-run)" >&2
        exit 1
    fi
done
[ -x "${bin[full]}" ] || { echo "build failed: cargo bench --bench micro --no-run" >&2; exit 1; }

echo "# $(date -u +%FT%TZ) $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
echo "# reps=$REPS cpu=$CPU load: $(cut -d' ' -f1-3 /proc/loadavg)"
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
args=("$@")
order=(full $VARIANTS)
for rep in $(seq 1 "$REPS"); do
    for ((i = 0; i < ${#args[@]}; i += 2)); do
        # Rotate the order each rep: the first process of a cycle runs faster or slower than the
        # rest (page faults of a 100k-task run depend on what the previous process left), and
        # that must not always land on the same build.
        for ((k = 0; k < ${#order[@]}; k++)); do
            v=${order[(k + rep) % ${#order[@]}]}
            taskset -c "$CPU" "${bin[$v]}" "${args[i]}" "${args[i + 1]}" | sed "s/^/$v $rep /" >>"$rows"
        done
    done
done

awk -v variants="$VARIANTS" '
function median(list,    a, k, i, j, x) {
    k = split(list, a, " ")
    for (i = 2; i <= k; i++) { # insertion sort, portable to mawk
        x = a[i] + 0
        for (j = i - 1; j >= 1 && a[j] + 0 > x; j--) a[j + 1] = a[j]
        a[j + 1] = x
    }
    return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
}
function min(list,    a, k, i, lo) {
    k = split(list, a, " "); lo = a[1]
    for (i = 2; i <= k; i++) if (a[i] + 0 < lo + 0) lo = a[i]
    return lo
}
function minmax(list,    a, k, i, lo, hi) {
    k = split(list, a, " "); lo = a[1]; hi = a[1]
    for (i = 2; i <= k; i++) { if (a[i] < lo) lo = a[i]; if (a[i] > hi) hi = a[i] }
    return sprintf("%.3f-%.3f", lo, hi)
}
{
    v = $1; rep = $2; name = $3
    for (i = 4; i <= NF; i++) if ($i ~ /^ns_per_op=/) { split($i, kv, "="); ns = kv[2] }
    if (!(name in seen)) { seen[name] = 1; order[++count] = name }
    val[v, name, rep] = ns; all[v, name] = all[v, name] " " ns; if (rep > maxrep) maxrep = rep
}
END {
    nv = split(variants, vs, " ")
    printf "%-14s %9s", "row", "full_ns"
    for (k = 1; k <= nv; k++) printf " %9s %22s %6s", vs[k] "_ns", "full/" vs[k] " (range)", "mins"
    printf "\n"
    for (j = 1; j <= count; j++) {
        name = order[j]
        printf "%-14s %9.1f", name, median(all["full", name])
        for (k = 1; k <= nv; k++) {
            r = ""
            for (rep = 1; rep <= maxrep; rep++) r = r " " val["full", name, rep] / val[vs[k], name, rep]
            printf " %9.1f %8.3f (%s) %6.3f", median(all[vs[k], name]), median(r), minmax(r),
                min(all["full", name]) / min(all[vs[k], name])
        }
        printf "\n"
    }
}' "$rows"
