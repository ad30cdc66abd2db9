// Loss of Y (issue 14 item 2, docs/faults.md): the disk under the standby's export answers I/O
// errors. The primary's md fails the leg and the primary degrades as for a lost standby; the
// standby says y-failed in its heartbeats and status, never takes over from Y (crash or planned),
// and the primary never re-adds a leg whose disk fails.
#include <catch2/catch.hpp>

#include "agent_test_support.hpp"
#include "agent/core/node_machine.hpp"
#include "agent/core/primary_machine.hpp"
#include "agent/core/standby_machine.hpp"

using namespace haspool;
using namespace haspool::agent;
using namespace haspool::agent::test;
using P = PrimaryState;
using S = StandbyState;

namespace {

const Millis kDead = example_config().heartbeat.dead_after;
const event::YFailed kFailed{"3 request(s) on /dev/vdb answered with an I/O error by the disk (the export's count)"};

StandbyMachine exporting() {
    StandbyMachine m(example_config(), base_lineage());
    m.start(t0);
    m.handle(event::StepsSucceeded{}, t0 + 10ms);
    m.handle(event::HeartbeatReceived{primary_says(P::MIRRORED), heard(t0 + 1000ms, t0)}, t0 + 1000ms);
    REQUIRE(m.state() == S::EXPORTING);
    return m;
}

PeerStatus y_failed_standby(Lineage l = base_lineage()) {
    PeerStatus p = standby_says(S::EXPORTING, std::move(l));
    p.md = MirrorHealth::y_failed;
    return p;
}

}  // namespace

TEST_CASE("loss of Y: the standby records it once, says y-failed, and refuses the takeover") {
    StandbyMachine m = exporting();
    auto d = m.handle(kFailed, t0 + 1100ms);
    CHECK(d.next == S::EXPORTING);
    CHECK(d.steps.empty());
    CHECK_THAT(d.reason, Catch::Contains("Y failed: 3 request(s)") && Catch::Contains("will not take over"));
    CHECK(m.handle(kFailed, t0 + 1200ms).reason.empty());  // logged once

    // Silence from the primary, even with Y otherwise current: no takeover.
    m.handle(event::PeerSilent{silent(t0 + 1000ms)}, t0 + 2100ms);
    REQUIRE(m.state() == S::SUSPECT);
    d = m.handle(event::TimerFired{silent(t0 + 1000ms)}, t0 + 1000ms + kDead);
    CHECK(d.next == S::SUSPECT);
    CHECK(d.steps.empty());
    CHECK_THAT(d.reason, Catch::Contains("no takeover: Y failed"));
}

TEST_CASE("loss of Y: a switchover request is refused too") {
    StandbyMachine m = exporting();
    m.handle(kFailed, t0 + 1100ms);
    auto d = m.handle(event::PeerRequest{MessageKind::take_over}, t0 + 1200ms);
    CHECK(d.next == S::EXPORTING);
    CHECK(d.steps.empty());
    CHECK_THAT(d.reason, Catch::Contains("refused the switchover"));
}

TEST_CASE("loss of Y: heartbeats and status say so") {
    NodeMachine n = NodeMachine::standby(example_config(), base_lineage(), false);
    n.start(t0, std::nullopt);
    CHECK(n.mirror_health(std::nullopt) == MirrorHealth::unknown);
    CHECK(n.disk_problem().empty());
    n.handle(kFailed, t0 + 100ms);
    CHECK(n.mirror_health(std::nullopt) == MirrorHealth::y_failed);
    CHECK_THAT(n.disk_problem(), Catch::StartsWith("Y failed: 3 request(s)"));
}

TEST_CASE("loss of Y: the degraded primary does not re-add a leg whose disk fails, nor switches over onto it") {
    PrimaryMachine m(example_config(), base_lineage(), PrimaryMachine::Options{});
    m.start(t0);
    m.handle(event::HeartbeatReceived{standby_says(S::EXPORTING), heard(t0 + 500ms, t0)}, t0 + 500ms);
    m.handle(event::StepsSucceeded{}, t0 + 1000ms);
    REQUIRE(m.state() == P::MIRRORED);
    // The standby's y-failed arrives; a switchover onto it is refused.
    auto d = m.handle(event::HeartbeatReceived{y_failed_standby(), heard(t0 + 3000ms, t0)}, t0 + 3000ms);
    CHECK(d.next == P::MIRRORED);
    d = m.handle(event::OperatorCommand{event::Command::switchover}, t0 + 3100ms);
    CHECK(d.next == P::MIRRORED);
    CHECK(d.steps.empty());
    CHECK_THAT(d.reason, Catch::Contains("reports its disk Y failed"));
    // md fails the NBD leg: degraded as for a lost standby.
    d = m.handle(event::MdMemberFailed{"/dev/nbd0"}, t0 + 3200ms);
    CHECK(d.next == P::DEGRADED);
    m.lineage_changed(base_lineage().bumped(false));
    m.handle(event::StepsSucceeded{}, t0 + 3300ms);
    // Stable and EXPORTING, but y-failed: no resync.
    d = m.handle(event::HeartbeatReceived{y_failed_standby(), heard(t0 + 10s, t0)}, t0 + 10s);
    CHECK(d.next == P::DEGRADED);
    CHECK(d.steps.empty());
    CHECK_THAT(d.reason, Catch::Contains("not re-adding its leg"));
    // Once the standby restarted on a repaired disk (no y-failed), the resync goes ahead.
    d = m.handle(event::HeartbeatReceived{standby_says(S::EXPORTING), heard(t0 + 12s, t0)}, t0 + 12s);
    CHECK(d.next == P::RESYNC);
}

TEST_CASE("loss of Y: a primary waiting for its peer does not assemble with a failed Y") {
    PrimaryMachine m(example_config(), base_lineage(), PrimaryMachine::Options{});
    m.start(t0);
    auto d = m.handle(event::HeartbeatReceived{y_failed_standby(), heard(t0 + 500ms, t0)}, t0 + 500ms);
    CHECK(d.next == P::WAIT_PEER);
    CHECK(d.steps.empty());
    CHECK_THAT(d.reason, Catch::Contains("reports its disk Y failed") && Catch::Contains("--force-solo"));
}
