#!/usr/bin/env bash
# Hooks and the fence command as real processes: run in order with the documented environment;
# a failing or hanging hook/fence fails with its exit status and output tail.
source "$(dirname "$0")/../../lib.sh"
source "$(dirname "$0")/lib_actions.sh"
requires sh

LOG=$T_DIR/hooks.log
REC='echo "$HASPOOL_EVENT|$HASPOOL_NODE|$HASPOOL_PEER|$HASPOOL_STATE|$HASPOOL_GENERATION|$HASPOOL_REASON" >> "$0"'

# --- the four hooks, in the order a takeover and a handback run them, see their environment
n=0
for ev in before_takeover after_takeover before_handback after_handback; do
    n=$((n + 1))
    action "hook-$ev" hook "$ev" 5000 beta alpha "STATE$n" "$n" "reason $n" -- sh -c "$REC" "$LOG"
    expect_rc 0 "hook-$ev"
    expect_in "hook-$ev" out "ok: hook $ev succeeded"
done
want="before_takeover|beta|alpha|STATE1|1|reason 1
after_takeover|beta|alpha|STATE2|2|reason 2
before_handback|beta|alpha|STATE3|3|reason 3
after_handback|beta|alpha|STATE4|4|reason 4"
[ "$(cat "$LOG")" = "$want" ] || fail "hook log: $(cat "$LOG")"

# --- exactly the documented variables: ours are not inherited
export HASPOOL_TEST_MARKER=leaked
action hook-env hook after_takeover 5000 beta alpha ACTIVE 7 "peer silent" -- sh -c 'env > "$0"' "$T_DIR/env"
expect_rc 0 hook-env
for v in HASPOOL_EVENT=after_takeover HASPOOL_NODE=beta HASPOOL_PEER=alpha HASPOOL_STATE=ACTIVE \
         HASPOOL_GENERATION=7 "HASPOOL_REASON=peer silent" LC_ALL=C; do
    grep -qxF "$v" "$T_DIR/env" || fail "hook environment lacks $v: $(cat "$T_DIR/env")"
done
grep -q HASPOOL_TEST_MARKER "$T_DIR/env" && fail "the agent's environment leaked into the hook"

# --- a failing hook: status and output tail in the error
action hook-fail hook before_handback 5000 beta alpha HANDBACK 7 r -- sh -c 'echo postfix refused to stop >&2; exit 5'
expect_rc 1 hook-fail
expect_in hook-fail err "hook before_handback failed: 'sh -c 'echo postfix refused to stop >&2; exit 5'' exited with status 5; stderr: postfix refused to stop"

# --- a hanging hook is killed at hooks.timeout
action hook-hang hook after_takeover 300 beta alpha ACTIVE 7 r -- sleep 300
expect_rc 1 hook-hang
expect_in hook-hang err "hook after_takeover failed: 'sleep 300' timed out after 300 ms"

# --- fence: exit 0 (and only exit 0) counts; the peer's name is in HASPOOL_PEER
action fence-ok fence alpha 5000 -- sh -c 'test "$HASPOOL_PEER" = alpha && test "$HASPOOL_EVENT" = fence'
expect_rc 0 fence-ok
expect_in fence-ok out "ok: fenced alpha"

action fence-wrong-peer fence gamma 5000 -- sh -c 'test "$HASPOOL_PEER" = alpha'
expect_rc 1 fence-wrong-peer
expect_in fence-wrong-peer err "fencing gamma failed (only exit 0 counts as fenced)"

action fence-fail fence alpha 5000 -- sh -c 'echo "PDU outlet 4: connection refused"; exit 2'
expect_rc 1 fence-fail
expect_in fence-fail err "exited with status 2; stdout: PDU outlet 4: connection refused"

action fence-hang fence alpha 300 -- sleep 300
expect_rc 1 fence-hang
expect_in fence-hang err "fencing alpha failed (only exit 0 counts as fenced): 'sleep 300' timed out after 300 ms"
log "ok"
