#!/usr/bin/env bash
# The spool filesystem on real loop devices with real e2fsck, mount(8) and umount2(2):
# a dirty ext4 is checked and mounted; one e2fsck -p cannot fix is refused and nothing is mounted;
# a check refused because the unmounted device is in use is retried, then names the holder;
# mounting is idempotent and refuses a foreign mount; unmounting a busy spool names the holder.
source "$(dirname "$0")/../../lib.sh"
source "$(dirname "$0")/lib_actions.sh"
requires_root
requires losetup mkfs.ext4 e2fsck debugfs dumpe2fs mount umount

MNT=$T_DIR/spool
mkdir -p "$MNT"

# --- a filesystem marked as having errors, with a wrong free-blocks count, is checked, fixed, mounted
new_loop DEV 64M
mkfs.ext4 -q -F "$DEV"
debugfs -w -R 'ssv state 2' "$DEV" >/dev/null 2>&1
debugfs -w -R 'ssv free_blocks_count 1234' "$DEV" >/dev/null 2>&1
dumpe2fs -h "$DEV" 2>/dev/null | grep -q 'Filesystem state: *not clean with errors' || fail "could not make $DEV dirty"
defer umount -l "$MNT"

# systemd's start timeout is extended while the check runs (EXTEND_TIMEOUT_USEC on NOTIFY_SOCKET)
requires python3
start_bg notify python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
print(s.recv(4096).decode(), flush=True)
' "$T_DIR/notify.sock"
wait_for 10 test -S "$T_DIR/notify.sock"
NOTIFY_SOCKET=$T_DIR/notify.sock action fsck-dirty fsck "$DEV" ext4
expect_rc 0 fsck-dirty
wait_for 10 grep -q '^EXTEND_TIMEOUT_USEC=30000000$' "$T_DIR/notify.log"
expect_in fsck-dirty out "ok: e2fsck: errors corrected"
dumpe2fs -h "$DEV" 2>/dev/null | grep -q 'Filesystem state: *clean$' || fail "e2fsck did not leave $DEV clean"

action mount1 mount "$DEV" "$MNT" ext4 noatime,nodev
expect_rc 0 mount1
expect_in mount1 out "ok: mounted"
[ "$(mounted_at "$MNT")" = "$DEV ext4" ] || fail "mountinfo shows '$(mounted_at "$MNT")' at $MNT"
grep " $MNT " /proc/self/mountinfo | grep -q 'noatime' || fail "mount options not applied: $(grep " $MNT " /proc/self/mountinfo)"

# --- idempotent: a second mount changes nothing
action mount2 mount "$DEV" "$MNT" ext4 noatime,nodev
expect_rc 0 mount2
expect_in mount2 out "ok: already mounted"
[ "$(grep -c " $MNT " /proc/self/mountinfo)" = 1 ] || fail "spool mounted more than once"

# --- no fsck of a mounted filesystem
action fsck-mounted fsck "$DEV" ext4
expect_rc 1 fsck-mounted
expect_in fsck-mounted err "refusing to check '$DEV': it is mounted on '$MNT'"

# --- a crash image: the block device copied while the filesystem is mounted and written to, as B
#     finds Y after A died (needs_recovery set, journal not replayed) -> e2fsck replays, mount works
echo "mail 1" >"$MNT/msg1"
sync
cp --sparse=always "$DEV_IMG" "$T_DIR/crash.img"
new_loop CRASH 0 "$T_DIR/crash.img"
dumpe2fs -h "$CRASH" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery' || fail "crash image has no journal to recover"
CRASH_MNT=$T_DIR/crash-mnt
mkdir -p "$CRASH_MNT"
defer umount -l "$CRASH_MNT"
action fsck-crash fsck "$CRASH" ext4
expect_rc 0 fsck-crash
expect_in fsck-crash out "ok: e2fsck:"
dumpe2fs -h "$CRASH" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery' && fail "e2fsck did not replay the journal"
action mount-crash mount "$CRASH" "$CRASH_MNT" ext4
expect_rc 0 mount-crash
expect_in mount-crash out "ok: mounted"
[ "$(cat "$CRASH_MNT/msg1")" = "mail 1" ] || fail "the message written before the crash is missing"
action umount-crash umount "$CRASH" "$CRASH_MNT"
expect_rc 0 umount-crash

# --- the device mounted elsewhere is refused
OTHER=$T_DIR/other
mkdir -p "$OTHER"
action mount-elsewhere mount "$DEV" "$OTHER" ext4
expect_rc 1 mount-elsewhere
expect_in mount-elsewhere err "refusing: the device is already mounted on '$MNT'"
[ -z "$(mounted_at "$OTHER")" ] || fail "something got mounted on $OTHER"

# --- unmounting a busy spool names the process holding it, and leaves it mounted
start_bg holder bash -c 'cd "$1" && exec sleep 300' holder "$MNT"
holder_pid=$last_pid
cwd_is() { [ "$(readlink "/proc/$1/cwd")" = "$2" ]; }  # a function: wait_for re-runs it
wait_for 10 cwd_is "$holder_pid" "$MNT"
action umount-busy umount "$DEV" "$MNT"
expect_rc 1 umount-busy
expect_in umount-busy err "cannot unmount '$MNT': the filesystem is busy ("
expect_in umount-busy err " attempts in 5000 ms); held by pid $holder_pid (sleep: cwd)"
[ "$(mounted_at "$MNT")" = "$DEV ext4" ] || fail "busy spool no longer mounted"
stop_pid "$holder_pid"
wait_for 10 process_dead "$holder_pid"

