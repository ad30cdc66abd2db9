#pragma once
// Reads the YAML cluster file into a Config and validates it.
//
// Every problem is collected (not just the first), each with its YAML path ("nbd.port",
// "nodes[1].addresses.service") and the line/column it came from, so an operator fixes the
// whole file in one pass. Nothing here touches the host: host-local checks (secret file,
// devices, which node we are) live in host_check.hpp.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace haspool::config {

struct Problem {
    std::string path;     // YAML path, e.g. "heartbeat.dead_after_ms"; empty for file-level
    std::string message;  // a sentence for the operator
    int line = 0;         // 1-based; 0 when unknown
    int column = 0;

    std::string to_string() const;  // "heartbeat.dead_after_ms (line 12): must be ..."
};

struct LoadResult {
    std::optional<Config> config;  // set only when there are no errors
    std::vector<Problem> errors;
    std::vector<Problem> warnings;
};

LoadResult load_file(const std::string& file);
LoadResult load_string(std::string_view yaml, const std::string& source_name);

// Address helpers shared with the host checks and the agents.
bool is_ip_address(const std::string& s);
bool is_cidr(const std::string& s);

}  // namespace haspool::config
