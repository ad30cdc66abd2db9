#!/usr/bin/env bash
# The command line itself: --version, --help per command, usage errors exit 2, and commands
# not built yet say so and exit 3 (never pretend).
source "$(dirname "$0")/../lib.sh"
EX="$HASPOOL_SOURCE_DIR/config/haspool.example.yaml"

run_capture version "$HASPOOL" --version
expect_rc 0 version
grep -qE '^haspool [0-9]+\.[0-9]+\.[0-9]+$' "$T_DIR/version.out" || fail "version: $(cat "$T_DIR/version.out")"

run_capture help "$HASPOOL" --help
expect_rc 0 help
for c in primary standby check-config status plan export switchover failback resolve drill; do
    expect_in help out "  $c"
done

for c in primary standby check-config; do
    run_capture "help-$c" "$HASPOOL" "$c" --help
    expect_rc 0 "help-$c"
    expect_in "help-$c" out "Usage: haspool $c"
    expect_in "help-$c" out "--config"
done
expect_in help-primary out "--init"

run_capture unknown "$HASPOOL" frobnicate
expect_rc 2 unknown
expect_in unknown err "unknown command 'frobnicate'"

run_capture badopt "$HASPOOL" check-config --config "$EX" --bogus
expect_rc 2 badopt
expect_in badopt err "Try 'haspool check-config --help'"

run_capture noconfig "$HASPOOL" primary
expect_rc 2 noconfig
expect_in noconfig err "config"

run_capture wrongrole "$HASPOOL" standby --config "$EX" --node alpha
expect_rc 2 wrongrole
expect_in wrongrole err "node alpha has role primary"

# Every command this build does not implement yet must say so and exit 3. Remove a command
# from this list in the change that implements it.
for c in status plan switchover failback resolve drill; do
    run_capture "later-$c" "$HASPOOL" "$c"
    expect_rc 3 "later-$c"
    expect_in "later-$c" err "not available yet"
done
log "ok"
