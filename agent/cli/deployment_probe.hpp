#pragma once
// check-config's probe of this host: the side effects behind the deployment checks. It reads
// the host's files (config/host_files.hpp), runs the commands the checks ask for
// (config::probe_commands: postconf, postmulti, systemctl) through the actions' command runner,
// with a timeout each, and resolves the paths the checks compare. The judgement is pure:
// config/deployment_check.hpp.
#include <chrono>
#include <string>

#include "config/config.hpp"
#include "config/deployment_check.hpp"

namespace haspool::cli {

struct ProbeOptions {
    std::string root;       // the host's files below this directory ("" on a real host; --etc-root)
    std::string tool_path;  // PATH for postconf, postmulti, systemctl ("" = the runner's; --probe-path)
    std::chrono::milliseconds timeout{10000};  // for each command
};

config::DeploymentFacts probe_deployment(const config::Config& c, const config::Node& self, const ProbeOptions& o);

}  // namespace haspool::cli
