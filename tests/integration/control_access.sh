#!/usr/bin/env bash
# Issue 17 item 4: who may use the control socket, end to end with the real CLI and daemon.
# beta runs with cluster.control_group: users (gid 100 on Debian) and its socket under a
# directory it creates; `haspool status` runs as nobody (uid 65534) through setpriv:
#   - with group users (supplementary): served;
#   - without: kept out by the socket's mode, with a hint saying who is admitted;
#   - with the mode loosened by hand: kept out by the kernel's credentials, answered
#     "refused: ...", exit 1, logged once with EVENT control-refused, and nothing changes;
#   - root is served throughout; a reload that changes the group is refused;
#   - check-config refuses a group the host lacks, with the groupadd that fixes it.
source "$(dirname "$0")/../lib.sh"
requires setpriv getent
getent group users >/dev/null || skip "this host has no group 'users'"
USERS_GID=$(getent group users | cut -d: -f3)
PAIR_EXTRA_YAML=""
source "$(dirname "$0")/lib_pair.sh"

# beta's socket one level down, in a directory the daemon makes; the config readable by
# the operator (the secret stays root's: status does not read it).
sed -i "s|  control_socket: .*|  control_socket: $T_DIR/run/beta.sock\n  control_group: users|" "$T_DIR/beta.yaml"
chmod 755 "$T_DIR"
chmod 644 "$T_DIR/beta.yaml"
"$HASPOOL" check-config --config "$T_DIR/beta.yaml" >/dev/null || fail "beta.yaml with control_group is invalid"

write_state beta 2 0 "adopted: mirrored with alpha"
start_bg beta ip netns exec "$NB" "$HASPOOL" standby --config "$T_DIR/beta.yaml" --node beta
BETA=$last_pid
wait_for 15 status_has beta "standby beta: EXPORTING"

[ "$(stat -c '%a %g' "$T_DIR/run")" = "750 $USERS_GID" ] || fail "socket directory: $(stat -c '%a %g' "$T_DIR/run")"
[ "$(stat -c '%a %g' "$T_DIR/run/beta.sock")" = "660 $USERS_GID" ] || fail "socket: $(stat -c '%a %g' "$T_DIR/run/beta.sock")"

as_nobody() {  # as_nobody GROUPS-OPTION... -- CMD...: the CLI as uid 65534
    local opts=()
    while [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    setpriv --reuid 65534 --regid 65534 "${opts[@]}" "$@"
}

run_capture member as_nobody --groups "$USERS_GID" -- "$HASPOOL" status --config "$T_DIR/beta.yaml"
expect_rc 0 member
expect_in member out "standby beta: EXPORTING"

run_capture outsider as_nobody --clear-groups -- "$HASPOOL" status --config "$T_DIR/beta.yaml"
expect_rc 1 outsider
expect_in outsider err "Permission denied (the control socket admits root and the members of cluster.control_group)"

# The second fence: with the modes loosened, the credentials still keep nobody out, and a
# command that would change something is never run.
chmod 755 "$T_DIR/run"
chmod 666 "$T_DIR/run/beta.sock"
run_capture refused as_nobody --clear-groups -- "$HASPOOL" switchover --config "$T_DIR/beta.yaml"
expect_rc 1 refused
expect_in refused out "refused: uid 65534 is neither root nor in group users"
[ "$(grep -c 'control socket: refused uid 65534' "$T_DIR/beta.log")" = 1 ] ||
    fail "expected one refusal in beta's log: $(grep 'control socket' "$T_DIR/beta.log")"
grep -F "command 'switchover': uid 65534 is neither root nor in group users" "$T_DIR/beta.log" >/dev/null ||
    fail "the refusal does not name the command: $(grep 'control socket' "$T_DIR/beta.log")"
grep -F "switchover" "$T_DIR/beta.log" | grep -v "control socket: refused" && fail "the refused switchover reached the daemon"
status_has beta "standby beta: EXPORTING" || fail "beta changed state after a refused command"

run_capture root "$HASPOOL" status --config "$T_DIR/beta.yaml"
expect_rc 0 root
expect_in root out "standby beta: EXPORTING"

# A reload cannot change who may connect: the socket's group was set when it was made.
sed -i "s|  control_group: users|  control_group: root|" "$T_DIR/beta.yaml"
kill -HUP "$BETA"
wait_for 10 log_has beta "control_socket or control_group changed (a restart applies those)"
run_capture member2 as_nobody --groups "$USERS_GID" -- "$HASPOOL" status --config "$T_DIR/beta.yaml"
expect_rc 0 member2

# A group this host lacks: check-config says so and how to fix it (the daemon's ExecStartPre).
sed -i "s|  control_group: root|  control_group: haspool-no-such-group|" "$T_DIR/beta.yaml"
run_capture nogroup "$HASPOOL" check-config --config "$T_DIR/beta.yaml" --node beta
expect_rc 2 nogroup
expect_in nogroup err "groupadd --system haspool-no-such-group"
log "passed: member served, outsider kept out by mode and by credentials, refusal logged once, reload refused, unknown group refused"
