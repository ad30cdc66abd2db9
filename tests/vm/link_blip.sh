#!/usr/bin/env bash
# Issue 6, test 2: a link blip shorter than the dead-connection timeout. The standby's export
# dies and comes back; the kernel marks the NBD socket dead (NBD_CMD_LINK_DEAD on the multicast
# group), writes wait; alpha reconnects and hands the fresh socket over with NBD_CMD_RECONFIGURE.
# md never sees an error: degraded stays 0, no resync, and X and Y end identical.
source "$(dirname "$0")/lib_vm.sh"

vm_build_image
vm_mirror_up 20 60   # dead-connection timeout 60 s: the blip below must stay well under it
IDX=${NBD#/dev/nbd}

vm_run alpha "dd if=/dev/urandom of=/mnt/spool/before bs=1M count=4 conv=fsync 2>/dev/null" || fail "write before"
vm_run alpha "haspool debug md-wait --md $MD --until clean --timeout 60 >/dev/null" || fail "not clean before the blip"
recoveries0=$(vm_run alpha "dmesg | grep -c 'md: recovery of RAID array\|md: resync of RAID array'")
vm_run alpha "haspool debug nbd-watch --timeout 600 --count 1 >/tmp/watch.log 2>&1 & echo \$! >/tmp/watch.pid
for i in \$(seq 100); do grep -q listening /tmp/watch.log && exit 0; sleep 0.1; done; cat /tmp/watch.log; exit 1" ||
    fail "nbd-watch did not subscribe"

# the blip: the export process dies (its TCP connection closes), then comes back
t0=$(date +%s.%N)
vm_run beta 'kill -KILL $(cat /tmp/export.pid)' || fail "killing the export"
vm_run alpha "for i in \$(seq 300); do grep -q 'link-dead /dev/nbd$IDX' /tmp/watch.log && exit 0; sleep 0.1; done
cat /tmp/watch.log; exit 1" || fail "no NBD_CMD_LINK_DEAD for /dev/nbd$IDX"
log "NBD_CMD_LINK_DEAD for /dev/nbd$IDX received"
# a write issued while the link is down waits for the reconnect instead of failing
vm_run alpha "(dd if=/dev/urandom of=/mnt/spool/during bs=1M count=4 conv=fsync 2>/tmp/dd.err; echo \$? >/tmp/dd.rc) >/dev/null 2>&1 &"
vm_start_export
vm_time_run alpha t_re "haspool debug nbd-reconnect --index $IDX --connect $EXPORT_ADDR --name haspool" ||
    fail "nbd-reconnect (NBD_CMD_RECONFIGURE) failed"
blip=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
log "link down for ${blip}s; reconnect + NBD_CMD_RECONFIGURE took ${t_re}s"
vm_run alpha "for i in \$(seq 600); do [ -f /tmp/dd.rc ] && exit \$(cat /tmp/dd.rc); sleep 0.1; done; exit 99" ||
    fail "the write during the blip failed or hung: $(vm_run alpha 'cat /tmp/dd.err')"

st=$(vm_run alpha "haspool debug md-status --md $MD")
grep -qx "degraded=0" <<<"$st" || fail "md went degraded during the blip: $st"
grep -qx "sync_action=idle" <<<"$st" || fail "md is syncing after the blip: $st"
grep -qx "member.nbd$IDX=in_sync,write_mostly slot=1" <<<"$st" || fail "the NBD leg is not in sync: $st"
vm_run alpha "haspool debug md-status --md $MD --test" >/dev/null || fail "mdadm --detail --test not ok after the blip"
out=$(vm_run alpha "haspool debug nbd-status --index $IDX")
[ "$out" = "nbd$IDX connected" ] || fail "nbd-status after reconnect: $out"
recoveries1=$(vm_run alpha "dmesg | grep -c 'md: recovery of RAID array\|md: resync of RAID array'")
[ "$recoveries1" = "$recoveries0" ] || fail "md started a resync/recovery during the blip"
out=$(vm_run alpha "cat /sys/block/nbd$IDX/backend")
[ "$out" = "$EXPORT_ADDR/haspool" ] || fail "/sys/block/nbd$IDX/backend is '$out'"
out=$(vm_run alpha "dmesg | grep -c 'nbd$IDX: reconnected socket'")
[ "$out" = 1 ] || fail "the kernel did not log exactly one 'reconnected socket' (got $out)"
vm_run alpha "sync" || true
vm_compare_legs
log "ok"
