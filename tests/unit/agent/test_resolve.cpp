// Split brain and `haspool resolve --discard NODE` (docs/design.md §3 rule 2, docs/agent.md): what
// each machine runs on either decision, what it does next (failback / connect with a FULL add of
// the discarded side, never a re-add), the refusals, and the persisted discard. Time is explicit.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>

#include "agent_test_support.hpp"
#include "agent/core/primary_machine.hpp"
#include "agent/core/standby_machine.hpp"

using namespace haspool;
using namespace haspool::agent;
using namespace haspool::agent::test;
using P = PrimaryState;
using S = StandbyState;

namespace {

// The split the tests use: from 1/primary, A minted 2/primary (degraded) and B 2/standby (takeover).
const Lineage kSplitA = base_lineage().bumped(false);
const Lineage kSplitB = base_lineage().bumped(true);

bool has_step(const std::vector<Step>& steps, const std::string& name) {
    for (const auto& s : steps)
        if (name_of(s) == name) return true;
    return false;
}

// A primary that heard the standby's diverged generation while waiting for it.
std::unique_ptr<PrimaryMachine> primary_split_while_waiting(StandbyState peer_state = StandbyState::ACTIVE) {
    auto m = std::make_unique<PrimaryMachine>(example_config(), kSplitA, PrimaryMachine::Options{});
    m->start(t0);
    m->handle(event::HeartbeatReceived{standby_says(peer_state, kSplitB), heard(t0 + 1s, t0)}, t0 + 1s);
    REQUIRE(m->state() == P::SPLIT_BRAIN);
    return m;
}

// A mirrored primary that then hears the standby ACTIVE (both serve).
std::unique_ptr<PrimaryMachine> primary_split_while_serving() {
    auto m = std::make_unique<PrimaryMachine>(example_config(), base_lineage(), PrimaryMachine::Options{});
    m->start(t0);
    m->handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING), heard(t0 + 1s, t0)}, t0 + 1s);
    m->handle(event::StepsSucceeded{}, t0 + 2s);
    REQUIRE(m->state() == P::MIRRORED);
    m->handle(event::HeartbeatReceived{standby_says(StandbyState::ACTIVE, kSplitB), heard(t0 + 3s, t0)}, t0 + 3s);
    REQUIRE(m->state() == P::SPLIT_BRAIN);
    return m;
}

// A standby that heard the primary's diverged generation while exporting.
std::unique_ptr<StandbyMachine> standby_split_while_exporting() {
    auto m = std::make_unique<StandbyMachine>(example_config(), kSplitB);
    m->start(t0);
    m->handle(event::StepsSucceeded{}, t0 + 10ms);
    m->handle(event::HeartbeatReceived{primary_says(PrimaryState::DEGRADED, kSplitA, MirrorHealth::degraded), heard(t0 + 1s, t0)},
              t0 + 1s);
    REQUIRE(m->state() == S::SPLIT_BRAIN);
    return m;
}

// A standby that took over, then hears the primary still MIRRORED (both serve).
std::unique_ptr<StandbyMachine> standby_split_while_active(TimePoint& at) {
    auto m = std::make_unique<StandbyMachine>(example_config(), base_lineage());
    m->start(t0);
    m->handle(event::StepsSucceeded{}, t0 + 10ms);
    m->handle(event::HeartbeatReceived{primary_says(PrimaryState::MIRRORED), heard(t0 + 1s, t0)}, t0 + 1s);
    const Millis dead = example_config().heartbeat.dead_after;
    m->handle(event::PeerSilent{silent(t0 + 1s)}, t0 + 2100ms);
    m->handle(event::TimerFired{silent(t0 + 1s)}, t0 + 1s + dead);
    REQUIRE(m->state() == S::TAKEOVER);
    m->lineage_changed(kSplitB);  // what BumpGeneration persisted
    m->handle(event::StepsSucceeded{}, t0 + 1s + dead + 500ms);
    REQUIRE(m->state() == S::ACTIVE);
    at = t0 + 1s + dead + 1s;
    m->handle(event::HeartbeatReceived{primary_says(PrimaryState::MIRRORED), heard(at, at)}, at);
    REQUIRE(m->state() == S::SPLIT_BRAIN);
    return m;
}

}  // namespace

