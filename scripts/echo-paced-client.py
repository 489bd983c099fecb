#!/usr/bin/env python3
"""Paced echo client for scripts/bench-instructions.sh: COUNT round trips on one connection.

Usage: echo-paced-client.py ADDR COUNT [PAUSE_S]

Sends a 64-byte message, waits for all 64 bytes to come back, checks them, then sleeps PAUSE_S
(default 0.001) before the next one. The pause is what makes a server's instruction count per
round trip repeatable: the server has always gone back to waiting for events (epoll_wait) before
the next message arrives, so every round trip takes the same path through it -- wake, read,
write, read again until WouldBlock, wait. Without it, a server slowed down by valgrind sometimes
finds the next message already there and skips the wait, and the count depends on timing.

Exits 1 (with a message) on a closed connection or a wrong byte.
"""
import socket
import sys
import time

SIZE = 64


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.split("\n\n")[1])
    host, port = sys.argv[1].rsplit(":", 1)
    count = int(sys.argv[2])
    pause = float(sys.argv[3]) if len(sys.argv) == 4 else 0.001
    sock = socket.create_connection((host, int(port)), timeout=60)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(count):
        message = bytes((i + k) % 251 for k in range(SIZE))
        sock.sendall(message)
        echoed = b""
        while len(echoed) < SIZE:
            chunk = sock.recv(SIZE - len(echoed))
            if not chunk:
                sys.exit(f"echo-paced-client: connection closed after {i} round trips")
            echoed += chunk
        if echoed != message:
            sys.exit(f"echo-paced-client: round trip {i}: echoed bytes differ")
        time.sleep(pause)
    sock.close()


if __name__ == "__main__":
    main()
