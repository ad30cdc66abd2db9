#!/usr/bin/env bash
# Issue 6 through the daemons: `haspool standby --init` on beta and `haspool primary --init` on
# alpha bring the mirror up by themselves (NBD attach, md create, mkfs, fsck, mount, address):
# alpha reaches MIRRORED and holds 192.0.2.10. beta's QEMU is then killed: alpha goes DEGRADED
# and keeps serving fsync'd writes. beta's guest comes back and its standby daemon restarts
# (no --init: its generation survived on the state disk): alpha re-adds the leg, RESYNC ->
# MIRRORED, copying far less than the device (bitmap). Afterwards X and Y are identical, X is
# metadata 1.0 with an internal bitmap, creating over it is refused without --force, and every
# file reads back byte-identical from Y on beta.
source "$(dirname "$0")/lib_vm.sh"

vm_build_image
vm_daemons_up
vm_wait_state beta EXPORTING 30
[ "$(json_get "$VM_STATUS" peer.state)" = MIRRORED ] || fail "beta does not see alpha MIRRORED: $VM_STATUS"
st=$(vm_run alpha "haspool debug md-status --md $MD")
grep -qx "member.nbd0=in_sync,write_mostly slot=1" <<<"$st" || fail "the NBD leg is not an in-sync write-mostly member: $st"
vm_spool_served_by alpha beta

# fsync'd files while mirrored; sums kept on the host
write_files() {  # write_files PREFIX COUNT KIB: fsync'd random files; prints "sha256  name" lines
    vm_run alpha "set -e; for i in \$(seq 1 $2); do
            dd if=/dev/urandom of=$SPOOL/$1.\$i bs=1k count=$3 conv=fsync 2>/dev/null
        done; cd $SPOOL && sha256sum $1.*"
}
sums=$(write_files mirrored 8 256) || fail "writing while mirrored: $sums"
vm_run alpha "sleep 6" # md clears the bitmap bits of those writes lazily (~5 s)
vm_run alpha "haspool debug md-wait --md $MD --until clean --timeout 60 >/dev/null" || fail "not clean before the crash"

vm_kill beta
log "beta crashed (QEMU SIGKILLed)"
vm_time_run alpha t_first "dd if=/dev/urandom of=$SPOOL/first-after bs=1M count=1 conv=fsync 2>&1" ||
    fail "a write on alpha failed after the standby died"
log "first fsync'd write after the crash completed in ${t_first}s (io_timeout ${VM_IO_TIMEOUT_MS} ms)"
vm_wait_state alpha DEGRADED 30
log "alpha DEGRADED (last decision: $(json_get "$VM_STATUS" last_decision))"
st=$(vm_run alpha "haspool debug md-status --md $MD")
grep -q "^degraded=1" <<<"$st" || fail "md is not degraded on alpha: $st"
more=$(write_files degraded 6 1024) || fail "writing while degraded: $more"
sums+=$'\n'$more
sums+=$'\n'$(vm_run alpha "cd $SPOOL && sha256sum first-after")
vm_spool_served_by alpha
log "alpha kept serving fsync'd writes while degraded"
vm_x_bitmap
[ "$BM_CHUNK" = 1048576 ] || fail "bitmap chunk is $BM_CHUNK bytes, the config says 1 MiB"
w0=$(nbd_written_sectors /dev/nbd0)

# beta returns: same disks, state disk included; no --init (its generation is on the state disk)
vm_start beta 192.0.2.2/24 "$T_DIR/y.img" connect "$VM_LAN_PORT"
vm_wait beta
vm_setup_node beta
vm_run beta "cat $VM_STATE_DIR/node-state >/dev/null" || fail "beta's state file did not survive the crash"
vm_daemon_start beta
vm_wait_state beta EXPORTING 60
vm_wait_state alpha MIRRORED 120
log "alpha MIRRORED again ${VM_WAITED}s after beta's daemon was EXPORTING"
vm_run alpha "haspool debug md-wait --md $MD --until clean --timeout 60 >/dev/null" || fail "not clean after RESYNC -> MIRRORED"
w1=$(nbd_written_sectors /dev/nbd0)
# the kernel keeps /dev/nbd0's counters across detach and re-attach; slack: md's superblock and
# bitmap updates and ext4's commits while the leg was back
vm_check_bitmap_resync "$w0" "$w1" 2
log "resync copied $((VM_COPIED / 1024)) KiB for $BM_DIRTY dirty chunks; a full copy is $((VM_FULL / 1048576)) MiB"
trail=$(vm_run alpha "grep -E 'DEGRADED -> RESYNC|RESYNC -> MIRRORED|MIRRORED -> DEGRADED' $VM_DAEMON_LOG")
for t in "MIRRORED -> DEGRADED" "DEGRADED -> RESYNC" "RESYNC -> MIRRORED"; do
    grep -qF "$t" <<<"$trail" || fail "alpha's log has no '$t' transition: $(vm_daemon_log alpha 60)"
done
log "alpha's way back: $(cut -c12-23,37- <<<"$trail" | cut -c1-160 | tr '\n' ';')"
# before md copies, the daemon says how much (the re-add's note, also in `status` while md recovers)
plan=$(vm_run alpha "grep 'step ReAddMember.*: ok (copying ' $VM_DAEMON_LOG | tail -1")
grep -q "of 128 chunk(s) of 1024 KiB dirty, about [0-9]* MiB of 128 MiB" <<<"$plan" ||
    fail "alpha's re-add did not say how much it copies: $plan $(vm_daemon_log alpha 30)"
log "alpha: ${plan#*: ok }"
st=$(vm_run alpha "haspool debug md-status --md $MD")
grep -qx "member.nbd0=in_sync,write_mostly slot=1" <<<"$st" || fail "after the resync the NBD leg is not in sync + write-mostly: $st"
[ "$(json_get "$(vm_status_json beta)" peer.state)" = MIRRORED ] || fail "beta does not see alpha MIRRORED"

# stop alpha's daemon (SIGTERM leaves the array and the mount as they are) and compare the
# legs: beta's export must still run while alpha unmounts and stops the array, or md fails the
# NBD leg on the unmount's writes. Then stop beta's daemon and read every file back from Y.
vm_daemon_stop alpha
vm_compare_legs
# The array is stopped: X is what --init made of it (metadata 1.0, internal bitmap), and
# creating an array over it again is refused without --force (blkid -p sees the superblock at
# the end of the device).
out=$(vm_run alpha "mdadm --examine /dev/vda")
grep -q "Version : 1.0" <<<"$out" || fail "X is not metadata 1.0: $out"
grep -q "Internal Bitmap" <<<"$out" || fail "X has no internal bitmap: $out"
if out=$(vm_run alpha "haspool debug md-create --md $MD --local /dev/vda --remote /dev/nbd0 2>&1"); then
    fail "md-create over the members of an existing array succeeded: $out"
fi
grep -q "refusing: /dev/vda holds" <<<"$out" || fail "md-create's refusal is unclear: $out"
log "X: metadata 1.0, internal bitmap; md-create over it refused: ${out##*refusing: }"
vm_daemon_stop beta
vm_check_files_on_y "$sums" 'mirrored.*' 'degraded.*' first-after
log "ok"
