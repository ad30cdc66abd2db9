#!/usr/bin/env bash
# Issue 7, test 6, the other way round: the same split brain as daemon_split_brain.sh, settled
# with `haspool resolve --discard alpha` run on alpha. alpha stops serving, releases the array
# and the NBD leg and stands by with a blank X; beta serves on; `haspool failback` hands back
# and alpha fails back from Y, adding X in full (no bitmap merge, no re-add). Afterwards beta's
# split-brain files are on alpha, the ones alpha wrote on X alone are gone, and X == Y.
SPLIT_LOSER=alpha
source "$(dirname "$0")/daemon_split_brain.sh"
