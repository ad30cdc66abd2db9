#!/usr/bin/env bash
# Issue 15 item 6: scripts/notify/haspool-mail-alert, the shipped hooks.notify command that mails
# a transition through a smarthost with msmtp. The smarthost is `haspool debug smtp-sink` on a
# free loopback port, so every send needs --allow-local (the script refuses this host itself
# otherwise; that refusal is checked too). The script runs with the daemon's notify environment
# only (env -i: PATH, LC_ALL=C and the HASPOOL_* variables). Checked:
#   - SUSPECT -> TAKEOVER to two recipients: one message stored, with the envelope's sender and
#     both recipients, the subject "[haspool] beta: SUSPECT -> TAKEOVER", Auto-Submitted,
#     Message-ID, Date, and the reason and every HASPOOL_* variable in the body;
#   - a state not in --states (MIRRORED, by default): exit 0, nothing printed, nothing sent;
#   - a smarthost that is the --service-address (as an address and by name, --allow-local or
#     not, alerting state or not): exit 2, saying so, nothing sent; loopback without
#     --allow-local: exit 2;
#   - usage: no --smarthost, no --to, no HASPOOL_STATE, an unknown state in --states: exit 2;
#   - an unreachable smarthost (a closed loopback port): non-zero, with msmtp's words;
#   - the script's list of states is agent/core/types.cpp's; shellcheck is clean (when installed).
# Without msmtp the test skips, except under CI (CI set), where scripts/install-deps installs it.
source "$(dirname "$0")/../lib.sh"
requires ss python3
if ! command -v msmtp >/dev/null 2>&1; then
    [ -z "${CI:-}" ] || fail "msmtp is not installed (scripts/install-deps --test installs it)"
    skip "needs msmtp"
fi
ALERT=$HASPOOL_SOURCE_DIR/scripts/notify/haspool-mail-alert
[ -x "$ALERT" ] || fail "$ALERT is missing or not executable"

# ---- the script's states are the daemon's ----------------------------------------------------
daemon_states=$(sed -n '/^const char\* to_string(\(Primary\|Standby\)State/,/^}/s/.*return "\([A-Z_]*\)";.*/\1/p' \
    "$HASPOOL_SOURCE_DIR/agent/core/types.cpp" | sort -u)
script_states=$(sed -n '/^KNOWN_STATES=(/,/)/p' "$ALERT" | tr -d '()' | sed 's/KNOWN_STATES=//' | tr -s ' \n' '\n' | sed '/^$/d' | sort -u)
[ -n "$daemon_states" ] && [ "$daemon_states" = "$script_states" ] ||
    fail "KNOWN_STATES in haspool-mail-alert differ from agent/core/types.cpp: $(diff <(echo "$daemon_states") <(echo "$script_states") | tr '\n' ' ')"
if command -v shellcheck >/dev/null 2>&1; then
    shellcheck "$ALERT" >"$T_DIR/shellcheck.out" 2>&1 || fail "shellcheck haspool-mail-alert: $(cat "$T_DIR/shellcheck.out")"
fi

# ---- the smarthost --------------------------------------------------------------------------
port=$(free_port)
spool=$T_DIR/spool
start_bg sink "$HASPOOL" debug smtp-sink --spool "$spool" --listen "127.0.0.1:$port" --hostname relay.test
wait_for 10 listening "$port"
stored() { find "$spool/new" -type f | wc -l; }

# alert NAME STATE ARGS...: runs the script as the daemon would for a transition SUSPECT -> STATE
alert() {
    local name=$1 state=$2; shift 2
    run_capture "$name" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C \
        HASPOOL_EVENT=transition HASPOOL_NODE=beta HASPOOL_ROLE=standby HASPOOL_PEER=alpha \
        HASPOOL_FROM=SUSPECT HASPOOL_STATE="$state" \
        HASPOOL_REASON="alpha silent on every path for 3.0s (dead_after 3.0s)" \
        HASPOOL_GENERATION="7/primary" HASPOOL_TRIGGER=PeerSilent HASPOOL_TIME=1700000000 HASPOOL_DROPPED=0 \
        "$ALERT" "$@"
}
relay=(--smarthost "127.0.0.1:$port" --allow-local --from alerts@cluster.test)

# ---- a TAKEOVER, sent -----------------------------------------------------------------------
alert takeover TAKEOVER "${relay[@]}" --to ops@example.test --to oncall@example.test
expect_rc 0 takeover
[ "$(stored)" = 1 ] || fail "the TAKEOVER alert: $(stored) message(s) stored, expected 1; sink: $(cat "$T_DIR/sink.log")"
msg=$(find "$spool/new" -type f)
python3 - "$msg" <<'PY' || fail "the stored message: $(cat "$msg")"
import email, email.policy, sys
raw = open(sys.argv[1], "rb").read()
m = email.message_from_bytes(raw, policy=email.policy.default)
def want(cond, what):
    if not cond:
        sys.exit("not as expected: " + what)
