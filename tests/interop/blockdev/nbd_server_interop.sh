#!/usr/bin/env bash
# haspool's NBD server ('haspool export') driven by other people's clients on 127.0.0.1:
# nbdinfo, nbdcopy (256 MiB round trip), libnbd's Python binding (nbd_checks.py), qemu-img and
# qemu-io; plus the allow list, one-writer rule, read-only export and clean SIGTERM.
source "$(dirname "$0")/../../lib.sh"
requires nbdinfo nbdcopy qemu-io qemu-img
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import nbd' 2>/dev/null || skip "needs python3-nbd"
HERE=$(cd "$(dirname "$0")" && pwd)

size=$((256 << 20))
img="$T_DIR/y.img"
truncate -s "$size" "$img"
port=$(free_port)
uri="nbd://127.0.0.1:$port/disk-y"
start_bg export "$HASPOOL" export --device "$img" --listen "127.0.0.1:$port" --name disk-y
srv=$last_pid
wait_for 10 nbdinfo --size "$uri"

# nbdinfo --json: size and the capabilities the primary relies on.
run_capture info nbdinfo --json "$uri"
expect_rc 0 info
/usr/bin/python3 - "$T_DIR/info.out" "$size" <<'PY' || fail "nbdinfo --json: $(cat "$T_DIR/info.out")"
import json, sys
e = json.load(open(sys.argv[1]))["exports"][0]
assert e["export-size"] == int(sys.argv[2]), e["export-size"]
for k in ("can_flush", "can_fua", "can_multi_conn", "can_trim", "can_zero"):
    assert e[k] is True, k
assert e["is_read_only"] is False
PY

# nbdcopy a random image in and out (multi-conn): identical checksums.
head -c "$size" /dev/urandom >"$T_DIR/src.img"
run_capture copy-in nbdcopy --flush "$T_DIR/src.img" "$uri"
expect_rc 0 copy-in
run_capture copy-out nbdcopy "$uri" "$T_DIR/out.img"
expect_rc 0 copy-out
want=$(sha256sum <"$T_DIR/src.img")
[ "$(sha256sum <"$T_DIR/out.img")" = "$want" ] || fail "nbdcopy round trip differs"
[ "$(sha256sum <"$img")" = "$want" ] || fail "export file differs from what was copied in"

# libnbd: FUA, flush, trim, write-zeroes, structured and simple replies, list, range errors.
run_capture checks /usr/bin/python3 "$HERE/nbd_checks.py" 127.0.0.1 "$port" disk-y "$size"
expect_rc 0 checks

# qemu: write patterns with qemu-io, read them back, qemu-img sees the size.
run_capture qemu-write qemu-io -f raw -c 'write -P 0xa5 1M 64k' -c 'write -P 0x5a -f 4M 4k' -c flush "$uri"
expect_rc 0 qemu-write
run_capture qemu-read qemu-io -f raw -c 'read -P 0xa5 1M 64k' -c 'read -P 0x5a 4M 4k' "$uri"
expect_rc 0 qemu-read
! grep -q 'Pattern verification failed' "$T_DIR/qemu-read.out" || fail "qemu-io pattern mismatch"
run_capture qemu-img qemu-img info --output=json "$uri"
expect_rc 0 qemu-img
expect_in qemu-img out "\"virtual-size\": $size"

# One writer: while 127.0.0.1 holds a session, a client from 127.0.0.2 is refused with a policy
# error, and admitted once the writer is gone.
run_capture one-writer /usr/bin/python3 - "$port" <<'PY'
import socket, sys, nbd
port = int(sys.argv[1])
def connect(src):
    s = socket.socket(); s.bind((src, 0)); s.connect(("127.0.0.1", port))
    h = nbd.NBD(); h.set_export_name("disk-y"); h.connect_socket(s.fileno()); return h, s
w, ws = connect("127.0.0.1")
w2, _ = connect("127.0.0.1")          # same peer address: multi-conn from the writer is fine
try:
    connect("127.0.0.2")
    sys.exit("second writer was admitted")
except nbd.Error as e:
    print("refused:", e.string)
w.shutdown(); w2.shutdown()
PY
expect_rc 0 one-writer
expect_in one-writer out "refused:"
wait_for 10 /usr/bin/python3 -c "
import socket, nbd
s = socket.socket(); s.bind(('127.0.0.2', 0)); s.connect(('127.0.0.1', $port))
h = nbd.NBD(); h.set_export_name('disk-y'); h.connect_socket(s.fileno()); h.shutdown()"
grep -q "export is attached to writer 127.0.0.1; refusing a second writer from 127.0.0.2" "$T_DIR/export.log" ||
    fail "no refusal logged: $(tail -5 "$T_DIR/export.log")"

# SIGTERM: flushes and exits 0.
kill -TERM "$srv"
rc=0
wait "$srv" || rc=$?
[ "$rc" = 0 ] || fail "haspool export exited $rc on SIGTERM: $(tail -5 "$T_DIR/export.log")"

# Allow list: a loopback client not on it is refused before the handshake.
port=$(free_port)
start_bg export-allow "$HASPOOL" export --device "$img" --listen "127.0.0.1:$port" --name disk-y --allow 127.0.0.9
wait_for 10 listening "$port"
run_capture denied nbdinfo --size "nbd://127.0.0.1:$port/disk-y"
[ "$rc" != 0 ] || fail "client outside the allow list was served"
wait_for 5 grep -q "refused connection from 127.0.0.1: address not in the allow list" "$T_DIR/export-allow.log"

# Read-only export: writes fail with EPERM, reads work.
port=$(free_port)
start_bg export-ro "$HASPOOL" export --device "$img" --listen "127.0.0.1:$port" --name ro --read-only
wait_for 10 nbdinfo --size "nbd://127.0.0.1:$port/ro"
run_capture ro /usr/bin/python3 - "$port" <<'PY'
import errno, sys, nbd
h = nbd.NBD(); h.connect_uri(f"nbd://127.0.0.1:{sys.argv[1]}/ro")
assert h.is_read_only()
h.set_strict_mode(0)
try:
    h.pwrite(b"x" * 512, 0); sys.exit("write to read-only export succeeded")
except nbd.Error as e:
    print("write refused:", e.errno)
assert len(h.pread(512, 0)) == 512
PY
expect_rc 0 ro
expect_in ro out "write refused: EPERM"

# Bad command lines: usage errors exit 2, a missing device exits 1 with its path.
run_capture badlisten "$HASPOOL" export --device "$img" --listen nonsense
expect_rc 2 badlisten
expect_in badlisten err "is not ADDR:PORT"
run_capture nodev "$HASPOOL" export --device "$T_DIR/missing.img" --listen "127.0.0.1:$(free_port)"
expect_rc 1 nodev
expect_in nodev err "cannot open export '$T_DIR/missing.img'"
log "ok"
