#!/usr/bin/env bash
# Checks every `unsafe` block (the waker, the task cell, the libc helpers) for undefined behaviour
# with Miri, the interpreter tokio runs in its CI. Miri emulates epoll and eventfd, so `mio::Poll`
# and `mio::Waker` run under it; tests that need real sockets, wall-clock timing or seccomp are
# marked `#[cfg_attr(miri, ignore)]` with the reason next to them.
#
# Usage: scripts/miri.sh [extra cargo test args]   (fails on any Miri report)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
rustup component add --toolchain nightly miri rust-src
cargo +nightly miri setup

# Miri's own build directory, so a normal `cargo test` build is not invalidated.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/miri}"
# Isolation stays on: Miri's clock is then virtual, which keeps its runs deterministic.
export MIRIFLAGS="${MIRIFLAGS:-}"
cargo +nightly miri test --no-fail-fast "$@"
