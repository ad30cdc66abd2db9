#pragma once
// The haspool command line: `haspool COMMAND [OPTIONS]`, one entry per command in commands.cpp.
#include <boost/program_options.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace haspool::cli {

// Exit statuses, the same for every command (documented in README and `haspool --help`).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;       // the command ran and failed
inline constexpr int kExitUsage = 2;         // bad command line or invalid configuration
inline constexpr int kExitNotAvailable = 3;  // feature not implemented yet (LSB "unimplemented")

// The configuration every command reads unless --config names another: where the package puts
// it and the systemd units read it.
inline constexpr const char* kDefaultConfigFile = "/etc/haspool/haspool.yaml";

struct Command {
    const char* name;
    const char* summary;
    std::function<int(const std::vector<std::string>& args)> run;
};

const std::vector<Command>& commands();

namespace po = boost::program_options;

// Parses `args` against `opts` (plus --help); prints usage and returns an exit status when the
// caller should stop (help asked: 0; bad options: 2), otherwise nullopt.
std::optional<int> parse(const std::string& command, const std::string& synopsis,
                         const std::string& description, po::options_description& opts,
                         const std::vector<std::string>& args, po::variables_map& vm,
                         const po::positional_options_description* positional = nullptr);

// Adds --config (required) and --node.
void add_config_options(po::options_description& opts);

// Loads and validates --config, prints every problem; returns nullopt (after printing) on error.
std::optional<config::Config> load_config_or_report(const po::variables_map& vm);

// Finds this host's node in the config (--node or hostname) and prints why not otherwise.
const config::Node* find_self_or_report(const config::Config& c, const po::variables_map& vm);

// Prints that `what` is not available yet (which issue brings it) and returns kExitNotAvailable.
int not_available(const std::string& what, const std::string& which_work);

// One line to the daemon's control socket and its whole answer (cmd_status.cpp): kExitOk, or
// kExitFailure when it cannot be reached (said on stderr unless `quiet`).
int control_exchange(const std::string& command, const std::string& socket_path, const std::string& line,
                     std::string& answer, bool quiet);

}  // namespace haspool::cli
