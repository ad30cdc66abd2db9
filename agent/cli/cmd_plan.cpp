// haspool plan takeover|failback|switchover|resolve|raw-takeover: prints, in order, the steps each node would
// run for the current configuration, without running anything (like `drbdadm -d`).
#include <iostream>

#include "agent/cli/cli.hpp"
#include "agent/cli/commands.hpp"
#include "agent/core/plans.hpp"

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
    opts.add_options()("flow", po::value<std::string>()->required()->value_name("FLOW"),
                       "takeover | failback | switchover | resolve | raw-takeover")(
        "discard", po::value<std::string>()->value_name("NODE"), "resolve: the node whose data is discarded");
    po::positional_options_description pos;
    pos.add("flow", 1);
    po::variables_map vm;
    if (auto rc = parse("plan", "takeover|failback|switchover|resolve|raw-takeover --config FILE [--node NAME] [--discard NODE]",
                        "Prints the ordered steps each node would run for this flow with the current configuration.\n"
                        "Nothing is run. With --node, only that node's part is printed. resolve needs --discard.",
                        opts, args, vm, &pos))
        return *rc;
    std::string flow = vm["flow"].as<std::string>();
    if (flow != "takeover" && flow != "failback" && flow != "switchover" && flow != "resolve" && flow != "raw-takeover") {
        std::cerr << "haspool plan: unknown flow '" << flow << "' (takeover, failback, switchover, resolve or raw-takeover)\n";
        return kExitUsage;
    }
    if ((flow == "resolve") != (vm.count("discard") > 0)) {
        std::cerr << "haspool plan: --discard NODE goes with the resolve flow, and only with it\n";
        return kExitUsage;
    }
    auto cfg = load_config_or_report(vm);
    if (!cfg) return kExitUsage;
    if (flow == "resolve" && !cfg->find_node(vm["discard"].as<std::string>())) {
        std::cerr << "haspool plan: --discard " << vm["discard"].as<std::string>() << " names none of the nodes\n";
        return kExitUsage;
    }
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
    o << "# haspool plan " << flow << (vm.count("discard") ? " --discard " + vm["discard"].as<std::string>() : "")
      << ", cluster " << cfg->cluster.name << "; nothing is run\n";
    if (flow == "takeover") {
        o << "# when " << a.name << " is silent on every path and NBD for " << cfg->heartbeat.dead_after.count()
          << " ms and the standby's data is not outdated\n";
        section(o, b, "takeover", plans.takeover(false), only);
    } else if (flow == "switchover") {
        o << "# planned, on a healthy mirror: the primary stops first, then the standby takes over at once\n";
        section(o, a, "handover", plans.handover(), only);
        section(o, a, "only if the handover fails before StopMirror (" + b.name + " not told): resume here",
                plans.resume(a, cfg->spool.md_device), only);
        section(o, b, "planned takeover (on take-over)", plans.takeover(true), only);
    } else if (flow == "resolve") {
        // The split the example shows: from 1/primary, A minted 2/primary (degraded) and B 2/standby
        // (takeover). The node the command runs on first passes the decision on (NotifyPeer).
        agent::Lineage base{agent::Generation{2}, {agent::Generation::blank()}};
        agent::Lineage a_split = base.bumped(false), b_split = base.bumped(true);
        const std::string discard = vm["discard"].as<std::string>();
        o << "# after both nodes said SPLIT_BRAIN (" << a.name << " at " << agent::to_string(a_split.current) << ", " << b.name
          << " at " << agent::to_string(b_split.current) << "); the node where it is run first tells the other one\n";
        if (discard == b.name) {
            section(o, b, "discard its data", plans.discard(b, b_split.current), only);
            section(o, a, "keep its data, if it served (MIRRORED/RESYNC) when the split began", plans.drop_peer_leg(), only);
            section(o, a, "then, serving from X alone (DEGRADED), once Y is exported blank", plans.resync(true), only);
            section(o, a, "or, not serving (WAIT_PEER), once Y is exported blank", plans.connect(true, false, false, true), only);
        } else {
            section(o, a, "discard its data", plans.discard(a, a_split.current), only);
            section(o, b, "keep its data: serves on if ACTIVE, else exports Y", {agent::step::StartExport{}}, only);
            section(o, b, "handback, if it served (on failback)", plans.handback(), only);
            section(o, a, "failback, X added in full (on handed-back)", plans.failback(b_split, true), only);
        }
    } else if (flow == "raw-takeover") {
        // docs/agent.md "Raw takeover": the takeover plan up to its failed md assembly, the raw
        // plan that replaces it, and the handback and full-copy failback that follow.
        o << "# only with spool.raw_mount_fallback: true (this configuration: "
          << (cfg->spool.raw_mount_fallback ? "on" : "off, so such a takeover halts") << ")\n";
        std::vector<agent::Step> until;
        for (const auto& st : plans.takeover(false)) {
            until.push_back(st);
            if (std::holds_alternative<agent::step::AssembleDegraded>(st)) break;
        }
        section(o, b, "takeover, until AssembleDegraded fails", until, only);
        section(o, b, "raw takeover (the mark is persisted before anything writes Y)", plans.takeover_raw(), only);
        section(o, b, "handback (on failback)", plans.handback(true), only);
        agent::Lineage after_takeover = agent::Lineage{agent::Generation{2}, {agent::Generation::blank()}}.bumped(true);
        section(o, a, "failback, X added in full (on handed-back; beta's heartbeats say raw-written)",
                plans.failback(after_takeover, false, true), only);
        section(o, b, "once " + a.name + " reports MIRRORED, in sync, at its generation", {agent::step::ClearRawWrites{
                    a.name + " reports X rebuilt in full from Y (MIRRORED, in sync, generation " +
                    agent::to_string(after_takeover.current) + ")"}}, only);
    } else {
        o << "# generations shown as after a first takeover from an initialised cluster\n";
        section(o, b, "handback", plans.handback(), only);
        section(o, b, "only if the handback fails before StopMirror (" + a.name + " not told): resume here",
                plans.resume(b, cfg->spool.md_device), only);
        agent::Lineage after_takeover = agent::Lineage{agent::Generation{2}, {agent::Generation::blank()}}.bumped(true);
        section(o, a, "failback (on handed-back)", plans.failback(after_takeover), only);
    }
    return kExitOk;
}

}  // namespace haspool::cli
