#!/usr/bin/env bash
# Issue 7, test 6: a split brain provoked with the guards forced off, detected on reconnect,
# nothing overwritten, `haspool resolve` settles it — on the real kernel (md + nbd), through the
# daemons.
# The mirror comes up through the daemons (vm_daemons_up) with the duplicate-address probe off
# (service.probe: false) and no fence: the guards that would stop a takeover while alpha still
# serves are gone. A writer on alpha creates numbered fsync'd files and acknowledges each on the
# console. The LAN is cut (alpha's eth0 down, both guests alive): beta's daemon takes over
# (SUSPECT -> TAKEOVER -> ACTIVE, a new generation, Y assembled degraded, mounted, the VIP) and
# writes files of its own; alpha's NBD leg is failed, alpha goes DEGRADED (a new generation) and
# its writer goes on. Two writers, two lineages.
# The LAN comes back: both daemons must go SPLIT_BRAIN with both generations as evidence, and
# stay so — nothing assembled, re-added, exported, unmounted or copied (the NBD leg's write
# counter does not move, beta's files stay on Y). `haspool resolve --discard beta`, run on beta
# (the loser, so the decision travels to alpha over the authenticated peer channel): beta drops
# the VIP, unmounts, stops md, persists a blank lineage and exports Y again; alpha, serving on all
# along, attaches Y and adds it in FULL (never a re-add: md copies the whole data area, not the
# bitmap's chunks). Afterwards alpha is MIRRORED, both agree on alpha's generation, the VIP is only
# on alpha, every file alpha's writer acknowledged is there, beta's split-brain files are gone,
# and md's own check of the running array finds no sector where X and Y differ.
# SPLIT_LOSER=alpha (daemon_split_brain_discard_alpha.sh) settles it the other way round.
source "$(dirname "$0")/lib_vm.sh"

VM_SERVICE_PROBE=false  # guard 1 off; the lab's config has no fence command (guard 2)
LOSER=${SPLIT_LOSER:-beta}  # whose data `haspool resolve --discard` throws away

# GUEST_CLOCK: a guest command printing the seconds of the UTC day with ms, as the daemons stamp
# their log lines (busybox date has no %N; its adjtimex prints the clock in us)
GUEST_CLOCK="adjtimex | awk '/tv_sec/ { s = \$2 } /tv_usec/ { u = \$2 } END { printf \"%.3f\\n\", s % 86400 + u / 1e6 }'"
# log_clock NAME TEXT: the UTC seconds of the day of the last line of NAME's daemon log holding TEXT
log_clock() {
    vm_run "$1" "grep -F -- '$2' $VM_DAEMON_LOG | tail -1" |
        awk '{ split(substr($1, 12, 12), t, ":"); printf "%.3f\n", t[1] * 3600 + t[2] * 60 + t[3] }'
}
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
status_of() {  # status_of NAME FIELD...: the fields of NAME's status --json, one a line
    local s f
    s=$(vm_status_json "$1") || fail "haspool status on $1: $s"
    shift
    for f in "$@"; do json_get "$s" "$f"; done
}
nbd_w() { nbd_written_sectors /dev/nbd0; }

vm_build_image
vm_daemons_up
vm_wait_state beta EXPORTING 30
# Beta takes over only from a Y it knows to be current: it must have adopted alpha's generation
# (alpha MIRRORED and md in sync) first.
_vm_wait_status beta '"md":"in-sync"' 60 "beta did not hear alpha's mirror in sync"
gen0=$(status_of alpha generation)
_vm_wait_status beta "\"generation\":\"$gen0\",\"steps_running\"" 60 "beta did not adopt alpha's generation $gen0"
vm_spool_served_by alpha beta
out=$(vm_run beta "haspool plan takeover --config $VM_CFG 2>&1") || fail "haspool plan takeover on beta: $out"
grep -q "BumpGeneration" <<<"$out" || fail "unexpected takeover plan: $out"
grep -qE "ProbeAddress|RunFence" <<<"$out" && fail "a guard is still in the takeover plan: $out"
log "guards off: beta's takeover plan has no ProbeAddress and no RunFence; generation $gen0 on both"