TEST_CASE("resolve is refused outside SPLIT_BRAIN, and every refusal says why (not deduplicated)") {
    PrimaryMachine p(example_config(), base_lineage(), {});
    p.start(t0);
    for (auto t : {1s, 2s}) {
        auto d = p.handle(event::ResolveRequested{"beta"}, t0 + t);
        CHECK(d.next == P::WAIT_PEER);
        CHECK(d.steps.empty());
        CHECK_THAT(d.reason, Catch::Contains("refused resolve --discard beta: this node is WAIT_PEER, not SPLIT_BRAIN"));
    }
    auto d = p.handle(event::PeerRequest{MessageKind::discard_primary}, t0 + 3s);
    CHECK(d.steps.empty());
    CHECK_THAT(d.reason, Catch::Contains("(run on beta)") && Catch::Contains("not SPLIT_BRAIN"));

    StandbyMachine s(example_config(), base_lineage());
    s.start(t0);
    s.handle(event::StepsSucceeded{}, t0 + 10ms);
    auto sd = s.handle(event::ResolveRequested{"alpha"}, t0 + 1s);
    CHECK(sd.next == S::EXPORTING);
    CHECK(sd.steps.empty());
    CHECK_THAT(sd.reason, Catch::Contains("this node is EXPORTING, not SPLIT_BRAIN"));
}

TEST_CASE("resolve naming a node the cluster does not have is refused on both machines") {
    auto p = primary_split_while_waiting();
    auto d = p->handle(event::ResolveRequested{"gamma"}, t0 + 2s);
    CHECK(d.next == P::SPLIT_BRAIN);
    CHECK(d.steps.empty());
    CHECK_THAT(d.reason, Catch::Contains("'gamma' is not a node of this cluster (alpha, beta)"));
    auto s = standby_split_while_exporting();
    auto sd = s->handle(event::ResolveRequested{""}, t0 + 2s);
    CHECK(sd.next == S::SPLIT_BRAIN);
    CHECK(sd.steps.empty());
    CHECK_THAT(sd.reason, Catch::Contains("is not a node of this cluster"));
}

TEST_CASE("SPLIT_BRAIN still refuses switchover and failback, pointing at resolve") {
    auto p = primary_split_while_waiting();
    auto d = p->handle(event::OperatorCommand{event::Command::failback}, t0 + 2s);
    CHECK(d.steps.empty());
    CHECK_THAT(d.reason, Catch::Contains("haspool resolve --discard NODE"));
}

