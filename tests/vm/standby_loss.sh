#!/usr/bin/env bash
# Issue 6, test 3: the standby is killed (its QEMU SIGKILLed). With a short kernel I/O timeout
# the NBD leg fails in bounded time, md goes degraded and alpha keeps serving writes. The
# standby comes back: the leg is re-attached and re-added; the bitmap resync copies only the
# chunks written meanwhile (measured on the NBD device), write-mostly is restored, the mirror is
# clean and X and Y are identical.
source "$(dirname "$0")/lib_vm.sh"

vm_build_image
vm_mirror_up 4 4   # I/O timeout 4 s, dead-connection timeout 4 s
t_full=$VM_T_SYNC

vm_run alpha "dd if=/dev/urandom of=/mnt/spool/before bs=1M count=4 conv=fsync 2>/dev/null" || fail "write before"
vm_run alpha "haspool debug md-wait --md $MD --until clean --timeout 60 >/dev/null" || fail "not clean before the crash"
vm_run alpha "sleep 6" # let md clear the bitmap bits of the writes above (lazily, ~5 s)

vm_kill beta
log "beta crashed (QEMU SIGKILLed)"
vm_time_run alpha t_blocked "dd if=/dev/urandom of=/mnt/spool/while-degraded bs=1M count=8 conv=fsync 2>&1" ||
    fail "a write on alpha failed after the standby died"
log "first write after the crash completed in ${t_blocked}s (NBD I/O timeout + dead-connection timeout)"
st=$(vm_run alpha "haspool debug md-wait --md $MD --until degraded --timeout 120") || fail "md did not go degraded: $st"
grep -qx "member.${NBD#/dev/}=faulty,write_mostly slot=none" <<<"$st" || fail "the NBD leg is not faulty: $st"
rc=0; vm_run alpha "haspool debug md-status --md $MD --test" >/dev/null || rc=$?
[ "$rc" = 1 ] || fail "mdadm --detail --test exit $rc while degraded, expected 1"
vm_run alpha "set -e; for i in 1 2 3 4 5 6; do dd if=/dev/urandom of=/mnt/spool/deg.\$i bs=256k count=4 conv=fsync 2>/dev/null; done; sync" ||
    fail "writes while degraded"
log "alpha kept serving writes while degraded"

# the standby returns and exports Y again
vm_start beta 192.0.2.2/24 "$T_DIR/y.img" connect "$VM_LAN_PORT"
vm_wait beta
vm_start_export
vm_run alpha "haspool debug md-remove --md $MD --member failed && haspool debug nbd-detach --index ${NBD#/dev/nbd}" ||
    fail "removing the failed leg and detaching it"
vm_attach_nbd 4 4
vm_x_bitmap
w0=$(nbd_written_sectors "$NBD")
vm_time_run alpha t_resync "haspool debug md-re-add --md $MD --member $NBD && haspool debug md-wait --md $MD --until clean --timeout 300 >/dev/null" ||
    fail "re-add/resync: $(vm_run alpha "haspool debug md-status --md $MD")"
w1=$(nbd_written_sectors "$NBD")
# md copies dirty chunks plus its own superblock/bitmap updates: allow one chunk of slack
vm_check_bitmap_resync "$w0" "$w1" 1
log "bitmap resync copied $((VM_COPIED / 1024)) KiB in ${t_resync}s; a full copy is $((VM_FULL / 1048576)) MiB (initial sync ${t_full}s)"
st=$(vm_run alpha "haspool debug md-status --md $MD")
grep -qx "member.${NBD#/dev/}=in_sync,write_mostly slot=1" <<<"$st" || fail "write-mostly not restored / leg not in sync: $st"
grep -qx "health=ok" <<<"$st" || fail "not clean after the resync: $st"
vm_run alpha "haspool debug md-status --md $MD --test" >/dev/null || fail "mdadm --detail --test not ok after the resync"
vm_compare_legs
log "ok"
