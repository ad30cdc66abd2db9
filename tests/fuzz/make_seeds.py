#!/usr/bin/env python3
"""Writes the fuzz targets' seeds under tests/fuzz/corpus/ (they are committed; run this only to
make them again). Each seed is one meaningful case in the format its target reads (the header
comment of tests/fuzz/*/fuzz_TARGET.cpp).

Usage: tests/fuzz/make_seeds.py [--capture]
  --capture  also record real NBD conversations on 127.0.0.1: nbdkit's, qemu-nbd's and nbd-server's replies to
             the bytes haspool's client sends (fuzz_nbd_client), and what nbdinfo and qemu-img
             send as clients (fuzz_nbd_server), through a recording proxy. Needs nbdkit,
             qemu-nbd, nbd-server, nbdinfo and qemu-io (scripts/install-deps).

The heartbeat datagrams are encoded here after the layout in agent/peer/heartbeat_codec.hpp and
signed with the fuzz target's key; the md, mdadm and config seeds are the files the unit tests
use (captured on the VM lab's Debian 12 guests, kernel 6.1) or sysfs text in the same form.
"""
import hashlib
import hmac
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- fuzz_heartbeat: scripts of (op, datagram) records ------------------------------------

KEY = b"fuzz-key-0123456789abcdef"
NEXT_KEY = b"fuzz-key-next-0123456789ab"
WRONG_KEY = b"fuzz-key-0123456789abcdeF"
OWN_BOOT = b"receiver-boot-id"  # the target's run: datagrams echoing it are fresh
STAMP = 5_000_000  # the sender's monotonic clock, ms
WALL = 1_800_000_000_000


def key_id(key):
    return hmac.new(key, b"haspool peer key id", hashlib.sha256).digest()[:8]


def datagram(type_=1, cluster=b"mail", sender=b"beta", boot=b"B" * 16, seq=1, stamp=None, wall=WALL,
             peer_boot=OWN_BOOT, echo=1000, echo_hold=20, next_key=b"\0" * 8, role=1, state=21, gen=2,
             ancestors=(0,), md=0, pct=0, nbd=0, kind=0, req=0, key=KEY, version=2, report=None):
    body = b"HSPL" + bytes([version]) + key_id(key) + bytes([type_])
    for s in (cluster, sender):
        body += bytes([len(s)]) + s
    body += boot + struct.pack("!QQQ", seq, STAMP + 500 * seq if stamp is None else stamp, wall)
    body += peer_boot + struct.pack("!QI", echo, echo_hold) + next_key
    body += bytes([role, state]) + struct.pack("!Q", gen)
    body += bytes([len(ancestors)]) + b"".join(struct.pack("!Q", a) for a in ancestors)
    body += bytes([md, pct, nbd, kind]) + struct.pack("!Q", req)
    if report is not None:  # type 5: the peer's status report, u16 length + JSON
        body += struct.pack("!H", len(report)) + report
    return body + hmac.new(key, body, hashlib.sha256).digest()


def record(d, signed=False, key=0, own_boot=False, toggle_next=False):
    """One record: op | length | bytes. Signed records carry the fields only (the target adds
    magic, version, key id and HMAC; key 0 current, 1 next, 2 unknown, 3 bad HMAC)."""
    op = (1 if signed else 0) | (key << 1) | (8 if own_boot else 0) | (16 if toggle_next else 0)
    if signed:
        d = d[13:-32]
    return bytes([op]) + struct.pack("!H", len(d)) + d


