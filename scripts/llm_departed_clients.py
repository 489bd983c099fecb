#!/usr/bin/env python3
"""Clients that leave while their request waits: issue 13, part 2, reproduced on loopback.

N clients each send `POST /generate` with a 64 KiB body and close at once. Then one fresh client
sends a small `POST /generate` and times its answer. Meanwhile the server's open descriptors
(/proc/PID/fd) and resident memory (VmRSS) are sampled.

    cargo build --release --example llm_server
    python3 scripts/llm_departed_clients.py --clients 50
    python3 scripts/llm_departed_clients.py --clients 1000 --give-up-s 5
    python3 scripts/llm_departed_clients.py --server /tmp/old/llm_server --clients 50   # a build to compare

It starts the server itself (127.0.0.1, port 0, `--work-ms 200` unless told otherwise), prints one
line of figures and the server's /stats, and kills the server at the end. Linux only (/proc).
"""

import argparse
import os
import re
import socket
import subprocess
import time

BODY = b"w " * (32 * 1024)  # 64 KiB exactly: the largest body the server accepts


def main():
    args = parse_args()
    server = subprocess.Popen(
        [args.server, "127.0.0.1:0", "--work-ms", str(args.work_ms)] + args.extra,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        addr = wait_for_address(server)
        for _ in range(args.rounds):
            run(args, server.pid, addr)
        stats = get_stats(addr)
        if stats:
            print(stats, end="")
    finally:
        server.kill()
        server.wait()


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="target/release/examples/llm_server")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--work-ms", type=int, default=200)
    parser.add_argument("--give-up-s", type=float, default=30.0,
                        help="longest wait for the fresh request's answer")
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat the scenario on the same server (does memory keep growing?)")
    parser.add_argument("extra", nargs="*", help="more server flags (after --)")
    return parser.parse_args()


def wait_for_address(server):
    for line in server.stdout:
        found = re.match(r"listening on (\S+)", line)
        if found:
            host, port = found.group(1).rsplit(":", 1)
            return host, int(port)
    raise SystemExit("the server did not say where it listens")


def run(args, pid, addr):
    base_fds, base_rss = fds(pid), rss_kib(pid)
    request = b"POST /generate HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(BODY)
    clients = [socket.create_connection(addr) for _ in range(args.clients)]
    for client in clients:
        client.sendall(request + BODY)
    for client in clients:
        client.close()
    left = time.monotonic()
    # Let the server take in what was sent (every body is in its socket buffers by now).
    peak_fds, peak_rss, released = sample_until(pid, left + 0.5, base_fds)
    asked = time.monotonic()
    status, waited = fresh_request(addr, args.give_up_s)
    after_fds, after_rss = fds(pid), rss_kib(pid)
    print(
        f"clients {args.clients}, work {args.work_ms} ms: fresh POST /generate answered {status} "
        f"after {waited:.3f} s (asked {asked - left:.2f} s after the clients left); "
        f"server fds {base_fds} at start, peak {peak_fds} in the first 0.5 s, "
        f"{'back to ' + str(base_fds + 2) + ' after ' + format(released, '.3f') + ' s' if released else 'not back within 0.5 s'}, "
        f"{after_fds} after; "
        f"VmRSS {base_rss} KiB at start, peak {peak_rss} KiB, {after_rss} KiB after"
    )


def sample_until(pid, deadline, base_fds):
    """Peak descriptors and VmRSS until `deadline`, and how long after the start the descriptors
    were back to (almost) where they began (None: not by the deadline)."""
    start = time.monotonic()
    peak_fds, peak_rss, released = 0, 0, None
    while time.monotonic() < deadline:
        now_fds = fds(pid)
        peak_fds, peak_rss = max(peak_fds, now_fds), max(peak_rss, rss_kib(pid))
        if released is None and now_fds <= base_fds + 2:
            released = time.monotonic() - start
        time.sleep(0.005)
    return peak_fds, peak_rss, released


def fresh_request(addr, give_up_s):
    start = time.monotonic()
    with socket.create_connection(addr) as fresh:
        fresh.settimeout(give_up_s)
        fresh.sendall(b"POST /generate HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nfresh")
        try:
            head = fresh.recv(4096)
        except socket.timeout:
            return "nothing", time.monotonic() - start
    status = head.split(b" ", 2)[1].decode() if head else "closed"
    return status, time.monotonic() - start


def get_stats(addr):
    try:
        with socket.create_connection(addr, timeout=2) as s:
            s.sendall(b"GET /stats HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    except OSError:
        return None
    return data.split(b"\r\n\r\n", 1)[-1].decode()


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


if __name__ == "__main__":
    main()
