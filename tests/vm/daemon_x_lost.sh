#!/usr/bin/env bash
# Issue 14 item 1, loss of X (docs/faults.md): md fails the primary's own disk while fsync'd
# writes flow. The primary must serve on from Y through the NBD leg (DISKLESS): no step fails,
# Y's leg is never failed, the service never stops, and writes continue. Its heartbeats say so,
# and beta shows alpha DISKLESS. `haspool replace-disk` then copies Y onto X in full: MIRRORED,
# the x-lost mark gone. X fails a second time, and alpha's power is cut: beta takes over from Y
# (not refused as outdated) with every write alpha acknowledged, intact.
# Before the fix the first failure went MIRRORED -> DEGRADED, FailMember /dev/nbd0 failed
# ("Device or resource busy"), ext4 saw I/O errors and alpha went HALTED: a mail outage.
source "$(dirname "$0")/lib_vm.sh"

vm_build_image
vm_daemons_up
vm_wait_state beta EXPORTING 30
vm_install_writer alpha
vm_writer_start alpha w 0.05
n_acked() { vm_acked alpha w | wc -l; }
wait_acked() { vm_wait_acked alpha w "$@"; }  # wait_acked N SECONDS
wait_acked 10 60
# status --check (issue 15 item 3) on a real mirror: ok on both sides
check() { vm_run "$1" "haspool status --check --config $VM_CFG; echo rc=\$?"; }
out=$(check alpha)
grep -q "^ok: alpha MIRRORED, in sync with beta EXPORTING" <<<"$out" && grep -q "^rc=0" <<<"$out" || fail "status --check on alpha: $out"
out=$(check beta)
grep -q "^ok: beta EXPORTING, Y in sync under alpha MIRRORED" <<<"$out" && grep -q "^rc=0" <<<"$out" || fail "status --check on beta: $out"

# ---- X fails under the writer -----------------------------------------------------------------
fail_x() {  # fail_x: md fails X; prints the seconds until the next acknowledged write
    local n0 t0 i
    n0=$(n_acked)
    t0=$(date +%s.%N)
    vm_run alpha "mdadm $MD --fail /dev/vda" >/dev/null || fail "mdadm --fail /dev/vda on alpha"
    for ((i = 0; i < 600; i++)); do [ "$(n_acked)" -gt "$n0" ] && break; sleep 0.1; done
    [ "$(n_acked)" -gt "$n0" ] || fail "no write was acknowledged in 60 s after X failed: $(vm_daemon_log alpha 40)"
    awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'
}
from=$(vm_run alpha "wc -l <$VM_DAEMON_LOG")
stall=$(fail_x)
vm_wait_state alpha DISKLESS 60
said=$(vm_run alpha "tail -n +$((from + 1)) $VM_DAEMON_LOG")
grep -q "MIRRORED -> DISKLESS (md failed /dev/vda (X)" <<<"$said" || fail "alpha did not go DISKLESS: $(tail -20 <<<"$said")"
grep -q "FAILED\|HALTED\|-> DEGRADED\|nbd0.*faulty" <<<"$said" && fail "alpha failed a step, degraded or halted: $(tail -30 <<<"$said")"
n1=$(n_acked)
wait_acked $((n1 + 10)) 60
log "X failed: the next write was acknowledged ${stall}s later; alpha DISKLESS, 10 more writes since"
st=$(vm_run alpha "haspool debug md-status --md $MD")
grep -q "^member.nbd0=in_sync" <<<"$st" || fail "Y's leg is not in sync in alpha's array: $st"
grep -q "^member.vda=" <<<"$st" && fail "X is still a member of alpha's array: $st"
vm_run alpha "grep -q '^x-lost .*/dev/vda' $VM_STATE_DIR/x-lost" || fail "alpha has no x-lost mark: $(vm_run alpha "ls -l $VM_STATE_DIR")"
vm_spool_served_by alpha beta
out=$(check alpha)
grep -q "^warning: alpha DISKLESS, X is lost" <<<"$out" && grep -q "^rc=1" <<<"$out" || fail "status --check on a DISKLESS alpha: $out"
vm_wait_peer_state beta DISKLESS 30
log "beta hears alpha DISKLESS: $(json_get "$VM_STATUS" peer.md)"

# ---- replace-disk: Y copied onto X in full, back to MIRRORED ----------------------------------
out=$(vm_run alpha "haspool replace-disk --config $VM_CFG 2>&1") || fail "haspool replace-disk: $out"
log "haspool replace-disk: $out"
vm_wait_state alpha MIRRORED 300
t_copy=$VM_WAITED
said=$(vm_run alpha "tail -n +$((from + 1)) $VM_DAEMON_LOG")
grep -q "resync finished (Y->X): mirrored; X is whole again" <<<"$said" || fail "alpha's resync did not say Y->X: $(tail -20 <<<"$said")"
vm_run alpha "test ! -e $VM_STATE_DIR/x-lost" || fail "the x-lost mark is still there after the rebuild"
st=$(vm_run alpha "haspool debug md-status --md $MD")
grep -q "^member.vda=in_sync" <<<"$st" && grep -q "^member.nbd0=in_sync" <<<"$st" || fail "not both legs in sync: $st"
log "replace-disk: MIRRORED ${t_copy}s later, both legs in sync, the x-lost mark cleared"

# ---- X fails again, then alpha's power is cut: beta takes over from Y ------------------------
stall2=$(fail_x)
vm_wait_state alpha DISKLESS 60
vm_wait_peer_state beta DISKLESS 30
n2=$(n_acked)
wait_acked $((n2 + 5)) 60
vm_kill alpha
t_kill=$(date +%s.%N)
sums=$(vm_acked alpha w)
vm_wait_state beta ACTIVE 60
log "alpha's power cut (X lost a second time, stall ${stall2}s): beta ACTIVE $(awk -v a="$t_kill" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s later"
grep -q "outdated" <<<"$(vm_daemon_log beta 40)" && fail "beta counted Y outdated: $(vm_daemon_log beta 40)"
vm_spool_served_by beta
vm_check_files beta "$sums"
log "all $(wc -l <<<"$sums") files alpha acknowledged are intact on beta"
log "ok"