def heartbeat_seeds():
    t = "fuzz_heartbeat"
    # The standby's heartbeats every 500 ms while it exports Y, echoing the primary's stamps.
    put(t, "standby-exporting", b"".join(record(datagram(seq=i, echo=1000 + 500 * i)) for i in range(1, 4)))
    # Both start: the first datagram has heard no run of ours (unconfirmed), the next echoes ours.
    put(t, "handshake", record(datagram(seq=1, peer_boot=b"\0" * 16, echo=0)) + record(datagram(seq=2)) +
        record(datagram(seq=3, peer_boot=b"O" * 16)))
    # A primary in RESYNC, 42 %, NBD connected, three ancestors.
    put(t, "primary-resync", record(datagram(role=0, state=5, gen=6, ancestors=(4, 2, 0), md=3, pct=42, nbd=1)))
    # A request (handed back, id 7) and its acknowledgement.
    put(t, "request-ack", record(datagram(type_=2, seq=1, kind=1, req=7, state=25)) +
        record(datagram(type_=3, seq=2, kind=1, req=7, state=21)))
    # `haspool status` asks (a query, id 3) and the peer reports (its JSON); then a report whose
    # length runs past the end, and one that claims more than 1000 bytes.
    rep = b'{"version":1,"node":"beta","role":"standby","state":"EXPORTING","transitions":[]}'
    put(t, "query-report", record(datagram(type_=4, seq=1, req=3)) + record(datagram(type_=5, seq=2, req=3, report=rep)) +
        record(datagram(type_=5, seq=3, req=4, report=rep), signed=True) +
        record(datagram(type_=5, seq=4, req=5, report=rep)[:-40], signed=True) +
        record(datagram(type_=5, seq=5, req=6, report=b"x" * 1001), signed=True))
    # The standby marked raw-written, in ACTIVE.
    put(t, "raw-written", record(datagram(state=24, md=4, gen=7)))
    # The same datagram twice (a replay), then the next one.
    d1, d2 = datagram(seq=1), datagram(seq=2)
    put(t, "replay", record(d1) + record(d1) + record(d2))
    # Two paths: 3 arrives before 1 and 2 (accepted once each), 2 again is a replay.
    put(t, "reordered", record(datagram(seq=3)) + record(datagram(seq=1)) + record(datagram(seq=2)) +
        record(datagram(seq=2)))
    # A sequence more than the window (1024) below the newest is too old; one inside it is new.
    put(t, "too-old", record(datagram(seq=1)) + record(datagram(seq=1026)) + record(datagram(seq=1)) +
        record(datagram(seq=3)))
    # The peer restarts (a new boot id echoing a newer stamp), then a datagram of the old run,
    # then a run never heard that echoes an older stamp than the current run: both old-boot.
    put(t, "reboot-old-boot", record(datagram(seq=9, echo=1000)) +
        record(datagram(boot=b"C" * 16, seq=1, echo=2000)) + record(datagram(seq=10, echo=3000)) +
        record(datagram(boot=b"D" * 16, seq=1, echo=1500)))
    # Twenty restarts, more than the 16 runs the gate remembers, then the first run's datagram
    # again: refused as old-boot, for it echoes an older stamp than the current run (the
    # version 1 gate forgot a run after 9 restarts and accepted it).
    first = datagram(boot=b"A" * 16, seq=5, echo=1000)
    put(t, "many-restarts-replay", record(first) +
        b"".join(record(datagram(boot=bytes([0x42 + i]) * 16, seq=1, echo=2000 + i)) for i in range(20)) +
        record(first))
    # A rotation: signed with the next key, the gate drops it (refused), holds it again.
    put(t, "key-rotation", record(datagram(seq=1, next_key=key_id(NEXT_KEY))) +
        record(datagram(seq=2, key=NEXT_KEY)) + record(datagram(seq=3, key=NEXT_KEY), toggle_next=True) +
        record(datagram(seq=4), toggle_next=True) + record(datagram(seq=5, key=NEXT_KEY)))
    # Refusals: another cluster, another node, a key this node does not hold, a bad HMAC.
    bad = bytearray(datagram(seq=4)); bad[-1] ^= 1
    put(t, "foreign", record(datagram(cluster=b"other")) + record(datagram(sender=b"gamma")) +
        record(datagram(seq=2, key=WRONG_KEY)) + record(bytes(bad)))
    v1 = bytearray(datagram()); v1[4] = 1
    v9 = bytearray(datagram()); v9[4] = 9
    put(t, "wrong-version-truncated", record(bytes(v1)[:80]) + record(bytes(v9)) + record(datagram()[:60]) +
        record(datagram()[:4]))
    # Signed records: the fields only; the target adds magic, version, key id and a valid HMAC.
    put(t, "signed-fields", record(datagram(seq=3), signed=True) + record(datagram(seq=4), signed=True, key=1) +
        record(datagram(seq=5), signed=True, key=2) + record(datagram(seq=6), signed=True, key=3) +
        record(datagram(seq=7, peer_boot=b"\0" * 16), signed=True, own_boot=True))
    put(t, "signed-malformed", record(datagram(type_=4), signed=True) + record(datagram(role=2), signed=True) +
        record(datagram(state=3), signed=True) + record(datagram(ancestors=tuple(range(9))), signed=True) +
        record(datagram(kind=1), signed=True) + record(datagram(type_=2, kind=255, req=1), signed=True) +
        record(datagram(seq=0), signed=True) + record(datagram(stamp=0), signed=True) +
        record(datagram(pct=101), signed=True) + record(datagram()[:-1], signed=True))


