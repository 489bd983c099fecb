#!/usr/bin/env bash
# The live page of llm_server in a real browser (issue 15).
#
# For each mode — threads (the default fallback, threads allowed) and --deny-threads (thread
# creation refused for real, the fallback runs the model on the loop thread) — this starts
# llm_server, polls /stats.json as the page would, makes one 1 s generation, then loads the page
# in headless Chromium and reads #lag-max-ms from the rendered DOM: it must show the blocked loop
# (>= 500 ms) under --deny-threads and a free loop (< 200 ms) with threads. It saves a screenshot
# of each mode (OUT/live-page-threads.png, OUT/live-page-deny-threads.png).
#
#   scripts/browser-check.sh [OUT]     (default OUT: target/browser-check)
#
# Installs Debian's chromium-headless-shell when no headless browser is found (needs apt-get and
# root). Uses the debug build of the example (`cargo build --example llm_server`).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/browser-check}
mkdir -p "$out"

browser=$(command -v chromium-headless-shell || command -v chromium || true)
if [ -z "$browser" ]; then
    echo "== no headless browser: installing Debian's chromium-headless-shell"
    apt-get update -qq
    apt-get install -y -qq chromium-headless-shell >/dev/null
    browser=$(command -v chromium-headless-shell)
fi
echo "browser: $browser ($("$browser" --version 2>/dev/null || echo 'version unknown'))"

cargo build -q --example llm_server
server_bin=target/debug/examples/llm_server
# Scratch space under OUT, not /tmp: nothing else on the machine may tidy it away mid-run.
scratch=$(cd "$out" && pwd)
profile=$(mktemp -d "$scratch/profile.XXXXXX")
work=$(mktemp -d "$scratch/work.XXXXXX")
server=""
poller=""
cleanup() {
    # Only the processes this script started, by their ids.
    [ -n "$poller" ] && kill "$poller" 2>/dev/null || true
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    rm -rf "$profile" "$work"
}
trap cleanup EXIT

# headless Chromium with a throwaway profile, nothing fetched from outside.
headless() {
    timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --no-first-run --disable-component-update --disable-sync --hide-scrollbars \
        --user-data-dir="$profile" "$@" 2>/dev/null
}

passed=0
failed=0
for mode in threads deny-threads; do
    echo "== llm_server, $mode"
    flags=()
    [ "$mode" = deny-threads ] && flags=(--deny-threads)
    log="$work/$mode.log"
    "$server_bin" 127.0.0.1:0 --work-ms 1000 "${flags[@]}" >"$log" 2>&1 &
    server=$!
    addr=""
    for _ in $(seq 1 300); do # up to 30 s for "listening on ADDR"
        addr=$(sed -n 's/^listening on //p' "$log")
        [ -n "$addr" ] && break
        kill -0 "$server" 2>/dev/null || { cat "$log"; echo "llm_server exited"; exit 1; }
        sleep 0.1
    done
    [ -n "$addr" ] || { cat "$log"; echo "llm_server did not start"; exit 1; }
    url="http://$addr"
    # Poll /stats.json four times a second, as the page does, so the server keeps a per-second
    # history from the start.
    (while :; do curl -s -m 5 -o /dev/null "$url/stats.json" || true; sleep 0.25; done) &
    poller=$!
    sleep 1.5
    # One generation; its X-Blocking header says where the model ran.
    where=$(curl -s -m 30 -D - -o /dev/null -d 'hello world' "$url/generate" |
        tr -d '\r' | sed -n 's/^X-Blocking: //Ip')
    echo "generation ran: $where"
    sleep 1.5
    dom="$work/$mode.html"
    headless --virtual-time-budget=3000 --dump-dom "$url/" >"$dom" || true
    headless --virtual-time-budget=3000 --window-size=1100,860 \
        --screenshot="$(realpath -m "$out/live-page-$mode.png")" "$url/" >/dev/null || true
    kill "$poller" 2>/dev/null || true
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    poller=""
    server=""
    lag=$(sed -n 's/.*id="lag-max-ms">\([0-9.]*\)<.*/\1/p' "$dom" | head -1)
    updates=$(sed -n 's/.*id="updates">\([0-9]*\)<.*/\1/p' "$dom" | head -1)
    verdict=$(sed -n 's/.*id="verdict" class="\([a-z]*\)">.*/\1/p' "$dom" | head -1)
    echo "rendered page: #lag-max-ms = ${lag:-missing} ms, verdict ${verdict:-missing}, ${updates:-0} updates"
    if [ -z "$lag" ] || [ "${updates:-0}" -lt 1 ]; then
        echo "FAIL: the page did not render the figures"
        failed=$((failed + 1))
        continue
    fi
    if [ "$mode" = deny-threads ]; then
        ok=$(awk -v l="$lag" 'BEGIN { print (l >= 500) ? "yes" : "no" }')
        expect="the blocked loop (>= 500 ms)"
    else
        ok=$(awk -v l="$lag" 'BEGIN { print (l < 200) ? "yes" : "no" }')
        expect="a free loop (< 200 ms)"
    fi
    if [ "$ok" = yes ]; then
        echo "ok: it shows $expect; screenshot $out/live-page-$mode.png"
        passed=$((passed + 1))
    else
        echo "FAIL: expected $expect"
        failed=$((failed + 1))
    fi
done
echo "browser-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
