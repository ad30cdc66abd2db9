// Loss of X (issue 14 item 1, docs/faults.md): md fails the primary's own disk. The primary
// serves on from Y through the NBD leg (DISKLESS), never fails that last good leg and never halts
// for it; the standby treats Y as current; `haspool replace-disk` copies Y onto a new X in full;
// a primary restarted with the x-lost mark never assembles from the stale X.
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
const std::string kX = example_config().primary().spool_device;

struct Reached {
    std::unique_ptr<PrimaryMachine> m;
    TimePoint at;
};

Reached mirrored(PrimaryMachine::Options o = {}) {
    auto m = std::make_unique<PrimaryMachine>(example_config(), base_lineage(), o);
    m->start(t0);
    m->handle(event::HeartbeatReceived{standby_says(S::EXPORTING), heard(t0 + 500ms, t0)}, t0 + 500ms);
    m->handle(event::StepsSucceeded{}, t0 + 1000ms);
    m->handle(event::HeartbeatReceived{standby_says(S::EXPORTING), heard(t0 + 3000ms, t0)}, t0 + 3000ms);
    REQUIRE(m->state() == P::MIRRORED);
    return {std::move(m), t0 + 3000ms};
}

Reached diskless() {
    auto r = mirrored();
    auto d = r.m->handle(event::MdMemberFailed{"/dev/vda"}, r.at + 100ms);
    REQUIRE(d.next == P::DISKLESS);
    r.m->handle(event::StepsSucceeded{}, r.at + 200ms);
    return {std::move(r.m), r.at + 200ms};
}

}  // namespace

TEST_CASE("loss of X: md failing X on a mirrored primary -> DISKLESS, X marked lost, Y's leg untouched") {
    auto r = mirrored();
    auto d = r.m->handle(event::MdMemberFailed{"/dev/vda"}, r.at + 100ms);
    CHECK(d.next == P::DISKLESS);
    // The mark first, then X out of the array; no generation (Y misses nothing), and nothing
    // touches /dev/nbd0 or stops the service.
    CHECK(step_names(d.steps) == "MarkXLost,FailMember");
    REQUIRE(std::holds_alternative<step::FailMember>(d.steps[1]));
    CHECK(std::get<step::FailMember>(d.steps[1]).dev == "/dev/vda");
    CHECK(std::get<step::MarkXLost>(d.steps[0]).dev == "/dev/vda");
    CHECK_THAT(d.reason, Catch::Contains("serving from beta's Y alone") && Catch::Contains("replace-disk"));
    d = r.m->handle(event::StepsSucceeded{}, r.at + 200ms);
    CHECK(d.next == P::DISKLESS);
    CHECK(d.steps.empty());
}

TEST_CASE("loss of X: a failed mark never halts (Y serves), the reason warns against a restart") {
    auto r = mirrored();
    r.m->handle(event::MdMemberFailed{"/dev/vda"}, r.at + 100ms);
    auto d = r.m->handle(failed(step::MarkXLost{"/dev/vda", "x"}, "EROFS"), r.at + 200ms);
    CHECK(d.next == P::DISKLESS);
    CHECK(d.steps.empty());
    CHECK_THAT(d.reason, Catch::Contains("do not restart"));
}

TEST_CASE("loss of X: the NBD leg failing in MIRRORED still degrades as before (X serves)") {
    auto r = mirrored();
    auto d = r.m->handle(event::MdMemberFailed{"/dev/nbd0"}, r.at + 100ms);
    CHECK(d.next == P::DEGRADED);
    CHECK(step_names(d.steps) == "FailMember,BumpGeneration,NotifyPeer");
}

TEST_CASE("DISKLESS: heartbeats say x-lost (not degraded), so the standby keeps Y current") {
    NodeMachine n = NodeMachine::primary(example_config(), base_lineage(), PrimaryMachine::Options{});
    n.start(t0, std::nullopt);
    n.handle(event::HeartbeatReceived{standby_says(S::EXPORTING), heard(t0 + 500ms, t0)}, t0 + 500ms);
    n.handle(event::StepsSucceeded{}, t0 + 1000ms);
    n.handle(event::MdMemberFailed{"/dev/vda"}, t0 + 1100ms);
    // md itself calls the array degraded now; the heartbeat must not.
    raid::MdSnapshot md;
    md.degraded = 1;
    CHECK(n.mirror_health(md) == MirrorHealth::x_lost);
}