vm_install_writer alpha
vm_writer_start alpha a 0.2
n=0
for ((i = 0; i < 300 && n < 5; i++)); do n=$(vm_acked alpha a | wc -l); sleep 0.2; done
[ "$n" -ge 5 ] || fail "the writer on alpha acknowledged only $n files in 60s"

# ---- the partition ----------------------------------------------------------------------
n_cut=$(vm_acked alpha a | wc -l)
vm_run alpha "ip link set dev eth0 down" || fail "cutting alpha's eth0"
t_cut=$SECONDS
log "LAN cut (alpha's eth0 down) after $n_cut acknowledged files; both guests run on"
vm_wait_state beta ACTIVE 90
log "beta ACTIVE $((SECONDS - t_cut))s after the cut"
trail=$(vm_run beta "grep -E ' -> (SUSPECT|TAKEOVER|ACTIVE)' $VM_DAEMON_LOG")
for t in "EXPORTING -> SUSPECT" "SUSPECT -> TAKEOVER" "TAKEOVER -> ACTIVE"; do
    grep -qF "$t" <<<"$trail" || fail "beta's log has no '$t' transition: $(vm_daemon_log beta 60)"
done
vm_wait_state alpha DEGRADED 90
# DEGRADED is shown while its steps (fail the leg, bump the generation) still run: wait for the bump
for ((i = 0; i < 30; i++)); do
    gen_a=$(status_of alpha generation)
    [ "$gen_a" != "$gen0" ] && break
    sleep 1
done
gen_b=$(status_of beta generation)
[ "$gen_a" != "$gen0" ] || fail "alpha DEGRADED did not mint a generation (still $gen0): $(vm_daemon_log alpha 40)"
[ "$gen_b" != "$gen0" ] || fail "beta ACTIVE did not mint a generation (still $gen0)"
[ "$gen_a" != "$gen_b" ] || fail "alpha and beta minted the same generation $gen_a"
n_deg=$(vm_acked alpha a | wc -l)  # acknowledged from here on: on X alone, except one in flight at the cut (see the check)
log "two lineages: alpha DEGRADED at generation $gen_a, beta ACTIVE at $gen_b (both from $gen0)"
# Both serve: the split brain the guards would have prevented.
vm_spool_served_by alpha
vm_spool_served_by beta
st=$(vm_run beta "haspool debug md-status --md $MD")
grep -q "^member.vda=in_sync" <<<"$st" && grep -qx "degraded=1" <<<"$st" || fail "beta does not serve Y through a degraded md: $st"
tenure=$(vm_write_files beta tenure 6 256) || fail "writing on beta during the partition: $tenure"
for ((i = 0; i < 300; i++)); do [ "$(vm_acked alpha a | wc -l)" -ge $((n_cut + 5)) ] && break; sleep 0.2; done
n_part=$(( $(vm_acked alpha a | wc -l) - n_cut ))
[ "$n_part" -ge 5 ] || fail "alpha's writer acknowledged only $n_part files during the partition"
log "both serve: beta wrote $(wc -l <<<"$tenure") files on Y, alpha's writer $n_part more on X"