TEST_CASE("primary, resolve --discard alpha: golden transcript, then STANDING_BY, then failback adds X in full") {
    auto m = primary_split_while_waiting();
    auto d = m->handle(event::ResolveRequested{"alpha"}, t0 + 2s);
    CHECK(d.next == P::SPLIT_BRAIN);  // until the discard is done
    CHECK_FALSE(d.undo_on_failure);
    CHECK(transcript(d.steps) ==
          "1. NotifyPeer message=discard-primary\n"
          "2. StopUnit unit=dovecot.service timeout=90000ms\n"
          "3. StopUnit unit=postfix@-.service timeout=90000ms\n"
          "4. RemoveAddress if=eth0 addr=198.51.100.25/24\n"
          "5. Unmount dir=/var/spool/mail\n"
          "6. StopMirror md=/dev/md/haspool\n"
          "7. DetachNbd dev=/dev/nbd0\n"
          "8. DiscardGeneration generation=2/primary reason=\"split brain resolved by the operator (haspool resolve "
          "--discard alpha)\"\n");
    // A heartbeat while the plan runs changes nothing.
    d = m->handle(event::HeartbeatReceived{standby_says(StandbyState::SPLIT_BRAIN, kSplitB), heard(t0 + 3s, t0)}, t0 + 3s);
    CHECK(d.next == P::SPLIT_BRAIN);
    CHECK(d.steps.empty());
    m->lineage_changed(kSplitA.discarded());  // what DiscardGeneration persisted
    d = m->handle(event::StepsSucceeded{}, t0 + 4s);
    CHECK(d.next == P::STANDING_BY);
    // The standby still serves: stand by (its data is newer than a blank X).
    d = m->handle(event::HeartbeatReceived{standby_says(StandbyState::ACTIVE, kSplitB), heard(t0 + 5s, t0)}, t0 + 5s);
    CHECK(d.next == P::STANDING_BY);
    CHECK(d.steps.empty());
    // It hands back: fail back from Y, X added in full; the lineage is adopted only after the add.
    d = m->handle(event::PeerRequest{MessageKind::handed_back}, t0 + 6s);
    REQUIRE(d.next == P::FAILBACK);
    CHECK(step_names(d.steps) ==
          "AttachNbd,AssembleDegraded,AddMemberFull,AdoptGeneration,Mount,ProbeAddress,AddAddress,SendGarp,StartUnit,StartUnit");
    CHECK(to_string(d.steps[1]) == "AssembleDegraded md=/dev/md/haspool dev=/dev/nbd0");
    CHECK(to_string(d.steps[2]) == "AddMemberFull md=/dev/md/haspool dev=/dev/vdb");
    CHECK_FALSE(has_step(d.steps, "ReAddMember"));
    CHECK_FALSE(has_step(d.steps, "MergeBitmap"));
    CHECK(d.undo_on_failure);
    CHECK_THAT(d.reason, Catch::Contains("adding X in full"));
}

TEST_CASE("primary, discard-primary from the peer: the same plan, not passed back") {
    auto m = primary_split_while_waiting();
    auto d = m->handle(event::PeerRequest{MessageKind::discard_primary}, t0 + 2s);
    CHECK(d.next == P::SPLIT_BRAIN);
    CHECK(step_names(d.steps) == "StopUnit,StopUnit,RemoveAddress,Unmount,StopMirror,DetachNbd,DiscardGeneration");
    CHECK_THAT(d.reason, Catch::Contains("(run on beta)"));
    // A second resolve while the first runs is refused.
    auto again = m->handle(event::ResolveRequested{"beta"}, t0 + 3s);
    CHECK(again.steps.empty());
    CHECK_THAT(again.reason, Catch::Contains("already running"));
}

TEST_CASE("primary, resolve --discard beta while serving: Y's leg failed, serve on, no new split, Y added in full") {
    auto m = primary_split_while_serving();
    auto d = m->handle(event::ResolveRequested{"beta"}, t0 + 4s);
    CHECK(d.next == P::SPLIT_BRAIN);
    CHECK(transcript(d.steps) ==
          "1. NotifyPeer message=discard-standby\n"
          "2. FailMember md=/dev/md/haspool dev=/dev/nbd0\n");
    d = m->handle(event::StepsSucceeded{}, t0 + 5s);
    CHECK(d.next == P::DEGRADED);
    // beta has not stopped yet: still ACTIVE with the discarded generation. Not a new split brain,
    // and never a source.
    for (auto st : {StandbyState::ACTIVE, StandbyState::SPLIT_BRAIN, StandbyState::EXPORTING}) {
        d = m->handle(event::HeartbeatReceived{standby_says(st, kSplitB), heard(t0 + 6s, t0)}, t0 + 6s);
        INFO("beta says " << to_string(st));
        CHECK(d.next == P::DEGRADED);
        CHECK(d.steps.empty());
    }
    // beta discarded and exports a blank Y: add it in full.
    d = m->handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING, kSplitB.discarded()), heard(t0 + 7s, t0)},
                  t0 + 7s);
    REQUIRE(d.next == P::RESYNC);
    CHECK(step_names(d.steps) == "AttachNbd,AddMemberFull");
    CHECK(to_string(d.steps[1]) == "AddMemberFull md=/dev/md/haspool dev=/dev/nbd0");
    CHECK_THAT(d.reason, Catch::Contains("in full"));
}

