// haspool primary|standby: the node daemons. This build validates the configuration and the
// host, then says plainly that the daemon itself is not available yet.
#include <iostream>

#include "cli.hpp"
#include "commands.hpp"
#include "host_check.hpp"

namespace haspool::cli {

int cmd_daemon(const std::string& role, const std::vector<std::string>& args) {
    po::options_description opts("Options");
    add_config_options(opts);
    if (role == "primary")
        opts.add_options()("init", "create the md array (refuses devices holding a filesystem)")
            ("force", "with --init: create even over an existing filesystem")
            ("force-solo", "start serving from the local disk without hearing the standby (DANGER)");
    po::variables_map vm;
    std::string what = role == "primary"
        ? "Runs the primary: waits for the standby, attaches its export over NBD, mirrors the spool\n"
          "with md RAID-1, mounts it, takes the service address and starts the mail units."
        : "Runs the standby: exports its disk over NBD to the primary, exchanges heartbeats, and\n"
          "takes the service over when the primary is gone (and every guard agrees).";
    if (auto rc = parse(role, "--config FILE [--node NAME]", what + "\nRuns in the foreground (systemd Type=notify).", opts, args, vm))
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
    return not_available("the " + role + " daemon", "agent core and mirror work are in progress");
}

}  // namespace haspool::cli