# ---- the LAN comes back ----------------------------------------------------------------
t_heal=$(vm_run alpha "ip link set dev eth0 up && $GUEST_CLOCK") || fail "bringing alpha's eth0 back: $t_heal"
t_heal_host=$SECONDS
vm_wait_state alpha SPLIT_BRAIN 60
vm_wait_state beta SPLIT_BRAIN 60
t_split_a=$(secs "$t_heal" "$(log_clock alpha '-> SPLIT_BRAIN')")
t_split_b=$(secs "$t_heal" "$(log_clock beta '-> SPLIT_BRAIN')")
log "both SPLIT_BRAIN $((SECONDS - t_heal_host))s after the LAN came back (polled); from the daemons' logs: alpha ${t_split_a}s, beta ${t_split_b}s (beta's clock against alpha's: boot-time RTC, may differ by a fraction)"
for node in alpha beta; do
    peer=beta mine=$gen_a theirs=$gen_b
    [ "$node" = beta ] && peer=alpha mine=$gen_b theirs=$gen_a
    mapfile -t f < <(status_of "$node" state generation peer.generation last_decision)
    [ "${f[0]}" = SPLIT_BRAIN ] || fail "$node is ${f[0]}, not SPLIT_BRAIN"
    [ "${f[1]}" = "$mine" ] && [ "${f[2]}" = "$theirs" ] ||
        fail "$node's status does not show both generations (mine $mine, $peer's $theirs): ${f[*]}"
    ev=$(vm_run "$node" "grep -F -- '-> SPLIT_BRAIN' $VM_DAEMON_LOG | tail -1")
    # Either reason is the split brain: the lineages diverged, or the peer says it serves while this
    # node serves. The second is what alpha may see first: QEMU's socket netdev holds the frames
    # beta sent while alpha's eth0 was down and delivers them when it comes back up, so alpha can
    # read beta's heartbeats from TAKEOVER (before its bump) ahead of the current ones.
    grep -qE "generations diverged: mine $mine, $peer's $theirs|$peer says (TAKEOVER|ACTIVE|DEGRADED) while this node is [A-Z]+: both may have written" <<<"$ev" ||
        fail "$node's evidence: $ev"
    grep -q " critical: " <<<"$ev" || fail "$node did not log the split brain at critical level: $ev"
    log "$node: ${ev#* critical: }"
done

# Nothing automatic: hold for a while (many heartbeat periods) and prove nothing moved.
split_alpha=$(vm_run alpha "wc -l <$VM_DAEMON_LOG")
split_beta=$(vm_run beta "wc -l <$VM_DAEMON_LOG")
w_split=$(nbd_w)
for_a=$(status_of alpha state_for_ms)
n_split=$(vm_acked alpha a | wc -l)
vm_run alpha "sleep 12"
mapfile -t a < <(status_of alpha state state_for_ms)
mapfile -t b < <(status_of beta state state_for_ms)
[ "${a[0]}" = SPLIT_BRAIN ] && [ "${b[0]}" = SPLIT_BRAIN ] || fail "the split brain did not hold: alpha ${a[0]}, beta ${b[0]}"
[ "${a[1]}" -gt $((for_a + 10000)) ] || fail "alpha left SPLIT_BRAIN meanwhile (in it for ${a[1]} ms, was $for_a)"
[ "$(nbd_w)" = "$w_split" ] || fail "something was written to /dev/nbd0 during the split brain ($w_split -> $(nbd_w) sectors)"
st=$(vm_run alpha "haspool debug md-status --md $MD")
grep -qx "degraded=1" <<<"$st" && grep -q "^member.vda=in_sync" <<<"$st" || fail "alpha's array is not X alone, degraded: $st"
grep "^member.nbd0=" <<<"$st" | grep -qv faulty && fail "the NBD leg is back in alpha's array: $st"
grep -qx "sync_action=idle" <<<"$st" || fail "md is not idle on alpha during the split brain: $st"
st=$(vm_run beta "haspool debug md-status --md $MD")
grep -qx "degraded=1" <<<"$st" && grep -q "^member.vda=in_sync" <<<"$st" || fail "beta's array changed: $st"
vm_spool_served_by alpha
vm_spool_served_by beta
vm_check_files beta "$tenure"
after=$(vm_run alpha "tail -n +$((split_alpha + 1)) $VM_DAEMON_LOG | grep -E 'step (AttachNbd|ReAddMember|AddMemberFull|AssembleMirror|AssembleDegraded|StopMirror|Unmount|RemoveAddress)|-> '") &&
    fail "alpha acted during the split brain: $after"
after=$(vm_run beta "tail -n +$((split_beta + 1)) $VM_DAEMON_LOG | grep -E 'step (StartExport|StopMirror|Unmount|RemoveAddress|DiscardGeneration)|-> '") &&
    fail "beta acted during the split brain: $after"
