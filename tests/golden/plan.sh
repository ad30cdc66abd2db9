#!/usr/bin/env bash
# `haspool plan` for config/haspool.example.yaml, compared with the pinned transcripts
# tests/golden/plan-*.txt: the order of every flow's steps is part of the design (DESIGN §4).
# After an intended change, regenerate with:
#   for f in takeover failback switchover raw-takeover; do haspool plan $f --config config/haspool.example.yaml \
#       > tests/golden/plan-$f.txt; done
#   for n in alpha beta; do haspool plan resolve --discard $n --config config/haspool.example.yaml \
#       > tests/golden/plan-resolve-discard-$n.txt; done
source "$(dirname "$0")/../lib.sh"
EX="$HASPOOL_SOURCE_DIR/config/haspool.example.yaml"
GOLD="$HASPOOL_SOURCE_DIR/tests/golden"

for flow in takeover failback switchover raw-takeover; do
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
run_capture resolve-nodiscard "$HASPOOL" plan resolve --config "$EX"
expect_rc 2 resolve-nodiscard
expect_in resolve-nodiscard err "--discard NODE goes with the resolve flow"
run_capture resolve-unknown "$HASPOOL" plan resolve --discard gamma --config "$EX"
expect_rc 2 resolve-unknown
expect_in resolve-unknown err "--discard gamma names none of the nodes"

# --node prints only that node's part.
run_capture only_b "$HASPOOL" plan failback --config "$EX" --node beta
expect_rc 0 only_b
expect_in only_b out "on beta (standby), handback:"
grep -q "on alpha" "$T_DIR/only_b.out" && fail "--node beta printed alpha's part"

run_capture badflow "$HASPOOL" plan sideways --config "$EX"
expect_rc 2 badflow
expect_in badflow err "unknown flow 'sideways'"
log "ok"
