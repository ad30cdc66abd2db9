// The reload decision: what SIGHUP may change. One row per refusal (each names itself) and the
// changes a reload takes.
#include <catch2/catch.hpp>

#include <functional>

#include "agent/control/reload_decision.hpp"
#include "agent_test_support.hpp"

using namespace haspool;
using namespace haspool::agent;

namespace {

config::Node& node(config::Config& c, const std::string& name) {
    for (auto& n : c.nodes)
        if (n.name == name) return n;
    throw std::logic_error("no node " + name);
}

struct Row {
    const char* change;
    std::function<void(config::Config&)> edit;
    const char* refusal;  // nullptr: accepted
};

const char* const kRestart =
    "addresses, paths, port, state_dir, control_socket or control_group changed (a restart applies those)";

}  // namespace

TEST_CASE("reload decision: one row per change") {
    const std::vector<Row> rows = {
        {"nothing", [](config::Config&) {}, nullptr},
        {"fence.command", [](config::Config& c) { c.fence.command = {"/usr/local/sbin/fence-alpha", "--now"}; }, nullptr},
        {"hooks.before_takeover", [](config::Config& c) { c.hooks.before_takeover = {"/etc/haspool/before"}; }, nullptr},
        {"heartbeat.interval", [](config::Config& c) { c.heartbeat.interval = Millis(250); }, nullptr},
        {"heartbeat.dead_after", [](config::Config& c) { c.heartbeat.dead_after = Millis(5000); }, nullptr},
        {"failback.policy", [](config::Config& c) { c.failback.policy = config::FailbackPolicy::automatic; }, nullptr},
        {"service.units", [](config::Config& c) { c.service.units = {"postfix.service", "dovecot.service"}; }, nullptr},
        {"cluster.secret_file", [](config::Config& c) { c.cluster.secret_file = "/etc/haspool/secret.new"; }, nullptr},
        {"cluster.secret_file_next (a rotation)", [](config::Config& c) { c.cluster.secret_file_next = "/etc/haspool/secret.next"; },
         nullptr},
        {"this node's role", [](config::Config& c) { std::swap(node(c, "alpha").role, node(c, "beta").role); },
         "this node's name or role changed"},
        {"this node's name", [](config::Config& c) { node(c, "beta").name = "gamma"; }, "this node's name or role changed"},
        {"cluster.name", [](config::Config& c) { c.cluster.name = "other"; }, "cluster.name changed"},
        {"heartbeat.paths", [](config::Config& c) { c.heartbeat.paths = {"replication"}; }, kRestart},
        {"heartbeat.port", [](config::Config& c) { c.heartbeat.port = 5411; }, kRestart},
        {"this node's addresses", [](config::Config& c) { node(c, "beta").addresses["service"] = "198.51.100.99"; }, kRestart},
        {"the peer's addresses", [](config::Config& c) { node(c, "alpha").addresses["replication"] = "192.0.2.9"; }, kRestart},
        {"cluster.control_socket", [](config::Config& c) { c.cluster.control_socket = "/run/other.sock"; }, kRestart},
        {"cluster.state_dir", [](config::Config& c) { c.cluster.state_dir = "/var/lib/other"; }, kRestart},
        // The socket's group and mode are set when it is created: a reload cannot change who may
        // use it, so it says so rather than admitting a group the socket file does not.
        {"cluster.control_group", [](config::Config& c) { c.cluster.control_group = "users"; }, kRestart},
    };
    const config::Config& running = test::example_config();
    for (const auto& row : rows) {
        INFO("changed: " << row.change);
        config::Config loaded = running;
        row.edit(loaded);
        ReloadDecision d = decide_reload(running, loaded, "beta");
        if (!row.refusal) {
            CHECK(d.accepted);
            CHECK(d.reason.empty());
        } else {
            CHECK_FALSE(d.accepted);
            CHECK(d.reason == row.refusal);
        }
    }
}

TEST_CASE("reload decision: judged for the node that runs, on either role") {
    const config::Config& running = test::example_config();
    config::Config loaded = running;
    node(loaded, "beta").addresses["service"] = "198.51.100.99";  // the primary's peer address
    CHECK_FALSE(decide_reload(running, loaded, "alpha").accepted);
    loaded = running;
    node(loaded, "alpha").name = "delta";
    CHECK(decide_reload(running, loaded, "alpha").reason == "this node's name or role changed");
}
