#!/usr/bin/env bash
# Issue 6, test 2, through the daemons: a link blip repaired by the primary's daemon by itself.
# The mirror comes up through the daemons (vm_daemons_up); a writer on alpha fsyncs files. Then
# the NBD connection (and only it: the heartbeats go on) is cut on beta with `ss -K`, which
# destroys the export's TCP socket. alpha's kernel marks the NBD socket dead and multicasts
# NBD_CMD_LINK_DEAD; the daemon's MirrorWatch turns it into NbdLinkLost, the machine answers with
# a ReconnectNbd step (a fresh socket to beta's export, handed over with NBD_CMD_RECONFIGURE)
# within the dead-connection timeout, so md never sees an error: no degrade, no resync, alpha
# stays MIRRORED, the writer never fails, and X and Y end identical.
source "$(dirname "$0")/lib_vm.sh"

vm_build_image
vm_daemons_up
vm_wait_state beta EXPORTING 30
vm_run alpha "haspool debug md-wait --md $MD --until clean --timeout 60 >/dev/null" || fail "not clean before the blip"

# the writer: fsync'd files, one after another, until told to stop; any failed write is recorded
vm_run alpha "mkdir -p $SPOOL/mail; rm -f /tmp/writer.stop /tmp/writer.failed
    (i=0; while [ ! -f /tmp/writer.stop ]; do
        i=\$((i + 1))
        dd if=/dev/urandom of=$SPOOL/mail/m.\$i bs=4k count=\$((1 + i % 16)) conv=fsync 2>/tmp/writer.err ||
            { echo \"m.\$i: \$(tail -1 /tmp/writer.err)\" >>/tmp/writer.failed; }
        echo \$i >/tmp/writer.count; cut -d' ' -f1 /proc/uptime >>/tmp/writer.times
    done) </dev/null >/dev/null 2>&1 &" || fail "starting the writer on alpha"
vm_run alpha "for i in \$(seq 300); do [ \"\$(cat /tmp/writer.count 2>/dev/null)\" -ge 10 ] 2>/dev/null && exit 0; sleep 0.1; done; exit 1" ||
    fail "the writer on alpha did not get going"
recoveries0=$(vm_run alpha "dmesg | grep -c 'md: recovery of RAID array\|md: resync of RAID array'")

# the blip: the export's end of the NBD connection is destroyed on beta (the listener stays)
out=$(vm_run beta "modprobe tcp_diag 2>/dev/null; ss -K -tn state established '( sport = :10809 )' 2>&1") ||
    fail "ss -K on beta failed: $out"
grep -q 10809 <<<"$out" || fail "ss -K on beta destroyed no NBD connection: $out"
log "beta: the export's NBD connection destroyed (ss -K)"

# alpha's daemon reconnects by itself: its log shows the decision and the step
vm_run alpha -t 120 "for i in \$(seq 600); do grep -q 'step ReconnectNbd.*ok' $VM_DAEMON_LOG && exit 0; sleep 0.1; done; exit 1" ||
    fail "alpha's daemon did not reconnect the NBD link: $(vm_daemon_log alpha 40)"
trail=$(vm_run alpha "grep -E 'NBD link lost|step ReconnectNbd' $VM_DAEMON_LOG")
grep -q "NBD link lost" <<<"$trail" || fail "alpha's log has no 'NBD link lost' decision: $(vm_daemon_log alpha 40)"
at() { grep -F -- "$1" <<<"$trail" | tail -1 | awk '{ split(substr($1, 12, 12), t, ":"); printf "%.3f\n", t[1] * 3600 + t[2] * 60 + t[3] }'; }
log "alpha: $(cut -c12- <<<"$trail" | cut -c1-200 | tr '\n' ';')"
log "alpha: LINK_DEAD decision to reconnected in $(awk -v a="$(at 'NBD link lost')" -v b="$(at 'ReconnectNbd')" 'BEGIN { printf "%.2f", b - a }')s (dead-connection timeout 3 s)"

# the writer goes on through the repaired link
c0=$(vm_run alpha "cat /tmp/writer.count")
vm_run alpha "for i in \$(seq 300); do [ \"\$(cat /tmp/writer.count)\" -ge $((c0 + 10)) ] && exit 0; sleep 0.1; done; exit 1" ||
    fail "the writer on alpha stalled after the blip ($c0 files)"
vm_run alpha "touch /tmp/writer.stop; sleep 1; sync"
n=$(vm_run alpha "cat /tmp/writer.count")
failed=$(vm_run alpha "cat /tmp/writer.failed 2>/dev/null")
[ -z "$failed" ] || fail "writes failed on alpha during the blip: $failed"
stall=$(vm_run alpha "awk 'NR > 1 && \$1 - p > m { m = \$1 - p } { p = \$1 } END { printf \"%.1f\", m }' /tmp/writer.times")
log "the writer on alpha fsync'd $n files, none failed; its longest wait for one file: ${stall}s (io_timeout ${VM_IO_TIMEOUT_MS} ms: requests in flight on the dead socket are requeued when they time out)"

st=$(vm_run alpha "haspool debug md-status --md $MD")
grep -qx "degraded=0" <<<"$st" || fail "md went degraded during the blip: $st"
grep -qx "member.nbd0=in_sync,write_mostly slot=1" <<<"$st" || fail "the NBD leg is not in sync + write-mostly: $st"
recoveries1=$(vm_run alpha "dmesg | grep -c 'md: recovery of RAID array\|md: resync of RAID array'")
[ "$recoveries1" = "$recoveries0" ] || fail "md started a resync/recovery during the blip"
out=$(vm_run alpha "dmesg | grep -c 'nbd0: reconnected socket'")
[ "$out" -ge 1 ] || fail "the kernel did not log 'reconnected socket' for nbd0"
js=$(vm_status_json alpha)
[ "$(json_get "$js" state)" = MIRRORED ] || fail "alpha is not MIRRORED after the blip: $js"
# transitions from the blip on (a new array's initial sync is a RESYNC before it)
left=$(vm_run alpha "awk '/NBD link lost/ { on = 1 } on && / -> (DEGRADED|RESYNC|HALTED)/' $VM_DAEMON_LOG")
[ -z "$left" ] || fail "alpha left MIRRORED during the blip: $left"
[ "$(vm_run alpha "grep -c 'NBD link lost' $VM_DAEMON_LOG")" -ge 1 ] || fail "no blip in alpha's log"
if vm_run beta "grep -E ' -> SUSPECT' $VM_DAEMON_LOG" >/dev/null; then fail "beta suspected alpha during the blip (heartbeats must go on)"; fi
[ "$(json_get "$(vm_status_json beta)" state)" = EXPORTING ] || fail "beta is not EXPORTING after the blip"
log "alpha MIRRORED throughout, md never degraded, no resync; beta EXPORTING throughout"

# md's own check with both daemons running: stopping alpha's daemon to compare the disks would
# let beta suspect it and stop the export mid-comparison
vm_check_legs
log "ok"
