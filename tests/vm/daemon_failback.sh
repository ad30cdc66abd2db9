#!/usr/bin/env bash
# Issue 7, test 2: failback after a crash takeover, and test 5: switchover there and back.
# The mirror comes up through the daemons; fsync'd files are written on alpha; alpha's QEMU is
# SIGKILLed; beta takes over (ACTIVE) and writes files of its own during its tenure. alpha's
# guest boots again from the same disks: its daemon (no --init) waits, learns beta's newer
# generation and stands by. `haspool failback` (on alpha) runs the handback: beta stops serving
# and re-exports Y, alpha assembles from Y, merges X's bitmap, re-adds X and serves while md
# copies Y->X. The copy is incremental (far below the device); afterwards X == Y, the files of
# beta's tenure are on alpha's spool and 192.0.2.10 is back on alpha. Then a planned switchover
# there and back with a writer running loses no fsync'd file.
# beta's QEMU listens on the LAN socket here, so alpha's restarted QEMU can connect to it again.
source "$(dirname "$0")/lib_vm.sh"

VM_LISTENER=beta
VM_EXTRA_YAML='hooks:
  before_handback: [/bin/sh, /etc/haspool/stop-writer]'
vm_build_image
vm_daemons_up
vm_install_writer alpha
vm_install_writer beta
vm_wait_state beta EXPORTING 30
vm_spool_served_by alpha beta

