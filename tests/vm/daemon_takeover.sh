#!/usr/bin/env bash
# Issue 7, test 1: the primary crashes under load and the standby's daemon takes over.
# The mirror comes up through the daemons (vm_daemons_up); a writer on alpha creates numbered
# fsync'd files and, after each fsync returns, prints the file's name and checksum on the serial
# console (the host reads the console file: those are the acknowledged writes). alpha's QEMU is
# SIGKILLed mid-stream: beta must go TAKEOVER -> ACTIVE within dead_after plus a few seconds,
# with Y (through a degraded md) mounted on its spool and 192.0.2.10 on its eth0. Every file
# acknowledged before the kill is present and intact on beta, and the filesystem is consistent
# (e2fsck -fn after unmounting: the daemon's e2fsck -p could only have replayed the journal).
# Before that, md's initial copy is held to 4 MiB/s until alpha's status has shown it in figures
# (issue 15 item 2: bytes done of the total, md's speed, the time left; vm_check_sync_progress).
source "$(dirname "$0")/lib_vm.sh"

vm_build_image
VM_SYNC_PROGRESS_KIB=4096
vm_daemons_up
vm_wait_state beta EXPORTING 30
[ "$(json_get "$VM_STATUS" peer.state)" = MIRRORED ] || fail "beta does not see alpha MIRRORED: $VM_STATUS"
vm_spool_served_by alpha beta

# the writer: runs in alpha's background until alpha dies
vm_run alpha "mkdir -p $SPOOL/mail
    (i=0; while :; do
        i=\$((i + 1)); f=$SPOOL/mail/m.\$i
        dd if=/dev/urandom of=\$f bs=4k count=\$((1 + i % 16)) conv=fsync 2>/dev/null || exit 1
        s=\$(sha256sum \$f)
        echo \"HASPOOL-ACK \${s%% *} m.\$i\" >/dev/console
    done) </dev/null >/dev/null 2>&1 &" || fail "starting the writer on alpha"
acked() { grep -aoE 'HASPOOL-ACK [0-9a-f]{64} m\.[0-9]+' "$T_DIR/alpha.console" | cut -d' ' -f2-; }
n=0
for ((i = 0; i < 600 && n < 30; i++)); do n=$(acked | wc -l); sleep 0.1; done
[ "$n" -ge 30 ] || fail "the writer on alpha acknowledged only $n files in 60s"

vm_kill alpha
t_kill=$(date +%s.%N)
sums=$(acked)
log "alpha crashed (QEMU SIGKILLed) after $(wc -l <<<"$sums") acknowledged fsync'd files"

vm_wait_state beta ACTIVE 60
t_active=$(awk -v a="$t_kill" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
log "beta ACTIVE ${t_active}s after the crash (dead_after ${VM_DEAD_AFTER_MS} ms)"
trail=$(vm_run beta "grep -E ' -> (SUSPECT|TAKEOVER|ACTIVE)' $VM_DAEMON_LOG")
for t in "EXPORTING -> SUSPECT" "SUSPECT -> TAKEOVER" "TAKEOVER -> ACTIVE"; do
    grep -qF "$t" <<<"$trail" || fail "beta's log has no '$t' transition: $(vm_daemon_log beta 60)"
done
# seconds of the day of the last log line holding $1 (the daemon stamps lines with ms)
at() { grep -F -- "$1" <<<"$trail" | tail -1 | awk '{ split(substr($1, 12, 12), t, ":"); printf "%.3f\n", t[1] * 3600 + t[2] * 60 + t[3] }'; }
log "beta: $(grep -c -- '-> SUSPECT' <<<"$trail") SUSPECT episode(s) in all; the last: SUSPECT->TAKEOVER $(awk -v a="$(at '-> SUSPECT')" -v b="$(at '-> TAKEOVER')" 'BEGIN { printf "%.2f", b - a }')s, takeover plan $(awk -v a="$(at '-> TAKEOVER')" -v b="$(at '-> ACTIVE')" 'BEGIN { printf "%.2f", b - a }')s (stop export, bump generation, assemble Y degraded, e2fsck, mount, address, GARP)"
vm_spool_served_by beta
st=$(vm_run beta "haspool debug md-status --md $MD")
grep -q "^member.vda=in_sync" <<<"$st" && grep -qx "degraded=1" <<<"$st" ||
    fail "beta does not serve Y through a degraded md: $st"

# every acknowledged file, byte for byte
list=$(awk '{ printf "%s  %s/mail/%s\n", $1, "'"$SPOOL"'", $2 }' <<<"$sums")
out=$(vm_run beta "sha256sum -c <<'SUMS' 2>&1
$list
SUMS") || fail "acknowledged files missing or damaged on beta: $(grep -v ': OK$' <<<"$out" | head -20)"
log "all $(wc -l <<<"$sums") acknowledged files intact on beta"
out=$(vm_run beta "echo after-takeover >$SPOOL/after && sync && cat $SPOOL/after") || fail "writing on beta after the takeover: $out"

# beta's daemon restarted while it serves (an upgrade, a crash of the daemon): Y is in use here
# (md holds it), so it is never exported; the new daemon resumes the service it finds.
vm_daemon_stop beta
from=$(vm_run beta "wc -l <$VM_DAEMON_LOG")
vm_daemon_start beta
vm_wait_state beta ACTIVE 60
said=$(vm_run beta "tail -n +$((from + 1)) $VM_DAEMON_LOG")
grep -q "started while Y is in use on this node (.* is held by md" <<<"$said" ||
    fail "the restarted standby did not see Y in use: $(tail -20 <<<"$said")"
grep -q "resumed serving $VIP/24 after a restart while this node served" <<<"$said" ||
    fail "the restarted standby did not resume: $(tail -20 <<<"$said")"
grep -q "StartExport" <<<"$said" && fail "the restarted standby exported Y: $(grep StartExport <<<"$said")"
vm_run beta "ss -ltn | grep -q ':10809 '" && fail "something listens on the NBD port of beta after the restart"
vm_spool_served_by beta
log "beta's daemon restarted while serving: resumed ACTIVE, Y not exported ($(grep -c 'step ' <<<"$said") steps, all idempotent)"

# the filesystem as taken over: consistent (no errors left for e2fsck -fn to find)
gen=$(json_get "$(vm_status_json beta)" generation)
vm_daemon_stop beta
out=$(vm_run beta "umount $SPOOL && e2fsck -fn $MD 2>&1") || fail "e2fsck -fn on beta's spool after the takeover: $out"
log "e2fsck -fn after the takeover: clean; beta's generation is now $gen"
log "ok"
