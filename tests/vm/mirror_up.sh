#!/usr/bin/env bash
# Issue 6, test 1: the mirror comes up for real. alpha attaches beta's `haspool export` of Y
# over kernel NBD (netlink), creates md RAID-1 (X + nbd write-mostly, internal bitmap), makes
# ext4 and writes files; beta then assembles Y alone, read-only, and the files on it are
# byte-identical.
source "$(dirname "$0")/lib_vm.sh"

vm_build_image
vm_mirror_up 20 10

# the kernel's view of the leg, and md's of the mirror
# (never pipe vm_run into a reader that may stop early: capture, then look)
out=$(vm_run alpha "haspool debug nbd-status --index ${NBD#/dev/nbd}")
grep -qx "${NBD#/dev/} connected" <<<"$out" || fail "NBD_CMD_STATUS does not show ${NBD#/dev/} connected: $out"
[ "$(vm_run alpha "cat /sys/block/${NBD#/dev/}/queue/logical_block_size")" -ge 512 ] || fail "no block size on $NBD"
st=$(vm_run alpha "haspool debug md-status --md $MD")
expect_line() { grep -qx -- "$1" <<<"$st" || fail "md-status lacks '$1': $st"; }
expect_line "degraded=0"
expect_line "health=ok"
expect_line "member.${NBD#/dev/}=in_sync,write_mostly slot=1"
expect_line "member.vda=in_sync slot=0"
vm_run alpha "haspool debug md-status --md $MD --test" >/dev/null || fail "mdadm --detail --test says not ok"
out=$(vm_run alpha "mdadm --examine /dev/vda")
grep -q "Version : 1.0" <<<"$out" || fail "X is not metadata 1.0: $out"
grep -q "Internal Bitmap" <<<"$out" || fail "no internal bitmap: $out"

# --init safety: creating again over the members is refused without --force
vm_run alpha "umount /mnt/spool && haspool debug md-stop --md $MD" || fail "stop for the re-create check"
if out=$(vm_run alpha "haspool debug md-create --md $MD --local /dev/vda --remote $NBD 2>&1"); then
    fail "md-create over an existing array succeeded: $out"
fi
grep -q "refusing: /dev/vda holds" <<<"$out" || fail "md-create refusal unclear: $out"
vm_run alpha "haspool debug md-assemble --md $MD --member /dev/vda $NBD && mount -t ext4 $MD /mnt/spool" ||
    fail "re-assembling both legs"

# files, fsync'd
t_write=0
vm_time_run alpha t_write "set -e
mkdir -p /mnt/spool/new
for i in 1 2 3 4 5 6 7 8; do dd if=/dev/urandom of=/mnt/spool/new/msg.\$i bs=64k count=\$((i * 8)) conv=fsync 2>/dev/null; done
dd if=/dev/urandom of=/mnt/spool/big bs=1M count=32 conv=fsync 2>/dev/null
sync" || fail "writing files on alpha"
log "wrote 34.25 MiB of files (fsync'd) on the mirror in ${t_write}s"
sums_a=$(vm_run alpha "cd /mnt/spool && sha256sum big new/*") || fail "checksums on alpha"

# hand over: alpha stops using Y; beta stops exporting and assembles Y alone, read-only
vm_run alpha "umount /mnt/spool && haspool debug md-stop --md $MD && haspool debug nbd-detach --index ${NBD#/dev/nbd}" ||
    fail "stopping the mirror on alpha"
vm_run beta 'kill $(cat /tmp/export.pid)' || fail "stopping the export on beta"
vm_run beta "for i in \$(seq 50); do [ -e /proc/\$(cat /tmp/export.pid) ] || break; sleep 0.1; done
mdadm --assemble --readonly --run $MD /dev/vda && mount -t ext4 -o ro $MD /mnt/spool" ||
    fail "assembling Y read-only on beta"
sums_b=$(vm_run beta "cd /mnt/spool && sha256sum big new/*") || fail "checksums on beta"
[ "$sums_a" = "$sums_b" ] || fail "files differ between X and Y:
alpha: $sums_a
beta:  $sums_b"
log "ok: $(wc -l <<<"$sums_b") files byte-identical on Y"
