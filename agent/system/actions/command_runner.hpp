#pragma once
// Runs an external command: an argv vector (never a shell), an explicit environment, a timeout
// after which the command's whole process group is killed, and the tail of its stdout/stderr.
//
// Environment: a child never inherits the agent's environment (NOTIFY_SOCKET, WATCHDOG_USEC,
// credentials, a user's locale). It gets base_environment() — PATH and LC_ALL=C, so tools print
// the messages we quote in errors in one language — plus the variables the caller adds
// (hooks and fence add HASPOOL_*). docs/actions.md lists them all.
//
// The call blocks until the command ended (or was killed): a daemon runs it on a worker thread.
// Output that background children of the command (which inherit its stdout/stderr) write more
// than 0.5 s after the command exited is not read; those children are left alone.
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace haspool::actions {

using Environment = std::map<std::string, std::string>;

// PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin and LC_ALL=C.
Environment base_environment();

struct CommandSpec {
    std::vector<std::string> argv;           // argv[0] without '/' is looked up in the PATH above
    Environment extra_env;                   // added to (and overriding) base_environment()
    std::chrono::milliseconds timeout{30000};
    std::size_t tail_bytes = 4096;           // how much of the end of stdout/stderr to keep
    // While the command runs, on_tick is called every tick_interval (e.g. to send
    // EXTEND_TIMEOUT_USEC to systemd during a long e2fsck). Zero interval: never.
    std::chrono::milliseconds tick_interval{0};
    std::function<void()> on_tick;
};

struct CommandResult {
    enum class End { exited, killed_by_signal, timed_out, not_started };

    std::vector<std::string> argv;
    End end = End::not_started;
    int exit_status = -1;        // End::exited
    int signal = 0;              // End::killed_by_signal (and the SIGKILL we sent on timeout)
    std::string start_error;     // End::not_started: why (not found, exec failed)
    std::string stdout_tail;
    std::string stderr_tail;
    std::chrono::milliseconds elapsed{0};
    std::chrono::milliseconds timeout{0};
    // End::timed_out only: the process had not exited 2 s after SIGKILL (stuck in the kernel,
    // e.g. on a dead device); it was left behind rather than waited for.
    bool still_running = false;

    bool exited_with(int status) const { return end == End::exited && exit_status == status; }
    bool succeeded() const { return exited_with(0); }
    // One sentence: "'e2fsck -p /dev/loop3' exited with status 4; output: ...last lines...".
    std::string describe() const;
};

CommandResult run_command(const CommandSpec& spec);

// "'e2fsck' '-p' ..." style rendering for messages: words quoted only when they need it.
std::string render_argv(const std::vector<std::string>& argv);

// The last `max_lines` non-empty lines of `text`, joined with " | " (for one-line errors).
std::string last_lines(const std::string& text, std::size_t max_lines);

}  // namespace haspool::actions
