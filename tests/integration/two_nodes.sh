#!/usr/bin/env bash
# Two real haspool daemons, primary alpha and standby beta, each in its own network namespace,
# joined by two veth pairs (heartbeat paths "replication" and "service", TEST-NET addresses).
# This kernel has no nbd and no md (the VM tests run those), so the test checks what the
# daemons can show natively:
#   - both reach their steady states: beta EXPORTING its Y (a file here) with the embedded NBD
#     server, which a real NBD client (nbdinfo) can read from alpha's namespace; alpha hears beta,
#     tries to connect and backs off to WAIT_PEER because the kernel has no nbd netlink family;
#   - forged, truncated, wrong-key, wrong-version, old-version and replayed datagrams are dropped,
#     counted, change nothing;
#   - metrics.textfile (issue 15 item 5) on both nodes, parsed strictly by check_metrics.py: the
#     states, generations and drop counts the test expects, removed at a clean stop;
#   - SIGHUP with a broken config file keeps the running configuration;
#   - one veth down changes nothing;
#   - both veths down: beta decides TAKEOVER within dead_after + one interval, stops its export
#     (nothing listens any more), fails to assemble md (no md here) and ends HALTED (the safe
#     state), saying why.
source "$(dirname "$0")/../lib.sh"
# hooks.notify (issue 15 item 6): every transition, with its environment, from a command that
# sleeps 2 s each time: the takeover's timing below (within dead_after + one interval) proves
# that it never waits for the command.
cat >"$T_DIR/notify" <<SH
#!/bin/sh
echo "\$HASPOOL_NODE \$HASPOOL_ROLE \$HASPOOL_FROM -> \$HASPOOL_STATE trigger=\$HASPOOL_TRIGGER peer=\$HASPOOL_PEER gen=\$HASPOOL_GENERATION dropped=\$HASPOOL_DROPPED reason=\$HASPOOL_REASON" >>"$T_DIR/notify.log"
sleep 2
SH
chmod 755 "$T_DIR/notify"
PAIR_EXTRA_YAML="hooks:
  notify: [$T_DIR/notify]"
source "$(dirname "$0")/lib_pair.sh"

# metrics.textfile on each node (they share this filesystem: one directory each).
for n in alpha beta; do
    mkdir "$T_DIR/metrics-$n"
    printf 'metrics:\n  textfile: %s\n' "$T_DIR/metrics-$n/haspool.prom" >>"$T_DIR/$n.yaml"
done
"$HASPOOL" check-config --config "$T_DIR/beta.yaml" >/dev/null || fail "the config with metrics is invalid"
# metrics NODE ARGS...: check_metrics.py holds on NODE's file within 5 s (the file follows the
# daemon within one interval), else fails with what does not hold.
metrics() {
    local node=$1 out; shift
    local deadline=$((SECONDS + 5))
    until out=$(python3 "$HASPOOL_SOURCE_DIR/tests/integration/check_metrics.py" "$T_DIR/metrics-$node/haspool.prom" "$@" 2>&1); do
        [ "$SECONDS" -lt "$deadline" ] || fail "metrics of $node: $out"
        sleep 0.1
    done
}

# A node never initialised refuses to start, and says how to fix it.
run_capture noinit ip netns exec "$NB" "$HASPOOL" standby --config "$T_DIR/beta.yaml" --node beta
expect_rc 1 noinit
expect_in noinit err "haspool standby --init"

# beta starts as the standby of a pair that has mirrored before: its state file holds alpha's
# first generation (1/primary), as it would after adopting it. (A blank beta would refuse any
# takeover: its Y never held the spool; the unit tests cover that refusal.)
write_state beta 2 0 "adopted: mirrored with alpha"
# beta with HASPOOL_DEBUG=1 (log.hpp): its debug lines, one per heartbeat, are in its log only.
start_bg beta env HASPOOL_DEBUG=1 ip netns exec "$NB" "$HASPOOL" standby --config "$T_DIR/beta.yaml" --node beta
BETA=$last_pid
start_bg alpha ip netns exec "$NA" "$HASPOOL" primary --config "$T_DIR/alpha.yaml" --node alpha --init
ALPHA=$last_pid