sums=$(vm_write_files alpha before 8 256) || fail "writing on alpha: $sums"
vm_run alpha "haspool debug md-wait --md $MD --until clean --timeout 60 >/dev/null" || fail "not clean before the crash"
# md clears bitmap bits lazily (pitfall 7): wait until mkfs's and the files' bits are gone, so
# the failback's copy measures beta's tenure (plus X's in-flight chunks), not the setup
out=$(vm_run alpha -t 90 "for i in \$(seq 1 60); do
        d=\$(haspool debug md-examine-bitmap --member /dev/vda | sed -n 's/^dirty=//p')
        [ \"\$d\" -le 1 ] && { echo dirty=\$d; exit 0; }; sleep 1
    done; echo dirty=\$d; exit 1") || fail "X's bitmap did not settle before the crash: $out"

vm_kill alpha
log "alpha crashed (QEMU SIGKILLed)"
vm_wait_state beta ACTIVE 60
vm_spool_served_by beta
vm_check_files beta "$sums"
tenure=$(vm_write_files beta tenure 6 512) || fail "writing on beta during its tenure: $tenure"
log "beta ACTIVE, serving; wrote $(wc -l <<<"$tenure") files during its tenure"

# alpha comes back: same disks, state disk included, no --init
vm_start alpha 192.0.2.1/24 "$T_DIR/x.img" connect "$VM_LAN_PORT"
vm_wait alpha
vm_setup_node alpha
vm_install_writer alpha
vm_daemon_start alpha
vm_wait_state alpha STANDING_BY 60
log "alpha STANDING_BY: $(json_get "$VM_STATUS" last_decision)"
vm_spool_served_by beta alpha

# held_spool_request NODE COMMAND: a process outside the units and hooks keeps NODE's spool open
# (its pid in HOLDER) while alpha runs `haspool COMMAND`, so NODE's stop plan fails at Unmount.
# Waits until NODE's daemon says it resumed serving; never HALTED. SAID: NODE's decision lines
# since the request; T_REQ: when it was made ($SECONDS).
held_spool_request() {
    local node=$1 cmd=$2 from out
    HOLDER=$(vm_run "$node" "cd $SPOOL && setsid sleep 300 </dev/null >/dev/null 2>&1 & echo \$!") ||
        fail "starting a holder on $node"
    from=$(vm_run "$node" "wc -l <$VM_DAEMON_LOG")
    T_REQ=$SECONDS
    out=$(vm_run alpha "haspool $cmd --config $VM_CFG 2>&1") || fail "haspool $cmd (held spool) on alpha: $out"
    for _ in $(seq 1 60); do
        vm_run "$node" "tail -n +$((from + 1)) $VM_DAEMON_LOG | grep -q 'resumed serving'" && break
        sleep 1
    done
    SAID=$(vm_run "$node" "tail -n +$((from + 1)) $VM_DAEMON_LOG |
        grep -E 'handback failed|switchover failed|resumed serving|HANDOVER|HALTED'")
    grep -q "resumed serving" <<<"$SAID" || fail "$node did not resume after the failed $cmd: $(vm_daemon_log "$node" 40)"
    grep -q "HALTED" <<<"$SAID" && fail "$node halted: $SAID"
}

# A failback whose handback cannot unmount on beta (a process outside the units holds the spool
# past the unmount's 5 s grace): alpha was not told, so beta resumes serving (ACTIVE) instead of
# halting with nobody serving, and alpha stands by. The operator's next failback goes through.
held_spool_request beta failback
said=$SAID holder=$HOLDER t_fb=$T_REQ
grep -q "resumed serving $VIP/24 after the failed handback; automatic failback waits for the operator" <<<"$said" ||
    fail "beta did not resume after the failed handback: $(vm_daemon_log beta 40)"
grep -q "handback failed at Unmount: .*held by pid $holder (sleep: cwd); alpha was not told to fail back; the array is still assembled: resuming the service here" <<<"$said" ||
    fail "beta's decision does not name the holder or say why it resumes: $said"
vm_wait_state beta ACTIVE 30
log "failback with a held spool on beta: beta resumed, ACTIVE again $((SECONDS - t_fb))s after the request"
[ "$(json_get "$(vm_status_json alpha)" state)" = STANDING_BY ] || fail "alpha left STANDING_BY: $(vm_status_json alpha)"
vm_spool_served_by beta alpha
vm_run beta "kill $holder" || fail "stopping the holder on beta"

# The failback preview (issue 15 item 7): alpha's daemon reads X's bitmap and asks beta's for
# Y's; what md then copies must lie in the range it gives (the union of both bitmaps).
preview=$(vm_run alpha "haspool plan failback --config $VM_CFG 2>&1") || fail "haspool plan failback on alpha: $preview"
log "haspool plan failback: $(tr '\n' '|' <<<"$preview")"
grep -q "^failback preview (asked alpha's daemon and beta's):" <<<"$preview" || fail "no live preview: $preview"
range=$(sed -n 's/^  md will copy: between \([0-9.]*\) MiB and \([0-9.]*\) MiB of .*/\1 \2/p' <<<"$preview")
[ -n "$range" ] || fail "the preview gives no copy range: $preview"
read -r low_mib high_mib <<<"$range"
grep -q "^  on alpha (primary), the failback:" <<<"$preview" && grep -q "ReAddMember" <<<"$preview" ||
    fail "the preview does not show alpha's failback steps: $preview"
w0=$(vm_run alpha "awk '{ print \$7 }' /sys/block/vda/stat")

# --wait (issue 15 item 2) follows it to the end: it returns once alpha is MIRRORED with md's
# copy done, printing a line per state change (not a terminal) and "done: ..." last
out=$(vm_run alpha -t 400 "haspool failback --wait --timeout 300 --config $VM_CFG 2>&1") ||
    fail "haspool failback --wait on alpha: $out"
log "haspool failback --wait: $(tr '\n' '|' <<<"$out")"
tail -1 <<<"$out" | grep -qE '^done: alpha MIRRORED serves the spool, both legs in sync; beta EXPORTING \([0-9]+s\)$' ||
    fail "failback --wait did not end with done: $out"
grep -qE "^alpha (FAILBACK|RESYNC), beta " <<<"$out" || fail "failback --wait did not show the failback under way: $out"
[ "$(json_get "$(vm_status_json alpha)" state)" = MIRRORED ] || fail "failback --wait returned before MIRRORED: $(vm_status_json alpha)"
vm_wait_state beta EXPORTING 10
vm_wait_state alpha MIRRORED 10
vm_run alpha "haspool debug md-wait --md $MD --until clean --timeout 120 >/dev/null" || fail "not clean after the failback"
w1=$(vm_run alpha "awk '{ print \$7 }' /sys/block/vda/stat")
copied=$(( (w1 - w0) * 512 ))
full=$(( VM_DISK_MB * 1048576 ))
log "failback copied $((copied / 1024)) KiB to X; a full copy is ${VM_DISK_MB} MiB"
size_line=$(vm_run alpha "grep -F -e 'chunk(s) of' -e 'bitmap union' $VM_DAEMON_LOG | tail -2")
log "alpha said before copying: $(sed 's/^.*notice: //' <<<"$size_line" | tr '\n' ' ')"
[ "$copied" -lt $(( full / 4 )) ] || fail "the failback copied $copied bytes: a full copy, not incremental"
# md rewrites each chunk of the union in full; superblock and bitmap updates add a little
awk -v c="$copied" -v lo="$low_mib" -v hi="$high_mib" 'BEGIN { m = c / 1048576; exit !(m >= lo - 0.5 && m <= hi + 2) }' ||
    fail "the failback copied $((copied / 1024)) KiB, outside the preview's $low_mib-$high_mib MiB"
log "the preview said $low_mib-$high_mib MiB; md copied $((copied / 1024)) KiB"
trail=$(vm_run alpha "grep -E ' -> (STANDING_BY|FAILBACK|RESYNC|MIRRORED)' $VM_DAEMON_LOG")
for t in "-> STANDING_BY" "STANDING_BY -> FAILBACK" "FAILBACK -> RESYNC" "RESYNC -> MIRRORED"; do
    grep -qF -- "$t" <<<"$trail" || fail "alpha's log has no '$t' transition: $(vm_daemon_log alpha 60)"
done
st=$(vm_run alpha "haspool debug md-status --md $MD")
grep -qx "member.nbd0=in_sync,write_mostly slot=1" <<<"$st" || grep -q "^member.nbd0=in_sync,write_mostly" <<<"$st" ||
    fail "after the failback the NBD leg is not in sync + write-mostly: $st"
vm_spool_served_by alpha beta
vm_check_files alpha "$sums"
vm_check_files alpha "$tenure"
log "the files of beta's tenure are on alpha; 192.0.2.10 is back on alpha"

# A switchover that cannot unmount: a process that neither the units nor the hook stop keeps the
# spool open past the unmount's 5 s grace. beta was not told, so alpha resumes the service
# (MIRRORED again, the VIP back on alpha) instead of halting with nobody serving.
held_spool_request alpha switchover
said=$SAID holder=$HOLDER t_so=$T_REQ
grep -q "Unmount failed: .*held by pid $holder (sleep: cwd)" <<<"$said" ||
    fail "the failed switchover does not name the holder: $said"
grep -q "beta was not told to take over; the array is still assembled: resuming the service here" <<<"$said" ||
    fail "alpha's decision does not say why it resumes: $said"
vm_wait_state alpha MIRRORED 30
log "switchover with a held spool: resumed, MIRRORED again $((SECONDS - t_so))s after the request"
[ "$(json_get "$(vm_status_json beta)" state)" = EXPORTING ] || fail "beta left EXPORTING: $(vm_status_json beta)"
vm_spool_served_by alpha beta
vm_run alpha "kill $holder" || fail "stopping the holder on alpha"

# switchover there and back with a writer running on whoever serves. The writer stands in for
# the mail units (no systemd in the guest): the before_handback hook stops it, as StopUnit would.
vm_writer_start alpha so1
sleep 3
out=$(vm_run alpha -t 200 "haspool switchover --wait --timeout 150 --config $VM_CFG 2>&1") ||
    fail "haspool switchover --wait on alpha: $out"
log "haspool switchover --wait: $(tr '\n' '|' <<<"$out")"
tail -1 <<<"$out" | grep -qE '^done: beta ACTIVE serves the spool; alpha STANDING_BY' || fail "switchover --wait did not end with done: $out"
vm_wait_state beta ACTIVE 10
vm_wait_state alpha STANDING_BY 10
a1=$(vm_acked alpha so1)
[ -n "$a1" ] || fail "the writer on alpha acknowledged nothing"
vm_check_files beta "$a1"
log "switchover to beta: $(wc -l <<<"$a1") files acknowledged on alpha, all on beta"
vm_writer_start beta so2
sleep 3
out=$(vm_run alpha "haspool failback --config $VM_CFG 2>&1") || fail "haspool failback (switch back) on alpha: $out"
vm_wait_state alpha MIRRORED 180
a2=$(vm_acked beta so2)
[ -n "$a2" ] || fail "the writer on beta acknowledged nothing"
vm_check_files alpha "$a1"
vm_check_files alpha "$a2"
log "switched back to alpha: $(wc -l <<<"$a2") files acknowledged on beta, all on alpha"

# Both sides' status, each with the other's own answer over the peer channel (issue 15 item 1)
for g in alpha beta; do
    st=$(vm_run "$g" "haspool status --config $VM_CFG 2>&1")
    log "$g's status:"$'\n'"$(sed 's/^/    /' <<<"$st")"
    other=beta role=standby
    [ "$g" = beta ] && other=alpha role=primary
    grep -qE "^$role $other: [A-Z_]+ for .* \(its own answer over the peer channel, in [0-9]+ms\)$" <<<"$st" ||
        fail "$g's status has no answer from $other's daemon: $st"
done
grep -qE '^  NBD leg nbd0: [0-9]+ reads' <<<"$(vm_run alpha "haspool status --config $VM_CFG")" || fail "alpha's status lacks the NBD leg's counters"

vm_daemon_stop alpha
vm_compare_legs
log "ok"
