// haspool primary|standby: the node daemons (agent/daemon/daemon.cpp).
#include <iostream>

#include "agent/cli/cli.hpp"
#include "agent/cli/commands.hpp"
#include "agent/daemon/daemon.hpp"
#include "config/host_check.hpp"

namespace haspool::cli {

int cmd_daemon(const std::string& role, const std::vector<std::string>& args) {
    po::options_description opts("Options");
    add_config_options(opts);
    opts.add_options()("init", role == "primary"
                                   ? "first start of this node: create its state file (generation 1) and create the md array"
                                   : "first start of this node: create its state file (blank generation 0)");
    if (role == "primary")
        opts.add_options()("force", "with --init: create even over an existing filesystem")
            ("force-solo", "start serving from the local disk without hearing the standby (DANGER)");
    po::variables_map vm;
    std::string what = role == "primary"
        ? "Runs the primary: waits for the standby, attaches its export over NBD, mirrors the spool\n"
          "with md RAID-1, mounts it, takes the service address and starts the mail units."
        : "Runs the standby: exports its disk over NBD to the primary, exchanges heartbeats, and\n"
          "takes the service over when the primary is gone (and every guard agrees).";
    if (auto rc = parse(role, "[--config FILE] [--node NAME] [--init]",
                        what + "\nRuns in the foreground (systemd Type=notify). SIGHUP reloads the configuration.\n"
                               "The node's generation lives in cluster.state_dir/node-state; a node's first start\n"
                               "needs --init, and a missing or damaged state file stops the daemon with the fix.",
                        opts, args, vm))
        return *rc;
    auto cfg = load_config_or_report(vm);
    if (!cfg) return kExitUsage;
    const config::Node* self = find_self_or_report(*cfg, vm);
    if (!self) return kExitUsage;
    if (config::to_string(self->role) != role) {
        std::cerr << "haspool " << role << ": node " << self->name << " has role "
                  << config::to_string(self->role) << " in " << cfg->source_file << "\n";
        return kExitUsage;
    }
    agent::DaemonOptions opt;
    opt.config_file = vm["config"].as<std::string>();
    opt.init = vm.count("init") > 0;
    opt.force_solo = vm.count("force-solo") > 0;
    opt.force = vm.count("force") > 0;
    if (opt.force && !opt.init) {
        std::cerr << "haspool primary: --force only applies with --init (creating the array)\n";
        return kExitUsage;
    }
    return agent::run_daemon(*cfg, self->name, opt);
}

}  // namespace haspool::cli
