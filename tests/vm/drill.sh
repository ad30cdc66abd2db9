#!/usr/bin/env bash
# The mail-spool failover drill, through the command users run: `haspool drill` finds
# scripts/drill (via $HASPOOL_SOURCE_DIR) and runs it with this binary. The drill fails on any
# acknowledged message missing from the standby's spool after the primary's crash, and when
# mail is not accepted again after the takeover; it skips (77) without root or QEMU.
exec "$HASPOOL" drill
