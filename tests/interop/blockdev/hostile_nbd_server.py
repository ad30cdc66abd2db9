#!/usr/bin/env python3
"""An NBD server that breaks the fixed-newstyle handshake in one chosen way, for the primary's
client (tests/interop/blockdev/nbd_client_hostile_servers.sh).

Usage: hostile_nbd_server.py PORT MODE
Listens on 127.0.0.1:PORT (0: a port the kernel picks, with no race against other tests) and
prints "listening PORT" once it does, serves one connection as MODE says, then exits. Every mode
but the stalling ones answers the client's flags and NBD_OPT_GO.
"""
import socket
import struct
import sys
import time

NBDMAGIC, IHAVEOPT, REP_MAGIC = 0x4E42444D41474943, 0x49484156454F5054, 0x0003E889045565A9
OPT_GO, REP_ACK, REP_INFO = 7, 1, 3
GOOD = 1 | 4 | 8  # HAS_FLAGS, SEND_FLUSH, SEND_FUA
GREETING = struct.pack("!QQH", NBDMAGIC, IHAVEOPT, 3)  # fixed newstyle, no zeroes


def reply(type_, payload=b"", opt=OPT_GO, magic=REP_MAGIC, length=None):
    return struct.pack("!QIII", magic, opt, type_, len(payload) if length is None else length) + payload


def info_export(size=1 << 20, flags=GOOD):
    return reply(REP_INFO, struct.pack("!HQH", 0, size, flags))


def read_exact(c, n):
    b = b""
    while len(b) < n:
        chunk = c.recv(n - len(b))
        if not chunk:
            raise ConnectionError("client closed")
        b += chunk
    return b


def read_go(c):
    """The client's flags and its NBD_OPT_GO."""
    read_exact(c, 4)
    _, opt, length = struct.unpack("!QII", read_exact(c, 16))
    read_exact(c, length)
    return opt


def wait_close(c):
    """Hold the connection until the client gives up (or 60 s, a bound for a broken test)."""
    c.settimeout(60)
    try:
        while c.recv(4096):
            pass
    except (OSError, socket.timeout):
        pass


def serve(c, mode):
    if mode == "silent":  # accepts, says nothing
        return wait_close(c)
    if mode == "trickle":  # the greeting one byte every half second
        for i in range(len(GREETING)):
            c.sendall(GREETING[i:i + 1])
            time.sleep(0.5)
        return wait_close(c)
    if mode == "oldstyle":
        return c.sendall(struct.pack("!QQ", NBDMAGIC, 0x00420281861253) + struct.pack("!QIH", 1 << 20, 0, GOOD) + bytes(124))
    if mode == "no-fixed-newstyle":
        return c.sendall(struct.pack("!QQH", NBDMAGIC, IHAVEOPT, 0))
    c.sendall(GREETING)
    if mode == "close-after-greeting":
        return
    read_go(c)
    out = {
        "bad-reply-magic": reply(REP_ACK, magic=0x1122334455667788),
        "wrong-option": reply(REP_ACK, opt=6),
        "huge-reply": reply(REP_INFO, length=0x7FFFFFFF),
        "short-reply-close": reply(REP_INFO, b"x" * 10, length=100),
        "unexpected-reply-type": reply(5),
        "no-export-info": reply(REP_ACK),
        "short-info-export": reply(REP_INFO, struct.pack("!HQ", 0, 1 << 20)) + reply(REP_ACK),
        "size-zero": info_export(size=0) + reply(REP_ACK),
        "no-flags": info_export(flags=GOOD & ~1) + reply(REP_ACK),
        "bad-block-sizes": reply(REP_INFO, struct.pack("!HIII", 3, 3000, 4096, 1 << 20)) + info_export() + reply(REP_ACK),
        # A valid answer, then bytes nobody asked for: they would reach the kernel as replies.
        "garbage-after-ack": info_export() + reply(REP_ACK) + struct.pack("!IIQ", 0x67446698, 0, 1),
    }
    if mode == "endless-info":  # valid NBD_INFO_NAME replies, never the ACK
        try:
            while True:
                c.sendall(reply(REP_INFO, struct.pack("!H", 1) + b"disk-y"))
                time.sleep(0.05)
        except OSError:
            return
    if mode not in out:
        raise SystemExit("unknown mode " + mode)
    c.sendall(out[mode])
    if mode != "short-reply-close":
        wait_close(c)


def main():
    port, mode = int(sys.argv[1]), sys.argv[2]
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1)
    print("listening", s.getsockname()[1], flush=True)
    c, _ = s.accept()
    try:
        serve(c, mode)
    except (ConnectionError, OSError):
        pass
    c.close()


if __name__ == "__main__":
    main()
