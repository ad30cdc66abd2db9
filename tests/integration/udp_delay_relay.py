#!/usr/bin/env python3
"""A userspace UDP relay that delays every datagram (this kernel has no netem).

Usage: udp_delay_relay.py DELAY_MS A_SIDE B_SIDE [READY_FILE]
  A_SIDE, B_SIDE: LOCAL_ADDR:PORT=PEER_ADDR:PORT
Binds one socket on each side's LOCAL_ADDR:PORT. A datagram that arrives on the A side from
A's PEER is sent from the B side's socket to B's PEER DELAY_MS later, and the reverse; datagrams
from anyone else are dropped (the daemons only listen to their configured peer address anyway).
Order is kept per direction. Touches READY_FILE once both sockets are bound; stops on SIGTERM.
Prints one line per 100 datagrams relayed and a total when it stops.
"""
import heapq
import select
import signal
import socket
import sys
import time


def endpoint(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def side(text):
    local, peer = text.split("=")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(endpoint(local))
    return s, endpoint(peer)


delay = int(sys.argv[1]) / 1000.0
a_sock, a_peer = side(sys.argv[2])
b_sock, b_peer = side(sys.argv[3])
# arriving socket -> (its peer, the socket to send from, where to)
route = {a_sock: (a_peer, b_sock, b_peer), b_sock: (b_peer, a_sock, a_peer)}
if len(sys.argv) > 4:
    open(sys.argv[4], "w").close()

running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
due = []  # (when, order, socket, data, destination)
order = 0
relayed = 0
while running:
    timeout = max(0.0, due[0][0] - time.monotonic()) if due else 0.5
    try:
        ready, _, _ = select.select(list(route), [], [], timeout)
    except InterruptedError:
        continue
    for s in ready:
        data, src = s.recvfrom(65535)
        peer, out, dst = route[s]
        if src[0] != peer[0]:
            continue
        heapq.heappush(due, (time.monotonic() + delay, order, out, data, dst))
        order += 1
    now = time.monotonic()
    while due and due[0][0] <= now:
        _, _, out, data, dst = heapq.heappop(due)
        try:
            out.sendto(data, dst)
        except OSError:
            pass  # the peer is not listening (yet): UDP loses it, as the wire would
        relayed += 1
        if relayed % 100 == 0:
            print("relayed", relayed, flush=True)
print("relayed", relayed, "in total", flush=True)
