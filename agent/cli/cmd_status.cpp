// haspool status / switchover / failback / resolve: talk to the local daemon over its control
// socket (cluster.control_socket: root and cluster.control_group): one line in, the daemon's
// answer out.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <iostream>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "agent/cli/cli.hpp"
#include "agent/cli/commands.hpp"
#include "agent/control/operation_watch.hpp"

namespace haspool::cli {

namespace {

// Connects to the control socket and sends `line`: the connected socket, or -1 with `rc` set to
// kExitFailure when the daemon cannot be reached (said on stderr unless `quiet`) or kExitUsage for
// a socket path that cannot be one.
int send_line(const std::string& command, const std::string& socket_path, const std::string& line, int& rc,
              bool quiet = false) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof addr.sun_path) {
        std::cerr << "haspool " << command << ": control socket path too long: " << socket_path << "\n";
        rc = kExitUsage;
        return -1;
    }
    std::strcpy(addr.sun_path, socket_path.c_str());
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        if (!quiet)
            std::cerr << "haspool " << command << ": cannot reach the daemon at " << socket_path << ": "
                      << std::strerror(errno)
                      << (errno == EACCES ? " (the control socket admits root and the members of cluster.control_group)\n"
                                          : " (is 'haspool primary' or 'haspool standby' running on this host?)\n");
        if (fd >= 0) ::close(fd);
        rc = kExitFailure;
        return -1;
    }
    std::string out = line + "\n";
    if (::write(fd, out.data(), out.size()) != static_cast<ssize_t>(out.size())) {
        std::cerr << "haspool " << command << ": writing to " << socket_path << ": " << std::strerror(errno) << "\n";
        ::close(fd);
        rc = kExitFailure;
        return -1;
    }
    return fd;
}

// Sends `line`; the answer in `answer`. kExitOk, or kExitFailure when the daemon cannot be
// reached (said on stderr unless `quiet`), kExitUsage for a socket path that cannot be one.
int exchange(const std::string& command, const std::string& socket_path, const std::string& line, std::string& answer,
             bool quiet = false) {
    int rc = kExitOk;
    int fd = send_line(command, socket_path, line, rc, quiet);
    if (fd < 0) return rc;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) answer.append(buf, static_cast<size_t>(n));
    ::close(fd);
    return kExitOk;
}

// The daemon's answer turns the request down: "refused: ..." (not admitted, or not now) or
// "error: ..." (an unknown or over-long command).
bool turned_down(const std::string& answer) { return answer.rfind("refused", 0) == 0 || answer.rfind("error", 0) == 0; }

// Sends `line` and prints the answer; exit status 1 when the daemon cannot be reached or refuses.
int ask_daemon(const std::string& command, const std::string& socket_path, const std::string& line) {
    std::string answer;
    if (int rc = exchange(command, socket_path, line, answer)) return rc;
    std::cout << answer;
    if (turned_down(answer)) return kExitFailure;
    return answer.empty() ? kExitFailure : kExitOk;
}

int control_command(const std::string& command, const std::string& line, const std::string& what,
                    const std::vector<std::string>& args) {
    po::options_description opts("Options");
    add_config_options(opts);
    po::variables_map vm;
    if (auto rc = parse(command, "[--config FILE]", what, opts, args, vm)) return *rc;
    auto cfg = load_config_or_report(vm);
    if (!cfg) return kExitUsage;
    return ask_daemon(command, cfg->cluster.control_socket, line);
}

