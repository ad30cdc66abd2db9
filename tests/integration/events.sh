#!/usr/bin/env bash
# Issue 15 item 4: `haspool events` streams what the daemon decides and sees. Two daemons in
# namespaces (lib_pair.sh); `haspool events --now` follows beta. Checked, each line parsed as JSON:
#   - the stream starts with the current status (type "status", beta EXPORTING);
#   - both veths cut: a "path" line for each path going down, the transitions EXPORTING ->
#     SUSPECT -> TAKEOVER -> HALTED with their reasons, and the takeover's steps (ok or failed:
#     this kernel has no md, so the assembly fails), in that order;
#   - the veths back up: a "path" line for each path coming up (alive), then stable;
#   - the daemon stopped: the stream ends and `haspool events` exits 1, saying so;
#   - a second reader that never reads does not hold the daemon up (beta decides on time).
# Before that, `status --watch` (not a terminal: reports one after another, JSON lines with --json).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_pair.sh"

pair_start
# status --watch (issue 15 item 2): reports one after another when stdout is not a terminal
run_capture watch "$HASPOOL" status --watch --count 3 --interval 0.2 --config "$T_DIR/beta.yaml"
expect_rc 0 watch
[ "$(grep -c '^standby beta: EXPORTING' "$T_DIR/watch.out")" = 3 ] && [ "$(grep -c '^--- ' "$T_DIR/watch.out")" = 3 ] ||
    fail "status --watch --count 3: $(cat "$T_DIR/watch.out")"
run_capture watchjson "$HASPOOL" status --watch --json --count 2 --interval 0.2 --config "$T_DIR/beta.yaml"
expect_rc 0 watchjson
python3 -c 'import json, sys; docs = [json.loads(l) for l in open(sys.argv[1])]; assert len(docs) == 2 and all(d["state"] == "EXPORTING" for d in docs), docs' \
    "$T_DIR/watchjson.out" || fail "status --watch --json: $(cat "$T_DIR/watchjson.out")"
start_bg events "$HASPOOL" events --now --config "$T_DIR/beta.yaml"
EVENTS=$last_pid
wait_for 10 grep -q '"type":"status"' "$T_DIR/events.log"
# a reader that connects and never reads a byte
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"events\n"); time.sleep(60)' "$T_DIR/beta.sock" &
SLEEPER=$!
defer stop_pid "$SLEEPER"

ip -n "$NA" link set vs-a down
ip -n "$NA" link set vr-a down
wait_for 15 log_has beta "TAKEOVER -> HALTED"
wait_for 10 grep -q '"to":"HALTED"' "$T_DIR/events.log"

python3 - "$T_DIR/events.log" <<'PY' || fail "the events stream: $(cat "$T_DIR/events.log")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
assert all(l["version"] == 1 and l["node"] == "beta" and isinstance(l["time_ms"], int) for l in lines), lines
assert lines[0]["type"] == "status" and lines[0]["status"]["state"] == "EXPORTING", lines[0]
kinds = [(l["type"], l.get("to") or l.get("path") or l.get("step")) for l in lines]
def at(pred, what):
    for i, l in enumerate(lines):
        if pred(l): return i
    raise AssertionError("no " + what + " in " + repr(kinds))
down = {l["path"] for l in lines if l["type"] == "path" and not l["alive"]}
assert down == {"replication", "service"}, down
suspect = at(lambda l: l["type"] == "transition" and l["from"] == "EXPORTING" and l["to"] == "SUSPECT", "EXPORTING -> SUSPECT")
takeover = at(lambda l: l["type"] == "transition" and l["to"] == "TAKEOVER", "-> TAKEOVER")
halted = at(lambda l: l["type"] == "transition" and l["to"] == "HALTED", "-> HALTED")
failed = at(lambda l: l["type"] == "step" and not l["ok"] and not l["undo"], "a failed step")
assert suspect < takeover < failed < halted, kinds
assert lines[halted]["reason"].startswith("takeover failed at " + lines[failed]["step"]), (lines[halted], lines[failed])
assert lines[failed]["result"], lines[failed]
assert any(l["type"] == "step" and l["ok"] for l in lines[takeover:halted]), kinds
print("events: %d lines, %s" % (len(lines), " ".join(t + ":" + str(w) for t, w in kinds)))
PY
log "$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if l.startswith("{")))' "$T_DIR/events.log") event lines, in order"

# the paths come back: beta (HALTED, the operator decides) still hears alpha, and says so
ip -n "$NA" link set vs-a up
ip -n "$NA" link set vr-a up
paths_back() {
    python3 - "$T_DIR/events.log" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
halted = max(i for i, l in enumerate(lines) if l["type"] == "transition" and l["to"] == "HALTED")
after = [l for l in lines[halted:] if l["type"] == "path"]
up = {l["path"] for l in after if l["alive"]}
stable = {l["path"] for l in after if l["alive"] and l["stable"]}
sys.exit(0 if up == stable == {"replication", "service"} else 1)
PY
}
wait_for 15 paths_back
log "both paths reported up, then stable, after the links came back"

stop_pid "$(cat "$T_DIR/beta.pid")"
wait_for 10 grep -q "closed the stream" "$T_DIR/events.log"
wait "$EVENTS" && fail "haspool events exited 0 when the daemon closed the stream" || true
log "passed"
