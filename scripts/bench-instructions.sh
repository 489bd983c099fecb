#!/usr/bin/env bash
# Instructions per operation under callgrind: evloop against its peers, numbers that do not wobble.
#
# Usage:  scripts/bench-instructions.sh [WORKLOAD]...     (default: spawn pingpong timers, then echo)
#   e.g.  scripts/bench-instructions.sh pingpong echo
#
# Time on a shared 2-core machine moves by 5-30 % from run to run; the number of instructions a
# program executes does not depend on what else runs. This script counts user-space instructions
# (callgrind's `Ir`, all threads) per operation, for evloop and for the tokio peers of
# ../shared/bench/peers in the same run, and prints evloop's count as a ratio of each peer's.
#
# Micro rows (benches/micro.rs against micro-tokio, same workloads, same row names): each binary
# runs the workload twice under callgrind, with N1 and N2 operations. A dump is cut just before
# each row is printed (`--dump-before=std::io::stdio::_print`), so dump i holds row i's warm-up
# and run, and row i's figure is (Ir_i(N2) - Ir_i(N1)) / (N2 - N1): start-up, warm-up (min(N,
# 10 000) in both binaries, the same for N1 and N2 >= 10 000) and printing cancel out.
#
# Echo round trip: echo-mio (the hand-written mio loop), echo-tokio and evloop's echo_server each
# run under callgrind while scripts/echo-paced-client.py makes ECHO_N1, then ECHO_N2 round trips of
# 64 bytes on one connection, pausing 1 ms after each (so that every round trip takes the same
# path: wake, read, write, read until WouldBlock, wait); the server is stopped with SIGTERM and
# the figure is (Ir(ECHO_N2) - Ir(ECHO_N1)) / (ECHO_N2 - ECHO_N1).
#
# What the counts are good for: comparing two builds or two runtimes on the *same work* to within
# a fraction of a percent, in one run, on a loaded machine. What they are not: time. A system call
# counts as one instruction however long the kernel takes (the echo round trip spends most of its
# CPU time in the kernel), a cache miss or a contended atomic counts as one, and valgrind runs the
# threads of a program one at a time. Keep the timed figures (scripts/bench-compare.sh,
# ../shared/bench/run-echo.sh) for what a user would see.
#
# Environment: N1, N2 (default 10000, 20000; offload: N1/5, N2/5), ECHO_N1, ECHO_N2 (default
# 500, 2500), ECHO_PAUSE (seconds, default 0.001), PEERS_BIN (dir with micro-tokio, echo-tokio,
# echo-mio; default $CARGO_TARGET_DIR/release, then /tmp/bench-peers/release, then
# ../shared/bench/peers/target/release), OUT (callgrind files are kept there for
# callgrind_annotate; default ${TMPDIR:-/tmp}/evloop-instructions), EVLOOP_MICRO and
# EVLOOP_ECHO (prebuilt evloop binaries; default: built here in release mode).
set -euo pipefail
cd "$(dirname "$0")/.."

N1=${N1:-10000}
N2=${N2:-20000}
ECHO_N1=${ECHO_N1:-500}
ECHO_N2=${ECHO_N2:-2500}
ECHO_PAUSE=${ECHO_PAUSE:-0.001}
OUT=${OUT:-${TMPDIR:-/tmp}/evloop-instructions}
if [ $# -eq 0 ]; then set -- spawn pingpong timers echo; fi
mkdir -p "$OUT"

# valgrind: install it when missing (Debian/Ubuntu or Fedora), as root or through sudo.
if ! command -v valgrind >/dev/null; then
    echo "# valgrind not found: installing it" >&2
    sudo=()
    if [ "$(id -u)" != 0 ]; then sudo=(sudo); fi
    if command -v apt-get >/dev/null; then
        "${sudo[@]}" apt-get install -y valgrind >&2 || { "${sudo[@]}" apt-get update >&2 && "${sudo[@]}" apt-get install -y valgrind >&2; }
    elif command -v dnf >/dev/null; then
        "${sudo[@]}" dnf install -y valgrind >&2
    fi
    command -v valgrind >/dev/null || { echo "could not install valgrind" >&2; exit 2; }
fi

peer() { # name -> path of a peer binary
    local dir
    for dir in "${PEERS_BIN:-}" "${CARGO_TARGET_DIR:-}/release" /tmp/bench-peers/release ../shared/bench/peers/target/release; do
        if [ -n "$dir" ] && [ -x "$dir/$1" ]; then echo "$dir/$1"; return; fi
    done
    echo "$1 not found: build ../shared/bench/peers (see its README) and set PEERS_BIN" >&2
    exit 2
}

cargo_exe() { # cargo build arguments... -> the last executable cargo names
    cargo "$@" --message-format=json 2>/dev/null |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1
}

micro_tokio=$(peer micro-tokio)
echo_tokio=$(peer echo-tokio)
echo_mio=$(peer echo-mio)
evloop_micro=${EVLOOP_MICRO:-$(cargo_exe bench --bench micro --no-run)}
evloop_echo=${EVLOOP_ECHO:-$(cargo_exe build --release --example echo_server)}
for bin in "$evloop_micro" "$evloop_echo"; do
    [ -x "$bin" ] || { echo "evloop binary not built (cargo failed?): '$bin'" >&2; exit 2; }
done

echo "# $(date -u +%FT%TZ) $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(valgrind --version)"
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg) (does not change the counts)"
echo "# tokio: $micro_tokio $echo_tokio; mio: $echo_mio"
echo "# evloop: $evloop_micro $evloop_echo"
echo "# callgrind files: $OUT"

