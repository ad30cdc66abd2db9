#include "agent/cli/commands.hpp"

#include "agent/cli/cli.hpp"

namespace haspool::cli {

const std::vector<Command>& commands() {
    static const std::vector<Command> table = {
        {"primary", "run the primary node daemon", [](const auto& a) { return cmd_daemon("primary", a); }},
        {"standby", "run the standby node daemon", [](const auto& a) { return cmd_daemon("standby", a); }},
        {"check-config", "validate the configuration (and this host's part of it)", cmd_check_config},
        {"status", "show this node's state and generation and what it last heard from the peer", cmd_status},
        {"events", "stream the daemon's transitions, steps, paths and md reports as JSON lines", cmd_events},
        {"plan", "print the steps of takeover|failback|switchover without running them", cmd_plan},
        {"export", "run the NBD server alone", cmd_export},
        {"tls-psk", "print the NBD link's TLS keys (derived from the cluster secret) as a PSK file", cmd_tls_psk},
        {"switchover", "planned move of the service to the standby", cmd_switchover},
        {"failback", "hand the service back to the primary", cmd_failback},
        {"replace-disk", "rebuild the primary's lost disk X from Y (after md failed it)", cmd_replace_disk},
        {"resolve", "settle a split brain: --discard NODE (that node's data is thrown away)", cmd_resolve},
        {"debug", "single low-level mirror steps: kernel NBD over netlink, md RAID-1", cmd_debug},
        {"drill", "run the mail-spool failover drill in two QEMU guests (scripts/drill)", cmd_drill},
    };
    return table;
}

}  // namespace haspool::cli
