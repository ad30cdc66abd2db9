#include "agent/system/process_runner.hpp"

#include <cstring>

#include "agent/system/actions/command_runner.hpp"

namespace haspool::agent {

raid::CommandResult ProcessRunner::run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
    // The project's one process runner (actions::run_command), adapted to raid's seam.
    raid::CommandResult r;
    if (argv.empty()) {
        r.error = "was not given a program";
        return r;
    }
    actions::CommandSpec spec;
    spec.argv = argv;
    spec.timeout = timeout;
    spec.tail_bytes = 1 << 20;  // parsers read whole outputs (mdadm -X, --detail)
    actions::CommandResult a = actions::run_command(spec);
    r.output = a.stdout_tail + a.stderr_tail;
    switch (a.end) {
        case actions::CommandResult::End::exited:
            r.exit_status = a.exit_status;
            break;
        case actions::CommandResult::End::not_started:
            r.error = "could not be started: " + a.start_error;
            break;
        case actions::CommandResult::End::timed_out:
            r.error = "timed out after " + std::to_string(timeout.count()) + " ms and was killed";
            break;
        case actions::CommandResult::End::killed_by_signal:
            r.error = std::string("was killed by signal ") + strsignal(a.signal);
            break;
    }
    return r;
}

}  // namespace haspool::agent
