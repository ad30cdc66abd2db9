#!/usr/bin/env bash
# The raw takeover's LinuxSystem steps through perform() (docs/agent.md "Raw takeover"): Y is a
# loop device laid out as an md 1.0 member whose superblock is gone — an ext4 filling the start
# (the array's data area) and a tail that stands for md's bitmap and superblock. MarkRawWrites
# persists the mark; MapRaw maps exactly the filesystem through a new read-write loop device
# (offset 0, sizelimit = the filesystem's size) behind the runtime link; Fsck and Mount use the
# link; UnmapRaw refuses while mounted, then detaches. Each step runs twice (idempotence). After
# it all, the mail written through the mapping is on Y itself, and the tail is untouched.
source "$(dirname "$0")/../../lib.sh"
source "$(dirname "$0")/../actions/lib_actions.sh"
requires_root
requires losetup mkfs.ext4 debugfs dumpe2fs cmp
: "${HASPOOL_PERFORM:?HASPOOL_PERFORM must point at the haspool-perform test driver}"

new_loop Y 64M
# The "array": an ext4 of 60 MiB at sector 0; the last 4 MiB: a pattern standing for md's
# internal bitmap and 1.0 superblock, which the mapping must never cover.
mkfs.ext4 -q -F "$Y" 60M || fail "mkfs.ext4 $Y 60M"
head -c 4M /dev/urandom >"$T_DIR/tail"
dd if="$T_DIR/tail" of="$Y" bs=1M seek=60 conv=notrunc,fsync status=none || fail "writing the tail"
FS_BYTES=$((60 * 1024 * 1024))

SPOOL=$T_DIR/spool
RUN=$T_DIR/run
mkdir -p "$SPOOL"
LINK=$RUN/haspool-raw
head -c 32 /dev/urandom >"$T_DIR/secret"; chmod 600 "$T_DIR/secret"
cat >"$T_DIR/haspool.yaml" <<YAML
cluster:
  name: mailspool
  secret_file: $T_DIR/secret
  state_dir: $T_DIR/state
  control_socket: $RUN/control.sock
nodes:
  - name: alpha
    role: primary
    spool_device: /dev/vdb
    addresses: {replication: 198.51.100.1, service: 192.0.2.1}
  - name: beta
    role: standby
    spool_device: $Y
    addresses: {replication: 198.51.100.2, service: 192.0.2.2}
spool:
  filesystem: ext4
  mount_point: $SPOOL
  raw_mount_fallback: true
service:
  address: 192.0.2.100/24
  interface: lo
YAML

perform() {
    local name=$1; shift
    run_capture "$name" "$HASPOOL_PERFORM" "$T_DIR/haspool.yaml" beta "$@"
}
# The loop devices mapping Y (other than Y's own), as "dev offset sizelimit".
raw_loops() {
    local b
    for b in /sys/block/loop*; do
        [ "$(cat "$b/loop/backing_file" 2>/dev/null)" = "$Y" ] || continue
        echo "/dev/${b##*/} $(cat "$b/loop/offset") $(cat "$b/loop/sizelimit")"
    done
}
cleanup_raw() {
    umount "$SPOOL" 2>/dev/null
    local l
    raw_loops | while read -r l _; do losetup -d "$l"; done
}
defer cleanup_raw

# --- nothing to map: no filesystem where md 1.0 puts the data
new_loop EMPTY 16M
sed "s#spool_device: $Y#spool_device: $EMPTY#" "$T_DIR/haspool.yaml" >"$T_DIR/empty.yaml"
run_capture map-empty "$HASPOOL_PERFORM" "$T_DIR/empty.yaml" beta map-raw
expect_rc 1 map-empty
expect_in map-empty out "MapRaw: FAILED: mapping $EMPTY raw: no ext2/3/4 superblock (magic 0xEF53)"
# A filesystem over the whole device leaves no room for md's superblock: not an md member.
mkfs.ext4 -q -F "$EMPTY" || fail "mkfs.ext4 $EMPTY"
run_capture map-whole "$HASPOOL_PERFORM" "$T_DIR/empty.yaml" beta map-raw
expect_rc 1 map-whole
expect_in map-whole out "does not leave room for md's superblock"
[ -z "$(for b in /sys/block/loop*; do [ "$(cat "$b/loop/backing_file" 2>/dev/null)" = "$EMPTY" ] && echo x; done)" ] ||
    fail "a refused MapRaw left a loop device over $EMPTY"

