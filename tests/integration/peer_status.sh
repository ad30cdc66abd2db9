#!/usr/bin/env bash
# Issue 15 item 1: `haspool status` asks the peer's daemon itself over the authenticated peer
# channel and shows both nodes. Two daemons in namespaces (lib_pair.sh). Checked:
#   - from each side, the other's own answer (its state, generation, data, the export's counters
#     or the array, the paths as it hears us, its last transitions), beside what its last
#     heartbeat said; the same in `status --json` under peer.report;
#   - the answer is the peer's, not an echo of our heartbeat view: alpha's report names the
#     transitions alpha went through, which beta never sees in a heartbeat;
#   - alpha frozen (SIGSTOP): beta says alpha's daemon did not answer (or, once every path is
#     dead, that it was not asked) and still shows alpha's last heartbeat with its age;
#   - the datagrams carrying queries and reports are counted as accepted, none dropped.
source "$(dirname "$0")/../lib.sh"
PAIR_DEAD_MS=3000  # no takeover while alpha is frozen: beta goes no further than SUSPECT
source "$(dirname "$0")/lib_pair.sh"

pair_start
wait_for 10 status_has beta "(its own answer over the peer channel, in "
status beta >"$T_DIR/beta-status.txt"
status alpha >"$T_DIR/alpha-status.txt"
log "beta's status:"; sed 's/^/    /' "$T_DIR/beta-status.txt" >&2
log "alpha's status:"; sed 's/^/    /' "$T_DIR/alpha-status.txt" >&2
grep -qE '^primary alpha: [A-Z_]+ for .* \(its own answer over the peer channel, in [0-9]+ms\)$' "$T_DIR/beta-status.txt" ||
    fail "beta's status has no answer from alpha's daemon"
grep -qE '^standby beta: EXPORTING for .* \(its own answer over the peer channel, in [0-9]+ms\)$' "$T_DIR/alpha-status.txt" ||
    fail "alpha's status has no answer from beta's daemon"
grep -qF '  export of Y: ' "$T_DIR/alpha-status.txt" || fail "beta's answer lacks its export"
grep -qE '^  path replication \(as it hears us\): up' "$T_DIR/alpha-status.txt" || fail "beta's answer lacks its paths"
# alpha's own transitions, which no heartbeat carries: in beta's status, under alpha's answer
sed -n '/^primary alpha: /,/^peer alpha: /p' "$T_DIR/beta-status.txt" | grep -qE '^    .* ago: [A-Z_]+ -> WAIT_PEER' ||
    fail "beta's status lacks alpha's transitions"
grep -qE '^peer alpha: [A-Z_]+, generation ' "$T_DIR/beta-status.txt" || fail "beta's status lost the heartbeat view"

for pair in "alpha beta standby" "beta alpha primary"; do
    set -- $pair
    status_json "$1" >"$T_DIR/$1.json"
    python3 - "$T_DIR/$1.json" "$2" "$3" <<'PY' || fail "$1's status --json: $(cat "$T_DIR/$1.json")"
import json, sys
s = json.load(open(sys.argv[1])); peer, role = sys.argv[2], sys.argv[3]
r = s["peer"]["report"]
assert r and r["node"] == peer and r["role"] == role and r["version"] == 1, r
assert isinstance(r["state_for_ms"], int) and isinstance(s["peer"]["report_answered_in_ms"], int)
assert s["peer"]["report_problem"] is None
assert r["transitions"] and all(t["from"] and t["to"] for t in r["transitions"]), r["transitions"]
assert {p["name"] for p in r["paths"]} == {"replication", "service"}
assert ("export" in r) == (role == "standby") and ("md" in r) == (role == "primary"), r
assert s["transitions"] and s["transitions"][0]["from"] == "START", s["transitions"]
assert s["data"] in ("in-sync", "degraded", "resyncing", "raw-written", "x-lost", "y-failed", "unknown", "current", "outdated", "sole-copy"), s["data"]
assert set(s["dropped"]) <= {"unconfirmed"}, s["dropped"]  # the start's handshake only: no query or report refused
PY
done
log "both sides show the other's own answer, in text and JSON"

# switchover --wait where it is refused (beta is the standby; alpha is not STANDING_BY): the
# refusal, exit 1 at once, nothing followed
for pair in "switchover beta" "failback alpha"; do
    set -- $pair
    run_capture "$1-wait" timeout 10 "$HASPOOL" "$1" --wait --config "$T_DIR/$2.yaml"
    expect_rc 1 "$1-wait"
    expect_in "$1-wait" out "refused"
    grep -qE '^(done|failed):' "$T_DIR/$1-wait.out" && fail "$1 --wait followed a refused request: $(cat "$T_DIR/$1-wait.out")"
done

# plan failback asks the daemon (issue 15 item 7): none to preview while alpha is not
# STANDING_BY, said, and the configured plan printed for reference; beta sends it to the
# primary; --offline does not ask
run_capture preview-alpha "$HASPOOL" plan failback --config "$T_DIR/alpha.yaml"
expect_rc 0 preview-alpha
expect_in preview-alpha out "# haspool plan failback: asked the daemon at $T_DIR/alpha.sock"
expect_in preview-alpha out "# no failback to preview: alpha is WAIT_PEER, not STANDING_BY: there is no service on beta to fail back from"
expect_in preview-alpha out "# the configured plan follows, for reference"
expect_in preview-alpha out "on beta (standby), handback:"
run_capture preview-beta "$HASPOOL" plan failback --config "$T_DIR/beta.yaml"
expect_rc 0 preview-beta
expect_in preview-beta out "# the failback preview runs on the primary, alpha"
run_capture preview-offline "$HASPOOL" plan failback --offline --config "$T_DIR/alpha.yaml"
expect_rc 0 preview-offline
grep -q "asked the daemon" "$T_DIR/preview-offline.out" && fail "plan failback --offline asked the daemon"

kill -STOP "$(cat "$T_DIR/alpha.pid")"
defer kill -CONT "$(cat "$T_DIR/alpha.pid")"
status beta >"$T_DIR/beta-stopped.txt"
log "beta's status, alpha frozen:"; sed 's/^/    /' "$T_DIR/beta-stopped.txt" >&2
grep -qE '^  its daemon: (did not answer over the peer channel within 400ms|not asked: no heartbeat path)' "$T_DIR/beta-stopped.txt" ||
    fail "beta does not say alpha's daemon did not answer"
grep -qF '(its own answer' "$T_DIR/beta-stopped.txt" && fail "a frozen daemon cannot have answered"
grep -qE '^peer alpha: [A-Z_]+, generation ' "$T_DIR/beta-stopped.txt" || fail "no last heartbeat shown"
grep -qE '^  path replication: up, last heard [0-9.]+m?s ago' "$T_DIR/beta-stopped.txt" ||
    grep -qE '^  path replication: down, last heard [0-9.]+m?s ago' "$T_DIR/beta-stopped.txt" || fail "no heartbeat age shown"
status_json beta | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["peer"]["report"] is None and s["peer"]["report_problem"], s["peer"]
' || fail "beta's JSON while alpha is frozen"
wait_for 10 status_has beta "its daemon: not asked: no heartbeat path to it is alive"
kill -CONT "$(cat "$T_DIR/alpha.pid")"
log "passed"
