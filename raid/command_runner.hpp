#pragma once
// Running external tools (mdadm, blkid) as argv vectors: no shell, bounded in time, output kept
// for error sentences. raid declares the CommandRunner it needs; the system layer provides the real
// one (agent/system/process_runner.hpp) and tests a fake, so raid depends on nothing above it.
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

// "'mdadm --stop /dev/md0' exited with status 1: mdadm: Cannot get exclusive access..." (the
// last lines of the output).
std::string describe_failure(const std::vector<std::string>& argv, const CommandResult& r);
std::string join_argv(const std::vector<std::string>& argv);

}  // namespace haspool::raid
