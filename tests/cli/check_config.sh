#!/usr/bin/env bash
# haspool check-config as an operator runs it: the example is valid; a file with several
# mistakes prints each with its YAML path and exits 2; a missing file and a YAML syntax error
# are named with file (and line/column).
source "$(dirname "$0")/../lib.sh"
EX="$HASPOOL_SOURCE_DIR/config/haspool.example.yaml"

run_capture example "$HASPOOL" check-config --config "$EX"
expect_rc 0 example
expect_in example out "primary alpha"
expect_in example out "standby beta"
expect_in example out "configuration is valid"

sed -e 's/interval_ms: 500/interval_ms: 200/' -e 's/dead_after_ms: 3000/dead_after_ms: 300/' \
    -e 's/^  port: 10809/  port: 99999/' -e 's/policy: manual/policy: sometimes/' \
    -e 's/^  name: mailspool/  name: mailspool\n  nmae: typo/' "$EX" >"$T_DIR/bad.yaml"
run_capture bad "$HASPOOL" check-config --config "$T_DIR/bad.yaml"
expect_rc 2 bad
expect_in bad err "heartbeat.dead_after_ms"
expect_in bad err "must be at least 3 × interval_ms (got 300 with interval 200)"
expect_in bad err "nbd.port"
expect_in bad err "failback.policy"
expect_in bad err "cluster.nmae"
expect_in bad err "did you mean 'name'?"

run_capture missing "$HASPOOL" check-config --config "$T_DIR/none.yaml"
expect_rc 2 missing
expect_in missing err "cannot read $T_DIR/none.yaml: No such file or directory"

printf 'cluster:\n  name: [oops\n' >"$T_DIR/syntax.yaml"
run_capture syntax "$HASPOOL" check-config --config "$T_DIR/syntax.yaml"
expect_rc 2 syntax
grep -qE "syntax.yaml:[0-9]+:[0-9]+: YAML syntax error" "$T_DIR/syntax.err" || fail "no file:line:col in: $(cat "$T_DIR/syntax.err")"

# As a named node, host-local checks run: the example's secret file does not exist here.
run_capture as_node "$HASPOOL" check-config --config "$EX" --node beta
expect_rc 2 as_node
expect_in as_node err "cluster.secret_file"

# With a proper secret file and device the node passes.
head -c 32 /dev/urandom >"$T_DIR/secret"; chmod 600 "$T_DIR/secret"
truncate -s 1M "$T_DIR/y.img"
sed -e "s|/etc/haspool/secret|$T_DIR/secret|" -e "s|spool_device: /dev/vdb |spool_device: $T_DIR/y.img |" "$EX" >"$T_DIR/ok.yaml"
mkdir -p "$T_DIR/etc/mdadm"; echo "AUTO -all" >"$T_DIR/etc/mdadm/mdadm.conf"; : >"$T_DIR/etc/fstab"
run_capture ok "$HASPOOL" check-config --config "$T_DIR/ok.yaml" --node beta --etc-root "$T_DIR"
expect_rc 0 ok
expect_in ok out "this host is standby beta"
chmod 644 "$T_DIR/secret"
run_capture open "$HASPOOL" check-config --config "$T_DIR/ok.yaml" --node beta --etc-root "$T_DIR"
expect_rc 2 open
expect_in open err "accessible by group or others (mode 0644)"
log "ok"