TEST_CASE("DISKLESS: a link blip is bridged, Y's leg failing or the standby gone stops the service") {
    auto r = diskless();
    auto d = r.m->handle(event::NbdLinkLost{"reset"}, r.at + 100ms);
    CHECK(d.next == P::DISKLESS);
    CHECK(step_names(d.steps) == "ReconnectNbd");

    r = diskless();
    d = r.m->handle(event::MdMemberFailed{"/dev/nbd0"}, r.at + 100ms);
    CHECK(d.next == P::HALTED);
    CHECK_THAT(d.reason, Catch::Contains("no disk is left"));

    r = diskless();
    // Silent on every path and NBD, but not yet for dead_after: wait; then stop.
    d = r.m->handle(event::PeerSilent{silent(r.at)}, r.at + 100ms);
    CHECK(d.next == P::DISKLESS);
    d = r.m->handle(event::TimerFired{silent(r.at)}, r.at + kDead);
    CHECK(d.next == P::HALTED);
    CHECK_THAT(d.reason, Catch::Contains("only disk"));
}

TEST_CASE("replace-disk: only DISKLESS, X added in full, md copies Y->X, then MIRRORED and the mark cleared") {
    auto m = mirrored();
    auto d = m.m->handle(event::OperatorCommand{event::Command::replace_disk}, m.at + 100ms);
    CHECK(d.next == P::MIRRORED);
    CHECK(d.steps.empty());
    CHECK_THAT(d.reason, Catch::Contains("refused replace-disk: X is not lost"));

    auto r = diskless();
    d = r.m->handle(event::OperatorCommand{event::Command::replace_disk}, r.at + 100ms);
    CHECK(d.next == P::RESYNC);
    REQUIRE(step_names(d.steps) == "AddMemberFull");
    CHECK(std::get<step::AddMemberFull>(d.steps[0]).dev == kX);
    // A second one while md copies is refused, not mistaken for a switchover.
    d = r.m->handle(event::OperatorCommand{event::Command::replace_disk}, r.at + 150ms);
    CHECK(d.next == P::RESYNC);
    CHECK(d.steps.empty());
    d = r.m->handle(event::StepsSucceeded{}, r.at + 200ms);
    CHECK(d.next == P::RESYNC);
    d = r.m->handle(event::ResyncFinished{}, r.at + 60s);
    CHECK(d.next == P::MIRRORED);
    CHECK(step_names(d.steps) == "RestoreWriteMostly,ClearXLost");
    CHECK_THAT(d.reason, Catch::Contains("Y->X") && Catch::Contains("x-lost mark is cleared"));
}

TEST_CASE("replace-disk: a failed add leaves the node DISKLESS, serving from Y") {
    auto r = diskless();
    r.m->handle(event::OperatorCommand{event::Command::replace_disk}, r.at + 100ms);
    auto d = r.m->handle(failed(step::AddMemberFull{"/dev/md/haspool", kX}, "mdadm: add new device failed"), r.at + 200ms);
    CHECK(d.next == P::DISKLESS);
    CHECK(d.steps.empty());
    CHECK_THAT(d.reason, Catch::Contains("replace-disk failed"));
}

TEST_CASE("copying Y onto X: md failing X again -> DISKLESS (Y is complete), failing Y -> HALTED") {
    auto r = diskless();
    r.m->handle(event::OperatorCommand{event::Command::replace_disk}, r.at + 100ms);
    r.m->handle(event::StepsSucceeded{}, r.at + 200ms);
    auto d = r.m->handle(event::MdMemberFailed{"/dev/vda"}, r.at + 300ms);
    CHECK(d.next == P::DISKLESS);
    CHECK(step_names(d.steps) == "MarkXLost,FailMember");

    auto h = diskless();
    h.m->handle(event::OperatorCommand{event::Command::replace_disk}, h.at + 100ms);
    h.m->handle(event::StepsSucceeded{}, h.at + 200ms);
    d = h.m->handle(event::MdMemberFailed{"/dev/nbd0"}, h.at + 300ms);
    CHECK(d.next == P::HALTED);
}