TEST_CASE("primary, resolve --discard beta while waiting: connect only to the blank Y, adding it in full, never re-adding") {
    auto m = primary_split_while_waiting(StandbyState::EXPORTING);
    auto d = m->handle(event::ResolveRequested{"beta"}, t0 + 2s);
    CHECK(d.next == P::WAIT_PEER);
    CHECK(step_names(d.steps) == "NotifyPeer");
    m->handle(event::StepsSucceeded{}, t0 + 2100ms);
    // beta still exports its diverged generation: never assembled against.
    d = m->handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING, kSplitB), heard(t0 + 3s, t0)}, t0 + 3s);
    CHECK(d.next == P::WAIT_PEER);
    CHECK(d.steps.empty());
    CHECK_THAT(d.reason, Catch::Contains("has not discarded its generation 2/standby"));
    d = m->handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING, kSplitB.discarded()), heard(t0 + 4s, t0)},
                  t0 + 4s);
    REQUIRE(d.next == P::CONNECTING);
    CHECK(step_names(d.steps) ==
          "AttachNbd,AssembleDegraded,AddMemberFull,Fsck,Mount,ProbeAddress,AddAddress,SendGarp,StartUnit,StartUnit");
    CHECK(to_string(d.steps[1]) == "AssembleDegraded md=/dev/md/haspool dev=/dev/vdb");
    CHECK_FALSE(has_step(d.steps, "ReAddMember"));
    d = m->handle(event::StepsSucceeded{}, t0 + 5s);
    CHECK(d.next == P::RESYNC);
}

TEST_CASE("a blank standby (new or replaced disk) is always added in full, never re-added") {
    PrimaryMachine m(example_config(), base_lineage(), {});
    m.start(t0);
    auto d = m.handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING, Lineage{}), heard(t0 + 1s, t0)}, t0 + 1s);
    REQUIRE(d.next == P::CONNECTING);
    CHECK(step_names(d.steps).rfind("AttachNbd,AssembleDegraded,AddMemberFull,", 0) == 0);
    CHECK_FALSE(has_step(d.steps, "ReAddMember"));
}

TEST_CASE("primary, resolve while an earlier decision's steps run: refused, their result is not taken for the resolve's") {
    auto m = std::make_unique<PrimaryMachine>(example_config(), kSplitA, PrimaryMachine::Options{});
    m->start(t0);
    m->handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING, kSplitA), heard(t0 + 1s, t0)}, t0 + 1s);
    REQUIRE(m->state() == P::CONNECTING);  // its plan is running
    m->handle(event::HeartbeatReceived{standby_says(StandbyState::ACTIVE, kSplitB), heard(t0 + 2s, t0)}, t0 + 2s);
    REQUIRE(m->state() == P::SPLIT_BRAIN);
    auto d = m->handle(event::ResolveRequested{"beta"}, t0 + 3s);
    CHECK(d.steps.empty());
    CHECK_THAT(d.reason, Catch::Contains("still running"));
    d = m->handle(event::StepsSucceeded{}, t0 + 4s);  // the connect plan's result
    CHECK(d.next == P::SPLIT_BRAIN);
    // Keeping X after an interrupted connect: release what it took, then wait for the blank Y.
    d = m->handle(event::ResolveRequested{"beta"}, t0 + 5s);
    CHECK(d.next == P::SPLIT_BRAIN);
    CHECK(step_names(d.steps) == "NotifyPeer,StopUnit,StopUnit,RemoveAddress,Unmount,StopMirror,DetachNbd");
    CHECK_FALSE(has_step(d.steps, "DiscardGeneration"));
    d = m->handle(event::StepsSucceeded{}, t0 + 6s);
    CHECK(d.next == P::WAIT_PEER);
}

