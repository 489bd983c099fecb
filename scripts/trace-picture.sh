#!/usr/bin/env bash
# Draws evloop trace files (Chrome trace-event JSON) as one PNG with headless Chromium: a panel
# per trace, one row per thread, slices by category, the sampled loop lag underneath, all on one
# time axis (scripts/trace-view.html).
#
#   scripts/trace-picture.sh OUT.png WIDTHxHEIGHT "title" TRACE.json "panel title" [TRACE.json "panel title"]...
#
# The picture in docs/08 was made with:
#   cargo run --release --example three_requests -- --trace /tmp/traces
#   scripts/trace-picture.sh docs/images/trace-offload-vs-fallback.png 1100x420 "three requests, under the lock" \
#       /tmp/traces/offload-lock.json "offload-lock: the calls on worker threads" \
#       /tmp/traces/fallback.json "fallback: the calls on the loop thread (threads denied)"
# To zoom, select and measure, open the .json files in Perfetto instead (docs/08 says how).
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: trace-picture.sh OUT.png WIDTHxHEIGHT title TRACE.json panel-title [TRACE.json panel-title]..."
out=${1:?$usage}
size=${2:?$usage}
title=${3:?$usage}
shift 3
[ $# -ge 2 ] && [ $(($# % 2)) -eq 0 ] || { echo "$usage" >&2; exit 2; }

browser=$(command -v chromium-headless-shell || command -v chromium || true)
if [ -z "$browser" ]; then
    echo "no headless browser: apt-get install -y chromium-headless-shell" >&2
    exit 1
fi

page=$(mktemp --suffix=.html)
profile=$(mktemp -d)
trap 'rm -rf "$page" "$profile"' EXIT
python3 - scripts/trace-view.html "$page" "$title" "$@" <<'EOF'
import json, sys
template, page, title, *pairs = sys.argv[1:]
panels = []
for path, panel in zip(pairs[::2], pairs[1::2]):
    with open(path) as f:
        panels.append([panel, json.load(f)])  # fails here, not in the browser, if not JSON
html = open(template).read()
html = html.replace("/*TRACES*/[]", json.dumps(panels)).replace('/*TITLE*/"evloop trace"', json.dumps(title))
open(page, "w").write(html)
EOF
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run \
    --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$profile" \
    --window-size="${size/x/,}" --screenshot="$(realpath -m "$out")" "file://$page" >/dev/null 2>&1
echo "wrote $out"