# ---- fuzz_nbd_client / fuzz_nbd_server -----------------------------------------------------

NBDMAGIC, IHAVEOPT, REP_MAGIC = 0x4E42444D41474943, 0x49484156454F5054, 0x0003E889045565A9


def option(opt, payload=b""):
    return struct.pack("!QII", IHAVEOPT, opt, len(payload)) + payload


def info_request(name, infos):
    return struct.pack("!I", len(name)) + name + struct.pack("!H", len(infos)) + b"".join(struct.pack("!H", i) for i in infos)


def reply(opt, type_, payload=b""):
    return struct.pack("!QIII", REP_MAGIC, opt, type_, len(payload)) + payload


GREETING = struct.pack("!QQH", NBDMAGIC, IHAVEOPT, 3)  # fixed newstyle, no zeroes
GOOD = 1 | 4 | 8  # HAS_FLAGS, SEND_FLUSH, SEND_FUA
CLIENT_FLAGS_ALL = 0xF1  # require flush+FUA, every write succeeds


def client_seeds():
    t = "fuzz_nbd_client"
    go, unsup = 7, (1 << 31) | 1
    info_export = lambda size, flags: struct.pack("!HQH", 0, size, flags)
    info_block = struct.pack("!HIII", 3, 512, 4096, 1 << 20)
    put(t, "go-export-block-size", bytes([CLIENT_FLAGS_ALL]) + GREETING + reply(go, 3, info_block) +
        reply(go, 3, info_export(1 << 30, GOOD)) + reply(go, 1))
    # NBD_REP_ERR_UNSUP to GO: the client falls back to NBD_OPT_EXPORT_NAME; size and flags (NO_ZEROES on).
    put(t, "export-name-fallback", bytes([CLIENT_FLAGS_ALL]) + GREETING + reply(go, unsup, b"no GO here") +
        struct.pack("!QH", 8 << 20, GOOD))
    # Without NO_ZEROES: the export-name reply carries 124 zero bytes.
    put(t, "export-name-zeroes", bytes([CLIENT_FLAGS_ALL]) + struct.pack("!QQH", NBDMAGIC, IHAVEOPT, 1) +
        reply(go, unsup) + struct.pack("!QH", 8 << 20, GOOD) + bytes(124))
    put(t, "refused-unknown", bytes([CLIENT_FLAGS_ALL]) + GREETING + reply(go, (1 << 31) | 6, b"no such export"))
    put(t, "no-flush", bytes([CLIENT_FLAGS_ALL]) + GREETING + reply(go, 3, info_export(1 << 20, 1)) + reply(go, 1))
    put(t, "bad-block-sizes", bytes([CLIENT_FLAGS_ALL]) + GREETING + reply(go, 3, struct.pack("!HIII", 3, 3, 4096, 1)) +
        reply(go, 3, info_export(1 << 20, GOOD)) + reply(go, 1))
    put(t, "old-style", bytes([CLIENT_FLAGS_ALL]) + struct.pack("!QQ", NBDMAGIC, 0x00420281861253) + bytes(8))
    put(t, "writes-fail", bytes([0x11]) + GREETING + reply(go, 1))  # the second write (NBD_OPT_GO) fails