n_hold=$(( $(vm_acked alpha a | wc -l) - n_split ))
[ "$n_hold" -gt 0 ] || fail "alpha's writer stalled during the split brain"
out=$(vm_run alpha "haspool switchover --config $VM_CFG 2>&1") && fail "switchover accepted during the split brain: $out"
grep -qF "haspool resolve --discard NODE" <<<"$out" || fail "switchover's refusal does not point at resolve: $out"
log "held 12 s: both still SPLIT_BRAIN, md idle, /dev/nbd0 untouched ($w_split sectors), beta's files on Y, alpha's writer on (+$n_hold files), switchover refused"

# ---- resolve --------------------------------------------------------------------------------
out=$(vm_run "$LOSER" "haspool resolve --discard nobody --config $VM_CFG 2>&1") && fail "resolve of an unknown node accepted: $out"
mapfile -t f < <(status_of "$LOSER" state generation)
[ "${f[0]}" = SPLIT_BRAIN ] || fail "a refused resolve changed $LOSER: ${f[*]}"
sectors=$(vm_run alpha "cat /sys/block/\$(basename \$(readlink -f $MD))/size") || fail "array size"
array_kib=$((sectors / 2))

# run_resolve LOSER WINNER GEN_LOSER GEN_WINNER ROLE END_STATE: `haspool resolve --discard LOSER`
# run on the loser, so the decision reaches the winner over the peer channel. Checks what resolve
# said, waits for the loser's END_STATE, checks the winner heard and acknowledged
# "discard-ROLE", and that the loser persisted its blank generation with the discard in history.
run_resolve() {
    local loser=$1 winner=$2 gen_loser=$3 gen_winner=$4 role=$5 end_state=$6 out state
    out=$(vm_run "$loser" "haspool resolve --discard $loser --config $VM_CFG 2>&1") ||
        fail "haspool resolve --discard $loser on $loser: $out"
    log "haspool resolve --discard $loser (on $loser): $out"
    grep -qF "discarding this node's data (generation $gen_loser, $winner keeps $gen_winner)" <<<"$out" ||
        fail "resolve said: $out"
    vm_wait_state "$loser" "$end_state" 90
    log "$loser $end_state (blank) $((SECONDS - t0))s after the resolve"
    vm_run "$loser" "grep -q '$winner acknowledged discard-$role' $VM_DAEMON_LOG" ||
        fail "$winner never acknowledged the discard: $(vm_daemon_log "$loser" 40)"
    vm_run "$winner" "grep -q '$loser says: discard-$role' $VM_DAEMON_LOG" ||
        fail "$winner never heard the discard: $(vm_daemon_log "$winner" 40)"
    state=$(vm_run "$loser" "cat $VM_STATE_DIR/node-state")
    grep -qx "generation 0" <<<"$state" || fail "$loser's discard is not persisted: $state"
    grep -q "discarded generation" <<<"$state" || fail "$loser's history does not record the discard: $state"
}

