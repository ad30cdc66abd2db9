#!/usr/bin/env bash
# `haspool plan` for config/haspool.example.yaml, compared with the pinned transcripts
# tests/golden/plan-*.txt: the order of every flow's steps is part of the design (docs/design.md §4).
# The machines take every step from Plans (scripts/check-layers), and every Plans function
# appears in a flow, so these transcripts pin every plan a machine can run.
# After an intended change, regenerate with:
#   for f in start mirror takeover raw-takeover switchover failback lose-x halt; do
#       haspool plan $f --config config/haspool.example.yaml > tests/golden/plan-$f.txt; done
#   for n in alpha beta; do haspool plan resolve --discard $n --config config/haspool.example.yaml \
#       > tests/golden/plan-resolve-discard-$n.txt; done
#   haspool plan takeover --verbose --config tests/golden/fence-hooks.yaml > tests/golden/plan-takeover-verbose.txt
source "$(dirname "$0")/../lib.sh"
EX="$HASPOOL_SOURCE_DIR/config/haspool.example.yaml"
GOLD="$HASPOOL_SOURCE_DIR/tests/golden"

for flow in start mirror takeover raw-takeover switchover failback lose-x halt; do
    run_capture "$flow" "$HASPOOL" plan "$flow" --config "$EX"
    expect_rc 0 "$flow"
    diff -u "$GOLD/plan-$flow.txt" "$T_DIR/$flow.out" >"$T_DIR/$flow.diff" ||
        fail "plan $flow differs from $GOLD/plan-$flow.txt:
$(cat "$T_DIR/$flow.diff")"
done

# Split brain: the discarded side releases everything and records the discard; the kept side's
# follow-up adds the discarded disk in full (never a re-add).
for n in alpha beta; do
    run_capture "resolve-$n" "$HASPOOL" plan resolve --discard "$n" --config "$EX"
    expect_rc 0 "resolve-$n"
    diff -u "$GOLD/plan-resolve-discard-$n.txt" "$T_DIR/resolve-$n.out" >"$T_DIR/resolve-$n.diff" ||
        fail "plan resolve --discard $n differs from $GOLD/plan-resolve-discard-$n.txt:
$(cat "$T_DIR/resolve-$n.diff")"
    grep -q "ReAddMember\|MergeBitmap" "$T_DIR/resolve-$n.out" && fail "plan resolve --discard $n re-adds the discarded disk"
done
# The raw takeover marks before it maps or mounts anything, and its failback never re-adds X.
mark=$(grep -n "MarkRawWrites" "$T_DIR/raw-takeover.out" | head -1 | cut -d: -f1)
map=$(grep -n "MapRaw" "$T_DIR/raw-takeover.out" | head -1 | cut -d: -f1)
[ -n "$mark" ] && [ -n "$map" ] && [ "$mark" -lt "$map" ] || fail "plan raw-takeover does not mark before MapRaw"
sed -n '/failback, X added in full/,$p' "$T_DIR/raw-takeover.out" | grep -q "ReAddMember\|MergeBitmap" &&
    fail "plan raw-takeover's failback re-adds X"
# A lost X is marked before md lets go of it, and it is only ever copied in full (never re-added).
mark=$(grep -n "MarkXLost" "$T_DIR/lose-x.out" | head -1 | cut -d: -f1)
failx=$(grep -n "FailMember" "$T_DIR/lose-x.out" | head -1 | cut -d: -f1)
[ -n "$mark" ] && [ -n "$failx" ] && [ "$mark" -lt "$failx" ] || fail "plan lose-x does not mark X lost before FailMember"
grep -q "ReAddMember\|MergeBitmap\|BumpGeneration" "$T_DIR/lose-x.out" && fail "plan lose-x re-adds X or mints a generation"
run_capture resolve-nodiscard "$HASPOOL" plan resolve --config "$EX"
expect_rc 2 resolve-nodiscard
expect_in resolve-nodiscard err "--discard NODE goes with the resolve flow"
run_capture resolve-unknown "$HASPOOL" plan resolve --discard gamma --config "$EX"
expect_rc 2 resolve-unknown
expect_in resolve-unknown err "--discard gamma names none of the nodes"

# --verbose prints each step in full, exactly what is run: with a fence command and hooks, their
# environment; every step's timeouts and devices. The one-line form is its prefix, step by step.
run_capture verbose "$HASPOOL" plan takeover --verbose --config "$GOLD/fence-hooks.yaml"
expect_rc 0 verbose
diff -u "$GOLD/plan-takeover-verbose.txt" "$T_DIR/verbose.out" >"$T_DIR/verbose.diff" ||
    fail "plan takeover --verbose differs from $GOLD/plan-takeover-verbose.txt:
$(cat "$T_DIR/verbose.diff")"
run_capture terse "$HASPOOL" plan takeover --config "$GOLD/fence-hooks.yaml"
expect_rc 0 terse
paste -d '\n' "$T_DIR/terse.out" "$T_DIR/verbose.out" | while IFS= read -r short && IFS= read -r full; do
    [ "${full#"$short"}" != "$full" ] || { echo "'$full' does not begin with '$short'"; exit 1; }
done >"$T_DIR/prefix.out" || fail "plan --verbose is not the one-line plan in full: $(cat "$T_DIR/prefix.out")"

# `haspool plan` alone (all) prints every flow, resolve for both nodes, in the order of --help.
run_capture all "$HASPOOL" plan --config "$EX"
expect_rc 0 all
cat "$GOLD"/plan-{start,mirror,takeover,raw-takeover,switchover,failback,lose-x}.txt "$GOLD"/plan-resolve-discard-{alpha,beta}.txt \
    "$GOLD"/plan-halt.txt >"$T_DIR/all.want"
diff -u "$T_DIR/all.want" "$T_DIR/all.out" >"$T_DIR/all.diff" || fail "plan (all) is not every flow in order:
$(cat "$T_DIR/all.diff")"
# Every Plans function a machine calls is printed by some flow.
for f in $(grep -o 'plans_\.[a-z_]*' "$HASPOOL_SOURCE_DIR"/agent/core/*_machine.cpp | sed 's/.*plans_\.//' | sort -u); do
    [ "$f" = raw_link ] && continue  # a path, not a plan
    grep -q "plans\.$f(" "$HASPOOL_SOURCE_DIR/agent/cli/cmd_plan.cpp" || fail "Plans::$f is run by a machine but no flow of haspool plan prints it"
done

# --node prints only that node's part.
run_capture only_b "$HASPOOL" plan failback --config "$EX" --node beta
expect_rc 0 only_b
expect_in only_b out "on beta (standby), handback:"
grep -q "on alpha" "$T_DIR/only_b.out" && fail "--node beta printed alpha's part"

run_capture badflow "$HASPOOL" plan sideways --config "$EX"
expect_rc 2 badflow
expect_in badflow err "unknown flow 'sideways'"
log "ok"
