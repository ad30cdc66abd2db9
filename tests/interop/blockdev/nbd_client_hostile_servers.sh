#!/usr/bin/env bash
# The primary's NBD client handshake against hostile or broken servers, on 127.0.0.1 (issue 18,
# item 4): nbdkit's delay filter holding the open past the handshake timeout, a plugin refusing
# the open, the error and pause filters (the handshake needs no data; data faults are for the
# kernel's io_timeout), and tests/interop/blockdev/hostile_nbd_server.py breaking the handshake
# one way per case. Every failing case must end with its own sentence, a stall must end at the
# handshake timeout ("timed out", the deadline's word), and nothing may pass that would leave
# unread bytes in the socket the kernel is handed.
source "$(dirname "$0")/../../lib.sh"
requires nbdkit python3
: "${NBD_PROBE:?NBD_PROBE must point at nbd_handshake_probe}"
here=$(dirname "$0")

# probe NAME PORT: the handshake for export disk-y with a 1 s timeout, captured as NAME.
probe() { run_capture "$1" "$NBD_PROBE" 127.0.0.1 "$2" disk-y --timeout-ms 1000; }

# nbdkit MODE-NAME ARGS...: nbdkit on a free port ($port) with ARGS (filters, plugin, params).
nbdkit_on() {
    local name=$1; shift
    port=$(free_port)
    start_bg "$name" nbdkit -f -i 127.0.0.1 -p "$port" "$@"
    wait_for 10 listening "$port"
}

# The open held 5 s by the delay filter: the GO reply never comes within the 1 s timeout.
nbdkit_on delay-open --filter=delay memory 1M delay-open=5
probe delay-open "$port"
expect_rc 1 delay-open
expect_in delay-open err "timed out waiting for the NBD_OPT_GO reply"

# A plugin whose open fails: the server refuses the export, and says so.
nbdkit_on open-fails eval get_size='echo 1M' open='echo "EACCES no access" >&2; exit 1' pread='exit 1'
probe open-fails "$port"
expect_rc 1 open-fails
expect_in open-fails err "NBD server refused export 'disk-y' with NBD_REP_ERR_UNKNOWN"

# Every read and write failing (error filter), or requests paused (pause filter): the handshake
# asks for no data, so it completes; what follows is the kernel's, bounded by nbd.io_timeout_ms.
nbdkit_on errors --filter=error memory 1M error-rate=100% error=EIO
probe errors "$port"
expect_rc 0 errors
expect_in errors out "size=1048576"
ctl="$T_DIR/pause.sock"
nbdkit_on paused --filter=pause memory 1M pause-control="$ctl"
wait_for 10 test -S "$ctl"
paused=$(python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"p"); print(s.recv(1).decode())' "$ctl")
[ "$paused" = P ] || fail "the pause filter did not pause (answered '$paused')"
probe paused "$port"
expect_rc 0 paused
expect_in paused out "size=1048576"

# hostile MODE EXPECTED: the hostile server in MODE; the probe fails with EXPECTED in stderr.
# The server binds a port the kernel picks and names it (a port free_port found free could be
# taken before python binds it); 30 s is for python's start on a loaded host.
hostile() {
    local mode=$1 want=$2
    local log="$T_DIR/hostile-$1.log"
    start_bg "hostile-$mode" python3 "$here/hostile_nbd_server.py" 0 "$mode"
    wait_for 30 grep -q '^listening [0-9]' "$log"
    port=$(awk '/^listening/ { print $2; exit }' "$log")
    probe "$mode" "$port"
    expect_rc 1 "$mode"
    expect_in "$mode" err "$want"
}
hostile silent "timed out waiting for the NBD greeting"
hostile trickle "timed out waiting for the NBD greeting"
hostile endless-info "timed out"
hostile close-after-greeting "server closed the connection"
hostile oldstyle "old-style protocol"
hostile no-fixed-newstyle "does not offer fixed newstyle negotiation"
hostile bad-reply-magic "bad option reply magic"
hostile wrong-option "NBD server answered option 6 to NBD_OPT_GO"
hostile huge-reply "NBD server sent a 2147483647-byte option reply, limit 65536"
hostile short-reply-close "server closed the connection reading the NBD_OPT_GO reply"
hostile unexpected-reply-type "unexpected reply type 5 to NBD_OPT_GO"
hostile no-export-info "acknowledged NBD_OPT_GO without sending NBD_INFO_EXPORT"
hostile short-info-export "malformed NBD_INFO_EXPORT"
hostile size-zero "has size 0"
hostile no-flags "without NBD_FLAG_HAS_FLAGS"
hostile bad-block-sizes "inconsistent block sizes: min=3000"
hostile garbage-after-ack "sent 16 bytes after its last handshake reply"
log "ok"
