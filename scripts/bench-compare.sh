#!/usr/bin/env bash
# Compare evloop's microbenchmarks (benches/micro.rs) with tokio's (micro-tokio), row by row.
#
# Usage:  scripts/bench-compare.sh [WORKLOAD N]...      (default: spawn, pingpong, timers 100000)
#   e.g.  REPS=5 scripts/bench-compare.sh spawn 100000 pingpong 100000
#
# For each repetition and workload it runs micro-tokio and evloop back to back (alternating which
# goes first), pinned to CPU $CPU (default 0; the offload workload is not pinned: it needs its
# worker threads). Rows with
# the same name are paired within a repetition, and the script prints per row:
#   tokio and evloop ns_per_op (median over reps), the ratio evloop/tokio of each rep (median and
#   min-max): < 1.0 means evloop takes less time per op.
# Back-to-back pairs make the ratio robust against the slow drifts of a shared machine; the range
# shows how noisy the run was.
#
# Environment: REPS (default 3), CPU (default 0), PEERS_BIN (dir with micro-tokio; default
# $CARGO_TARGET_DIR/release, then ../shared/bench/peers/target/release), EVLOOP_MICRO (path to
# a prebuilt evloop bench binary; default: built here with `cargo bench --no-run`),
# RAW=file (append every raw row there, tagged with runtime and rep).
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${REPS:-3}
CPU=${CPU:-0}
if [ $# -eq 0 ]; then set -- spawn 100000 pingpong 100000 timers 100000; fi
if [ $(($# % 2)) -ne 0 ]; then
    echo "usage: $0 [WORKLOAD N]..." >&2
    exit 2
fi

tokio_bin=""
for dir in "${PEERS_BIN:-}" "${CARGO_TARGET_DIR:-}/release" ../shared/bench/peers/target/release; do
    if [ -n "$dir" ] && [ -x "$dir/micro-tokio" ]; then tokio_bin="$dir/micro-tokio"; break; fi
done
if [ -z "$tokio_bin" ]; then
    echo "micro-tokio not found: build ../shared/bench/peers (see its README) and set PEERS_BIN" >&2
    exit 2
fi

evloop_bin=${EVLOOP_MICRO:-}
if [ -z "$evloop_bin" ]; then
    # The bench binary's path has a hash in it; cargo names it in its JSON messages.
    evloop_bin=$(cargo bench --bench micro --no-run --message-format=json 2>/dev/null |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
fi
if [ ! -x "$evloop_bin" ]; then
    echo "evloop bench binary not found (cargo bench --bench micro --no-run failed?)" >&2
    exit 2
fi

rows=$(mktemp)
trap 'rm -f "$rows"' EXIT

echo "# $(date -u +%FT%TZ) $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
echo "# tokio: $tokio_bin"
echo "# evloop: $evloop_bin"
echo "# reps=$REPS cpu=$CPU load: $(cut -d' ' -f1-3 /proc/loadavg)"

run() { # runtime workload n rep
    local bin pin=(taskset -c "$CPU")
    if [ "$1" = tokio ]; then bin=$tokio_bin; else bin=$evloop_bin; fi
    if [ "$2" = offload ]; then pin=(); fi
    "${pin[@]}" "$bin" "$2" "$3" | while read -r line; do
        echo "$1 $4 $line" >>"$rows"
        if [ -n "${RAW:-}" ]; then echo "$1 rep=$4 $line" >>"$RAW"; fi
    done
}

for rep in $(seq 1 "$REPS"); do
    args=("$@")
    for ((i = 0; i < ${#args[@]}; i += 2)); do
        # Alternate who goes first: the first of two back-to-back runs can be systematically
        # faster or slower (what the previous process left in memory), by ~5 % on spawn.
        if ((rep % 2)); then first=tokio second=evloop; else first=evloop second=tokio; fi
        run $first "${args[i]}" "${args[i + 1]}" "$rep"
        run $second "${args[i]}" "${args[i + 1]}" "$rep"
    done
done

# rows: RUNTIME REP NAME n=N ns_per_op=X ...
awk '
function median(list,    a, k, i, j, x) {
    k = split(list, a, " ")
    for (i = 2; i <= k; i++) { # insertion sort: a handful of values, and portable to mawk
        x = a[i] + 0
        for (j = i - 1; j >= 1 && a[j] + 0 > x; j--) a[j + 1] = a[j]
        a[j + 1] = x
    }
    return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
}
function minmax(list,    a, k, i, lo, hi) {
    k = split(list, a, " "); lo = a[1]; hi = a[1]
    for (i = 2; i <= k; i++) { if (a[i] < lo) lo = a[i]; if (a[i] > hi) hi = a[i] }
    return sprintf("%.2f-%.2f", lo, hi)
}
{
    rt = $1; rep = $2; name = $3
    for (i = 4; i <= NF; i++) if ($i ~ /^ns_per_op=/) { split($i, kv, "="); ns = kv[2] }
    if (!(name in seen)) { seen[name] = 1; order[++count] = name }
    val[rt, name, rep] = ns
    all[rt, name] = all[rt, name] " " ns
    reps[name] = reps[name] " " rep
}
END {
    printf "%-24s %12s %12s %8s %12s\n", "row", "tokio_ns", "evloop_ns", "ratio", "ratio_range"
    for (j = 1; j <= count; j++) {
        name = order[j]; ratios = ""
        split(reps[name], rl, " ")
        delete done
        for (r in rl) {
            rep = rl[r]
            if (rep in done) continue
            done[rep] = 1
            if (((("tokio", name, rep) in val)) && ((("evloop", name, rep) in val)) && val["tokio", name, rep] > 0)
                ratios = ratios " " val["evloop", name, rep] / val["tokio", name, rep]
        }
        t = (("tokio", name) in all) ? sprintf("%.1f", median(all["tokio", name])) : "-"
        e = (("evloop", name) in all) ? sprintf("%.1f", median(all["evloop", name])) : "-"
        if (ratios == "") printf "%-24s %12s %12s %8s %12s\n", name, t, e, "-", "-"
        else printf "%-24s %12s %12s %8.2f %12s\n", name, t, e, median(ratios), minmax(ratios)
    }
}' "$rows"
