#!/usr/bin/env bash
# systemd units where there is no systemd: the error says so explicitly, for a missing bus and
# for a bus without org.freedesktop.systemd1. (Start/stop against a bus that has one:
# test_systemd_units_fake; against the real systemd: the VM lab.)
source "$(dirname "$0")/../../lib.sh"
source "$(dirname "$0")/lib_actions.sh"

# --- no bus at all
DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T_DIR/no-bus" run_capture nobus "$HASPOOL_ACTION" unit-start postfix.service 2000
expect_rc 1 nobus
expect_in nobus err "error: cannot start unit 'postfix.service': no systemd system bus: cannot connect to unix:path=$T_DIR/no-bus: No such file or directory"
if [ ! -d /run/systemd/system ]; then
    expect_in nobus err "(this host was not booted with systemd: no systemd as PID 1)"
fi
DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T_DIR/no-bus" run_capture nobus-state "$HASPOOL_ACTION" unit-state postfix.service
expect_rc 1 nobus-state
expect_in nobus-state err "cannot look up unit 'postfix.service': no systemd system bus"

# --- a bus, but nobody owns org.freedesktop.systemd1
if command -v dbus-daemon >/dev/null; then
    start_bg dbus dbus-daemon --session --nofork --print-address=1
    wait_for 10 grep -q '^unix:' "$T_DIR/dbus.log"
    addr=$(head -1 "$T_DIR/dbus.log")
    DBUS_SYSTEM_BUS_ADDRESS=$addr run_capture nosystemd "$HASPOOL_ACTION" unit-stop postfix.service 2000
    expect_rc 1 nosystemd
    expect_in nosystemd err "cannot look up unit 'postfix.service': no systemd on the system bus (org.freedesktop.systemd1 is not there"
else
    log "dbus-daemon missing: the bus-without-systemd case is skipped"
fi
log "ok"
