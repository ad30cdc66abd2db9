#!/usr/bin/env bash
# The command runner with real processes: exit status and output tails in the error, signals,
# an explicit environment, and a timeout that kills the command's whole process group.
source "$(dirname "$0")/../../lib.sh"
source "$(dirname "$0")/lib_actions.sh"
requires sh ps

# --- status and both output tails travel in the error sentence
action status run 5000 -- sh -c 'echo first; echo out-line; echo err-line >&2; exit 7'
expect_rc 1 status
expect_in status err "error: 'sh -c 'echo first; echo out-line; echo err-line >&2; exit 7'' exited with status 7; stderr: err-line; stdout: first | out-line"

# --- success
action success run 5000 -- true
expect_rc 0 success
expect_in success out "ok: 'true' exited with status 0; no output"

# --- only the tail of a long output is kept
action long run 5000 -- sh -c 'seq 1 100000; exit 1'
expect_rc 1 long
expect_in long err "stdout: 99995 | 99996 | 99997 | 99998 | 99999 | 100000"

# --- a signal is reported as a signal, not as an exit status
action signal run 5000 -- sh -c 'kill -TERM $$'
expect_rc 1 signal
expect_in signal err "was killed by signal 15 (Terminated)"

# --- the child's environment is the documented one, not ours
export HASPOOL_TEST_MARKER=leaked HOME=/root
action env run 5000 -- env
expect_rc 0 env
expect_in env out "stdout: LC_ALL=C | PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
grep -q 'HASPOOL_TEST_MARKER\|HOME=' "$T_DIR/env.out" && fail "the agent's environment leaked: $(cat "$T_DIR/env.out")"

# --- a command that is not there
action missing run 5000 -- haspool-no-such-command
expect_rc 1 missing
expect_in missing err "'haspool-no-such-command' could not be started: command not found in PATH="

# --- timeout: the command and what it started (same process group) are killed
action timeout run 500 -- sh -c 'sleep 300 & echo $! > "$0"; sleep 300' "$T_DIR/grandchild.pid"
expect_rc 1 timeout
expect_in timeout err "timed out after 500 ms and was killed (SIGKILL to its process group)"
gc=$(cat "$T_DIR/grandchild.pid")
wait_for 10 process_dead "$gc"

# --- a command that closes its output but keeps running is still timed out
action closed run 500 -- sh -c 'exec >&- 2>&-; sleep 300'
expect_rc 1 closed
expect_in closed err "timed out after 500 ms"
# --- a command that leaves a background child holding its output returns with its own status
#     (the child is left alone; we stop it here by the PID it wrote)
action background run 60000 -- sh -c 'sleep 300 & echo $! > "$0"; echo started' "$T_DIR/bg.pid"
bg=$(cat "$T_DIR/bg.pid")
defer kill "$bg"
expect_rc 0 background
expect_in background out "ok: 'sh -c 'sleep 300 & echo \$! > \"\$0\"; echo started' $T_DIR/bg.pid' exited with status 0; stdout: started"
kill -0 "$bg" 2>/dev/null || fail "the background child was killed"
log "ok"
