#!/usr/bin/env bash
# Issue 7, the raw-mount fallback (docs/agent.md "Raw takeover"): with spool.raw_mount_fallback on,
# the mirror comes up through the daemons and fsync'd files are written on alpha; alpha's QEMU is
# SIGKILLed. beta's before_takeover hook then breaks Y's md superblock (metadata 1.0: the 4 KiB at
# the 8 KiB-aligned offset 8 KiB before the end), so the takeover's AssembleDegraded fails and beta
# falls back: marks raw-writes, maps Y's data area through a loop device, fscks, mounts, takes the
# VIP — ACTIVE with the spool intact. beta writes files during its tenure (outside md: no bitmap
# sees them). alpha boots again, stands by, hears "raw-written"; `haspool failback` hands back
# (beta unmounts and detaches the loop device before exporting Y), and alpha re-creates the array
# over Y (no superblock left), adds X in FULL (never a re-add: X and Y carry equal event counts)
# and serves while md copies everything. Afterwards beta's mark is cleared, the copy onto X is
# the whole array (not incremental), every file is on alpha and X == Y.
source "$(dirname "$0")/lib_vm.sh"

VM_LISTENER=beta
VM_SPOOL_EXTRA='  raw_mount_fallback: true'
VM_EXTRA_YAML='hooks:
  before_takeover: [/bin/sh, /etc/haspool/break-y]'
vm_build_image
vm_daemons_up
# Only beta runs this hook (alpha never takes over). The guest's /etc is lost on reboot; beta
# does not reboot here.
vm_run beta "cat >/etc/haspool/break-y <<'SH'
s=\$(cat /sys/block/vda/size)
off=\$(( (s - 16) / 8 * 8 ))
mdadm --examine /dev/vda >/tmp/examine-before.txt 2>&1
dd if=/dev/zero of=/dev/vda bs=512 seek=\$off count=8 oflag=direct conv=notrunc 2>/dev/null
echo \"broke Y's md superblock at sector \$off\" >>/tmp/break-y.log
SH" || fail "installing the hook on beta"
vm_wait_state beta EXPORTING 30
vm_spool_served_by alpha beta

sums=$(vm_write_files alpha before 8 256) || fail "writing on alpha: $sums"
vm_run alpha "haspool debug md-wait --md $MD --until clean --timeout 60 >/dev/null" || fail "not clean before the crash"

vm_kill alpha
log "alpha crashed (QEMU SIGKILLed)"
vm_wait_state beta ACTIVE 90
vm_run beta "cat /tmp/break-y.log" | grep -q "broke Y's md superblock" || fail "the hook did not break Y's superblock"
out=$(vm_run beta "mdadm --examine /dev/vda 2>&1; true")
grep -q "No md superblock detected" <<<"$out" || fail "Y still has an md superblock: $out"
trail=$(vm_run beta "grep -E 'RAW TAKEOVER|took over RAW|raw-writes|mapped /dev/vda raw|step (AssembleDegraded|MarkRawWrites|MapRaw|Mount)' $VM_DAEMON_LOG")
log "beta's takeover: $(cut -c1-200 <<<"$trail")"
grep -q "warning: .*RAW TAKEOVER (spool.raw_mount_fallback)" <<<"$trail" || fail "no loud raw-takeover decision: $(vm_daemon_log beta 40)"
grep -q "step AssembleDegraded .*FAILED" <<<"$trail" || fail "AssembleDegraded did not fail first"
# The mark was persisted before the mount.
mark_line=$(grep -n "step MarkRawWrites .*: ok" <<<"$trail" | head -1 | cut -d: -f1)
mount_line=$(grep -n "step Mount .*: ok" <<<"$trail" | head -1 | cut -d: -f1)
[ -n "$mark_line" ] && [ -n "$mount_line" ] && [ "$mark_line" -lt "$mount_line" ] || fail "MarkRawWrites did not run before Mount: $trail"
vm_run beta "test -s $VM_STATE_DIR/raw-writes" || fail "no raw-writes mark on beta"
out=$(vm_run beta "grep ' $SPOOL ' /proc/mounts; readlink /run/haspool/haspool-raw; ip -4 addr show dev eth0")
# (busybox mount records the link as the source; util-linux's would record /dev/loopN)
grep -qE "^(/dev/loop[0-9]+|/run/haspool/haspool-raw) $SPOOL ext4 " <<<"$out" && grep -qx "/dev/loop[0-9]*" <<<"$out" ||
    fail "beta does not serve from a loop device: $out"
