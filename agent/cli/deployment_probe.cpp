#include "agent/cli/deployment_probe.hpp"

#include <grp.h>
#include <unistd.h>

#include <optional>
#include <sstream>
#include <vector>

#include "agent/system/actions/command_runner.hpp"
#include "config/host_files.hpp"

namespace haspool::cli {

namespace {

// Looked up here rather than left to the runner, so "not installed" is a fact of its own
// (postconf missing while a postfix unit is configured is an error with that reason).
bool installed(const std::string& program, const std::string& path) {
    if (program.find('/') != std::string::npos) return ::access(program.c_str(), X_OK) == 0;
    std::stringstream ss(path);
    for (std::string dir; std::getline(ss, dir, ':');)
        if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
    return false;
}

config::ToolOutput run_probe(const std::vector<std::string>& argv, const actions::Environment& env,
                             std::chrono::milliseconds timeout) {
    config::ToolOutput t;
    const std::string path = env.at("PATH");
    if (!installed(argv[0], path)) {
        t.end = config::ToolOutput::End::missing;
        t.described = argv[0] + " is not installed (not found in PATH=" + path + ")";
        return t;
    }
    actions::CommandSpec spec;
    spec.argv = argv;
    spec.extra_env = env;
    spec.timeout = timeout;
    spec.tail_bytes = 65536;  // postconf's answer is read from here, not only quoted
    actions::CommandResult r = actions::run_command(spec);
    t.described = r.describe();
    if (r.end == actions::CommandResult::End::exited) {
        t.end = config::ToolOutput::End::exited;
        t.exit_status = r.exit_status;
        t.out = r.stdout_tail;
        t.err = r.stderr_tail;
    }
    return t;
}

// The id of group `name` through NSS (as the daemon will resolve it), nullopt when unknown.
std::optional<unsigned> group_id(const std::string& name) {
    std::vector<char> buf(16384);
    group g{};
    group* found = nullptr;
    if (::getgrnam_r(name.c_str(), &g, buf.data(), buf.size(), &found) != 0 || !found) return std::nullopt;
    return found->gr_gid;
}

}  // namespace

config::DeploymentFacts probe_deployment(const config::Config& c, const config::Node& self, const ProbeOptions& o) {
    config::DeploymentFacts f = config::read_host_files(o.root);
    actions::Environment env = {{"PATH", o.tool_path.empty() ? actions::base_environment().at("PATH") : o.tool_path}};
    for (const auto& cmd : config::probe_commands(c, f.systemd_running)) {
        config::ToolOutput t = run_probe(cmd.argv, env, o.timeout);
        switch (cmd.kind) {
        case config::ProbeCommand::Kind::postconf:
            f.postconf[cmd.unit] = std::move(t);
            break;
        case config::ProbeCommand::Kind::unit_file_state:
            f.unit_file_state[cmd.unit] = std::move(t);
            break;
        case config::ProbeCommand::Kind::unit_type:
            f.unit_type[cmd.unit] = std::move(t);
            break;
        }
    }
    for (const auto& addr : config::route_probe_addresses(c))
        f.routes[addr] = run_probe({"ip", "-o", "route", "get", addr}, env, o.timeout);
    if (!c.cluster.control_group.empty()) f.groups[c.cluster.control_group] = group_id(c.cluster.control_group);
    config::resolve_host_paths(o.root, config::paths_to_resolve(c, self, f), f);
    return f;
}

}  // namespace haspool::cli
