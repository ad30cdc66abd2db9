#pragma once
// Running external tools (mdadm, blkid) as argv vectors: no shell, bounded in time, output kept
// for error sentences. CommandRunner is the seam tests replace with a fake.
#include <chrono>
#include <string>
#include <vector>

namespace haspool::raid {

struct CommandResult {
    int exit_status = -1;  // -1: it did not run to completion (see error)
    std::string output;    // stdout and stderr, interleaved
    std::string error;     // why it did not run to completion (cannot start, killed, timed out)
};

class CommandRunner {
public:
    virtual ~CommandRunner() = default;
    virtual CommandResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) = 0;
};

// The real runner: agent/actions/command_runner underneath (argv looked up in a fixed PATH,
// clean environment, the process group SIGKILLed when the timeout passes).
class ProcessRunner final : public CommandRunner {
public:
    CommandResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) override;
};

// "'mdadm --stop /dev/md0' exited with status 1: mdadm: Cannot get exclusive access..." (the
// last lines of the output).
std::string describe_failure(const std::vector<std::string>& argv, const CommandResult& r);
std::string join_argv(const std::vector<std::string>& argv);

}  // namespace haspool::raid
