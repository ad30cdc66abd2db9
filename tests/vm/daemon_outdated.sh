#!/usr/bin/env bash
# Issue 7, test 4: the primary dies while DEGRADED -> the standby does NOT take over
# (docs/design.md §7: B must not take over from an outdated Y) and its status says why.
# The mirror comes up through the daemons; beta's daemon is stopped, so alpha goes DEGRADED and
# writes on without Y. beta's daemon starts again and hears alpha say DEGRADED (a long
# stable_after keeps alpha from re-adding the leg for 30 s: the window in which alpha dies).
# alpha's QEMU is SIGKILLed: beta, silent on every path for well past dead_after, must stay out
# of TAKEOVER/ACTIVE, hold neither the spool nor 192.0.2.10, and report the refusal's reason.
VM_STABLE_AFTER_MS=30000
source "$(dirname "$0")/lib_vm.sh"

vm_build_image
vm_daemons_up

vm_daemon_stop beta
log "beta's daemon stopped (SIGTERM)"
vm_wait_state alpha DEGRADED 30
log "alpha DEGRADED: $(json_get "$VM_STATUS" last_decision)"
out=$(vm_run alpha "dd if=/dev/urandom of=$SPOOL/without-y bs=1M count=2 conv=fsync 2>&1") || fail "writing on alpha while degraded: $out"

vm_daemon_start beta
vm_wait_peer_state beta DEGRADED 60
st=$(json_get "$(vm_status_json alpha)" state)
[ "$st" = DEGRADED ] || fail "alpha left DEGRADED ($st) before the crash; the test's window is gone"

vm_kill alpha
log "alpha crashed (QEMU SIGKILLed) while DEGRADED"
# watch beta for dead_after + 10 s (its log is checked too: polling may miss a short state): every state it passes through
wait_s=$((VM_DEAD_AFTER_MS / 1000 + 10))
seen=$(vm_run beta -t $((wait_s + 60)) "t0=\$(cut -d' ' -f1 /proc/uptime)
    while awk -v a=\$t0 -v b=\$(cut -d' ' -f1 /proc/uptime) 'BEGIN { exit !(b - a < $wait_s) }'; do
        haspool status --json --config $VM_CFG 2>&1 | sed -n 's/.*\"node\":\"beta\",\"role\":\"standby\",\"state\":\"\\([A-Z_]*\\)\".*/\\1/p'
        sleep 0.5
    done | uniq")
log "beta's states after the crash: $(tr '\n' ' ' <<<"$seen")"
grep -qE 'TAKEOVER|ACTIVE' <<<"$seen$(vm_run beta "grep -E ' -> (TAKEOVER|ACTIVE)' $VM_DAEMON_LOG")" && fail "beta took over from an outdated Y: $(vm_daemon_log beta 40)"
grep -q SUSPECT <<<"$seen" || fail "beta never noticed alpha was gone (states: $seen): $(vm_daemon_log beta 40)"
status=$(vm_status_json beta)
why=$(json_get "$status" last_decision)
grep -q "outdated" <<<"$why" || fail "beta's status does not say why it does not take over: $status
$(vm_daemon_log beta 40)"
log "beta's status: $(json_get "$status" state): $why"
out=$(vm_run beta "grep ' $SPOOL ' /proc/mounts; ip -4 addr show dev eth0; ls /dev/md 2>/dev/null")
grep -q "inet $VIP/\| $SPOOL \|haspool" <<<"$out" && fail "beta holds the address, the spool or the array: $out"
grep -q "no takeover: Y is outdated" <<<"$(vm_run beta "cat $VM_DAEMON_LOG")" ||
    fail "beta's log does not record the refusal: $(vm_daemon_log beta 40)"
log "ok"