def request(type_, offset, length, cookie=1, flags=0):
    return struct.pack("!IHHQQI", 0x25609513, flags, type_, cookie, offset, length)


def server_seeds():
    t = "fuzz_nbd_server"
    go_simple = struct.pack("!I", 3) + option(7, info_request(b"fuzz", [3]))
    structured = struct.pack("!I", 3) + option(8) + option(10, struct.pack("!I", 4) + b"fuzz" + struct.pack("!I", 1) +
                                                          struct.pack("!I", 15) + b"base:allocation")
    put(t, "write-read-back", go_simple + request(1, 4096, 8, 1) + b"haspool!" + request(0, 4096, 16, 2) +
        request(3, 0, 0, 3) + request(2, 0, 0, 4))
    put(t, "structured-write-read-status", structured + option(7, info_request(b"", [])) +
        request(1, 0, 4, 1, 1) + b"mail" + request(0, 0, 8, 2) + request(7, 0, 1 << 20, 3) +
        request(7, 0, 65536, 4, 8) + request(0, (1 << 20) - 4, 8, 5))
    put(t, "trim-zeroes-cache", go_simple + request(1, 8192, 4, 1) + b"data" + request(6, 8192, 4096, 2, 2) +
        request(0, 8192, 4, 3) + request(4, 0, 65536, 4) + request(5, 0, 4096, 5) + request(6, 0, 512, 6, 16))
    put(t, "out-of-range", go_simple + request(0, 1 << 20, 1, 1) + request(1, (1 << 64) - 2, 4, 2) + b"xxxx" +
        request(9, 0, 1, 3) + request(0, 0, 0, 4) + request(0, 0, 1, 5, 0x80) + request(1, 0, (1 << 20) + 1, 6))
    put(t, "haggling", struct.pack("!I", 1) + option(5) + option(8, b"x") + option(9, struct.pack("!I", 0) +
        struct.pack("!I", 0)) + option(10, struct.pack("!I", 0) + struct.pack("!I", 0)) + option(6, b"\x00") +
        option(3, b"x") + option(8) + option(8) + option(1, b"fuzz") + request(0, 0, 512, 1))


class Recorder:
    """A TCP proxy on 127.0.0.1 that records what each side sends on one connection."""

    def __init__(self, upstream_port):
        self.up = upstream_port
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.client, self.server = b"", b""
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        c, _ = self.sock.accept()
        s = socket.create_connection(("127.0.0.1", self.up))

        def pump(a, b, attr):
            while True:
                data = a.recv(65536)
                if not data:
                    try:
                        b.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    return
                setattr(self, attr, getattr(self, attr) + data)
                b.sendall(data)

        t = threading.Thread(target=pump, args=(s, c, "server"), daemon=True)
        t.start()
        pump(c, s, "client")
        t.join(5)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def listening(port):
    """Something listens on TCP port (seen in /proc/net/tcp, without connecting: nbd-server -d
    serves one connection only)."""
    with open("/proc/net/tcp") as f:
        return any(int(l.split()[1].split(":")[1], 16) == port and l.split()[3] == "0A" for l in list(f)[1:])


def start_server(argv, port):
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if listening(port):
            return p
        time.sleep(0.05)
    p.terminate()
    raise SystemExit("server did not start: " + " ".join(argv))


