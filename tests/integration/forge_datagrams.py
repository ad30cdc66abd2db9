#!/usr/bin/env python3
"""Sends bad heartbeat datagrams to a haspool agent, as an attacker on the path would.

Usage: forge_datagrams.py SRC_ADDR DST_ADDR PORT CAPTURE_IFACE [KIND...]
Run inside the sender's namespace. It first captures one genuine datagram on CAPTURE_IFACE
(AF_PACKET) to replay it, then sends from SRC_ADDR (a port other than PORT):
  garbage (bad magic), a truncated datagram, a well-formed one signed with a key the receiver
  does not hold (unknown-key), one with the cluster key's id but another key's HMAC (bad-hmac),
  one with an unknown version byte, one laid out as wire version 1 (old-version), and the
  captured genuine datagram (a replay).
Only the named KINDs when given (for example: replayed). Prints what it sent, one line per
datagram.
"""
import hashlib
import hmac
import os
import socket
import struct
import sys
import time

src, dst, port, iface = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
kinds = sys.argv[5:]


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


def well_formed(key, key_id, version=2):
    """A version-2 heartbeat of alpha's, with the cluster key's id (copied from a genuine
    datagram, as an attacker on the path can) and an HMAC made with `key`."""
    body = b"HSPL" + bytes([version]) + key_id + bytes([1])
    for name in (b"mailspool", b"alpha"):
        body += bytes([len(name)]) + name
    body += os.urandom(16)                                     # boot id
    body += struct.pack("!QQQ", 1, 1, int(time.time() * 1000))  # sequence, stamp, wall clock
    body += bytes(16) + struct.pack("!QI", 0, 0) + bytes(8)    # peer boot, echo, next key id
    body += bytes([0, 3]) + struct.pack("!Q", 2) + bytes([0]) + bytes([1, 0, 1, 0])
    body += struct.pack("!Q", 0)
    return body + hmac.new(key, body, hashlib.sha256).digest()


def version_1(key):
    """A heartbeat as haspool's wire version 1 laid it out (wall-clock timestamp, no key id)."""
    body = b"HSPL" + bytes([1, 1])
    for name in (b"mailspool", b"alpha"):
        body += bytes([len(name)]) + name
    body += os.urandom(16) + struct.pack("!QQ", 1, int(time.time() * 1000))
    body += bytes([0, 3]) + struct.pack("!Q", 2) + bytes([0]) + bytes([1, 0, 1, 0])
    body += struct.pack("!QQI", 0, 0, 0)
    return body + hmac.new(key, body, hashlib.sha256).digest()


genuine = capture_one()
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((src, 0))
sent = {
    "bad-magic": b"x" * 200,
    "truncated": genuine[:20],
    "unknown-key": well_formed(b"this is not the cluster key 1234", os.urandom(8)),
    "bad-hmac": well_formed(b"this is not the cluster key 1234", genuine[5:13]),
    "wrong-version": well_formed(b"irrelevant", genuine[5:13], version=9),
    "old-version": version_1(b"this is not the cluster key 1234"),
    "replayed": genuine,
}
for what, data in sent.items():
    if kinds and what not in kinds:
        continue
    sock.sendto(data, (dst, port))
    print("sent", what, len(data), "bytes")