# resolve_discard_beta: run on beta (the loser), so the decision reaches alpha over the peer
# channel. beta releases and exports Y blank; alpha, serving on all along, adds Y in full.
resolve_discard_beta() {
    local out trail w0 w1 t0 gen_end acked
    w0=$(nbd_w)
    t0=$SECONDS
    run_resolve beta alpha "$gen_b" "$gen_a" standby EXPORTING
    vm_wait_state alpha MIRRORED 300
    vm_run alpha "haspool debug md-wait --md $MD --until clean --timeout 120 >/dev/null" || fail "not clean after the resync"
    T_MIRRORED=$((SECONDS - t0))
    w1=$(nbd_w)
    trail=$(vm_run alpha "tail -n +$((split_alpha + 1)) $VM_DAEMON_LOG | grep -E ' -> |step (AttachNbd|AddMemberFull|ReAddMember)'")
    for t in "SPLIT_BRAIN -> DEGRADED" "DEGRADED -> RESYNC" "RESYNC -> MIRRORED" "step AddMemberFull"; do
        grep -qF -- "$t" <<<"$trail" || fail "alpha's log has no '$t': $(vm_daemon_log alpha 60)"
    done
    grep -qF "ReAddMember" <<<"$trail" && fail "alpha re-added the discarded Y instead of adding it in full: $trail"
    log "alpha's way back: $(cut -c12-23,37- <<<"$trail" | cut -c1-150 | tr '\n' ';')"
    COPIED=$(( (w1 - w0) * 512 ))
    [ "$COPIED" -ge $((sectors * 512)) ] ||
        fail "md wrote $((COPIED / 1024)) KiB to Y, less than the array's $array_kib KiB: not a full copy"
    log "full add: md wrote $((COPIED / 1024)) KiB to Y (array data area $array_kib KiB); MIRRORED ${T_MIRRORED}s after the resolve"
    st=$(vm_run alpha "haspool debug md-status --md $MD")
    grep -q "^member.nbd0=in_sync,write_mostly" <<<"$st" || fail "the NBD leg is not in sync + write-mostly: $st"
    gen_end=$(status_of alpha generation)
    [ "$gen_end" = "$gen_a" ] || fail "alpha's generation moved from $gen_a to $gen_end"
    _vm_wait_status beta "\"generation\":\"$gen_end\",\"steps_running\"" 60 "beta did not adopt alpha's generation $gen_end"
    vm_spool_served_by alpha beta
    log "alpha MIRRORED, generation $gen_a on both, $VIP only on alpha"

    # The data: alpha's files (before, during and after the split brain) all there; beta's gone.
    vm_writer_stop alpha
    acked=$(vm_acked alpha a)
    vm_check_files alpha "$acked"
    out=$(vm_run alpha "ls $SPOOL/tenure.* 2>&1") && fail "beta's discarded files are on alpha's spool: $out"
    # X == Y, by md with both daemons up: with the probe off, stopping alpha's daemon (which leaves
    # the service as it is) would let beta take Y over while vm_compare_legs reads it.
    vm_check_legs
    log "all $(wc -l <<<"$acked") files alpha acknowledged are on alpha ($n_part during the partition), so on Y too; beta's $(wc -l <<<"$tenure") are gone"
}