// --wait: samples the local daemon's status every half second and lets OperationWatch judge
// (agent/control/operation_watch.hpp). On a terminal one line is redrawn in place, with a bar
// while md copies; otherwise a plain line each time the states change or the copy passes
// another tenth. An unreachable daemon is said and waited for (it may be restarting) until
// `timeout` (0: none). Exit 0 done, 1 failed or timed out.
int follow_operation(const std::string& command, const std::string& socket_path, agent::WatchedOperation op,
                     double timeout) {
    const bool terminal = ::isatty(STDOUT_FILENO) == 1;
    const auto start = std::chrono::steady_clock::now();
    agent::OperationWatch watch(op);
    std::string last_key;
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
    auto show = [&](const std::string& line, std::optional<int> percent, const std::string& key) {
        if (terminal) {
            std::string bar;
            if (percent) {
                int filled = std::clamp(*percent, 0, 100) / 5;
                bar = "[" + std::string(filled, '#') + std::string(20 - filled, '-') + "] " + std::to_string(*percent) + "% ";
            }
            std::cout << "\r\033[K" << bar << line << std::flush;
        } else if (key != last_key) {
            std::cout << line << "\n" << std::flush;
        }
        last_key = key;
    };
    for (;;) {
        std::string answer;
        if (exchange(command, socket_path, "status-json", answer, true) != kExitOk || answer.empty()) {
            show("cannot reach the daemon at " + socket_path + ": waiting", std::nullopt, "unreachable");
        } else {
            nlohmann::json s = nlohmann::json::parse(answer, nullptr, false);
            if (s.is_discarded() || !s.is_object()) {
                if (terminal) std::cout << "\n";
                std::cout << "haspool " << command << ": the daemon's status is not JSON: " << answer.substr(0, 200) << "\n";
                return kExitFailure;
            }
            agent::OperationVerdict v = watch.observe(s);
            if (v.phase != agent::OperationVerdict::Phase::running) {
                if (terminal) std::cout << "\r\033[K";
                const bool ok = v.phase == agent::OperationVerdict::Phase::done;
                std::cout << (ok ? "done: " : "failed: ") << v.line << " (" << static_cast<int>(elapsed()) << "s)\n";
                return ok ? kExitOk : kExitFailure;
            }
            std::string key = v.line.substr(0, v.line.find(':')) + (v.percent ? "@" + std::to_string(*v.percent / 10) : "");
            show(v.line, v.percent, key);
        }
        if (timeout > 0 && elapsed() >= timeout) {
            if (terminal) std::cout << "\n";
            std::cout << "haspool " << command << ": still under way after " << timeout
                      << " s (--timeout); it goes on, follow it with 'haspool status --watch'\n";
            return kExitFailure;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
}

// switchover and failback: [--wait [--timeout SECONDS]].
int operation_command(const std::string& command, agent::WatchedOperation op, const std::string& what,
                      const std::vector<std::string>& args) {
    po::options_description opts("Options");
    add_config_options(opts);
    opts.add_options()("wait", "follow the operation to its end (a progress bar on a terminal, plain lines otherwise); "
                               "exit 1 if it fails")(
        "timeout", po::value<double>()->default_value(0)->value_name("SECONDS"),
        "--wait: give up waiting after this long (exit 1; the operation goes on); 0 waits as long as it runs");
    po::variables_map vm;
    if (auto rc = parse(command, "[--config FILE] [--wait [--timeout SECONDS]]", what, opts, args, vm)) return *rc;
    const double timeout = vm["timeout"].as<double>();
    if (!vm["timeout"].defaulted() && !vm.count("wait")) {
        std::cerr << "haspool " << command << ": --timeout goes with --wait\n";
        return kExitUsage;
    }
    if (!(timeout >= 0 && timeout <= 7 * 24 * 3600)) {
        std::cerr << "haspool " << command << ": --timeout must be between 0 and 604800 seconds\n";
        return kExitUsage;
    }
    auto cfg = load_config_or_report(vm);
    if (!cfg) return kExitUsage;
    if (int rc = ask_daemon(command, cfg->cluster.control_socket, command); rc != kExitOk || !vm.count("wait")) return rc;
    return follow_operation(command, cfg->cluster.control_socket, op, timeout);
}

// status --watch: the report again and again, like watch(1). On a terminal each one replaces
// the last (cursor home, clear below); otherwise they follow each other, each after a line with
// the time, so a log of them reads in order. A daemon that cannot be reached is one line in the
// report, not the end: it may be restarting. Exit status: that of the last report.
int watch_status(const std::string& socket_path, bool json, double interval, std::optional<unsigned> count) {
    const bool terminal = ::isatty(STDOUT_FILENO) == 1;
    int rc = kExitOk;
    for (unsigned n = 1;; ++n) {
        std::string answer;
        rc = exchange("status", socket_path, json ? "status-json" : "status", answer, true);
        if (rc == kExitOk && answer.empty()) rc = kExitFailure;
        if (rc != kExitOk)
            answer = "cannot reach the daemon at " + socket_path + ": " + std::strerror(errno) + "\n";
        std::time_t now = std::time(nullptr);
        char stamp[32];
        std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
        if (terminal)
            std::cout << "\033[H\033[J" << answer << "\n(" << stamp << ", every " << interval
                      << " s; Ctrl-C to stop)\n";
        else std::cout << (json ? "" : std::string("--- ") + stamp + "\n") << answer;
        std::cout.flush();
        if (count && n >= *count) return rc;
        std::this_thread::sleep_for(std::chrono::duration<double>(interval));
    }
}

}  // namespace

int control_exchange(const std::string& command, const std::string& socket_path, const std::string& line,
                     std::string& answer, bool quiet) {
    return exchange(command, socket_path, line, answer, quiet);
}

int cmd_status(const std::vector<std::string>& args) {
    po::options_description opts("Options");
    add_config_options(opts);
    opts.add_options()("json", "machine-readable output")(
        "watch", "show the status again every --interval, in place on a terminal (one report after another "
                 "otherwise), until interrupted or --count reports")(
        "interval", po::value<double>()->default_value(2.0)->value_name("SECONDS"), "--watch: the time between reports")(
        "count", po::value<unsigned>()->value_name("N"), "--watch: stop after N reports")(
        "check", "one line and an exit status for monitors (Nagios/Icinga): 0 ok (redundant), 1 warning "
                 "(degraded, resyncing, X lost, the standby serving, in transition), 2 critical (HALTED, "
                 "SPLIT_BRAIN, Y failed, or the daemon unreachable)");
    po::variables_map vm;
    if (auto rc = parse("status", "[--config FILE] [--json | --check | --watch [--interval SECONDS] [--count N]]",
                        "Shows this node's state, generation, data, last decision and last transitions; the peer's\n"
                        "own answer, asked over the authenticated peer channel (its state, data, NBD export or array,\n"
                        "paths and transitions); and what the peer's last heartbeat said, with its age and round trip\n"
                        "per path. When the peer's daemon cannot be asked, it says why.",
                        opts, args, vm))
        return *rc;
    if (vm.count("json") && vm.count("check")) {
        std::cerr << "haspool status: --json and --check exclude each other\n";
        return kExitUsage;
    }
    if (vm.count("watch") && vm.count("check")) {
        std::cerr << "haspool status: --watch and --check exclude each other\n";
        return kExitUsage;
    }
    const double interval = vm["interval"].as<double>();
    if (vm.count("watch") && !(interval >= 0.1 && interval <= 3600)) {
        std::cerr << "haspool status: --interval must be between 0.1 and 3600 seconds\n";
        return kExitUsage;
    }
    if (!vm.count("watch") && (vm.count("count") || !vm["interval"].defaulted())) {
        std::cerr << "haspool status: --interval and --count go with --watch\n";
        return kExitUsage;
    }
    auto cfg = load_config_or_report(vm);
    if (vm.count("watch")) {
        if (!cfg) return kExitUsage;
        return watch_status(cfg->cluster.control_socket, vm.count("json") > 0, interval,
                            vm.count("count") ? std::optional<unsigned>(vm["count"].as<unsigned>()) : std::nullopt);
    }
    if (!vm.count("check")) {
        if (!cfg) return kExitUsage;
        return ask_daemon("status", cfg->cluster.control_socket, vm.count("json") ? "status-json" : "status");
    }
    // --check: every outcome is one line on stdout and 0/1/2, as monitoring plugins expect.
    if (!cfg) {
        std::cout << "critical: the configuration cannot be read (above)\n";
        return 2;
    }
    std::string answer;
    if (exchange("status", cfg->cluster.control_socket, "status-check", answer, true) != kExitOk) {
        std::cout << "critical: the haspool daemon cannot be reached at " << cfg->cluster.control_socket << "\n";
        return 2;
    }
    std::cout << answer;
    if (answer.rfind("ok: ", 0) == 0) return 0;
    if (answer.rfind("warning: ", 0) == 0) return 1;
    return 2;  // critical, or an answer this CLI does not know (an older daemon): never "ok"
}

int cmd_switchover(const std::vector<std::string>& args) {
    return operation_command("switchover", agent::WatchedOperation::switchover,
                             "Planned move of the service to the standby (run on the primary): it stops units, drops the\n"
                             "address and unmounts, then tells the standby to take over at once. With --wait it returns\n"
                             "when the standby serves (exit 0) or the switchover failed (exit 1).",
                             args);
}

int cmd_failback(const std::vector<std::string>& args) {
    return operation_command("failback", agent::WatchedOperation::failback,
                             "Hands the service back to the primary (run on either node): the standby stops, exports its\n"
                             "disk again, and the primary fails back from it. With --wait it returns when the primary is\n"
                             "MIRRORED again, md's copy done (exit 0), or the failback failed (exit 1), showing the copy's\n"
                             "progress meanwhile.",
                             args);
}

int cmd_replace_disk(const std::vector<std::string>& args) {
    return control_command("replace-disk", "replace-disk",
                           "Rebuilds the primary's disk X from the standby's Y (run on the primary, while it serves\n"
                           "DISKLESS after md failed X): the configured spool device of the primary (after the disk was\n"
                           "swapped or repaired) gets its md superblock wiped and is added in full; md copies all of Y onto\n"
                           "it while mail flows, and the pair is MIRRORED when md is clean. Refused (exit 1) unless DISKLESS.",
                           args);
}

}  // namespace haspool::cli