# --- a holder that lets go within the grace (a unit or hook's process still exiting) is waited for
start_bg holder2 bash -c 'cd "$1" && exec sleep 1.5' holder2 "$MNT"
wait_for 10 cwd_is "$last_pid" "$MNT"
action umount1 umount "$DEV" "$MNT"
expect_rc 0 umount1
expect_in umount1 out "ok: unmounted after "
[ -z "$(mounted_at "$MNT")" ] || fail "still mounted: $(mounted_at "$MNT")"
action umount2 umount "$DEV" "$MNT"
expect_rc 0 umount2
expect_in umount2 out "ok: not mounted"

# --- something else mounted on the mount point: mount and unmount both refuse
mount -t tmpfs -o size=1m haspool-foreign "$MNT"
action mount-foreign mount "$DEV" "$MNT" ext4
expect_rc 1 mount-foreign
expect_in mount-foreign err "refusing: 'haspool-foreign' (tmpfs,"
expect_in mount-foreign err "is already mounted there"
action umount-foreign umount "$DEV" "$MNT"
expect_rc 1 umount-foreign
expect_in umount-foreign err "is mounted there, not '$DEV'"
[ "$(mounted_at "$MNT")" = "haspool-foreign tmpfs" ] || fail "foreign mount disturbed"
umount "$MNT"

# --- the wrong filesystem type is mount(8)'s error, with status and output, and nothing is mounted
action mount-wrongtype mount "$DEV" "$MNT" ext2
expect_rc 1 mount-wrongtype
expect_in mount-wrongtype err "'mount -t ext2 $DEV $MNT' exited with status 32"
[ -z "$(mounted_at "$MNT")" ] || fail "mounted despite the wrong type"

# --- corruption e2fsck -p cannot fix: refused with e2fsck's words, nothing mounted
new_loop BAD 64M
mkfs.ext4 -q -F "$BAD"
debugfs -w -R 'clri <2>' "$BAD" >/dev/null 2>&1
debugfs -w -R 'ssv state 2' "$BAD" >/dev/null 2>&1
action check-mount-bad check-mount "$BAD" "$MNT" ext4
expect_rc 1 check-mount-bad
expect_in check-mount-bad err "filesystem check of '$BAD' failed (errors left uncorrected; run e2fsck by hand): 'e2fsck -p $BAD' exited with status 4"
expect_in check-mount-bad err "UNEXPECTED INCONSISTENCY"
[ -z "$(mounted_at "$MNT")" ] || fail "corrupt filesystem got mounted"

# --- the same sequence on a good filesystem mounts it
action check-mount-good check-mount "$DEV" "$MNT" ext4
expect_rc 0 check-mount-good
expect_in check-mount-good out "ok: e2fsck: "
expect_in check-mount-good out "ok: mounted"
log "check-mount-good: $(head -1 "$T_DIR/check-mount-good.out")"
action umount3 umount "$DEV" "$MNT"
expect_rc 0 umount3

# --- the device held exclusively by someone else (e2fsck: "is in use", status 8) while nothing
#     has it mounted: a holder that lets go within the grace is waited for; one that stays is named
requires python3
hold_excl() {  # hold_excl NAME SECONDS: opens $DEV with O_EXCL, as a mount or mkfs holds it
    start_bg "$1" python3 -c '
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL)
open(sys.argv[3], "w").close()
time.sleep(float(sys.argv[2]))
' "$DEV" "$2" "$T_DIR/$1.holding"
    wait_for 10 test -e "$T_DIR/$1.holding"
}
hold_excl excl-brief 1.5
action fsck-held-briefly fsck "$DEV" ext4
expect_rc 0 fsck-held-briefly
expect_in fsck-held-briefly out "ok: e2fsck: no errors (after "
expect_in fsck-held-briefly out " in-use refusal(s))"
hold_excl excl-stays 30
excl_pid=$last_pid
action fsck-held fsck "$DEV" ext4
expect_rc 1 fsck-held
expect_in fsck-held err "filesystem check of '$DEV' refused: the device is in use ("
expect_in fsck-held err " attempts in 5000 ms, not mounted); held by pid $excl_pid (python3: fd "
expect_in fsck-held err "is in use"
log "fsck-held: $(cat "$T_DIR/fsck-held.err")"
stop_pid "$excl_pid"
wait_for 10 process_dead "$excl_pid"

# --- not a block device
action notblock fsck "$T_DIR" ext4
expect_rc 1 notblock
expect_in notblock err "'$T_DIR' is not a block device"

# --- xfs: no check before mounting (the mount replays the log); xfs_repair only on request
if command -v mkfs.xfs >/dev/null && command -v xfs_repair >/dev/null; then
    new_loop XFS 320M
    mkfs.xfs -q -f "$XFS"
    action fsck-xfs fsck "$XFS" xfs
    expect_rc 0 fsck-xfs
    expect_in fsck-xfs out "ok: xfs: no check before mounting"
    action repair-xfs fsck "$XFS" xfs xfs-repair
    expect_rc 0 repair-xfs
    expect_in repair-xfs out "ok: xfs_repair: done"
    action mount-xfs mount "$XFS" "$MNT" xfs
    expect_rc 0 mount-xfs
    [ "$(mounted_at "$MNT")" = "$XFS xfs" ] || fail "xfs not mounted: $(mounted_at "$MNT")"
    action umount-xfs umount "$XFS" "$MNT"
    expect_rc 0 umount-xfs
else
    log "xfsprogs missing: xfs cases skipped"
fi
log "ok"