# resolve_discard_alpha: run on alpha (the loser). alpha stops serving, releases the array and
# the NBD leg and stands by with a blank X; beta serves on. `haspool failback`: beta hands back,
# alpha fails back from Y and adds X in full (never a re-add, never a bitmap merge).
resolve_discard_alpha() {
    local out trail w0 w1 t0 gen_end acked solo
    # The discard unmounts the spool: the service (here the writer; units under systemd) stops first.
    vm_writer_stop alpha
    acked=$(vm_acked alpha a)
    w0=$(vm_run alpha "awk '{ print \$7 }' /sys/block/vda/stat")
    t0=$SECONDS
    run_resolve alpha beta "$gen_a" "$gen_b" primary STANDING_BY
    vm_wait_state beta ACTIVE 10
    vm_spool_served_by beta alpha
    out=$(vm_run alpha "grep '^md' /proc/mdstat; cat /sys/block/nbd0/pid 2>/dev/null; grep ' $SPOOL ' /proc/mounts; true")
    [ -z "$out" ] || fail "alpha still holds an array, the NBD leg or the mount: $out"
    out=$(vm_run alpha "haspool failback --config $VM_CFG 2>&1") || fail "haspool failback on alpha: $out"
    vm_wait_state beta EXPORTING 120
    vm_wait_state alpha MIRRORED 300
    vm_run alpha "haspool debug md-wait --md $MD --until clean --timeout 120 >/dev/null" || fail "not clean after the failback"
    T_MIRRORED=$((SECONDS - t0))
    w1=$(vm_run alpha "awk '{ print \$7 }' /sys/block/vda/stat")
    trail=$(vm_run alpha "tail -n +$((split_alpha + 1)) $VM_DAEMON_LOG | grep -E ' -> |step (AttachNbd|AddMemberFull|ReAddMember|MergeBitmap)'")
    for t in "SPLIT_BRAIN -> STANDING_BY" "STANDING_BY -> FAILBACK" "FAILBACK -> RESYNC" "RESYNC -> MIRRORED" "step AddMemberFull"; do
        grep -qF -- "$t" <<<"$trail" || fail "alpha's log has no '$t': $(vm_daemon_log alpha 60)"
    done
    grep -qE "ReAddMember|MergeBitmap" <<<"$trail" && fail "alpha re-added the discarded X instead of adding it in full: $trail"
    log "alpha's way back: $(cut -c12-23,37- <<<"$trail" | cut -c1-150 | tr '\n' ';')"
    COPIED=$(( (w1 - w0) * 512 ))
    [ "$COPIED" -ge $((sectors * 512)) ] ||
        fail "md wrote $((COPIED / 1024)) KiB to X, less than the array's $array_kib KiB: not a full copy"
    log "full add: md wrote $((COPIED / 1024)) KiB to X (array data area $array_kib KiB); MIRRORED ${T_MIRRORED}s after the resolve"
    st=$(vm_run alpha "haspool debug md-status --md $MD")
    grep -q "^member.nbd0=in_sync,write_mostly" <<<"$st" && grep -q "^member.vda=in_sync" <<<"$st" ||
        fail "after the failback the legs are not both in sync (NBD write-mostly): $st"
    gen_end=$(status_of alpha generation)
    [ "$gen_end" = "$gen_b" ] || fail "alpha did not adopt beta's generation $gen_b: $gen_end"
    _vm_wait_status beta "\"generation\":\"$gen_b\",\"steps_running\"" 10 "beta's generation moved from $gen_b"
    vm_spool_served_by alpha beta
    log "alpha MIRRORED from Y, generation $gen_b on both, $VIP only on alpha"

    # The data: beta's files there; alpha's from before the cut too (they were mirrored); the
    # ones alpha wrote on X alone gone.
    vm_check_files alpha "$tenure"
    vm_check_files alpha "$(head -n "$n_cut" <<<"$acked")"
    # A file whose writes were in flight when the LAN went down can have reached Y (its journal
    # commit sent, the reply lost) and still be acknowledged only after md failed the NBD leg;
    # CI saw a.6 so. It is Y's data then, and rightly kept. The writer is sequential: that file
    # is at most the one after the last acknowledged at the cut, or the one after that if an
    # acknowledgement was still on its way to the console log. Later files were written on X alone.
    first_solo=$(( n_deg > n_cut + 2 ? n_deg + 1 : n_cut + 3 ))
    solo=$(sed -n "${first_solo},\$p" <<<"$acked" | awk '{ print $2 }' | tr '\n' ' ')
    [ -n "${solo// /}" ] || fail "no file was written on X alone: nothing to prove discarded"
    out=$(vm_run alpha "cd $SPOOL && for f in $solo; do [ -e \$f ] && echo \$f; done; true")
    [ -z "$out" ] || fail "files alpha wrote on X alone survive its discard: $out"
    vm_check_legs
    log "beta's $(wc -l <<<"$tenure") files and alpha's $n_cut pre-cut files are on alpha; the $(( $(wc -l <<<"$acked") - first_solo + 1 )) alpha wrote on X alone are gone; X == Y"
}

case $LOSER in
    beta) resolve_discard_beta ;;
    alpha) resolve_discard_alpha ;;
    *) fail "SPLIT_LOSER must be alpha or beta, not '$LOSER'" ;;
esac
log "figures: SPLIT_BRAIN ${t_split_a}s (alpha) / ${t_split_b}s (beta) after the heal; resolve -> MIRRORED ${T_MIRRORED}s, full copy $((COPIED / 1024)) KiB; initial sync ${VM_T_SYNC}s; test ${SECONDS}s in all"
log "ok"