TEST_CASE("primary, a failed resolve step -> HALTED, nothing further automatic") {
    auto m = primary_split_while_waiting();
    m->handle(event::ResolveRequested{"alpha"}, t0 + 2s);
    auto d = m->handle(failed(step::Unmount{"/var/spool/mail"}, "target is busy"), t0 + 3s);
    CHECK(d.next == P::HALTED);
    CHECK(d.steps.empty());
    CHECK_THAT(d.reason, Catch::Contains("resolve failed: Unmount failed: target is busy"));
    d = m->handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING, kSplitB), heard(t0 + 4s, t0)}, t0 + 4s);
    CHECK(d.next == P::HALTED);
    CHECK(d.steps.empty());
}

TEST_CASE("primary, keeping X is refused when X was being rebuilt from Y (failback resync)") {
    const Lineage newer = base_lineage().bumped(true);
    PrimaryMachine m(example_config(), base_lineage(), {});
    m.start(t0);
    m.handle(event::HeartbeatReceived{standby_says(StandbyState::ACTIVE, newer), heard(t0 + 1s, t0)}, t0 + 1s);
    m.handle(event::PeerRequest{MessageKind::handed_back}, t0 + 2s);
    REQUIRE(m.state() == P::FAILBACK);
    m.lineage_changed(newer);
    m.handle(event::StepsSucceeded{}, t0 + 3s);
    REQUIRE(m.state() == P::RESYNC);  // Y -> X
    m.handle(event::HeartbeatReceived{standby_says(StandbyState::ACTIVE, newer), heard(t0 + 4s, t0)}, t0 + 4s);
    REQUIRE(m.state() == P::SPLIT_BRAIN);
    auto d = m.handle(event::ResolveRequested{"beta"}, t0 + 5s);
    CHECK(d.steps.empty());
    CHECK_THAT(d.reason, Catch::Contains("X is incomplete"));
    d = m.handle(event::ResolveRequested{"alpha"}, t0 + 6s);
    CHECK(step_names(d.steps) == "NotifyPeer,StopUnit,StopUnit,RemoveAddress,Unmount,StopMirror,DetachNbd,DiscardGeneration");
}

TEST_CASE("standby, resolve --discard beta: golden transcript, then Y is exported blank, never taken over, adopted when mirrored") {
    auto m = standby_split_while_exporting();
    auto d = m->handle(event::ResolveRequested{"beta"}, t0 + 2s);
    CHECK(d.next == S::SPLIT_BRAIN);
    CHECK(transcript(d.steps) ==
          "1. NotifyPeer message=discard-standby\n"
          "2. StopUnit unit=dovecot.service timeout=90000ms\n"
          "3. StopUnit unit=postfix@-.service timeout=90000ms\n"
          "4. RemoveAddress if=eth0 addr=198.51.100.25/24\n"
          "5. Unmount dir=/var/spool/mail\n"
          "6. StopMirror md=/dev/md/haspool\n"
          "7. DiscardGeneration generation=2/standby reason=\"split brain resolved by the operator (haspool resolve "
          "--discard beta)\"\n"
          "8. StartExport\n");
    m->lineage_changed(kSplitB.discarded());
    d = m->handle(event::StepsSucceeded{}, t0 + 3s);
    CHECK(d.next == S::EXPORTING);
    // alpha keeps its data: its generation is newer than a blank Y; no split brain.
    d = m->handle(event::HeartbeatReceived{primary_says(PrimaryState::RESYNC, kSplitA, MirrorHealth::resyncing), heard(t0 + 4s, t0)},
                  t0 + 4s);
    CHECK(d.next == S::EXPORTING);
    // A blank Y is never taken over from.
    const Millis dead = example_config().heartbeat.dead_after;
    auto refusal = m->takeover_refusal(silent(t0 + 4s), t0 + 4s + dead + 1s);
    REQUIRE(refusal);
    CHECK_THAT(refusal->why, Catch::Contains("outdated"));
    // Mirrored again: adopt alpha's lineage.
    d = m->handle(event::HeartbeatReceived{primary_says(PrimaryState::MIRRORED, kSplitA), heard(t0 + 5s, t0)}, t0 + 5s);
    CHECK(step_names(d.steps) == "AdoptGeneration");
}

