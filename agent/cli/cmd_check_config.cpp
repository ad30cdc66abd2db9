// haspool check-config: validate the cluster file and, when this host is one of the nodes, the
// host-local parts: the secret file, the spool device, and the deployment around haspool
// (docs/actions.md "Deployment checks": postfix's queue on the spool, mail units not started at
// boot, no fstab or mdadm.conf that mounts or assembles the spool, the nbd module at boot).
#include <iostream>

#include "agent/cli/cli.hpp"
#include "agent/cli/commands.hpp"
#include "agent/cli/deployment_probe.hpp"
#include "config/config_loader.hpp"
#include "config/host_check.hpp"

namespace haspool::cli {

int cmd_check_config(const std::vector<std::string>& args) {
    po::options_description opts("Options");
    add_config_options(opts);
    opts.add_options()("etc-root", po::value<std::string>()->default_value("")->value_name("DIR"),
                       "for testing: read the host's files (/etc, /run, /usr/lib, /lib, /sys/module, /proc/cmdline, "
                       "/dev links) below DIR, resolving symlinks inside it")(
        "probe-path", po::value<std::string>()->default_value("")->value_name("PATH"),
        "for testing: look up postconf, postmulti and systemctl in PATH (colon-separated) instead of "
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    po::variables_map vm;
    if (auto rc = parse("check-config", "[--config FILE] [--node NAME]",
                        "Validates the cluster configuration and reports every problem with its YAML path.\n"
                        "When this host is one of the nodes (by hostname or --node), also checks the secret\n"
                        "file, the spool device and the deployment: postfix's queue on the mirrored spool, the\n"
                        "mail units not enabled at boot, no fstab or mdadm.conf line that mounts or assembles\n"
                        "the spool, the nbd module loaded at boot (it asks postconf and systemctl).\n"
                        "Exit status: 0 valid (warnings are printed), 2 invalid.",
                        opts, args, vm))
        return *rc;
    auto cfg = load_config_or_report(vm);
    if (!cfg) return kExitUsage;

    std::optional<std::string> flag;
    if (vm.count("node")) flag = vm["node"].as<std::string>();
    config::Identity id = config::identify_self(*cfg, flag, config::local_hostname());
    if (flag && !id.self) {
        std::cerr << "haspool check-config: " << id.why << "\n";
        return kExitUsage;
    }
    std::cout << config::describe(*cfg);
    if (!id.self) {
        std::cout << "note: " << id.why << "; host-local checks (secret file, devices, deployment) skipped\n";
        std::cout << "configuration is valid\n";
        return kExitOk;
    }
    ProbeOptions probe;
    probe.root = vm["etc-root"].as<std::string>();
    probe.tool_path = vm["probe-path"].as<std::string>();
    config::HostReport host = config::check_host(*cfg, *id.self, probe_deployment(*cfg, *id.self, probe));
    std::cout << "this host is " << config::to_string(id.self->role) << " " << id.self->name << " (" << id.why << ")\n";
    for (const auto& n : host.notes) std::cout << "note: " << n.to_string() << "\n";
    std::cout.flush();
    for (const auto& w : host.warnings) std::cerr << "warning: " << w.to_string() << "\n";
    if (!host.errors.empty()) {
        std::cerr << cfg->source_file << ": " << host.errors.size() << " problem"
                  << (host.errors.size() == 1 ? "" : "s") << " on this host:\n";
        for (const auto& e : host.errors) std::cerr << "  " << e.to_string() << "\n";
        return kExitUsage;
    }
    std::cout << "configuration is valid\n";
    return kExitOk;
}

}  // namespace haspool::cli
