// haspool plan [FLOW]: prints, in order, the steps each node would run for the current
// configuration, without running anything (like `drbdadm -d`). Every plan a machine can run
// appears in one of the flows (the machines take their steps from Plans alone), and `all`, the
// default, prints every flow.
#include <algorithm>
#include <iostream>

#include "agent/cli/cli.hpp"
#include "agent/cli/commands.hpp"
#include "agent/core/plans.hpp"
#include "agent/core/resolve.hpp"
#include "agent/system/nbd_tls_keys.hpp"
#include "config/host_check.hpp"

namespace haspool::cli {

namespace {

// Which nodes' parts to print, and how: one line per step, or with --verbose every field the
// executor runs (agent::describe).
struct Show {
    std::optional<std::string> node;
    bool verbose = false;
};

void section(std::ostream& o, const config::Node& n, const std::string& what, const std::vector<agent::Step>& steps,
             const Show& show) {
    if (show.node && *show.node != n.name) return;
    o << "on " << n.name << " (" << config::to_string(n.role) << "), " << what << ":\n";
    for (size_t i = 0; i < steps.size(); ++i)
        o << "  " << i + 1 << ". " << (show.verbose ? agent::describe(steps[i]) : agent::to_string(steps[i])) << "\n";
}

const std::vector<std::string> kFlows = {"start", "mirror", "takeover", "raw-takeover", "switchover", "failback", "lose-x", "resolve", "halt"};

std::string flow_list() {
    std::string s;
    for (size_t i = 0; i < kFlows.size(); ++i) s += (i ? (i + 1 == kFlows.size() ? " or " : ", ") : "") + kFlows[i];
    return s;
}

}  // namespace

int cmd_plan(const std::vector<std::string>& args) {
    po::options_description opts("Options");
    add_config_options(opts);
    opts.add_options()("flow", po::value<std::string>()->default_value("all")->value_name("FLOW"),
                       "start | mirror | takeover | raw-takeover | switchover | failback | lose-x | resolve | halt | all")(
        "discard", po::value<std::string>()->value_name("NODE"), "resolve: the node whose data is discarded (all: both)")(
        "offline", "failback: print the configured plan only, without asking the running daemon");
    po::positional_options_description pos;
    pos.add("flow", 1);
    po::variables_map vm;
    if (auto rc = parse("plan", "[FLOW] [--config FILE] [--node NAME] [--discard NODE] [--verbose] [--offline]",
                        "Prints the ordered steps each node would run for this flow with the current configuration.\n"
                        "Nothing is run. Every plan either machine can run is in one of the flows:\n"
                        "  start         the primary's connect (and --init, --force-solo), the standby's export, and a\n"
                        "                standby restarted while Y is in use\n"
                        "  mirror        the standby lost and back, a link blip, a resync's end, the standby's adoption\n"
                        "  takeover      the standby takes over from a silent primary\n"
                        "  raw-takeover  the same when Y cannot be assembled (spool.raw_mount_fallback)\n"
                        "  switchover    the planned handover and takeover\n"
                        "  failback      the handback and failback\n"
                        "  lose-x        md failed the primary's own disk X: serving from Y (DISKLESS), replace-disk\n"
                        "  resolve       a split brain resolved by `haspool resolve --discard NODE` (needs --discard)\n"
                        "  halt          what a node gives up after a failed step\n"
                        "  all           every flow (the default; resolve for both nodes)\n"
                        "With --node, only that node's part is printed. With --verbose, each step in full: what\n"
                        "is run, with its environment and timeouts (hooks also get HASPOOL_STATE, _GENERATION\n"
                        "and _REASON when they run).\n"
                        "On a live cluster, `plan failback` run on the primary asks its daemon (which asks the\n"
                        "standby's) and prints the steps a failback would run now, what md would copy (X's and Y's\n"
                        "dirty chunks), the time that takes at md's last measured speed, and the last handback's\n"
                        "downtime; --offline prints the configured plan only.",
                        opts, args, vm, &pos))
        return *rc;
    std::string flow = vm["flow"].as<std::string>();
    if (flow != "all" && std::find(kFlows.begin(), kFlows.end(), flow) == kFlows.end()) {
        std::cerr << "haspool plan: unknown flow '" << flow << "' (" << flow_list() << ", or all)\n";
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
    Show only;
    only.verbose = vm.count("verbose") > 0;  // the common --verbose (cli.cpp): here, every step in full
    if (vm.count("node")) {
        only.node = vm["node"].as<std::string>();
        if (!cfg->find_node(*only.node)) {
            std::cerr << "haspool plan: --node " << *only.node << " names none of the nodes\n";
            return kExitUsage;
        }
    }
    // The TLS keys' identities (never their bytes) when this host can read the secrets; the
    // plans are the same without them, as the executor refuses tls: required with no key.
    if (config::Secrets sec = config::read_secrets(cfg->cluster); sec.error.empty()) {
        std::string ignored;
        cfg->nbd.tls_keys = agent::nbd_tls_link_keys(*cfg, sec.current, sec.next, ignored);
    }
    // The live preview (issue 15 item 7): the daemon's answer when one runs here and can say.
    if (flow == "failback" && !vm.count("offline") && !only.node && !only.verbose) {
        std::string answer;
        if (control_exchange("plan", cfg->cluster.control_socket, "preview failback", answer, true) == kExitOk &&
            !answer.empty() && answer.rfind("error", 0) != 0) {
            std::cout << "# haspool plan failback: asked the daemon at " << cfg->cluster.control_socket
                      << " (--offline: the configured plan only)\n";
            if (answer.rfind("refused: ", 0) != 0) {
                std::cout << answer;
                return kExitOk;
            }
            std::cout << "# " << answer.substr(9) << "# the configured plan follows, for reference\n";
        }
    }
    agent::Plans plans(*cfg);
    const config::Node& a = cfg->primary();
    const config::Node& b = cfg->standby();
    std::ostream& o = std::cout;
    auto print = [&](const std::string& flow, const std::string& discard) {
    o << "# haspool plan " << flow << (discard.empty() ? "" : " --discard " + discard)
      << ", cluster " << cfg->cluster.name << "; nothing is run\n";
    if (flow == "start") {
        o << "# the primary, once it has heard the standby's generation (WAIT_PEER)\n";
        section(o, a, "connect, Y as current as X (or newer: the failback's)", plans.connect(false, false), only);
        section(o, a, "connect, X newer than Y (re-add Y: bitmap resync X->Y)", plans.connect(true, false), only);
        section(o, a, "connect, Y blank (discarded by a resolve: added in full)", plans.connect(true, false, false, true), only);
        section(o, a, "connect with --init (the array created; --force allows a filesystem on the legs)",
                plans.connect(false, true), only);
        section(o, a, "with --force-solo: serve from X alone without hearing the standby", plans.solo(), only);
        section(o, b, "export Y (at start, and retried while it fails)", plans.export_y(), only);
        section(o, b, "restarted while Y is held by md here: serve on", plans.restart_resume(false, false), only);
        section(o, b, "restarted while Y is mapped raw here, the full-copy mark missing: mark, serve on",
                plans.restart_resume(true, true), only);
    } else if (flow == "mirror") {
        agent::Lineage mirrored = agent::Lineage{agent::Generation{2}, {agent::Generation::blank()}}.bumped(false);
        section(o, a, "MIRRORED, the standby lost (silent, or md failed its leg)", plans.degrade(), only);
        section(o, a, "DEGRADED, the standby back and stable", plans.resync(), only);
        section(o, a, "DEGRADED, the standby back with Y blank", plans.resync(true), only);
        section(o, a, "NBD_CMD_LINK_DEAD (a link blip), within nbd.dead_conn_timeout", plans.reconnect(), only);
        section(o, a, "RESYNC, md's copy finished", plans.restore_write_mostly(), only);
        section(o, a, "RESYNC X->Y, the standby silent (its generation is already behind)", plans.drop_peer_leg(), only);
        section(o, b, "the primary reports MIRRORED, in sync, at a newer generation (" +
                          agent::to_string(mirrored.current) + ")", plans.adopt(mirrored), only);
    } else if (flow == "halt") {
        o << "# a step failed where no resume is safe: what the node gives up (HALTED; the operator decides)\n";
        section(o, a, "a failed connect, resync or failback: stop serving", plans.stop_serving(a), only);
        // The standby's takeover asks the step runner to undo what it completed (undo_of, newest
        // first); shown for a failure at its last step.
        std::vector<agent::Step> undo;
        for (const auto& st : plans.takeover(false))
            if (auto u = agent::undo_of(st)) undo.insert(undo.begin(), *u);
        section(o, b, "a failed takeover: the undo of each completed step, newest first (all of them shown)", undo, only);
    } else if (flow == "takeover") {
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
        o << "# after both nodes said SPLIT_BRAIN (" << a.name << " at " << agent::to_string(a_split.current) << ", " << b.name
          << " at " << agent::to_string(b_split.current) << "); the node where it is run first tells the other one\n";
        const config::Node& loser = discard == b.name ? b : a;
        section(o, a, "when run on " + a.name + ": pass it on, before anything else",
                plans.pass_on_resolve(agent::discard_message(loser)), only);
        section(o, b, "when run on " + b.name + ": pass it on, before anything else",
                plans.pass_on_resolve(agent::discard_message(loser)), only);
        if (discard == b.name) {
            section(o, b, "discard its data", plans.discard(b, b_split.current), only);
            section(o, a, "keep its data, if it served (MIRRORED/RESYNC) when the split began", plans.drop_peer_leg(), only);
            section(o, a, "keep its data, if a connect, failback or handover was under way: release what it took",
                    plans.release(a), only);
            section(o, a, "then, serving from X alone (DEGRADED), once Y is exported blank", plans.resync(true), only);
            section(o, a, "or, not serving (WAIT_PEER), once Y is exported blank", plans.connect(true, false, false, true), only);
        } else {
            section(o, a, "discard its data", plans.discard(a, a_split.current), only);
            section(o, b, "keep its data: serves on if ACTIVE, else exports Y", plans.export_y(), only);
            section(o, b, "keep its data, if a takeover or handback was under way: release, export Y",
                    plans.release_and_export(false), only);
            section(o, b, "handback, if it served (on failback)", plans.handback(), only);
            section(o, a, "failback, X added in full (on handed-back)", plans.failback(b_split, true), only);
        }
    } else if (flow == "lose-x") {
        // docs/faults.md, loss of X: the primary serves on from Y and X is only ever copied in full.
        o << "# md failed the primary's own disk (" << a.spool_device << "); Y holds every write, so no generation is minted\n";
        section(o, a, "MIRRORED (or copying Y onto X), md failed X: mark it lost, take it out (DISKLESS)",
                plans.detach_x(a.spool_device), only);
        section(o, a, "DISKLESS, haspool replace-disk (X swapped or repaired): md copies all of Y onto it",
                plans.replace_x(), only);
        section(o, a, "RESYNC Y->X finished: mirrored, and X counts again", plans.x_rebuilt(true), only);
        section(o, a, "restarted with the x-lost mark, once " + b.name + " exports Y at the same generation: Y alone",
                plans.connect_diskless(), only);
        agent::Lineage after_takeover = agent::Lineage{agent::Generation{2}, {agent::Generation::blank()}}.bumped(true);
        section(o, a, "failback with the x-lost mark (after " + b.name + " took over): X added in full",
                plans.failback(after_takeover, false, false, true), only);
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
        section(o, b, "only if that handback fails before StopMirror: resume from the raw mapping",
                plans.resume_standby(true), only);
        agent::Lineage after_takeover = agent::Lineage{agent::Generation{2}, {agent::Generation::blank()}}.bumped(true);
        section(o, a, "failback, X added in full (on handed-back; beta's heartbeats say raw-written)",
                plans.failback(after_takeover, false, true), only);
        section(o, b, "once " + a.name + " reports MIRRORED, in sync, at its generation",
                plans.clear_raw_writes(after_takeover.current), only);
    } else {
        o << "# generations shown as after a first takeover from an initialised cluster\n";
        section(o, a, "haspool failback here, or failback: auto once " + b.name + " is stable (STANDING_BY)",
                plans.ask_failback(), only);
        section(o, b, "handback", plans.handback(), only);
        section(o, b, "only if the handback fails before StopMirror (" + a.name + " not told): resume here",
                plans.resume_standby(false), only);
        agent::Lineage after_takeover = agent::Lineage{agent::Generation{2}, {agent::Generation::blank()}}.bumped(true);
        section(o, a, "failback (on handed-back)", plans.failback(after_takeover), only);
    }
    };
    if (flow != "all") print(flow, vm.count("discard") ? vm["discard"].as<std::string>() : "");
    else
        for (const auto& f : kFlows) {
            if (f != "resolve") print(f, "");
            else
                for (const auto* n : {&a, &b}) print(f, n->name);
        }
    return kExitOk;
}

}  // namespace haspool::cli
