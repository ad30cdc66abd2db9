#!/usr/bin/env bash
# The mail-spool failover drill on real postfix (docs/drill.md), through the command users run:
# `haspool drill` finds scripts/drill (via $HASPOOL_SOURCE_DIR) and runs it with this binary as
# the mail client. The guests install the package that the package_deb test built (fixture
# haspool_deb). The drill fails on any acknowledged message lost or damaged, and on any sample
# where both guests held the spool or the service address; it skips (77) without root or QEMU.
deb=$(ls "$HASPOOL_BINARY_DIR"/package/haspool_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { echo "[drill] FAIL: no package in $HASPOOL_BINARY_DIR/package (the package_deb test makes it)" >&2; exit 1; }
# Rounds a, b, d and e here: round c (a switchover there and back) costs two starts of postfix
# (about 2 min under TCG) and the switchover is proven by vm_daemon_failback; the whole suite
# must stay under 50 min. `haspool drill` and scripts/demo run every round.
exec "$HASPOOL" drill --deb "$deb" --json "$HASPOOL_BINARY_DIR/drill-report.json" --rounds "${HASPOOL_DRILL_CI_ROUNDS:-a,b,d,e}"
