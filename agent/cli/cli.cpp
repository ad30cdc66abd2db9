#include "agent/cli/cli.hpp"

#include <cstdlib>
#include <iostream>
#include <string_view>

#include "config/config_loader.hpp"
#include "config/host_check.hpp"
#include "agent/log/log.hpp"

namespace haspool::cli {

std::optional<int> parse(const std::string& command, const std::string& synopsis,
                         const std::string& description, po::options_description& opts,
                         const std::vector<std::string>& args, po::variables_map& vm,
                         const po::positional_options_description* positional) {
    opts.add_options()("help,h", "show this help and exit")("verbose,v", "log debug lines too (--log-level debug)")(
        "log-level", po::value<std::string>()->value_name("LEVEL"),
        "the least severe lines logged: debug, info (default), notice, warning, error, critical");
    try {
        po::command_line_parser parser(args);
        parser.options(opts);
        if (positional) parser.positional(*positional);
        po::store(parser.run(), vm);
        if (vm.count("help")) {
            std::cout << "Usage: haspool " << command << " " << synopsis << "\n\n"
                      << description << "\n\n"
                      << opts << "\n";
            return kExitOk;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "haspool " << command << ": " << e.what() << "\n"
                  << "Try 'haspool " << command << " --help'.\n";
        return kExitUsage;
    }
    if (vm.count("log-level")) {
        std::string name = vm["log-level"].as<std::string>();
        auto level = log::parse_level(name);
        if (!level) {
            std::cerr << "haspool " << command << ": --log-level '" << name
                      << "' is not a level (debug, info, notice, warning, error, critical)\n";
            return kExitUsage;
        }
        if (vm.count("verbose") && *level != log::Level::debug) {
            std::cerr << "haspool " << command << ": --verbose means --log-level debug, not " << name << "\n";
            return kExitUsage;
        }
        log::set_min_level(*level);
    }
    // HASPOOL_DEBUG=1 does what --verbose does: for a unit's Environment= (or a drop-in) without
    // editing its command line. Empty or "0" leaves it off.
    const char* debug = std::getenv("HASPOOL_DEBUG");
    if (vm.count("verbose") || (debug && *debug && std::string_view(debug) != "0")) log::set_min_level(log::Level::debug);
    return std::nullopt;
}

void add_config_options(po::options_description& opts) {
    opts.add_options()
        ("config,c", po::value<std::string>()->default_value(kDefaultConfigFile)->value_name("FILE"), "the cluster's YAML configuration")
        ("node,n", po::value<std::string>()->value_name("NAME"), "act as this node (default: found by hostname)");
}

std::optional<config::Config> load_config_or_report(const po::variables_map& vm) {
    std::string file = vm["config"].as<std::string>();
    config::LoadResult r = config::load_file(file);
    for (const auto& w : r.warnings) std::cerr << "warning: " << w.to_string() << "\n";
    if (!r.config) {
        std::cerr << file << ": " << r.errors.size() << " problem" << (r.errors.size() == 1 ? "" : "s") << ":\n";
        for (const auto& e : r.errors) std::cerr << "  " << e.to_string() << "\n";
        return std::nullopt;
    }
    return r.config;
}

const config::Node* find_self_or_report(const config::Config& c, const po::variables_map& vm) {
    std::optional<std::string> flag;
    if (vm.count("node")) flag = vm["node"].as<std::string>();
    config::Identity id = config::identify_self(c, flag, config::local_hostname());
    if (!id.self) std::cerr << "haspool: " << id.why << "\n";
    return id.self;
}

int not_available(const std::string& what, const std::string& which_work) {
    std::cerr << "haspool: " << what << " is not available yet in this build (" << which_work
              << "); nothing was done.\n";
    return kExitNotAvailable;
}

}  // namespace haspool::cli
