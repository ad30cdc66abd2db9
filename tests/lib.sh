# Shared helpers for haspool's shell tests. Source it; then use `requires`, `defer`, `expect_*`.
# Helpers shared by the tests of one area live beside them as lib_AREA.sh (tests/vm/lib_vm.sh,
# tests/integration/lib_pair.sh, tests/integration/actions/lib_actions.sh) and are sourced after
# this file (lib_vm.sh sources it itself).
#
# Cleanup: every resource a test creates is pushed on a stack with `defer CMD...`; the stack runs
# in reverse on any exit (success, failure, signal), so namespaces, loop devices, mounts and
# processes go away even when an assertion fails. Processes are stopped by the PID we started,
# never by name.
set -u -o pipefail

: "${HASPOOL:?HASPOOL must point at the haspool binary}"
: "${HASPOOL_SOURCE_DIR:?}"

T_NAME=$(basename "$0" .sh)
T_DIR=$(mktemp -d "/tmp/haspool-${T_NAME}-XXXXXX")
_defer_stack=()
_in_cleanup=0
_killed=()          # what stop_pid had to SIGKILL: each fails the test
exec {_T_STDERR}>&2  # cleanup runs with stderr silenced; its verdicts must still be seen

defer() { _defer_stack+=("$(printf '%q ' "$@")"); }

_run_deferred() {
    local rc=$?
    local i
    _in_cleanup=1
    for ((i = ${#_defer_stack[@]} - 1; i >= 0; i--)); do
        eval "${_defer_stack[i]}" >/dev/null 2>&1 || true
    done
    rm -rf "$T_DIR"
    if [ "${#_killed[@]}" -gt 0 ] && { [ "$rc" = 0 ] || [ "$rc" = 77 ]; }; then
        printf '[%s] FAIL: %d process(es) did not stop on SIGTERM and were SIGKILLed\n' "$T_NAME" "${#_killed[@]}" >&"$_T_STDERR"
        rc=1
    fi
    exit "$rc"
}
trap _run_deferred EXIT
trap 'exit 130' INT TERM

log() { printf '[%s] %s\n' "$T_NAME" "$*" >&2; }
fail() { printf '[%s] FAIL: %s\n' "$T_NAME" "$*" >&2; exit 1; }
skip() { printf '[%s] SKIP: %s\n' "$T_NAME" "$*" >&2; exit 77; }

# requires CMD...: skip (exit 77) unless every command exists.
requires() {
    local c
    for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "needs $c"; done
}
requires_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }

# run_capture NAME CMD...: runs CMD, saving stdout/stderr in $T_DIR/NAME.{out,err}; sets $rc.
run_capture() {
    local name=$1; shift
    rc=0
    "$@" >"$T_DIR/$name.out" 2>"$T_DIR/$name.err" || rc=$?
}

expect_rc() {  # expect_rc WANT NAME: the last run_capture NAME exited WANT
    [ "$rc" = "$1" ] || fail "$2: exit status $rc, expected $1; stderr: $(tail -5 "$T_DIR/$2.err")"
}

expect_in() {  # expect_in NAME out|err TEXT: fixed TEXT appears in the captured stream
    grep -qF -- "$3" "$T_DIR/$1.$2" || fail "$1: expected in std$2: '$3'; got: $(cat "$T_DIR/$1.$2")"
}

# start_bg NAME CMD...: starts CMD in the background (logs in $T_DIR/NAME.log) and defers
# stopping it by PID; the PID is in $T_DIR/NAME.pid and $last_pid.
start_bg() {
    local name=$1; shift
    "$@" >"$T_DIR/$name.log" 2>&1 &
    last_pid=$!
    echo "$last_pid" >"$T_DIR/$name.pid"
    defer stop_pid "$last_pid"
}

# _running PID: the process exists and is not a zombie (one that exited but is not reaped yet).
_running() {
    local st
    st=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

# stop_pid PID: SIGTERM, wait up to 5 s for it to exit. Only ever a PID we started. What we
# start must exit on SIGTERM: one that is still running after the grace is SIGKILLed and the
# test fails, naming its PID and command line (at once in the test's body; from the cleanup
# stack, once every deferred command has run). A deliberate SIGKILL (a crash the test injects)
# is not a stop: send it with kill -KILL.
stop_pid() {
    local pid=$1 i cmd msg
    _running "$pid" || return 0
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 50); do _running "$pid" || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    msg="PID $pid did not exit within 5 s of SIGTERM and was SIGKILLed: ${cmd% }"
    _killed+=("$msg")
    if [ "$_in_cleanup" = 1 ]; then
        printf '[%s] FAIL: %s\n' "$T_NAME" "$msg" >&"$_T_STDERR"
    else
        fail "$msg"
    fi
}

# wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds; fails the test on timeout.
wait_for() {
    local limit=$1; shift
    local deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${limit}s waiting for: $*"
        sleep 0.1
    done
}

# free_port: prints a TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# listening PORT: true when something listens on TCP PORT (without connecting to it).
listening() { ss -ltnH "sport = :$1" | grep -q .; }