TEST_CASE("restart with the x-lost mark: never assembles X, serves from Y alone, --force-solo refused") {
    PrimaryMachine::Options o;
    o.x_lost = true;
    PrimaryMachine m(example_config(), base_lineage(), o);
    auto d = m.start(t0);
    CHECK(d.next == P::WAIT_PEER);
    CHECK_THAT(d.reason, Catch::Contains("X is marked lost"));
    d = m.handle(event::HeartbeatReceived{standby_says(S::EXPORTING), heard(t0 + 500ms, t0)}, t0 + 500ms);
    CHECK(d.next == P::CONNECTING);
    REQUIRE(d.steps.size() >= 2);
    CHECK(step_names(d.steps).rfind("AttachNbd,AssembleDegraded,Fsck,Mount", 0) == 0);
    CHECK(std::get<step::AssembleDegraded>(d.steps[1]).dev == "/dev/nbd0");
    for (const auto& s : d.steps) {
        CHECK_FALSE(std::holds_alternative<step::AssembleMirror>(s));
        if (const auto* a = std::get_if<step::AssembleDegraded>(&s)) CHECK(a->dev != kX);
    }
    d = m.handle(event::StepsSucceeded{}, t0 + 1000ms);
    CHECK(d.next == P::DISKLESS);

    PrimaryMachine::Options solo;
    solo.x_lost = true;
    solo.force_solo = true;
    PrimaryMachine s(example_config(), base_lineage(), solo);
    d = s.start(t0);
    CHECK(d.next == P::HALTED);
    CHECK(d.steps.empty());
    CHECK_THAT(d.reason, Catch::Contains("refused --force-solo"));
}

TEST_CASE("restart with the x-lost mark: different generations -> the operator decides, X untouched") {
    PrimaryMachine::Options o;
    o.x_lost = true;
    PrimaryMachine m(example_config(), base_lineage().bumped(false), o);
    m.start(t0);
    auto d = m.handle(event::HeartbeatReceived{standby_says(S::EXPORTING), heard(t0 + 500ms, t0)}, t0 + 500ms);
    CHECK(d.next == P::WAIT_PEER);
    CHECK(d.steps.empty());
    CHECK_THAT(d.reason, Catch::Contains("operator decides"));
}

TEST_CASE("failback with the x-lost mark adds X in full, never re-adds it") {
    PrimaryMachine::Options o;
    o.x_lost = true;
    PrimaryMachine m(example_config(), base_lineage(), o);
    m.start(t0);
    auto d = m.handle(event::HeartbeatReceived{standby_says(S::EXPORTING, base_lineage().bumped(true)), heard(t0 + 500ms, t0)},
                      t0 + 500ms);
    CHECK(d.next == P::FAILBACK);
    const std::string names = step_names(d.steps);
    CHECK(names.find("AddMemberFull") != std::string::npos);
    CHECK(names.find("ReAddMember") == std::string::npos);
    CHECK(names.find("MergeBitmap") == std::string::npos);
}

TEST_CASE("DISKLESS: switchover allowed (Y is current), the standby's takeover from it is not refused") {
    auto r = diskless();
    auto d = r.m->handle(event::OperatorCommand{event::Command::switchover}, r.at + 100ms);
    CHECK(d.next == P::HANDOVER);

    // The standby: it heard DISKLESS (md x-lost) after MIRRORED, then silence: it takes over.
    StandbyMachine b(example_config(), base_lineage());
    b.start(t0);
    b.handle(event::StepsSucceeded{}, t0 + 10ms);
    b.handle(event::HeartbeatReceived{primary_says(P::MIRRORED), heard(t0 + 1000ms, t0)}, t0 + 1000ms);
    b.handle(event::HeartbeatReceived{primary_says(P::DEGRADED, base_lineage(), MirrorHealth::degraded),
                                      heard(t0 + 1100ms, t0)},
             t0 + 1100ms);
    // DISKLESS after that DEGRADED-looking instant (md's view before the daemon decided) clears it.
    b.handle(event::HeartbeatReceived{primary_says(P::DISKLESS, base_lineage(), MirrorHealth::x_lost),
                                      heard(t0 + 1200ms, t0)},
             t0 + 1200ms);
    b.handle(event::PeerSilent{silent(t0 + 1200ms)}, t0 + 2300ms);
    REQUIRE(b.state() == S::SUSPECT);
    auto e = b.handle(event::TimerFired{silent(t0 + 1200ms)}, t0 + 1200ms + kDead);
    CHECK(e.next == S::TAKEOVER);

    // replace-disk on the standby is refused, and is no switchover or failback.
    StandbyMachine c(example_config(), base_lineage());
    c.start(t0);
    c.handle(event::StepsSucceeded{}, t0 + 10ms);
    e = c.handle(event::OperatorCommand{event::Command::replace_disk}, t0 + 20ms);
    CHECK(e.next == S::EXPORTING);
    CHECK(e.steps.empty());
    CHECK_THAT(e.reason, Catch::Contains("run it on alpha"));
}