namespace haspool::cli {

// Run on either node: that daemon applies the decision and passes it on to the peer over the
// authenticated request channel (docs/agent.md, "Split brain and resolve").
int cmd_resolve(const std::vector<std::string>& args) {
    po::options_description opts("Options");
    add_config_options(opts);
    opts.add_options()("discard", po::value<std::string>()->required()->value_name("NODE"),
                       "the node whose data loses the split brain (its writes since the split are thrown away)");
    po::variables_map vm;
    if (auto rc = parse("resolve", "--discard NODE [--config FILE]",
                        "Settles a split brain (both nodes in SPLIT_BRAIN): NODE's data is discarded and the other\n"
                        "node's data is copied over it in full. Run it on either node; the daemon there tells the\n"
                        "other one. The node whose data is discarded stops serving (units, address, mount, md) and\n"
                        "records the discard in its state file; nothing is overwritten until the peer connects.\n"
                        "Refused (exit 1) unless this node is SPLIT_BRAIN.",
                        opts, args, vm))
        return *rc;
    auto cfg = load_config_or_report(vm);
    if (!cfg) return kExitUsage;
    const std::string discard = vm["discard"].as<std::string>();
    if (!cfg->find_node(discard)) {
        std::cerr << "haspool resolve: --discard " << discard << " names none of the nodes (" << cfg->primary().name
                  << ", " << cfg->standby().name << "); nothing was done\n";
        return kExitUsage;
    }
    return ask_daemon("resolve", cfg->cluster.control_socket, "resolve discard=" + discard);
}

int cmd_events(const std::vector<std::string>& args) {
    po::options_description opts("Options");
    add_config_options(opts);
    opts.add_options()("now", "start with the current status (a line of type \"status\")");
    po::variables_map vm;
    if (auto rc = parse("events", "[--config FILE] [--now]",
                        "Streams what the local daemon decides and sees, one JSON object per line, as it happens:\n"
                        "transitions, each step's outcome, heartbeat paths going up or down, md's and the NBD link's\n"
                        "reports (docs/status-json.md \"Events\"). Runs until interrupted; exit 1 when the daemon\n"
                        "closes the stream (it stopped, or this reader fell behind).",
                        opts, args, vm))
        return *rc;
    auto cfg = load_config_or_report(vm);
    if (!cfg) return kExitUsage;
    int rc = kExitOk;
    int fd = send_line("events", cfg->cluster.control_socket, vm.count("now") ? "events now" : "events", rc);
    if (fd < 0) return rc;
    // Lines pass through as they come; the first bytes tell a refusal from a stream.
    std::string head;
    bool streaming = false;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) {
        if (!streaming) {
            head.append(buf, static_cast<size_t>(n));
            if (head.size() < 8 && head.find('\n') == std::string::npos) continue;
            if (turned_down(head)) {
                while ((n = ::read(fd, buf, sizeof buf)) > 0) head.append(buf, static_cast<size_t>(n));
                std::cout << head << std::flush;
                ::close(fd);
                return kExitFailure;
            }
            streaming = true;
            std::cout << head << std::flush;
            continue;
        }
        std::cout.write(buf, n);
        std::cout.flush();
    }
    ::close(fd);
    if (!streaming && !head.empty()) std::cout << head << std::flush;
    std::cerr << "haspool events: the daemon at " << cfg->cluster.control_socket << " closed the stream\n";
    return kExitFailure;
}

}  // namespace haspool::cli