# --- the mark, then the mapping, fsck and mount through the link; each twice
perform takeover mark-raw mark-raw map-raw map-raw fsck-raw mount-raw mount-raw
expect_rc 0 takeover
[ "$(grep -c ": ok$" "$T_DIR/takeover.out")" = 7 ] || fail "takeover: $(cat "$T_DIR/takeover.out")"
grep -q "^raw-written [0-9]* raw takeover by beta" "$T_DIR/state/raw-writes" || fail "mark: $(cat "$T_DIR/state/raw-writes" 2>&1)"
[ "$(raw_loops | wc -l)" = 1 ] || fail "expected one loop device over $Y: $(raw_loops)"
read -r LOOP OFF SIZE < <(raw_loops)
[ "$OFF" = 0 ] && [ "$SIZE" = "$FS_BYTES" ] || fail "mapping offset $OFF size $SIZE, expected 0 and $FS_BYTES"
[ "$(readlink "$LINK")" = "$LOOP" ] || fail "$LINK -> '$(readlink "$LINK")', expected $LOOP"
[ "$(cat "/sys/block/${LOOP#/dev/}/ro")" = 0 ] || fail "$LOOP is read-only"
[ "$(mounted_at "$SPOOL")" = "$LOOP ext4" ] || fail "mountinfo at $SPOOL: '$(mounted_at "$SPOOL")'"

# The standby's export guard sees Y in use through the mapping (sysfs lists no holder for a
# loop device's backing device): a daemon restarted now resumes serving instead of exporting Y.
run_capture claim-mapped "$HASPOOL" debug device-claim --device "$Y"
expect_rc 1 claim-mapped
expect_in claim-mapped out "in use: $Y is the backing device of $LOOP (the raw mapping)"

# Mail written through the mapping.
mkdir -p "$SPOOL/new"
for i in 1 2 3; do echo "message $i via the raw mapping" >"$SPOOL/new/$i"; done
sync -f "$SPOOL/new/3"

# --- UnmapRaw refuses while the mapping is mounted (LOOP_CLR_FD would only set autoclear)
perform unmap-mounted unmap-raw
expect_rc 1 unmap-mounted
expect_in unmap-mounted out "UnmapRaw: FAILED: unmapping $Y raw: $LOOP is still mounted on $SPOOL"
[ "$(raw_loops | wc -l)" = 1 ] || fail "the refused UnmapRaw detached something: $(raw_loops)"

# --- the handback's undo: unmount, unmap; each twice
perform handback unmount unmount unmap-raw unmap-raw
expect_rc 0 handback
[ "$(grep -c ": ok$" "$T_DIR/handback.out")" = 4 ] || fail "handback: $(cat "$T_DIR/handback.out")"
[ -z "$(raw_loops)" ] || fail "still mapped: $(raw_loops)"
[ ! -e "$LINK" ] && [ ! -L "$LINK" ] || fail "$LINK still exists"

run_capture claim-free "$HASPOOL" debug device-claim --device "$Y"
expect_rc 0 claim-free
expect_in claim-free out "free"

# The mail is on Y itself, the filesystem is clean, and the tail (md's place) is untouched.
debugfs -R "cat /new/2" "$Y" 2>/dev/null | grep -qx "message 2 via the raw mapping" || fail "message 2 is not on $Y"
e2fsck -fn "$Y" >"$T_DIR/e2fsck.log" 2>&1 || fail "e2fsck -fn $Y: $(tail -5 "$T_DIR/e2fsck.log")"
cmp <(dd if="$Y" bs=1M skip=60 status=none) "$T_DIR/tail" || fail "the tail of $Y (md's bitmap and superblock) changed"

# --- the mark goes only when asked (X rebuilt), and clearing twice is fine
[ -e "$T_DIR/state/raw-writes" ] || fail "the mark went away with the handback"
perform clear clear-raw clear-raw
expect_rc 0 clear
[ ! -e "$T_DIR/state/raw-writes" ] || fail "the mark is still there after ClearRawWrites"
log "ok"
