#!/usr/bin/env bash
# Issue 14 item 2, loss of Y (docs/faults.md): the disk under the standby's export starts
# answering I/O errors while fsync'd writes flow on the primary. Y is a device-mapper device on
# beta (a linear map of /dev/vda), switched to dm's error target mid-stream. alpha's md fails the
# NBD leg and alpha degrades, serving on from X (writes continue); beta says y-failed in its
# status and heartbeats, and alpha does not re-add the leg. Then alpha's power is cut: beta must
# not take over from the failed Y (it stays out of the service and says why).
export VM_Y_DEVICE=/dev/mapper/yspool
# dm without udev: libdevmapper makes the nodes itself
export VM_PREPARE_BETA="export DM_DISABLE_UDEV=1; s=\$(blockdev --getsz /dev/vda) &&
    dmsetup create --noudevsync yspool --table \"0 \$s linear /dev/vda 0\" && test -b $VM_Y_DEVICE"
source "$(dirname "$0")/lib_vm.sh"

vm_build_image
vm_daemons_up
vm_wait_state beta EXPORTING 30
vm_install_writer alpha
vm_writer_start alpha w 0.05
n_acked() { vm_acked alpha w | wc -l; }
wait_acked() { vm_wait_acked alpha w "$@"; }  # wait_acked N SECONDS
wait_acked 10 60

# ---- Y fails under the export --------------------------------------------------------------------
from=$(vm_run alpha "wc -l <$VM_DAEMON_LOG")
n0=$(n_acked)
t0=$(date +%s.%N)
vm_run beta "export DM_DISABLE_UDEV=1; s=\$(blockdev --getsz /dev/vda) &&
    dmsetup load --noudevsync yspool --table \"0 \$s error\" && dmsetup resume --noudevsync yspool" >/dev/null ||
    fail "switching beta's Y to the error target"
vm_wait_state alpha DEGRADED 60
t_deg=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
wait_acked $((n0 + 10)) 60
log "Y failed: alpha DEGRADED ${t_deg}s later, serving on from X ($(($(n_acked) - n0)) writes acknowledged since)"
grep -q "md failed /dev/nbd0" <<<"$(vm_daemon_log alpha 60)" || fail "alpha did not degrade on md failing Y's leg: $(vm_daemon_log alpha 30)"
vm_spool_served_by alpha beta

vm_wait_peer_state alpha EXPORTING 30
_vm_wait_status alpha '"md":"y-failed"' 30 "alpha did not hear beta say y-failed"
st=$(vm_status_json beta)
grep -q '"disk_problem":"Y failed: [0-9]* request(s) on /dev/mapper/yspool answered with an I/O error' <<<"$st" ||
    fail "beta's status does not say Y failed: $st"
log "beta's status: $(grep -o '"disk_problem":"[^"]*"' <<<"$st")"
out=$(vm_run beta "haspool status --check --config $VM_CFG; echo rc=\$?")
grep -q "^critical: beta EXPORTING, Y failed: " <<<"$out" && grep -q "^rc=2" <<<"$out" || fail "status --check on beta: $out"
# stable_after passes: alpha still does not re-add the leg
sleep $(((VM_STABLE_AFTER_MS + 999) / 1000 + 2))
said=$(vm_run alpha "tail -n +$((from + 1)) $VM_DAEMON_LOG")
grep -q "reports its disk Y failed: not re-adding its leg" <<<"$said" || fail "alpha did not say why it keeps Y out: $said"
grep -q -- "-> RESYNC" <<<"$said" && fail "alpha re-added the failed Y: $said"

# ---- alpha's power cut: beta must not take over from Y -------------------------------------------
vm_kill alpha
sleep $(((VM_DEAD_AFTER_MS + 999) / 1000 + 4))
said=$(vm_daemon_log beta 60)
grep -q "no takeover: Y failed" <<<"$said" || fail "beta did not refuse the takeover with the reason: $said"
grep -q -- "-> TAKEOVER" <<<"$said" && fail "beta took over from the failed Y: $said"
out=$(vm_run beta "grep ' $SPOOL ' /proc/mounts; ip -4 addr show dev eth0")
grep -q "inet $VIP/\| $SPOOL " <<<"$out" && fail "beta serves from the failed Y: $out"
log "alpha's power cut: beta refused the takeover ($(grep -o 'no takeover: Y failed[^;]*' <<<"$said" | tail -1))"
log "ok"
