#!/usr/bin/env bash
# A reload is what the next takeover runs (issue 12, "a step is the whole instruction"). Two real
# daemons in network namespaces (lib_pair.sh), primary alpha and standby beta. This kernel has no md,
# so beta's takeover halts at AssembleDegraded; the before_takeover hook and the fence (RunFence)
# run before it, which is what this test watches:
#   1. beta starts with hook A and no fence command; SIGHUP after the file gains a fence command
#      (fence B) and hook B; alpha is killed: beta's takeover runs fence B with its argv and the
#      documented environment, and hook B, never hook A and never "no fence command configured";
#   2. the pair restarted with fence B and hook B; SIGHUP after the file changes them to fence C
#      and hook C; alpha is killed: C runs, B does not.
# Every command here is one recorder script that writes its argv and HASPOOL_* environment to
# $T_DIR/ran-<tag>.
source "$(dirname "$0")/../lib.sh"

PAIR_UNITS="[]"
source "$(dirname "$0")/lib_pair.sh"

cat >"$T_DIR/record" <<SH
#!/bin/sh
# record TAG ARG...: what this command was given, one item a line.
tag=\$1
{ for a in "\$@"; do echo "arg \$a"; done; env | grep '^HASPOOL_' | sort; } >"$T_DIR/ran-\$tag"
SH
chmod 755 "$T_DIR/record"

# beta_config HOOK_TAG [FENCE_TAG]: beta's file, before_takeover = the recorder with HOOK_TAG,
# fence.command = the recorder with FENCE_TAG (none without it).
beta_config() {
    PAIR_EXTRA_YAML="hooks:
  before_takeover: [$T_DIR/record, $1]
  timeout_ms: 5000"
    [ -n "${2:-}" ] && PAIR_EXTRA_YAML+="
fence:
  command: [$T_DIR/record, $2, --pdu, pdu-1]
  timeout_ms: 5000"
    config beta >"$T_DIR/beta.yaml.new"
    "$HASPOOL" check-config --config "$T_DIR/beta.yaml.new" >/dev/null 2>&1 ||
        fail "generated config is invalid: $("$HASPOOL" check-config --config "$T_DIR/beta.yaml.new" 2>&1)"
    mv "$T_DIR/beta.yaml.new" "$T_DIR/beta.yaml"
}

# start_pair ROUND: beta (state: mirrored with alpha before) and a fresh alpha, both steady.
start_pair() {
    rm -rf "$T_DIR/state-alpha" "$T_DIR/state-beta"
    write_state beta 2 0 "adopted: mirrored with alpha"
    start_bg "beta$1" ip netns exec "$NB" "$HASPOOL" standby --config "$T_DIR/beta.yaml" --node beta
    BETA=$last_pid; BLOG=$T_DIR/beta$1.log
    start_bg "alpha$1" ip netns exec "$NA" "$HASPOOL" primary --config "$T_DIR/alpha.yaml" --node alpha --init
    ALPHA=$last_pid
    wait_for 15 status_has beta "standby beta: EXPORTING"
    wait_for 15 status_has beta "path replication: up,"
    wait_for 15 status_has beta "path service: up,"
}

# reload_beta HOOK_TAG FENCE_TAG: rewrite beta's file, SIGHUP, wait for the reload to be taken.
reloads() { grep -cF "reloaded $T_DIR/beta.yaml" "$BLOG"; }
reloads_above() { [ "$(reloads)" -gt "$1" ]; }
reload_beta() {
    local before
    before=$(reloads)
    beta_config "$1" "$2"
    kill -HUP "$BETA"
    wait_for 5 reloads_above "$before"
}

# take_over: kill alpha (no goodbye), wait for beta's takeover to stop where this kernel stops it.
take_over() {
    kill -KILL "$ALPHA"
    wait_for 15 grep -qF "TAKEOVER -> HALTED (takeover failed at AssembleDegraded" "$BLOG"
}

# expect_ran TAG WANT...: $T_DIR/ran-TAG exists and holds every line WANT.
expect_ran() {
    local tag=$1 w; shift
    [ -f "$T_DIR/ran-$tag" ] || fail "$tag did not run; beta's log: $(grep -F ' step ' "$BLOG")"
    for w in "$@"; do
        grep -qxF -- "$w" "$T_DIR/ran-$tag" || fail "$tag: expected '$w'; it got: $(cat "$T_DIR/ran-$tag")"
    done
}
expect_not_ran() {
    [ -f "$T_DIR/ran-$1" ] && fail "$1 ran, but the reload replaced it: $(cat "$T_DIR/ran-$1")"
    return 0
}

# 1. A reload adds the fence command and changes the hook.
beta_config hook-a
start_pair 1
reload_beta hook-b fence-b
take_over
grep -qF "no fence command configured" "$BLOG" && fail "the takeover ran without the fence command the reload added: $(grep -F 'RunFence' "$BLOG")"
expect_ran fence-b "arg fence-b" "arg --pdu" "arg pdu-1" HASPOOL_EVENT=fence HASPOOL_NODE=beta HASPOOL_PEER=alpha
expect_ran hook-b "arg hook-b" HASPOOL_EVENT=before_takeover HASPOOL_NODE=beta HASPOOL_PEER=alpha HASPOOL_STATE=TAKEOVER
expect_not_ran hook-a
# The step's log line says what ran, in full.
grep -qF "step RunFence argv=[$T_DIR/record fence-b --pdu pdu-1] timeout=5000ms: ok (fenced alpha; ran RunFence argv=[$T_DIR/record fence-b --pdu pdu-1] timeout=5000ms env=[HASPOOL_EVENT=fence HASPOOL_NODE=beta HASPOOL_PEER=alpha] peer=alpha)" "$BLOG" ||
    fail "the RunFence log line: $(grep -F 'step RunFence' "$BLOG")"
grep -qF "step RunHook hook=before_takeover argv=[$T_DIR/record hook-b] timeout=5000ms: ok (hook before_takeover succeeded; ran RunHook hook=before_takeover argv=[$T_DIR/record hook-b] timeout=5000ms env=[HASPOOL_EVENT=before_takeover HASPOOL_GENERATION=" "$BLOG" ||
    fail "the RunHook log line: $(grep -F 'step RunHook' "$BLOG")"
stop_pid "$BETA"
log "round 1: the added fence command and the changed hook ran"

# 2. A reload changes the fence command and the hook again.
rm -f "$T_DIR"/ran-*
start_pair 2
reload_beta hook-c fence-c
take_over
expect_ran fence-c "arg fence-c" "arg --pdu" "arg pdu-1" HASPOOL_EVENT=fence HASPOOL_NODE=beta HASPOOL_PEER=alpha
expect_ran hook-c "arg hook-c" HASPOOL_EVENT=before_takeover HASPOOL_NODE=beta HASPOOL_PEER=alpha HASPOOL_STATE=TAKEOVER
expect_not_ran fence-b
expect_not_ran hook-b
stop_pid "$BETA"
log "round 2: the changed fence command and hook ran"
log "ok"
