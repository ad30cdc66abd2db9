#!/usr/bin/env bash
# Split brain between two real daemons (primary alpha, standby beta, each in its own network
# namespace, see lib_pair.sh) and `haspool resolve` over the control socket and the authenticated
# peer channel. Their state files hold diverged generations (from 1/primary, alpha minted
# 2/primary and beta 2/standby), so both must say SPLIT_BRAIN and do nothing on their own.
# This kernel has no md and no nbd (the VM lab has them), so natively the test shows:
#   - both SPLIT_BRAIN with the evidence; switchover/failback refused, pointing at resolve;
#   - resolve with an unknown node: exit 2, nothing sent;
#   - `resolve --discard beta` run on alpha: alpha keeps its data, tells beta (discard-standby,
#     acknowledged); beta releases what it holds (nothing runs here), persists the discard (its
#     state file goes blank, the discarded generation kept as an ancestor) and exports Y again;
#     alpha then plans a connect that adds the blank Y in FULL (AddMemberFull, never a re-add)
#     and backs off because this kernel has no nbd;
#   - a second resolve, now that nothing is split, is refused (exit 1);
#   - a new split (state files rewritten, both restarted), `resolve --discard alpha` run on beta:
#     beta keeps its data and exports Y, alpha follows (discard-primary) and halts at DetachNbd
#     (no nbd here) before discarding anything: its generation is kept.
source "$(dirname "$0")/../lib.sh"

mkdir -p "$T_DIR/spool"
PAIR_UNITS="[]"
PAIR_EXTRA_YAML="spool:
  mount_point: $T_DIR/spool"
source "$(dirname "$0")/lib_pair.sh"

write_state alpha 4 "2 0" "degraded write period on alpha"
write_state beta 5 "2 0" "takeover by beta"
start_bg beta ip netns exec "$NB" "$HASPOOL" standby --config "$T_DIR/beta.yaml" --node beta
BETA=$last_pid
start_bg alpha ip netns exec "$NA" "$HASPOOL" primary --config "$T_DIR/alpha.yaml" --node alpha
ALPHA=$last_pid

wait_for 15 status_has alpha "primary alpha: SPLIT_BRAIN"
wait_for 15 status_has beta "standby beta: SPLIT_BRAIN"
log_has alpha "generations diverged: mine 2/primary, beta's 2/standby" || fail "alpha's evidence: $(cat "$T_DIR/alpha.log")"
log_has beta "generations diverged: mine 2/standby, alpha's 2/primary" || fail "beta's evidence: $(cat "$T_DIR/beta.log")"
log_has alpha "CONNECTING" && fail "alpha tried to connect to diverged data"

run_capture switchover "$HASPOOL" switchover --config "$T_DIR/alpha.yaml"
expect_rc 1 switchover
expect_in switchover out "haspool resolve --discard NODE"

run_capture unknown "$HASPOOL" resolve --discard gamma --config "$T_DIR/alpha.yaml"
expect_rc 2 unknown
expect_in unknown err "--discard gamma names none of the nodes"

run_capture resolve "$HASPOOL" resolve --discard beta --config "$T_DIR/alpha.yaml"
expect_rc 0 resolve
expect_in resolve out "ok: alpha WAIT_PEER: resolve --discard beta: keeping this node's data (generation 2/primary), beta discards 2/standby"
wait_for 10 log_has alpha "beta acknowledged discard-standby"
wait_for 10 log_has beta "alpha says: discard-standby"
wait_for 10 log_has beta "step DiscardGeneration"
wait_for 10 status_has beta "standby beta: EXPORTING"
grep -q "^generation 0$" "$T_DIR/state-beta/node-state" || fail "beta's discard is not persisted: $(cat "$T_DIR/state-beta/node-state")"
grep -q "^ancestors 5 " "$T_DIR/state-beta/node-state" || fail "beta forgot the discarded generation: $(cat "$T_DIR/state-beta/node-state")"
wait_for 15 log_has alpha "AddMemberFull md=/dev/md/haspool dev=/dev/nbd0"
log_has alpha "ReAddMember" && fail "alpha planned a re-add of the discarded Y: $(cat "$T_DIR/alpha.log")"
wait_for 10 log_has alpha "connecting failed: AttachNbd failed"

run_capture again "$HASPOOL" resolve --discard beta --config "$T_DIR/beta.yaml"
expect_rc 1 again
expect_in again out "refused"
kill -0 "$ALPHA" || fail "alpha died"
kill -0 "$BETA" || fail "beta died"

# The other way round, from the standby. A restart finds the same split brain again.
stop_pid "$ALPHA"
stop_pid "$BETA"
write_state alpha 4 "2 0" "degraded write period on alpha"
write_state beta 5 "2 0" "takeover by beta"
start_bg beta2 ip netns exec "$NB" "$HASPOOL" standby --config "$T_DIR/beta.yaml" --node beta
start_bg alpha2 ip netns exec "$NA" "$HASPOOL" primary --config "$T_DIR/alpha.yaml" --node alpha
wait_for 15 status_has alpha "primary alpha: SPLIT_BRAIN"
wait_for 15 status_has beta "standby beta: SPLIT_BRAIN"
run_capture resolve2 "$HASPOOL" resolve --discard alpha --config "$T_DIR/beta.yaml"
expect_rc 0 resolve2
expect_in resolve2 out "ok: beta EXPORTING: resolve --discard alpha: keeping this node's data (generation 2/standby), alpha discards 2/primary"
wait_for 10 log_has alpha2 "beta says: discard-primary"
wait_for 10 log_has alpha2 "SPLIT_BRAIN -> HALTED (resolve failed: DetachNbd failed"
log_has alpha2 "step DiscardGeneration" && fail "alpha discarded its generation although releasing the NBD leg failed"
grep -q "^generation 4$" "$T_DIR/state-alpha/node-state" || fail "alpha's state file changed: $(cat "$T_DIR/state-alpha/node-state")"
status_has beta "standby beta: EXPORTING" || fail "beta: $(status beta)"
log "ok"