def our_client_bytes(sock):
    """The bytes haspool's client sends for export 'disk-y': flags, then NBD_OPT_GO."""
    greeting = b""
    while len(greeting) < 18:
        greeting += sock.recv(18 - len(greeting))
    sock.sendall(struct.pack("!I", 3) + option(7, info_request(b"disk-y", [3])))
    return greeting


def capture_server_replies(name, argv_for_port):
    """A real server's answer to haspool's client (fuzz_nbd_client's input)."""
    port = free_port()
    srv = start_server(argv_for_port(port), port)
    try:
        s = socket.create_connection(("127.0.0.1", port))
        s.settimeout(3)
        data = our_client_bytes(s)
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                if struct.pack("!I", 1) + struct.pack("!I", 0) in data[-8:]:  # NBD_REP_ACK, no payload
                    break
        except socket.timeout:
            pass
        s.close()
        put("fuzz_nbd_client", name, bytes([CLIENT_FLAGS_ALL]) + data)
    finally:
        srv.terminate()
        srv.wait()


def capture_client_stream(name, client_argv):
    """What a real client sends to an nbdkit memory export named 'fuzz' (fuzz_nbd_server's input)."""
    port = free_port()
    srv = start_server(["nbdkit", "-f", "-p", str(port), "-i", "127.0.0.1", "--exit-with-parent", "memory", "1M"], port)
    try:
        rec = Recorder(port)
        subprocess.run(client_argv(rec.port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20)
        rec.thread.join(5)
        put("fuzz_nbd_server", name, rec.client)
    finally:
        srv.terminate()
        srv.wait()


def captures():
    for tool in ("nbdkit", "qemu-nbd", "nbd-server", "nbdinfo", "qemu-io"):
        if not shutil.which(tool):
            raise SystemExit(f"--capture needs {tool}")
    tmp = tempfile.mkdtemp()
    img = os.path.join(tmp, "y.img")
    with open(img, "wb") as f:
        f.truncate(1 << 20)
    try:
        nbdkit = lambda options=(), params=(): (lambda port: ["nbdkit", "-f", "-p", str(port), "-i", "127.0.0.1",
                                                              "--exit-with-parent", *options, "memory", "1M", *params])
        capture_server_replies("nbdkit-memory", nbdkit())
        conf = os.path.join(tmp, "nbd-server.conf")
        nbd_server = lambda port: (open(conf, "w").write(f"[generic]\nlistenaddr = 127.0.0.1\nport = {port}\n"
                                                          f"[disk-y]\nexportname = {img}\n"),
                                   ["nbd-server", "-d", "-C", conf])[1]
        capture_server_replies("nbd-server-no-flush", nbd_server)
        capture_server_replies("nbdkit-readonly-blocksize", nbdkit(("-r", "--filter=blocksize"), ("minblock=512",)))
        capture_server_replies("qemu-nbd", lambda port: ["qemu-nbd", "-f", "raw", "-b", "127.0.0.1", "-p", str(port),
                                                         "-x", "disk-y", "--persistent", img])
        capture_client_stream("nbdinfo", lambda port: ["nbdinfo", f"nbd://127.0.0.1:{port}/fuzz"])
        capture_client_stream("nbdinfo-map", lambda port: ["nbdinfo", "--map", f"nbd://127.0.0.1:{port}/fuzz"])
        capture_client_stream("nbdinfo-list", lambda port: ["nbdinfo", "--list", f"nbd://127.0.0.1:{port}"])
        capture_client_stream("qemu-io-read-write", lambda port: ["qemu-io", "-f", "raw", "-c", "read 0 4k", "-c",
                                                             "write -P 0x5a 4k 4k", "-c", "read -P 0x5a 4k 4k",
                                                             f"nbd://127.0.0.1:{port}/fuzz"])
    finally:
        shutil.rmtree(tmp)


# ---- text targets ---------------------------------------------------------------------------

def read(path):
    with open(os.path.join(TOP, path), "rb") as f:
        return f.read()


def md_seeds():
    t = "fuzz_md_status"
    # As the VM lab's guests show /sys/block/md127/md (tests/unit/raid, tests/vm/daemon_*.sh).
    base = "level:raid1\nraid_disks:2\n"
    put(t, "mirrored", "array_state:clean\n" + base + "degraded:0\nsync_action:idle\nsync_completed:none\n"
        "dev-vda/state:in_sync\ndev-vda/slot:0\ndev-nbd0/state:in_sync,write_mostly\ndev-nbd0/slot:1\n")
    put(t, "nbd-leg-failed", "array_state:active\n" + base + "degraded:1\nsync_action:idle\nsync_completed:none\n"
        "dev-vda/state:in_sync\ndev-vda/slot:0\ndev-nbd0/state:faulty,write_mostly\ndev-nbd0/slot:none\n")
    put(t, "recovering", "array_state:active\n" + base + "degraded:1\nsync_action:recover\n"
        "sync_completed:65536 / 261888\ndev-vda/state:in_sync\ndev-vda/slot:0\n"
        "dev-nbd0/state:write_mostly\ndev-nbd0/slot:1\n")
    put(t, "initial-resync", "array_state:active\n" + base + "degraded:0\nsync_action:resync\n"
        "sync_completed:1024 / 261888\ndev-vda/state:in_sync\ndev-vda/slot:0\n"
        "dev-nbd0/state:in_sync,write_mostly\ndev-nbd0/slot:1\n")
    put(t, "degraded-alone", "array_state:clean\n" + base + "degraded:1\nsync_action:idle\nsync_completed:none\n"
        "dev-vdb/state:in_sync\ndev-vdb/slot:1\n")
    put(t, "inactive-spare", "array_state:inactive\nlevel:raid1\nraid_disks:0\ndegraded:0\n"
        "dev-vda/state:spare\ndev-vda/slot:none\nsync_completed:delayed\n")

    t = "fuzz_md_bitmap"
    tail = read("tests/unit/raid/data/member-tail-64k.bin")
    size = 128 << 20
    # The last 64 KiB of the degraded X (128 MiB) mdadm -X counted 7 dirty chunks on; and its
    # last 16 KiB, where the bitmap and the superblock lie.
    put(t, "member-tail-64k", struct.pack("!QQ", size, 0) + tail)
    put(t, "member-tail-16k", struct.pack("!QQ", size, 0) + tail[-16384:])
    put(t, "read-from-elsewhere", struct.pack("!QQ", size, 65536) + tail[-16384:])

    t = "fuzz_mdadm_examine"
    for f in ("mdadm-X-degraded.txt", "mdadm-X-stale-member.txt", "mdadm-examine.txt"):
        put(t, f[:-4], read("tests/unit/raid/data/" + f))


def config_seeds():
    t = "fuzz_config"
    example = read("config/haspool.example.yaml")
    put(t, "example", example)
    put(t, "fence-hooks", read("tests/golden/fence-hooks.yaml"))
    minimal = (b"cluster: {name: mailspool, secret_file: /etc/haspool/secret}\n"
               b"nodes:\n"
               b"  - {name: alpha, role: primary, spool_device: /dev/vda, addresses: {lan: 10.0.0.1}}\n"
               b"  - {name: beta, role: standby, spool_device: /dev/vdb, addresses: {lan: 10.0.0.2}}\n"
               b"service: {address: 10.0.0.25/24, interface: eth0}\n")
    put(t, "minimal-flow", minimal)
    # A key rotation's second key, and one naming the same file (an error).
    put(t, "rotation", minimal.replace(b"secret_file: /etc/haspool/secret}",
                                       b"secret_file: /etc/haspool/secret, secret_file_next: /etc/haspool/secret.next}"))
    put(t, "rotation-same-file", minimal.replace(b"secret_file: /etc/haspool/secret}",
                                                 b"secret_file: /etc/haspool/secret, secret_file_next: /etc/haspool/secret}"))
    put(t, "errors", b"cluster: {name: 'a b', secret_file: relative}\nnodes:\n  - name: alpha\n    role: primary\n"
        b"    addresses: {lan: 10.0.0.1, wan: not-an-ip}\n  - [oops]\n  - {name: alpha, role: primary}\n"
        b"heartbeat: {interval_ms: 1000, dead_after_ms: 2000, port: 70000, paths: [lan, dmz]}\n"
        b"nbd: {block_size: 1000, io_timeout_ms: 1000, dead_conn_timeout_ms: 9000, bogus: 1}\n"
        b"spool: {bitmap_chunk_kib: 3, filesystem: zfs, write_behind: 4}\n"
        b"service: {address: 10.0.0.25, units: [postfix], interface: 'eth 0'}\n"
        b"hooks: {before_takeover: [relative/hook]}\nfence: {}\nfailback: {policy: sometimes}\nextra: 1\n")
    put(t, "syntax-error", b"cluster:\n  name: [unclosed\n")


def control_seeds():
    t = "fuzz_control"
    for name, line in (("status", "status\n"), ("status-json", "status-json\n"), ("status-check", "status-check\n"), ("switchover", "switchover\n"),
                       ("failback", "failback\n"), ("replace-disk", "replace-disk\n"), ("resolve-alpha", "resolve discard=alpha\n"),
                       ("resolve-empty", "resolve discard=\n"), ("resolve-unknown", "resolve discard=gamma\n"),
                       ("unknown", "reboot\n"), ("no-newline", "status"), ("crlf", "status\r\n")):
        put(t, name, line)


def smtp_seeds():
    t = "fuzz_smtp_session"
    crlf = lambda *lines: ("\r\n".join(lines) + "\r\n").encode()
    # What the drill's client sends (agent/lab/smtp_client.cpp), whole and in 7-byte pieces.
    drill = crlf("EHLO drill.lab", "MAIL FROM:<drill@lab>", "RCPT TO:<spool@mx.lab>", "DATA",
                 "Subject: drill 17", "Message-Id: <17@drill.lab>", "", "message 17", ".", "QUIT")
    put(t, "drill", bytes([0]) + drill)
    put(t, "drill-pieces", bytes([7 << 1]) + drill)
    put(t, "store-fails", bytes([1]) + drill)
    # Dot-stuffing, SIZE, a null sender, two recipients, RSET, NOOP, VRFY, HELO, a second message.
    put(t, "dialogue", bytes([3 << 1]) + crlf(
        "HELO client.example", "MAIL FROM:<> SIZE=120", "RCPT TO:<a@mx>", "RCPT TO:<@relay:b@mx>", "DATA",
        "..leading dot", ".", "", "...", ".", "RSET", "NOOP", "VRFY root", "MAIL FROM:<x@y>", "RCPT TO:<c@mx>",
        "DATA", "two", ".", "QUIT"))
    # Errors: commands out of order, bad syntax, a message over the size limit, an overlong line.
    put(t, "errors", bytes([0]) + crlf(
        "MAIL FROM:<early@x>", "EHLO", "EHLO x", "RCPT TO:<a@b>", "DATA", "MAIL FROM: bad", "MAIL FROM:<a@b> SIZE=99999",
        "MAIL FROM:<a@b>", "MAIL FROM:<c@d>", "DATA", "RCPT TO:<>", "RCPT TO:<a b@c>", "RCPT TO:<ok@c>", "DATA x",
        "DATA", "x" * 1200, ".", "BOGUS", "") + b"y" * 600 + b"\r\nQUIT\r\n")
    put(t, "bare-lf-big", bytes([0]) + b"EHLO x\nMAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA\n" +
        (b"z" * 900 + b"\n") * 6 + b".\nQUIT\n")


def main():
    heartbeat_seeds()
    client_seeds()
    server_seeds()
    md_seeds()
    config_seeds()
    control_seeds()
    smtp_seeds()
    if "--capture" in sys.argv[1:]:
        captures()


if __name__ == "__main__":
    main()