# Steady states.
wait_for 15 status_has beta "standby beta: EXPORTING"
wait_for 15 status_has beta "path replication: up,"
wait_for 15 status_has beta "path service: up,"
wait_for 15 log_has alpha "WAIT_PEER -> CONNECTING"
wait_for 15 log_has alpha "same generation): creating the mirror"
wait_for 15 log_has alpha "connecting failed: AttachNbd failed"
log_has beta "exporting Y to alpha" || fail "beta does not export Y: $(cat "$T_DIR/beta.log")"
log_has beta "heartbeat from alpha on replication: " || fail "HASPOOL_DEBUG=1 gave beta no debug lines: $(tail -5 "$T_DIR/beta.log")"
log_has alpha "heartbeat from beta on" && fail "alpha logs debug lines without HASPOOL_DEBUG or --verbose"
# SIGUSR1 (issue 15 item 8): alpha's debug lines on without a restart, and off again.
kill -USR1 "$ALPHA"
wait_for 5 log_has alpha "log level debug (SIGUSR1; another SIGUSR1 returns to info)"
wait_for 5 log_has alpha "heartbeat from beta on"
kill -USR1 "$ALPHA"
wait_for 5 log_has alpha "log level info (SIGUSR1)"
on=$(grep -c "heartbeat from beta on" "$T_DIR/alpha.log")
sleep 1  # five heartbeat intervals: each would log a debug line if debug were still on
[ "$(grep -c "heartbeat from beta on" "$T_DIR/alpha.log")" -le $((on + 1)) ] ||
    fail "alpha still logs debug lines after the second SIGUSR1: $(tail -3 "$T_DIR/alpha.log")"