grep -q "inet $VIP/24" <<<"$out" || fail "$VIP is not on beta: $out"
vm_check_files beta "$sums"
tenure=$(vm_write_files beta tenure 6 512) || fail "writing on beta during its tenure: $tenure"
log "beta ACTIVE from the raw mapping; the files of before the crash are intact; wrote $(wc -l <<<"$tenure") more"

# alpha comes back: same disks, state disk included, no --init
vm_start alpha 192.0.2.1/24 "$T_DIR/x.img" connect "$VM_LAN_PORT"
vm_wait alpha
vm_setup_node alpha
vm_daemon_start alpha
vm_wait_state alpha STANDING_BY 60
w0=$(vm_run alpha "awk '{ print \$7 }' /sys/block/vda/stat")

out=$(vm_run alpha "haspool failback --config $VM_CFG 2>&1") || fail "haspool failback on alpha: $out"
vm_wait_state beta EXPORTING 120
out=$(vm_run beta "grep ' $SPOOL ' /proc/mounts; ls /run/haspool/haspool-raw 2>&1; losetup -a")
grep -q "/dev/vda" <<<"$out" && fail "beta still maps Y after the handback: $out"
vm_wait_state alpha MIRRORED 300
log "alpha MIRRORED ${VM_WAITED}s after beta re-exported"
vm_run alpha "haspool debug md-wait --md $MD --until clean --timeout 300 >/dev/null" || fail "not clean after the failback"
w1=$(vm_run alpha "awk '{ print \$7 }' /sys/block/vda/stat")
copied=$(( (w1 - w0) * 512 ))
sectors=$(vm_run alpha "cat /sys/block/\$(basename \$(readlink -f $MD))/size")
log "failback copied $((copied / 1048576)) MiB to X; the array is $((sectors / 2048)) MiB"
[ "$copied" -ge $(( sectors * 512 * 9 / 10 )) ] || fail "the failback copied $copied bytes: not a full copy"
trail=$(vm_run alpha "grep -E ' -> (STANDING_BY|FAILBACK|RESYNC|MIRRORED)|step (AssembleFromRaw|AddMemberFull|ReAddMember|MergeBitmap)|re-creating' $VM_DAEMON_LOG")
log "alpha's failback: $(cut -c1-200 <<<"$trail")"
grep -q "step AssembleFromRaw .*: ok" <<<"$trail" || fail "no AssembleFromRaw on alpha"
grep -q "step AddMemberFull .*dev=/dev/vda: ok" <<<"$trail" || fail "X was not added in full"
grep -qE "step (ReAddMember|MergeBitmap)" <<<"$trail" && fail "alpha re-added X: $trail"
vm_spool_served_by alpha beta
vm_check_files alpha "$sums"
vm_check_files alpha "$tenure"
log "the files of beta's raw tenure are on alpha; 192.0.2.10 is back on alpha"
# beta clears its mark once alpha reports MIRRORED and in sync at its generation
out=$(vm_run beta -t 60 "for i in \$(seq 1 30); do [ -e $VM_STATE_DIR/raw-writes ] || exit 0; sleep 1; done; exit 1") ||
    fail "beta kept its raw-writes mark after X was rebuilt: $(vm_daemon_log beta 30)"

vm_daemon_stop alpha
vm_compare_legs
log "ok"