TEST_CASE("standby, resolve --discard alpha while ACTIVE: serve on, no new split while alpha stops, hand back to the blank X") {
    TimePoint at;
    auto m = standby_split_while_active(at);
    auto d = m->handle(event::ResolveRequested{"alpha"}, at + 1s);
    CHECK(d.next == S::ACTIVE);
    CHECK(transcript(d.steps) == "1. NotifyPeer message=discard-primary\n");
    m->handle(event::StepsSucceeded{}, at + 1100ms);
    // alpha has not stopped yet: still MIRRORED with the discarded generation.
    d = m->handle(event::HeartbeatReceived{primary_says(PrimaryState::MIRRORED), heard(at + 2s, at)}, at + 2s);
    CHECK(d.next == S::ACTIVE);
    CHECK(d.steps.empty());
    // alpha discarded and stands by: hand back when asked.
    d = m->handle(event::HeartbeatReceived{primary_says(PrimaryState::STANDING_BY, base_lineage().discarded()), heard(at + 3s, at)},
                  at + 3s);
    CHECK(d.next == S::ACTIVE);
    d = m->handle(event::OperatorCommand{event::Command::failback}, at + 4s);
    CHECK(d.next == S::HANDBACK);
    CHECK(step_names(d.steps) == "StopUnit,StopUnit,RemoveAddress,Unmount,StopMirror,StartExport,NotifyPeer");
}

TEST_CASE("standby, a failed resolve step -> HALTED") {
    auto m = standby_split_while_exporting();
    m->handle(event::PeerRequest{MessageKind::discard_standby}, t0 + 2s);
    auto d = m->handle(failed(step::DiscardGeneration{kSplitB.current, "x"}, "No space left on device"), t0 + 3s);
    CHECK(d.next == S::HALTED);
    CHECK_THAT(d.reason, Catch::Contains("resolve failed at DiscardGeneration: No space left on device"));
}

TEST_CASE("standby, the discard done but the export failing: EXPORTING and retried, not HALTED") {
    auto m = standby_split_while_exporting();
    m->handle(event::PeerRequest{MessageKind::discard_standby}, t0 + 2s);
    m->lineage_changed(kSplitB.discarded());
    auto d = m->handle(failed(step::StartExport{}, "address in use"), t0 + 3s);
    CHECK(d.next == S::EXPORTING);
    REQUIRE(d.wake_at);
    CHECK_THAT(d.reason, Catch::Contains("discarded this node's data") && Catch::Contains("cannot export Y") &&
                             Catch::Contains("retrying in"));
    d = m->handle(event::TimerFired{heard(*d.wake_at, t0)}, *d.wake_at);
    CHECK(step_names(d.steps) == "StartExport");
}

TEST_CASE("lineage: a discarded lineage is blank, older than anything, and mints above what it discarded") {
    Lineage d = kSplitA.discarded();
    CHECK(d.current == Generation::blank());
    REQUIRE_FALSE(d.ancestors.empty());
    CHECK(d.ancestors.front() == kSplitA.current);
    CHECK(compare(d, kSplitB) == Comparison::peer_newer);
    CHECK(compare(kSplitB, d) == Comparison::mine_newer);
    // Even against a generation among the discarded ancestors (the blank test comes first).
    CHECK(compare(d, base_lineage()) == Comparison::peer_newer);
    CHECK(compare(base_lineage(), d) == Comparison::mine_newer);
    CHECK(compare(d, Lineage{}) == Comparison::same);
    // A bump after a discard never reuses a discarded generation.
    CHECK(d.bumped(false).current.counter() == kSplitA.current.counter() + 1);
    CHECK(d.discarded().ancestors == d.ancestors);
}

