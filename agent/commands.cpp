#include "commands.hpp"

#include "cli.hpp"

namespace haspool::cli {

namespace {

Command later(const char* name, const char* summary, const char* work) {
    return {name, summary, [name, work](const std::vector<std::string>&) {
                return not_available(std::string("'haspool ") + name + "'", work);
            }};
}

}  // namespace

const std::vector<Command>& commands() {
    static const std::vector<Command> table = {
        {"primary", "run the primary node daemon", [](const auto& a) { return cmd_daemon("primary", a); }},
        {"standby", "run the standby node daemon", [](const auto& a) { return cmd_daemon("standby", a); }},
        {"check-config", "validate the configuration (and this host's part of it)", cmd_check_config},
        later("status", "show both nodes' states, generations, sync and heartbeats", "needs the agent core"),
        later("plan", "print the steps of takeover|failback|switchover without running them", "needs the agent core"),
        {"export", "run the NBD server alone", cmd_export},
        later("switchover", "planned move of the service to the standby", "needs failover/failback"),
        later("failback", "hand the service back to the primary", "needs failover/failback"),
        later("resolve", "settle a split brain: --discard NODE", "needs failover/failback"),
        {"debug", "single low-level mirror steps: kernel NBD over netlink, md RAID-1", cmd_debug},
        later("drill", "run a mail-spool failover drill", "needs the VM lab"),
    };
    return table;
}

}  // namespace haspool::cli
