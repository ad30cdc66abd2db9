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
for c in primary standby check-config status events plan export switchover failback resolve drill; do
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

# without --config every command reads /etc/haspool/haspool.yaml (where the package puts it)
if [ ! -e /etc/haspool/haspool.yaml ]; then
    run_capture noconfig "$HASPOOL" primary
    expect_rc 2 noconfig
    expect_in noconfig err "/etc/haspool/haspool.yaml"
fi

run_capture wrongrole "$HASPOOL" standby --config "$EX" --node alpha
expect_rc 2 wrongrole
expect_in wrongrole err "node alpha has role primary"

# status/switchover/failback/resolve talk to the local daemon; with none running they say so (exit 1).
sed "s|/run/haspool/control.sock|$T_DIR/none.sock|" "$EX" >"$T_DIR/nodaemon.yaml"
for c in status switchover failback "resolve --discard beta"; do
    n=${c%% *}
    run_capture "nodaemon-$n" "$HASPOOL" $c --config "$T_DIR/nodaemon.yaml"
    expect_rc 1 "nodaemon-$n"
    expect_in "nodaemon-$n" err "cannot reach the daemon at $T_DIR/none.sock"
done

# switchover/failback --wait: --timeout only with --wait, within bounds; nothing sent otherwise.
# With --wait and no daemon, the request itself fails (exit 1) and nothing is followed.
for n in switchover failback; do
    run_capture "$n-timeout-alone" "$HASPOOL" "$n" --timeout 5 --config "$T_DIR/nodaemon.yaml"
    expect_rc 2 "$n-timeout-alone"
    expect_in "$n-timeout-alone" err "--timeout goes with --wait"
    run_capture "$n-timeout-bad" "$HASPOOL" "$n" --wait --timeout -1 --config "$T_DIR/nodaemon.yaml"
    expect_rc 2 "$n-timeout-bad"
    expect_in "$n-timeout-bad" err "--timeout must be between 0 and 604800 seconds"
    run_capture "$n-wait-nodaemon" "$HASPOOL" "$n" --wait --config "$T_DIR/nodaemon.yaml"
    expect_rc 1 "$n-wait-nodaemon"
    expect_in "$n-wait-nodaemon" err "cannot reach the daemon at $T_DIR/none.sock"
    run_capture "$n-help" "$HASPOOL" "$n" --help
    expect_in "$n-help" out "--wait"
done

# resolve: --discard is required and must name a node of the config; nothing is sent otherwise.
run_capture help-resolve "$HASPOOL" resolve --help
expect_rc 0 help-resolve
expect_in help-resolve out "Usage: haspool resolve --discard NODE"
run_capture resolve-nodiscard "$HASPOOL" resolve --config "$T_DIR/nodaemon.yaml"
expect_rc 2 resolve-nodiscard
expect_in resolve-nodiscard err "discard"
run_capture resolve-unknown "$HASPOOL" resolve --discard gamma --config "$T_DIR/nodaemon.yaml"
expect_rc 2 resolve-unknown
expect_in resolve-unknown err "--discard gamma names none of the nodes (alpha, beta)"
grep -q "cannot reach" "$T_DIR/resolve-unknown.err" && fail "resolve with an unknown node contacted the daemon"

# --log-level: a level by name, anything else refused before any work; --verbose is debug only
run_capture loglevel-bad "$HASPOOL" check-config --config "$EX" --node alpha --log-level loud
expect_rc 2 loglevel-bad
expect_in loglevel-bad err "--log-level 'loud' is not a level (debug, info, notice, warning, error, critical)"
run_capture loglevel-clash "$HASPOOL" check-config --config "$EX" --node alpha --log-level warning --verbose
expect_rc 2 loglevel-clash
expect_in loglevel-clash err "--verbose means --log-level debug, not warning"
run_capture loglevel-ok "$HASPOOL" plan takeover --config "$EX" --log-level warning
expect_rc 0 loglevel-ok
run_capture events-help "$HASPOOL" events --help
expect_rc 0 events-help
expect_in events-help out "Usage: haspool events [--config FILE] [--now]"
expect_in events-help out "--log-level LEVEL"

# status --watch: usage errors before any work; no daemon is a line per report and exit 1
run_capture watch-check "$HASPOOL" status --watch --check --config "$T_DIR/nodaemon.yaml"
expect_rc 2 watch-check
expect_in watch-check err "--watch and --check exclude each other"
run_capture watch-count "$HASPOOL" status --count 2 --config "$T_DIR/nodaemon.yaml"
expect_rc 2 watch-count
expect_in watch-count err "--interval and --count go with --watch"
run_capture watch-interval "$HASPOOL" status --watch --interval 0 --config "$T_DIR/nodaemon.yaml"
expect_rc 2 watch-interval
expect_in watch-interval err "--interval must be between 0.1 and 3600 seconds"
run_capture watch-nodaemon "$HASPOOL" status --watch --count 2 --interval 0.1 --config "$T_DIR/nodaemon.yaml"
expect_rc 1 watch-nodaemon
[ "$(grep -c '^cannot reach the daemon at ' "$T_DIR/watch-nodaemon.out")" = 2 ] ||
    fail "status --watch without a daemon: $(cat "$T_DIR/watch-nodaemon.out")"
[ "$(grep -c '^--- ' "$T_DIR/watch-nodaemon.out")" = 2 ] || fail "status --watch: no report headers: $(cat "$T_DIR/watch-nodaemon.out")"

# drill is a host-side script run by the binary (the VM drill itself is the vm test `vm_drill`)
run_capture drill-help "$HASPOOL" drill --help
expect_rc 0 drill-help
expect_in drill-help out "scripts/drill"
log "ok"
