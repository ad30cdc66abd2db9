#pragma once
// raid's CommandRunner seam, provided by the system layer: the project's one process runner
// (actions::run_command: argv looked up in a fixed PATH, clean environment, the process group
// SIGKILLed when the timeout passes), with whole outputs kept for the parsers (mdadm -X, --detail).
#include "raid/command_runner.hpp"

namespace haspool::agent {

class ProcessRunner final : public raid::CommandRunner {
public:
    raid::CommandResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) override;
};

}  // namespace haspool::agent