// ResolveTracker: what both machines remember of a split brain and its resolve, tested alone.
TEST_CASE("resolve tracker: an accepted order, the pass-on first, then the plan, where it leads") {
    const config::Config& c = example_config();
    Plans plans(c);
    ResolveTracker<P> t(P::WAIT_PEER);
    t.split(P::MIRRORED);
    CHECK(t.split_from() == P::MIRRORED);
    std::string refusal;
    auto peer = std::optional<PeerStatus>(standby_says(StandbyState::ACTIVE, kSplitB));
    SECTION("run here: NotifyPeer discard-standby before the plan") {
        auto o = t.accept(c, plans, config::Role::primary, "beta", false, "beta", "SPLIT_BRAIN", true, false, 0, kSplitA,
                          peer, refusal);
        REQUIRE(o);
        CHECK(refusal.empty());
        CHECK_FALSE(o->discard_self);
        CHECK(o->check.what == "resolve --discard beta");
        CHECK(o->mine == to_string(kSplitA.current));
        CHECK(o->theirs == to_string(kSplitB.current));
        CHECK(step_names(o->steps) == "NotifyPeer");
        auto steps = t.run(*o, plans.drop_peer_leg(), P::DEGRADED, "serving from X alone");
        CHECK(step_names(steps) == "NotifyPeer,FailMember");
        CHECK(t.next() == P::DEGRADED);
        CHECK(t.done() == "serving from X alone");
    }
    SECTION("from the peer: nothing passed back; discarding this node") {
        auto o = t.accept(c, plans, config::Role::primary, "alpha", true, "beta", "SPLIT_BRAIN", true, false, 0, kSplitA,
                          peer, refusal);
        REQUIRE(o);
        CHECK(o->discard_self);
        CHECK(o->check.what == "resolve --discard alpha (run on beta)");
        CHECK(o->steps.empty());
    }
    SECTION("refusals: not split, a resolve running, other batches in flight, an unknown node") {
        CHECK_FALSE(t.accept(c, plans, config::Role::primary, "beta", false, "beta", "MIRRORED", false, false, 0, kSplitA,
                             peer, refusal));
        CHECK_THAT(refusal, Catch::Contains("this node is MIRRORED, not SPLIT_BRAIN"));
        CHECK_FALSE(t.accept(c, plans, config::Role::primary, "beta", false, "beta", "SPLIT_BRAIN", true, true, 1, kSplitA,
                             peer, refusal));
        CHECK_THAT(refusal, Catch::Contains("a resolve is already running"));
        CHECK_FALSE(t.accept(c, plans, config::Role::primary, "beta", false, "beta", "SPLIT_BRAIN", true, false, 2, kSplitA,
                             peer, refusal));
        CHECK_THAT(refusal, Catch::Contains("steps of an earlier decision are still running"));
        CHECK_FALSE(t.accept(c, plans, config::Role::primary, "gamma", false, "beta", "SPLIT_BRAIN", true, false, 0, kSplitA,
                             peer, refusal));
        CHECK_THAT(refusal, Catch::Contains("'gamma' is not a node of this cluster"));
    }
}

TEST_CASE("resolve tracker: a kept side waits for the peer's discard, then forgets it") {
    ResolveTracker<S> t(S::EXPORTING);
    auto peer = std::optional<PeerStatus>(primary_says(PrimaryState::DEGRADED, kSplitA));
    CHECK_FALSE(t.awaiting_peer_discard(peer));
    t.keep(peer);
    REQUIRE(t.discarded_peer());
    CHECK(*t.discarded_peer() == kSplitA.current);
    CHECK(t.awaiting_peer_discard(peer));
    CHECK_FALSE(t.awaiting_peer_discard(std::nullopt));
    t.heard(kSplitA);  // still the discarded generation: nothing changes
    CHECK(t.awaiting_peer_discard(peer));
    Lineage blank{Generation::blank(), {kSplitA.current}};
    t.heard(blank);  // the peer reports its discard
    CHECK_FALSE(t.discarded_peer());
    CHECK_FALSE(t.awaiting_peer_discard(peer));
    // Keeping with a peer never heard remembers nothing.
    t.keep(std::nullopt);
    CHECK_FALSE(t.discarded_peer());
}