if command -v nbdinfo >/dev/null; then
    out=$(ip netns exec "$NA" nbdinfo --json nbd://192.0.2.2:10809/haspool 2>&1) || fail "nbdinfo against beta's export: $out"
    grep -q '"export-size": 8388608' <<<"$out" || fail "nbdinfo sees the wrong export: $out"
    out=$(ip netns exec "$NB" nbdinfo nbd://192.0.2.2:10809/haspool 2>&1) && fail "beta's export admitted a peer that is not alpha: $out"
fi
status_has alpha "peer beta: EXPORTING" || fail "alpha does not see beta EXPORTING: $(status alpha)"
status_has beta "generation 1/primary" || fail "beta's generation: $(status beta)"
status_has alpha "generation 1/primary" || fail "alpha's generation: $(status alpha)"
"$HASPOOL" status --config "$T_DIR/beta.yaml" --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["state"] == "EXPORTING", s
assert s["peer"]["node"] == "alpha" and s["peer"]["generation"] == "1/primary", s
assert all(p["alive"] for p in s["peer"]["paths"]), s
' || fail "status --json: $(status beta)"
log "steady: $(status beta | head -1); $(status alpha | head -1)"
metrics beta --state EXPORTING --generation 1 --expect haspool_generation_by_standby=0 --expect haspool_peer_heard=1 \
    --expect haspool_peer_generation=1 --expect 'haspool_path_alive{path="replication"}=1' \
    --expect 'haspool_path_alive{path="service"}=1' --present haspool_path_rtt_seconds \
    --expect haspool_nbd_export_running=1 --present haspool_nbd_requests_total --absent haspool_md_running
# alpha never mirrors here (no kernel nbd): it goes round WAIT_PEER -> CONNECTING -> WAIT_PEER.
metrics alpha --state WAIT_PEER,CONNECTING --generation 1 --expect haspool_peer_heard=1 \
    --expect 'haspool_md_running{device="/dev/md/haspool"}=0' --absent haspool_nbd_export_running
mode=$(stat -c %a "$T_DIR/metrics-beta/haspool.prom")
[ "$mode" = 644 ] || fail "the metrics file has mode $mode, not 644 (node_exporter reads it as another user)"
log "metrics: $(grep -c '^haspool_' "$T_DIR/metrics-beta/haspool.prom") series on beta, $(grep -c '^haspool_' "$T_DIR/metrics-alpha/haspool.prom") on alpha"
# status --check (issue 15 item 3): natively alpha never mirrors (no kernel nbd), so both warn.
check() { "$HASPOOL" status --check --config "$T_DIR/$1.yaml" 2>&1; }
out=$(check beta); rc=$?
[ "$rc" = 1 ] && [[ $out == "warning: beta EXPORTING, no redundancy now; alpha "* ]] || fail "status --check on beta: rc $rc, '$out'"
out=$(check alpha); rc=$?
[ "$rc" = 1 ] && [[ $out == "warning: alpha "* ]] || fail "status --check on alpha: rc $rc, '$out'"
log "status --check: beta '$out' (exit 1)"

# Forged and replayed datagrams change nothing.
ip netns exec "$NA" python3 "$HASPOOL_SOURCE_DIR/tests/integration/forge_datagrams.py" \
    192.0.2.1 192.0.2.2 5410 vr-a >"$T_DIR/forge.out" 2>&1 || fail "forger: $(cat "$T_DIR/forge.out")"
for why in bad-magic truncated unknown-key bad-hmac wrong-version old-version replayed; do
    wait_for 5 status_has beta "$why=1"
done
status_has beta "standby beta: EXPORTING" || fail "forged datagrams moved beta: $(status beta)"
log_has beta "SUSPECT" && fail "forged datagrams made beta suspect: $(cat "$T_DIR/beta.log")"
dropped=()
for why in bad-magic truncated unknown-key bad-hmac wrong-version old-version replayed; do
    dropped+=(--expect "haspool_datagrams_dropped_total{reason=\"$why\"}=1")
done
metrics beta --state EXPORTING "${dropped[@]}"

# SIGHUP with a broken file: the running configuration stays.
cp "$T_DIR/beta.yaml" "$T_DIR/beta.yaml.good"
sed -i "s/interval_ms: $INTERVAL_MS/interval_ms: nonsense/" "$T_DIR/beta.yaml"
kill -HUP "$BETA"
wait_for 5 log_has beta "reload refused, keeping the running configuration"
cp "$T_DIR/beta.yaml.good" "$T_DIR/beta.yaml"
kill -HUP "$BETA"
wait_for 5 log_has beta "reloaded $T_DIR/beta.yaml"
grep -qF "heartbeat.interval_ms" "$T_DIR/beta.log" || fail "the refused reload does not name the bad key"
kill -0 "$BETA" || fail "beta died on SIGHUP"

# One path down changes nothing.
ip -n "$NA" link set vs-a down
sleep $((3 * DEAD_MS / 1000 + 1))
status_has beta "standby beta: EXPORTING" || fail "one path down moved beta: $(status beta)"
status_has beta "path service: down" || fail "beta does not see the service path down: $(status beta)"
status_has beta "path replication: up," || fail "replication path: $(status beta)"
log_has beta "SUSPECT" && fail "one path down made beta suspect"

# Both paths down: takeover decided within dead_after + one interval, then a safe state.
down_at=$(date +%s.%N)
ip -n "$NA" link set vr-a down
wait_for 10 log_has beta "SUSPECT -> TAKEOVER"
decided=$(grep -F "SUSPECT -> TAKEOVER" "$T_DIR/beta.log" | head -1 | cut -d' ' -f1)
delay_ms=$(python3 -c "
import datetime, sys
t = datetime.datetime.strptime('$decided', '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=datetime.timezone.utc)
print(int((t.timestamp() - $down_at) * 1000))")
log "takeover decided ${delay_ms} ms after the last path went down (dead_after ${DEAD_MS} ms, interval ${INTERVAL_MS} ms)"
[ "$delay_ms" -le $((DEAD_MS + INTERVAL_MS)) ] || fail "takeover decided after ${delay_ms} ms"
[ "$delay_ms" -ge 0 ] || fail "takeover decided before the paths went down"
log_has beta "EXPORTING -> SUSPECT (no heartbeat on 2/2 paths" || fail "no SUSPECT line: $(cat "$T_DIR/beta.log")"
wait_for 10 log_has beta "TAKEOVER -> HALTED (takeover failed at AssembleDegraded"
log_has beta "step StopExport: ok" || fail "the takeover did not stop the export: $(cat "$T_DIR/beta.log")"
# each step is logged once, as ok or as FAILED with its reason: never both, never an empty reason
grep -F "step StopExport: FAILED" "$T_DIR/beta.log" && fail "a step that succeeded was also logged as FAILED"
grep -E ': FAILED: *$' "$T_DIR/alpha.log" "$T_DIR/beta.log" && fail "a FAILED line without its reason"
log_has beta "step AssembleDegraded md=/dev/md/haspool dev=$T_DIR/y.img: FAILED: " ||
    fail "the failed assembly is not logged with its reason: $(cat "$T_DIR/beta.log")"
ip -n "$NB" link set lo up
out=$(ip netns exec "$NB" bash -c 'exec 3<>/dev/tcp/192.0.2.2/10809' 2>&1) && fail "the export still listens after StopExport"
status_has beta "standby beta: HALTED" || fail "beta: $(status beta)"
out=$(check beta); rc=$?
[ "$rc" = 2 ] && [[ $out == "critical: beta HALTED, the operator decides: takeover failed at AssembleDegraded"* ]] ||
    fail "status --check on a HALTED beta: rc $rc, '$out'"
kill -0 "$ALPHA" || fail "alpha died"
# the takeover minted 2/standby before its assembly failed
metrics beta --state HALTED --generation 2 --expect haspool_generation_by_standby=1 --expect haspool_nbd_export_running=0 \
    --expect haspool_steps_running=0 --expect 'haspool_path_alive{path="replication"}=0' --expect haspool_disk_problem=0 \
    --expect 'haspool_state_entered_total{state="EXPORTING"}=1' --expect 'haspool_state_entered_total{state="SUSPECT"}=1' \
    --expect 'haspool_state_entered_total{state="TAKEOVER"}=1' --expect 'haspool_state_entered_total{state="HALTED"}=1' \
    --present haspool_state_last_duration_seconds

# beta's transitions reached the notify command, with their environment.
for t in "beta standby START -> EXPORTING trigger=started peer=alpha gen=1/primary" \
    "beta standby EXPORTING -> SUSPECT trigger=PeerSilent" "beta standby SUSPECT -> TAKEOVER trigger=" \
    "beta standby TAKEOVER -> HALTED trigger=StepFailed"; do
    wait_for 20 grep -qF -- "$t" "$T_DIR/notify.log"
done
grep -q "^beta standby TAKEOVER -> HALTED .* reason=takeover failed at AssembleDegraded" "$T_DIR/notify.log" ||
    fail "the notify's HASPOOL_REASON: $(grep HALTED "$T_DIR/notify.log")"
log "notify: $(grep -c '^beta ' "$T_DIR/notify.log") transitions of beta, $(grep -c '^alpha ' "$T_DIR/notify.log") of alpha"

# SIGTERM: a clean stop.
kill -TERM "$BETA"
wait "$BETA"; rc=$?
[ "$rc" = 0 ] || fail "beta exited $rc on SIGTERM"
log_has beta "stopping on signal 15" || fail "no stopping line"
[ -e "$T_DIR/beta.sock" ] && fail "beta left its control socket behind"
[ -z "$(ls -A "$T_DIR/metrics-beta")" ] || fail "beta left metrics behind: $(ls -A "$T_DIR/metrics-beta")"
out=$(check beta); rc=$?
[ "$rc" = 2 ] && [[ $out == "critical: the haspool daemon cannot be reached at $T_DIR/beta.sock" ]] ||
    fail "status --check without a daemon: rc $rc, '$out'"
log "ok"