want(m["Subject"] == "[haspool] beta: SUSPECT -> TAKEOVER", "Subject " + repr(m["Subject"]))
want(m["Auto-Submitted"] == "auto-generated", "Auto-Submitted " + repr(m["Auto-Submitted"]))
want(m["From"].addresses[0].addr_spec == "alerts@cluster.test", "From " + repr(m["From"]))
want(sorted(a.addr_spec for a in m["To"].addresses) == ["oncall@example.test", "ops@example.test"], "To " + repr(m["To"]))
want(m["Message-ID"] and m["Message-ID"].startswith("<haspool.") and m["Message-ID"].endswith(">"), "Message-ID " + repr(m["Message-ID"]))
want(m["Date"] is not None and m["Date"].datetime is not None, "Date " + repr(m["Date"]))
# the envelope, as the sink recorded it
want(m["Return-Path"] == "<alerts@cluster.test>", "envelope sender " + repr(m["Return-Path"]))
env_to = sorted(v.strip() for h in m.get_all("X-Haspool-Envelope-To", []) for v in str(h).split(","))
want(env_to == ["<oncall@example.test>", "<ops@example.test>"], "envelope recipients " + repr(env_to))
body = m.get_content()
want("Reason: alpha silent on every path for 3.0s (dead_after 3.0s)" in body, "the reason in the body")
want("SUSPECT -> TAKEOVER at 2023-11-14 22:13:20 UTC" in body, "the transition's time in the body")
for v in ["HASPOOL_EVENT=transition", "HASPOOL_NODE=beta", "HASPOOL_ROLE=standby", "HASPOOL_PEER=alpha",
          "HASPOOL_FROM=SUSPECT", "HASPOOL_STATE=TAKEOVER", "HASPOOL_GENERATION=7/primary",
          "HASPOOL_TRIGGER=PeerSilent", "HASPOOL_TIME=1700000000", "HASPOOL_DROPPED=0"]:
    want("  " + v + "\n" in body, v + " in the body")
want(all(len(l) <= 998 for l in raw.split(b"\r\n") for l in l.split(b"\n")), "lines within 998 bytes")
PY
log "TAKEOVER: one message, subject, envelope, Auto-Submitted, reason and the notice's variables"

# ---- states that do not alert: silent ---------------------------------------------------------
alert mirrored MIRRORED "${relay[@]}" --to ops@example.test
expect_rc 0 mirrored
[ ! -s "$T_DIR/mirrored.out" ] && [ ! -s "$T_DIR/mirrored.err" ] ||
    fail "MIRRORED (not in the default --states) printed: $(cat "$T_DIR/mirrored.out" "$T_DIR/mirrored.err")"
alert narrowed TAKEOVER "${relay[@]}" --to ops@example.test --states HALTED,SPLIT_BRAIN
expect_rc 0 narrowed
[ "$(stored)" = 1 ] || fail "a state not in --states was sent: $(stored) messages"
log "states not in --states: exit 0, nothing printed, nothing sent"

# ---- never through the service address --------------------------------------------------------
alert svc TAKEOVER "${relay[@]}" --to ops@example.test --service-address 127.0.0.1/8
expect_rc 2 svc
expect_in svc err "refusing --smarthost 127.0.0.1:$port"
expect_in svc err "service address"
alert svcname TAKEOVER --smarthost "localhost:$port" --allow-local --to ops@example.test --service-address 127.0.0.1
expect_rc 2 svcname
expect_in svcname err "service address"
alert svcquiet MIRRORED "${relay[@]}" --to ops@example.test --service-address 127.0.0.1
expect_rc 2 svcquiet   # a refused smarthost is reported at any transition, not only at an alert
alert local TAKEOVER --smarthost "127.0.0.1:$port" --to ops@example.test
expect_rc 2 local
expect_in local err "this host itself"
[ "$(stored)" = 1 ] || fail "a refused smarthost got mail: $(stored) messages"
log "the service address refused (by address and by name), loopback refused without --allow-local"

# ---- usage ------------------------------------------------------------------------------------
alert nosmarthost TAKEOVER --to ops@example.test
expect_rc 2 nosmarthost
expect_in nosmarthost err "--smarthost"
alert noto TAKEOVER --smarthost "127.0.0.1:$port" --allow-local
expect_rc 2 noto
expect_in noto err "--to"
alert badstate TAKEOVER "${relay[@]}" --to ops@example.test --states TAKEOVER,SERVING
expect_rc 2 badstate
expect_in badstate err "'SERVING' is no haspool state"
run_capture nostate env -i PATH=/usr/bin:/bin HASPOOL_NODE=beta HASPOOL_FROM=SUSPECT "$ALERT" "${relay[@]}" --to ops@example.test
expect_rc 2 nostate
expect_in nostate err "HASPOOL_STATE is not set"
run_capture help "$ALERT" --help
expect_rc 0 help
expect_in help out "Usage: haspool-mail-alert --smarthost"
[ "$(stored)" = 1 ] || fail "a usage error sent mail: $(stored) messages"
log "usage errors exit 2"

# ---- an unreachable smarthost: a closed loopback port ------------------------------------------
closed=$(free_port)
alert closed TAKEOVER --smarthost "127.0.0.1:$closed" --allow-local --to ops@example.test
[ "$rc" != 0 ] && [ "$rc" != 2 ] || fail "an unreachable smarthost: exit $rc, expected msmtp's failure; stderr: $(cat "$T_DIR/closed.err")"
expect_in closed err "SUSPECT -> TAKEOVER not sent: msmtp exited $rc (smarthost 127.0.0.1:$closed)"
expect_in closed err "cannot connect to 127.0.0.1, port $closed"
log "unreachable smarthost: exit $rc with msmtp's words"

[ "$(stored)" = 1 ] || fail "$(stored) messages stored at the end, expected the one TAKEOVER"
log "passed"
