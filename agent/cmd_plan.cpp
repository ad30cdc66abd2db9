// haspool plan takeover|failback|switchover: prints, in order, the steps each node would run for
// the current configuration, without running anything (like `drbdadm -d`).
#include <iostream>

#include "cli.hpp"
#include "commands.hpp"
#include "plans.hpp"

namespace haspool::cli {

namespace {

void section(std::ostream& o, const config::Node& n, const std::string& what, const std::vector<agent::Step>& steps,
             const std::optional<std::string>& only) {
    if (only && *only != n.name) return;
    o << "on " << n.name << " (" << config::to_string(n.role) << "), " << what << ":\n";
    for (size_t i = 0; i < steps.size(); ++i) o << "  " << i + 1 << ". " << agent::to_string(steps[i]) << "\n";
}

}  // namespace

int cmd_plan(const std::vector<std::string>& args) {
    po::options_description opts("Options");
    add_config_options(opts);
    opts.add_options()("flow", po::value<std::string>()->required()->value_name("FLOW"), "takeover | failback | switchover");
    po::positional_options_description pos;
    pos.add("flow", 1);
    po::variables_map vm;
    if (auto rc = parse("plan", "takeover|failback|switchover --config FILE [--node NAME]",
                        "Prints the ordered steps each node would run for this flow with the current configuration.\n"
                        "Nothing is run. With --node, only that node's part is printed.",
                        opts, args, vm, &pos))
        return *rc;
    std::string flow = vm["flow"].as<std::string>();
    if (flow != "takeover" && flow != "failback" && flow != "switchover") {
        std::cerr << "haspool plan: unknown flow '" << flow << "' (takeover, failback or switchover)\n";
        return kExitUsage;
    }
    auto cfg = load_config_or_report(vm);
    if (!cfg) return kExitUsage;
    std::optional<std::string> only;
    if (vm.count("node")) {
        only = vm["node"].as<std::string>();
        if (!cfg->find_node(*only)) {
            std::cerr << "haspool plan: --node " << *only << " names none of the nodes\n";
            return kExitUsage;
        }
    }
    agent::Plans plans(*cfg);
    const config::Node& a = cfg->primary();
    const config::Node& b = cfg->standby();
    std::ostream& o = std::cout;
    o << "# haspool plan " << flow << ", cluster " << cfg->cluster.name << "; nothing is run\n";
    if (flow == "takeover") {
        o << "# when " << a.name << " is silent on every path and NBD for " << cfg->heartbeat.dead_after.count()
          << " ms and the standby's data is not outdated\n";
        section(o, b, "takeover", plans.takeover(false), only);
    } else if (flow == "switchover") {
        o << "# planned, on a healthy mirror: the primary stops first, then the standby takes over at once\n";
        section(o, a, "handover", plans.handover(), only);
        section(o, b, "planned takeover (on take-over)", plans.takeover(true), only);
    } else {
        o << "# generations shown as after a first takeover from an initialised cluster\n";
        section(o, b, "handback", plans.handback(), only);
        agent::Lineage after_takeover = agent::Lineage{agent::Generation{2}, {agent::Generation::blank()}}.bumped(true);
        section(o, a, "failback (on handed-back)", plans.failback(after_takeover), only);
    }
    return kExitOk;
}

}  // namespace haspool::cli
