#pragma once
// Runs an argv (no shell) with a deadline, capturing the tail of its output. Used for fence
// commands and hooks; the result names argv, exit status and output on failure.
#include <string>
#include <vector>

#include "types.hpp"

namespace haspool::agent {

struct CommandResult {
    bool ok = false;          // exited with status 0 in time
    std::string description;  // on failure: "'/usr/sbin/x a b' exited with status 3: <tail>"
};

CommandResult run_command(const std::vector<std::string>& argv, Millis timeout);

}  // namespace haspool::agent
