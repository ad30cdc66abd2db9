// haspool check-config: validate the cluster file and, when this host is one of the nodes, the
// host-local parts (secret file, spool device, mdadm.conf/fstab auto-assembly/auto-mount).
#include <iostream>

#include "agent/cli/cli.hpp"
#include "agent/cli/commands.hpp"
#include "config/config_loader.hpp"
#include "config/host_check.hpp"

namespace haspool::cli {

int cmd_check_config(const std::vector<std::string>& args) {
    po::options_description opts("Options");
    add_config_options(opts);
    opts.add_options()("etc-root", po::value<std::string>()->default_value("")->value_name("DIR"),
                       "read mdadm.conf and fstab below DIR (for testing)");
    po::variables_map vm;
    if (auto rc = parse("check-config", "--config FILE [--node NAME]",
                        "Validates the cluster configuration and reports every problem with its YAML path.\n"
                        "When this host is one of the nodes (by hostname or --node), also checks the secret\n"
                        "file, the spool device and that the OS will not auto-assemble or auto-mount the spool.\n"
                        "Exit status: 0 valid, 2 invalid.",
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
        std::cout << "note: " << id.why << "; host-local checks (secret file, devices, mdadm.conf, fstab) skipped\n";
        std::cout << "configuration is valid\n";
        return kExitOk;
    }
    config::HostReport host = config::check_host(*cfg, *id.self, vm["etc-root"].as<std::string>());
    for (const auto& w : host.warnings) std::cerr << "warning: " << w.to_string() << "\n";
    std::cout << "this host is " << config::to_string(id.self->role) << " " << id.self->name << " (" << id.why << ")\n";
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
