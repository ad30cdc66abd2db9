// haspool: keeps a mail spool alive across the loss of its server (see README.md).
#include <iostream>
#include <string>
#include <vector>

#include "agent/cli/cli.hpp"
#include "agent/log/log.hpp"
#include "agent/cli/version.hpp"

namespace {

void usage(std::ostream& o) {
    o << "Usage: haspool COMMAND [OPTIONS]   (haspool COMMAND --help for its options)\n\nCommands:\n";
    for (const auto& c : haspool::cli::commands()) {
        std::string name = c.name;
        o << "  " << name << std::string(name.size() < 14 ? 14 - name.size() : 1, ' ') << c.summary << "\n";
    }
    o << "\nGlobal options:\n  -h, --help     this help\n  --version      print the version\n"
      << "\nExit status: 0 success, 1 failure, 2 bad usage or invalid configuration,\n"
      << "3 feature not available in this build.\n";
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
        usage(std::cerr);
        return haspool::cli::kExitUsage;
    }
    const std::string& first = args[0];
    if (first == "--help" || first == "-h" || first == "help") {
        usage(std::cout);
        return haspool::cli::kExitOk;
    }
    if (first == "--version" || first == "version") {
        std::cout << "haspool " << haspool::kVersion << "\n";
        return haspool::cli::kExitOk;
    }
    for (const auto& c : haspool::cli::commands()) {
        if (first != c.name) continue;
        try {
            return c.run(std::vector<std::string>(args.begin() + 1, args.end()));
        } catch (const std::exception& e) {
            haspool::log::critical(std::string("haspool ") + c.name + ": unexpected error: " + e.what());
            return haspool::cli::kExitFailure;
        }
    }
    std::cerr << "haspool: unknown command '" << first << "'\n";
    usage(std::cerr);
    return haspool::cli::kExitUsage;
}
