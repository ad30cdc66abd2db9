// NodeMachine: either role's machine behind the daemon's one interface. It forwards to the
// machine (which its own tests cover) and reports the decision as state name and wire byte.
#include <catch2/catch.hpp>

#include "agent/core/node_machine.hpp"
#include "agent_test_support.hpp"

using namespace haspool;
using namespace haspool::agent;
using namespace haspool::agent::test;

TEST_CASE("node machine: the primary starts waiting for the standby") {
    NodeMachine m = NodeMachine::primary(example_config(), base_lineage(), {});
    CHECK_FALSE(m.standby());
    CHECK(std::string(m.role()) == "primary");
    NodeDecision d = m.start(t0, std::nullopt);
    CHECK(d.state == "WAIT_PEER");
    CHECK(d.wire == static_cast<uint8_t>(PrimaryState::WAIT_PEER));
    CHECK(m.mirror_health(std::nullopt) == MirrorHealth::unknown);
}

TEST_CASE("node machine: the standby starts exporting Y, and its events reach the machine") {
    NodeMachine m = NodeMachine::standby(example_config(), base_lineage(), false);
    CHECK(m.standby());
    CHECK(std::string(m.role()) == "standby");
    NodeDecision d = m.start(t0, std::nullopt);
    CHECK(d.state == "EXPORTING");
    CHECK(d.wire == static_cast<uint8_t>(StandbyState::EXPORTING));
    CHECK(step_names(d.steps) == "StartExport");
    d = m.handle(event::StepsSucceeded{}, t0 + 10ms);
    CHECK(d.state == "EXPORTING");
    CHECK(m.mirror_health(std::nullopt) == MirrorHealth::unknown);
}

TEST_CASE("node machine: the standby started with Y in use resumes serving") {
    NodeMachine m = NodeMachine::standby(example_config(), base_lineage(), false);
    NodeDecision d = m.start(t0, StandbyMachine::SpoolInUse{"/dev/vdb is held by md127", false});
    CHECK(d.state != "EXPORTING");
    CHECK_FALSE(d.steps.empty());
}

TEST_CASE("node machine: a standby marked raw-written says so in its heartbeats") {
    NodeMachine m = NodeMachine::standby(example_config(), base_lineage(), true);
    CHECK(m.mirror_health(std::nullopt) == MirrorHealth::raw_written);
}