rows=$OUT/rows
: >"$rows"

summary() { # callgrind output file -> its Ir total
    sed -n 's/^summary: //p' "$1"
}

# One run of a micro workload under callgrind; appends "RUNTIME ROW N IR" per row to $rows.
micro_run() { # runtime binary workload n
    local base=$OUT/micro.$1.$3.$4 i name
    rm -f "$base" "$base".*
    # --max-threads: offload_thread_per_call starts a thread per op, faster than valgrind reuses
    # its thread slots (500 by default).
    valgrind --tool=callgrind --max-threads=5000 --callgrind-out-file="$base" \
        --dump-before='std::io::stdio::_print' "$2" "$3" "$4" >"$base.printed" 2>"$base.log" || { cat "$base.log" >&2; exit 1; }
    i=1
    while read -r name _; do
        [ -f "$base.$i" ] || { echo "no callgrind dump $base.$i for row $name" >&2; exit 1; }
        echo "$1 $name $4 $(summary "$base.$i")" >>"$rows"
        i=$((i + 1))
    done <"$base.printed"
}

# Total Ir of an echo server while the paced client makes `n` round trips.
echo_run() { # name n command...
    local name=$1 n=$2 base=$OUT/echo.$1.$2 pid addr i
    shift 2
    rm -f "$base" "$base".*
    valgrind --tool=callgrind --callgrind-out-file="$base" "$@" 127.0.0.1:0 >"$base.printed" 2>"$base.log" &
    pid=$!
    for i in $(seq 1 600); do # valgrind starts slowly on a loaded machine: up to 60 s
        addr=$(sed -n 's/^listening on //p' "$base.printed")
        [ -n "$addr" ] && break
        sleep 0.1
    done
    if [ -z "$addr" ]; then
        kill -KILL "$pid" 2>/dev/null || true
        echo "$name did not announce its address" >&2
        exit 1
    fi
    python3 scripts/echo-paced-client.py "$addr" "$n" "$ECHO_PAUSE" || { kill -KILL "$pid"; exit 1; }
    kill -TERM "$pid"
    wait "$pid" || true # killed by SIGTERM: valgrind still writes its counts
    summary "$base"
}

for workload in "$@"; do
    case $workload in
    echo)
        for server in echo-mio echo-tokio evloop; do
            case $server in
            echo-mio) cmd=("$echo_mio") ;;
            echo-tokio) cmd=("$echo_tokio") ;;
            evloop) cmd=("$evloop_echo") ;;
            esac
            a=$(echo_run "$server" "$ECHO_N1" "${cmd[@]}")
            b=$(echo_run "$server" "$ECHO_N2" "${cmd[@]}")
            echo "$server echo_round_trip $ECHO_N1 $a" >>"$rows"
            echo "$server echo_round_trip $ECHO_N2 $b" >>"$rows"
        done
        ;;
    *)
        n1=$N1 n2=$N2
        if [ "$workload" = offload ]; then n1=$((N1 / 5)) n2=$((N2 / 5)); fi
        for n in "$n1" "$n2"; do
            micro_run tokio "$micro_tokio" "$workload" "$n"
            micro_run evloop "$evloop_micro" "$workload" "$n"
        done
        ;;
    esac
done

# rows: RUNTIME ROW N IR  ->  per row and runtime, (IR(larger N) - IR(smaller N)) / (difference)
awk '
{
    rt = $1; row = $2; n = $3 + 0; ir = $4 + 0
    if (!(row in seen)) { seen[row] = 1; order[++count] = row }
    key = rt SUBSEP row
    if (!(key in lo_n) || n < lo_n[key]) { lo_n[key] = n; lo_ir[key] = ir }
    if (!(key in hi_n) || n > hi_n[key]) { hi_n[key] = n; hi_ir[key] = ir }
}
function per_op(rt, row,    key) {
    key = rt SUBSEP row
    if (!(key in hi_n) || hi_n[key] == lo_n[key]) return -1
    return (hi_ir[key] - lo_ir[key]) / (hi_n[key] - lo_n[key])
}
END {
    printf "\n%-24s %12s %12s %10s\n", "row (Ir per op)", "tokio", "evloop", "evloop/tokio"
    for (j = 1; j <= count; j++) {
        row = order[j]
        if (row == "echo_round_trip") continue
        t = per_op("tokio", row); e = per_op("evloop", row)
        if (t <= 0 || e < 0) continue
        # These two rows run the same code in both binaries, no runtime involved: their ratio
        # shows how much the compilers alone differ, not a runtime.
        if (row ~ /^offload_(thread_per_call|inline)$/) note = "   (no runtime in this row)"
        else note = (e <= t) ? "" : "   > tokio"
        printf "%-24s %12.0f %12.0f %10.2f%s\n", row, t, e, e / t, note
    }
    m = per_op("echo-mio", "echo_round_trip"); t = per_op("echo-tokio", "echo_round_trip")
    e = per_op("evloop", "echo_round_trip")
    if (m > 0 && t > 0 && e > 0) {
        printf "\n%-24s %12s %12s %12s %10s %12s\n", "echo round trip (Ir)", "echo-mio", "echo-tokio", "evloop", "evloop/mio", "evloop/tokio"
        printf "%-24s %12.0f %12.0f %12.0f %10.2f %12.2f%s\n", "one connection, paced", m, t, e, e / m, e / t, (e <= 1.1 * m) ? "" : "   > 1.1 x mio"
    }
}' "$rows"
