#!/usr/bin/env python3
"""Sends bad heartbeat datagrams to a haspool agent, as an attacker on the path would.

Usage: forge_datagrams.py SRC_ADDR DST_ADDR PORT CAPTURE_IFACE
Run inside the sender's namespace. It first captures one genuine datagram on CAPTURE_IFACE
(AF_PACKET) to replay it, then sends from SRC_ADDR (a port other than PORT):
  garbage (bad magic), a truncated datagram, a well-formed one signed with the wrong key,
  one with a wrong version byte, and the captured genuine datagram (a replay).
Prints what it sent, one line per datagram.
"""
import hashlib
import hmac
import os
import socket
import struct
import sys
import time

src, dst, port, iface = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]


def capture_one(timeout=5.0):
    """Returns the UDP payload of one datagram from src to dst:port seen on iface."""
    # ETH_P_ALL: only "all protocols" taps see outgoing frames.
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind((iface, 0))
    s.settimeout(timeout)
    deadline = time.time() + timeout
    while time.time() < deadline:
        frame = s.recv(65535)
        if frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 17:
            continue
        if socket.inet_ntoa(ip[12:16]) != src or socket.inet_ntoa(ip[16:20]) != dst:
            continue
        udp = ip[ihl:]
        if struct.unpack("!H", udp[2:4])[0] != port:
            continue
        return udp[8:]
    raise SystemExit("no genuine datagram captured on " + iface)


def well_formed(key, version=1):
    body = b"HSPL" + bytes([version, 1])
    for name in (b"mailspool", b"alpha"):
        body += bytes([len(name)]) + name
    body += os.urandom(16)
    body += struct.pack("!QQ", 1, int(time.time() * 1000))
    body += bytes([0, 3]) + struct.pack("!Q", 2) + bytes([0]) + bytes([1, 0, 1, 0])
    body += struct.pack("!QQI", 0, 0, 0)
    return body + hmac.new(key, body, hashlib.sha256).digest()


genuine = capture_one()
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((src, 0))
sent = {
    "bad-magic": b"x" * 200,
    "truncated": genuine[:20],
    "bad-hmac": well_formed(b"this is not the cluster key 1234"),
    "wrong-version": well_formed(b"irrelevant", version=9),
    "replayed": genuine,
}
for what, data in sent.items():
    sock.sendto(data, (dst, port))
    print("sent", what, len(data), "bytes")
