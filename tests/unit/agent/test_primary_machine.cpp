// The primary's transition table (every state × event) and its safety rules as named cases.
// Time is explicit (t0 + N ms); nothing sleeps.
#include <catch2/catch.hpp>

#include <functional>

#include "agent_test_support.hpp"
#include "phase_table.hpp"
#include "agent/core/primary_machine.hpp"

using namespace haspool;
using namespace haspool::agent;
using namespace haspool::agent::test;
using P = PrimaryState;

namespace {

const Millis kDead = example_config().heartbeat.dead_after;
const Lineage kStandbyNewer = base_lineage().bumped(true);

struct Reached {
    std::unique_ptr<PrimaryMachine> m;
    TimePoint at;
};

Reached wait_peer() {
    auto m = std::make_unique<PrimaryMachine>(example_config(), base_lineage(), PrimaryMachine::Options{});
    m->start(t0);
    REQUIRE(m->state() == P::WAIT_PEER);
    return {std::move(m), t0};
}

Reached connecting() {
    auto r = wait_peer();
    r.m->handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING), heard(t0 + 500ms, t0)}, t0 + 500ms);
    REQUIRE(r.m->state() == P::CONNECTING);
    return {std::move(r.m), t0 + 500ms};
}

Reached mirrored() {
    auto r = connecting();
    r.m->handle(event::StepsSucceeded{}, t0 + 1000ms);
    // Heard stably since t0.
    r.m->handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING), heard(t0 + 3000ms, t0)}, t0 + 3000ms);
    REQUIRE(r.m->state() == P::MIRRORED);
    return {std::move(r.m), t0 + 3000ms};
}

Reached degraded() {
    auto r = mirrored();
    r.m->handle(event::MdMemberFailed{"/dev/nbd0"}, r.at + 100ms);
    r.m->lineage_changed(base_lineage().bumped(false));  // what BumpGeneration persisted
    r.m->handle(event::StepsSucceeded{}, r.at + 200ms);
    REQUIRE(r.m->state() == P::DEGRADED);
    return {std::move(r.m), r.at + 200ms};
}

Reached resync() {
    auto r = degraded();
    TimePoint at = r.at + 10s;
    r.m->handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING), heard(at, at - 5s)}, at);
    REQUIRE(r.m->state() == P::RESYNC);
    r.m->handle(event::StepsSucceeded{}, at + 100ms);
    return {std::move(r.m), at + 100ms};
}

Reached standing_by() {
    auto r = wait_peer();
    r.m->handle(event::HeartbeatReceived{standby_says(StandbyState::ACTIVE, kStandbyNewer), heard(t0 + 500ms, t0)}, t0 + 500ms);
    REQUIRE(r.m->state() == P::STANDING_BY);
    return {std::move(r.m), t0 + 500ms};
}

Reached failback() {
    auto r = standing_by();
    r.m->handle(event::PeerRequest{MessageKind::handed_back}, r.at + 100ms);
    REQUIRE(r.m->state() == P::FAILBACK);
    return {std::move(r.m), r.at + 100ms};
}

Reached handover() {
    auto r = mirrored();
    r.m->handle(event::OperatorCommand{event::Command::switchover}, r.at + 100ms);
    REQUIRE(r.m->state() == P::HANDOVER);
    return {std::move(r.m), r.at + 100ms};
}

Reached halted() {
    auto r = handover();
    r.m->handle(failed(step::DetachNbd{0}, "NBD_CMD_DISCONNECT refused"), r.at + 100ms);
    REQUIRE(r.m->state() == P::HALTED);
    return {std::move(r.m), r.at + 100ms};
}

Reached split_brain() {
    auto r = wait_peer();
    Lineage other{Generation{5}, {Generation{4}}};
    r.m->handle(event::HeartbeatReceived{standby_says(StandbyState::ACTIVE, other), heard(t0 + 500ms, t0)}, t0 + 500ms);
    REQUIRE(r.m->state() == P::SPLIT_BRAIN);
    return {std::move(r.m), t0 + 500ms};
}

std::vector<std::pair<std::string, std::function<Event(TimePoint)>>> events() {
    return {
        {"HeartbeatReceived", [](TimePoint t) -> Event { return event::HeartbeatReceived{standby_says(StandbyState::EXPORTING), heard(t, t - 10s)}; }},
        {"PeerSilent", [](TimePoint t) -> Event { return event::PeerSilent{silent(t - kDead - 1ms)}; }},
        {"TimerFired", [](TimePoint t) -> Event { return event::TimerFired{silent(t - kDead - 1ms)}; }},
        {"NbdLinkLost", [](TimePoint) -> Event { return event::NbdLinkLost{"reset by peer"}; }},
        {"MdMemberFailed", [](TimePoint) -> Event { return event::MdMemberFailed{"/dev/nbd0"}; }},
        {"ResyncFinished", [](TimePoint) -> Event { return event::ResyncFinished{}; }},
        {"OperatorCommand(switchover)", [](TimePoint) -> Event { return event::OperatorCommand{event::Command::switchover}; }},
        {"OperatorCommand(failback)", [](TimePoint) -> Event { return event::OperatorCommand{event::Command::failback}; }},
        {"PeerRequest(take-over)", [](TimePoint) -> Event { return event::PeerRequest{MessageKind::take_over}; }},
        {"PeerRequest(handed-back)", [](TimePoint) -> Event { return event::PeerRequest{MessageKind::handed_back}; }},
        {"PeerRequest(you-are-outdated)", [](TimePoint) -> Event { return event::PeerRequest{MessageKind::you_are_outdated}; }},
        {"PeerRequest(failback-request)", [](TimePoint) -> Event { return event::PeerRequest{MessageKind::failback_request}; }},
        {"PeerRequest(discard-primary)", [](TimePoint) -> Event { return event::PeerRequest{MessageKind::discard_primary}; }},
        {"PeerRequest(discard-standby)", [](TimePoint) -> Event { return event::PeerRequest{MessageKind::discard_standby}; }},
        {"PeerRequest(daemon-restarting)", [](TimePoint) -> Event { return event::PeerRequest{MessageKind::daemon_restarting}; }},
        {"ResolveRequested(alpha)", [](TimePoint) -> Event { return event::ResolveRequested{"alpha"}; }},
        {"ResolveRequested(beta)", [](TimePoint) -> Event { return event::ResolveRequested{"beta"}; }},
        {"ResolveRequested(gamma)", [](TimePoint) -> Event { return event::ResolveRequested{"gamma"}; }},
        {"StepsSucceeded", [](TimePoint) -> Event { return event::StepsSucceeded{}; }},
        {"StepFailed", [](TimePoint) -> Event { return failed(step::Mount{"/dev/md/haspool", "/var/spool/mail", config::Filesystem::ext4, {}}); }},
    };
}

const char* kConnect = "AttachNbd,AssembleMirror,Fsck,Mount,ProbeAddress,AddAddress,SendGarp,StartUnit,StartUnit";
const char* kDegrade = "FailMember,BumpGeneration,NotifyPeer";
const char* kResync = "AttachNbd,ReAddMember";
const char* kHandover = "StopUnit,StopUnit,RemoveAddress,Unmount,StopMirror,DetachNbd,NotifyPeer";
const char* kFailback = "AdoptGeneration,AttachNbd,AssembleDegraded,MergeBitmap,ReAddMember,Mount,ProbeAddress,AddAddress,SendGarp,StartUnit,StartUnit";
// resolve --discard alpha run here (passed on to the peer first), and as the peer's request.
const char* kDiscardX = "NotifyPeer,StopUnit,StopUnit,RemoveAddress,Unmount,StopMirror,DetachNbd,DiscardGeneration";
const char* kDiscardXFromPeer = "StopUnit,StopUnit,RemoveAddress,Unmount,StopMirror,DetachNbd,DiscardGeneration";

struct Row {
    const char* event;
    P next;
    const char* steps;
};

std::map<std::string, std::vector<Row>> table() {
    return {
        {"WAIT_PEER", {{"HeartbeatReceived", P::CONNECTING, kConnect}}},
        {"CONNECTING", {{"StepsSucceeded", P::MIRRORED, ""}, {"StepFailed", P::WAIT_PEER, ""}}},
        {"MIRRORED", {{"PeerSilent", P::DEGRADED, kDegrade}, {"TimerFired", P::DEGRADED, kDegrade},
                      {"MdMemberFailed", P::DEGRADED, kDegrade}, {"OperatorCommand(switchover)", P::HANDOVER, kHandover},
                      {"NbdLinkLost", P::MIRRORED, "ReconnectNbd"}}},
        {"DEGRADED", {{"HeartbeatReceived", P::RESYNC, kResync}}},
        {"RESYNC", {{"PeerSilent", P::DEGRADED, "FailMember"}, {"TimerFired", P::DEGRADED, "FailMember"},
                    {"MdMemberFailed", P::DEGRADED, ""}, {"ResyncFinished", P::MIRRORED, "RestoreWriteMostly"},
                    {"NbdLinkLost", P::RESYNC, "ReconnectNbd"}}},
        {"STANDING_BY", {{"OperatorCommand(failback)", P::STANDING_BY, "NotifyPeer"},
                         {"PeerRequest(handed-back)", P::FAILBACK, kFailback}}},
        {"FAILBACK", {{"StepsSucceeded", P::RESYNC, ""}, {"StepFailed", P::STANDING_BY, ""}}},
        {"HANDOVER", {{"StepsSucceeded", P::STANDING_BY, ""}, {"StepFailed", P::HALTED, ""}}},
        {"HALTED", {}},
        // split_brain() diverged from WAIT_PEER; the operator resolves here or on the standby.
        {"SPLIT_BRAIN", {{"ResolveRequested(alpha)", P::SPLIT_BRAIN, kDiscardX},
                         {"ResolveRequested(beta)", P::WAIT_PEER, "NotifyPeer"},
                         {"PeerRequest(discard-primary)", P::SPLIT_BRAIN, kDiscardXFromPeer},
                         {"PeerRequest(discard-standby)", P::WAIT_PEER, ""}}},
    };
}

}  // namespace

TEST_CASE("primary transition table: every state x event") {
    std::vector<std::pair<std::string, std::function<Reached()>>> states = {
        {"WAIT_PEER", wait_peer}, {"CONNECTING", connecting}, {"MIRRORED", mirrored}, {"DEGRADED", degraded},
        {"RESYNC", resync}, {"STANDING_BY", standing_by}, {"FAILBACK", failback}, {"HANDOVER", handover},
        {"HALTED", halted}, {"SPLIT_BRAIN", split_brain}};
    auto expected = table();
    REQUIRE(states.size() == 10);
    for (const auto& [state_name, reach] : states) {
        for (const auto& [event_name, make] : events()) {
            Reached r = reach();
            Row want{event_name.c_str(), r.m->state(), ""};
            for (const auto& row : expected[state_name])
                if (event_name == row.event) want = row;
            TimePoint now = r.at + 100ms;
            auto d = r.m->handle(make(now), now);
            INFO("row: primary " << state_name << " x " << event_name);
            CHECK(to_string(d.next) == std::string(to_string(want.next)));
            CHECK(step_names(d.steps) == want.steps);
            CHECK(r.m->state() == d.next);
        }
    }
}

namespace {

// The sub-states: each (state, running plan, plan to retry) the primary can be in, reached by
// the events that lead there, and named by its phase (to_string(phase())); the label adds what
// the phase cannot show (a fact about the data, or an outcome still to come of a plan the state
// left behind).
Reached wait_peer_retrying() {
    auto r = connecting();
    r.m->handle(failed(step::Mount{"/dev/md/haspool", "/var/spool/mail", config::Filesystem::ext4, {}}), r.at + 100ms);
    return {std::move(r.m), r.at + 100ms};
}

Reached connecting_x_newer() {
    auto m = std::make_unique<PrimaryMachine>(example_config(), base_lineage().bumped(false), PrimaryMachine::Options{});
    m->start(t0);
    m->handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING), heard(t0 + 500ms, t0)}, t0 + 500ms);
    return {std::move(m), t0 + 500ms};
}

Reached connecting_init() {
    auto m = std::make_unique<PrimaryMachine>(example_config(), base_lineage(), PrimaryMachine::Options{true});
    m->start(t0);
    m->handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING), heard(t0 + 500ms, t0)}, t0 + 500ms);
    return {std::move(m), t0 + 500ms};
}

Reached degraded_degrading() {
    auto r = mirrored();
    r.m->handle(event::MdMemberFailed{"/dev/nbd0"}, r.at + 100ms);
    return {std::move(r.m), r.at + 100ms};
}

Reached degraded_solo() {
    auto m = std::make_unique<PrimaryMachine>(example_config(), base_lineage(), PrimaryMachine::Options{false, true});
    m->start(t0);
    return {std::move(m), t0};
}

Reached resync_running() {
    auto r = degraded();
    TimePoint at = r.at + 10s;
    r.m->handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING), heard(at, at - 5s)}, at);
    return {std::move(r.m), at};
}

Reached degraded_retrying() {
    auto r = resync_running();
    r.m->handle(failed(step::ReAddMember{"/dev/md/haspool", "/dev/nbd0"}, "mdadm: --re-add failed"), r.at + 100ms);
    return {std::move(r.m), r.at + 100ms};
}

Reached resync_after_failback() {
    auto r = failback();
    r.m->handle(event::StepsSucceeded{}, r.at + 100ms);
    return {std::move(r.m), r.at + 100ms};
}

Reached standing_by_retrying() {
    auto r = failback();
    r.m->handle(failed(step::Mount{"/dev/md/haspool", "/var/spool/mail", config::Filesystem::ext4, {}}), r.at + 100ms);
    return {std::move(r.m), r.at + 100ms};
}

Reached handover_resuming() {
    auto r = handover();
    r.m->handle(failed(step::Unmount{"/var/spool/mail"}, "target is busy"), r.at + 100ms);
    return {std::move(r.m), r.at + 100ms};
}

Reached halted_stopping() {
    auto r = connecting();
    event::StepFailed f = failed(step::Mount{"/dev/md/haspool", "/var/spool/mail", config::Filesystem::ext4, {}});
    f.undo_errors = {"StopMirror: device busy"};
    r.m->handle(f, r.at + 100ms);
    return {std::move(r.m), r.at + 100ms};
}

Reached split_brain_resolving() {
    auto r = split_brain();
    r.m->handle(event::ResolveRequested{"alpha"}, r.at + 100ms);
    return {std::move(r.m), r.at + 100ms};
}

Reached split_brain_failback_left_behind() {
    auto r = failback();
    Lineage other{Generation{5}, {Generation{4}}};
    r.m->handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING, other), heard(r.at + 50ms, t0)}, r.at + 50ms);
    return {std::move(r.m), r.at + 50ms};
}

struct PhaseCase {
    const char* label;      // the row's name
    const char* phase;      // what phase() must say once reached
    std::size_t in_flight;  // batches whose outcome is still to come
    std::function<Reached()> reach;
};

std::vector<PhaseCase> phases() {
    return {
        {"WAIT_PEER", "WAIT_PEER", 0, wait_peer},
        {"WAIT_PEER (retrying connect)", "WAIT_PEER (retrying connect)", 0, wait_peer_retrying},
        {"CONNECTING running connect", "CONNECTING running connect", 1, connecting},
        {"CONNECTING running connect_resync", "CONNECTING running connect_resync", 1, connecting_x_newer},
        {"CONNECTING running create", "CONNECTING running create", 1, connecting_init},
        {"MIRRORED", "MIRRORED", 0, mirrored},
        {"DEGRADED", "DEGRADED", 0, degraded},
        {"DEGRADED running degrade", "DEGRADED running degrade", 1, degraded_degrading},
        {"DEGRADED running solo", "DEGRADED running solo", 1, degraded_solo},
        {"DEGRADED (retrying resync)", "DEGRADED (retrying resync)", 0, degraded_retrying},
        {"RESYNC", "RESYNC", 0, resync},
        {"RESYNC running resync", "RESYNC running resync", 1, resync_running},
        {"RESYNC, rebuilding X from Y after a failback", "RESYNC", 0, resync_after_failback},
        {"STANDING_BY", "STANDING_BY", 0, standing_by},
        {"STANDING_BY (retrying failback)", "STANDING_BY (retrying failback)", 0, standing_by_retrying},
        {"FAILBACK running failback", "FAILBACK running failback", 1, failback},
        {"HANDOVER running handover", "HANDOVER running handover", 1, handover},
        {"HANDOVER running resume", "HANDOVER running resume", 1, handover_resuming},
        {"HALTED", "HALTED", 0, halted},
        {"HALTED running stop", "HALTED running stop", 1, halted_stopping},
        {"SPLIT_BRAIN", "SPLIT_BRAIN", 0, split_brain},
        {"SPLIT_BRAIN running resolve", "SPLIT_BRAIN running resolve", 1, split_brain_resolving},
        {"SPLIT_BRAIN, a failback's outcome to come", "SPLIT_BRAIN", 1, split_brain_failback_left_behind},
    };
}

// Expected outcome per sub-state; an event not listed keeps the phase and runs nothing.
std::map<std::string, std::vector<PhaseRow>> phase_table();

}  // namespace

TEST_CASE("primary phase table: every (state, running plan) x event") {
    check_phase_table("primary", phases(), events(), phase_table());
}

TEST_CASE("safety: restart without peer -> WAIT_PEER, X untouched") {
    PrimaryMachine m(example_config(), base_lineage(), {});
    auto d = m.start(t0);
    CHECK(d.next == P::WAIT_PEER);
    CHECK(d.steps.empty());
    // Silence for an hour changes nothing: X is never assembled alone.
    for (auto t : {1s, 60s, 3600s}) {
        auto e = m.handle(event::TimerFired{silent(std::nullopt)}, t0 + t);
        CHECK(e.next == P::WAIT_PEER);
        CHECK(e.steps.empty());
        e = m.handle(event::PeerSilent{silent(std::nullopt)}, t0 + t);
        CHECK(e.steps.empty());
    }
}

TEST_CASE("forced solo start (--force-solo) serves from X alone with a warning and a new generation") {
    PrimaryMachine m(example_config(), base_lineage(), {false, true});
    auto d = m.start(t0);
    CHECK(d.next == P::DEGRADED);
    CHECK(step_names(d.steps).rfind("BumpGeneration,AssembleDegraded", 0) == 0);
    CHECK_THAT(d.reason, Catch::Contains("--force-solo"));
}

TEST_CASE("generation compare on reconnect picks the resync direction") {
    SECTION("same generation: assemble both legs") {
        auto r = wait_peer();
        auto d = r.m->handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING), heard(t0 + 1s, t0)}, t0 + 1s);
        CHECK(step_names(d.steps) == kConnect);
    }
    SECTION("X newer (degraded before the restart): assemble from X, re-add Y, then RESYNC") {
        PrimaryMachine m(example_config(), base_lineage().bumped(false), {});
        m.start(t0);
        auto d = m.handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING), heard(t0 + 1s, t0)}, t0 + 1s);
        CHECK(step_names(d.steps).rfind("AttachNbd,AssembleDegraded,ReAddMember", 0) == 0);
        d = m.handle(event::StepsSucceeded{}, t0 + 2s);
        CHECK(d.next == P::RESYNC);
    }
    SECTION("Y newer and exported (handed back): fail back from Y") {
        auto r = wait_peer();
        auto d = r.m->handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING, kStandbyNewer), heard(t0 + 1s, t0)}, t0 + 1s);
        CHECK(d.next == P::FAILBACK);
        CHECK(step_names(d.steps) == kFailback);
    }
    SECTION("Y newer and served: stand by") {
        auto r = standing_by();
        CHECK(r.m->state() == P::STANDING_BY);
    }
}

TEST_CASE("safety: both generations advanced -> SPLIT_BRAIN") {
    PrimaryMachine m(example_config(), base_lineage().bumped(false), {});  // degraded period on A
    m.start(t0);
    auto d = m.handle(event::HeartbeatReceived{standby_says(StandbyState::ACTIVE, kStandbyNewer), heard(t0 + 1s, t0)}, t0 + 1s);
    CHECK(d.next == P::SPLIT_BRAIN);
    CHECK(d.steps.empty());
    CHECK_THAT(d.reason, Catch::Contains("diverged") && Catch::Contains("haspool resolve --discard"));
}

TEST_CASE("safety: standby ACTIVE while this primary serves -> SPLIT_BRAIN") {
    auto r = mirrored();
    auto d = r.m->handle(event::HeartbeatReceived{standby_says(StandbyState::ACTIVE), heard(r.at + 1s, t0)}, r.at + 1s);
    CHECK(d.next == P::SPLIT_BRAIN);
}

TEST_CASE("safety: failed connect step -> undo requested, back to WAIT_PEER, retried later") {
    auto r = wait_peer();
    auto d = r.m->handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING), heard(t0 + 1s, t0)}, t0 + 1s);
    CHECK(d.undo_on_failure);
    event::StepFailed f = failed(step::AddAddress{"eth0", "198.51.100.25/24"}, "not available in this build");
    f.undone = {step::Unmount{"/var/spool/mail"}, step::StopMirror{"/dev/md/haspool"}, step::DetachNbd{0}};
    d = r.m->handle(f, t0 + 2s);
    CHECK(d.next == P::WAIT_PEER);
    REQUIRE(d.wake_at);
    CHECK_THAT(d.reason, Catch::Contains("AddAddress failed") && Catch::Contains("undone: Unmount, StopMirror, DetachNbd"));
    // Heartbeats before the retry time do not reconnect.
    d = r.m->handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING), heard(t0 + 3s, t0)}, t0 + 3s);
    CHECK(d.next == P::WAIT_PEER);
    d = r.m->handle(event::TimerFired{heard(*d.wake_at, t0)}, *d.wake_at);
    CHECK(d.next == P::CONNECTING);
}

TEST_CASE("safety: failed undo -> HALTED and stop serving") {
    auto r = connecting();
    event::StepFailed f = failed(step::StartUnit{"postfix.service", 1s}, "job failed");
    f.undo_errors = {"RemoveAddress: permission denied"};
    auto d = r.m->handle(f, r.at + 1s);
    CHECK(d.next == P::HALTED);
    CHECK(step_names(d.steps) == "StopUnit,StopUnit,RemoveAddress,Unmount");
}

TEST_CASE("safety: degraded period cannot be recorded -> stop serving") {
    auto r = mirrored();
    r.m->handle(event::MdMemberFailed{"/dev/nbd0"}, r.at + 100ms);
    auto d = r.m->handle(failed(step::BumpGeneration{"x"}, "No space left on device"), r.at + 200ms);
    CHECK(d.next == P::HALTED);
    CHECK(step_names(d.steps) == "StopUnit,StopUnit,RemoveAddress,Unmount");
}

TEST_CASE("primary degrades only after dead_after of silence on every path") {
    auto r = mirrored();
    TimePoint last = r.at;
    auto d = r.m->handle(event::PeerSilent{silent(last)}, last + 1100ms);
    CHECK(d.next == P::MIRRORED);
    REQUIRE(d.wake_at);
    CHECK(*d.wake_at == last + kDead);
    d = r.m->handle(event::TimerFired{silent(last)}, *d.wake_at);
    CHECK(d.next == P::DEGRADED);
    CHECK(step_names(d.steps) == kDegrade);
}

TEST_CASE("re-adding Y waits until the standby's path is stable (hysteresis)") {
    auto r = degraded();
    auto d = r.m->handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING), heard(r.at + 1s, r.at + 1s, false)}, r.at + 1s);
    CHECK(d.next == P::DEGRADED);
    d = r.m->handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING), heard(r.at + 4s, r.at + 1s)}, r.at + 4s);
    CHECK(d.next == P::RESYNC);
}

TEST_CASE("switchover only from a healthy mirror with the standby exporting") {
    auto r = degraded();
    auto d = r.m->handle(event::OperatorCommand{event::Command::switchover}, r.at + 1s);
    CHECK(d.next == P::DEGRADED);
    CHECK_THAT(d.reason, Catch::Contains("refused switchover"));
}

TEST_CASE("the init option creates the array on the first connect and passes force on") {
    PrimaryMachine m(example_config(), base_lineage(), {true, false, true});
    m.start(t0);
    auto d = m.handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING, Lineage{}), heard(t0 + 1s, t0)}, t0 + 1s);
    REQUIRE(d.next == P::CONNECTING);
    CHECK(to_string(d.steps[1]) == "AssembleMirror md=/dev/md/haspool local=/dev/vdb remote=/dev/nbd0 create force");
}

TEST_CASE("init: a new array is RESYNC until md's initial sync ends, no switchover onto a half-copied Y") {
    PrimaryMachine m(example_config(), base_lineage(), {true, false, false});
    m.start(t0);
    auto peer = standby_says(StandbyState::EXPORTING, Lineage{});
    REQUIRE(m.handle(event::HeartbeatReceived{peer, heard(t0 + 1s, t0)}, t0 + 1s).next == P::CONNECTING);
    auto d = m.handle(event::StepsSucceeded{}, t0 + 20s);
    CHECK(d.next == P::RESYNC);
    CHECK_THAT(d.reason, Catch::Contains("initial sync"));
    d = m.handle(event::HeartbeatReceived{peer, heard(t0 + 21s, t0)}, t0 + 21s);
    d = m.handle(event::OperatorCommand{event::Command::switchover}, t0 + 22s);
    CHECK(d.next == P::RESYNC);
    CHECK(d.steps.empty());
    CHECK_THAT(d.reason, Catch::Contains("refused switchover: md is still copying (X->Y)"));
    d = m.handle(event::ResyncFinished{}, t0 + 30s);
    CHECK(d.next == P::MIRRORED);
    CHECK(step_names(d.steps) == "RestoreWriteMostly");
    // the next connect (a restart without --init) assembles a mirror that is already one
    auto r = connecting();
    CHECK(r.m->handle(event::StepsSucceeded{}, r.at + 1s).next == P::MIRRORED);
}

TEST_CASE("init: a connect that failed after the array was created assembles it on the retry") {
    auto connect_after_failure = [](Step failed_step) {
        PrimaryMachine m(example_config(), base_lineage(), {true, false, false});
        m.start(t0);
        auto peer = standby_says(StandbyState::EXPORTING, Lineage{});
        m.handle(event::HeartbeatReceived{peer, heard(t0 + 1s, t0)}, t0 + 1s);
        auto d = m.handle(failed(std::move(failed_step)), t0 + 2s);
        REQUIRE(d.next == P::WAIT_PEER);
        REQUIRE(d.wake_at);
        TimePoint later = *d.wake_at + 1s;
        d = m.handle(event::HeartbeatReceived{peer, heard(later, t0)}, later);
        REQUIRE(d.next == P::CONNECTING);
        return to_string(d.steps[1]);
    };
    // The mount failed: the array exists (stopped by the undo), so it is assembled from X, not
    // created again; the standby's Y is still blank, so it is then added in full.
    CHECK(connect_after_failure(step::Mount{"/dev/md/haspool", "/var/spool/mail", config::Filesystem::ext4, {}}) ==
          "AssembleDegraded md=/dev/md/haspool dev=/dev/vdb");
    // The create itself (or the attach before it) failed: create again.
    CHECK(connect_after_failure(step::AssembleMirror{"/dev/md/haspool", "/dev/vdb", "/dev/nbd0", true}) ==
          "AssembleMirror md=/dev/md/haspool local=/dev/vdb remote=/dev/nbd0 create");
    CHECK(connect_after_failure(step::AttachNbd{"192.0.2.2", 10809, "haspool", 0}) ==
          "AssembleMirror md=/dev/md/haspool local=/dev/vdb remote=/dev/nbd0 create");
}

TEST_CASE("failed switchover before the array was stopped: the service resumes here") {
    const char* kResume = "Fsck,Mount,ProbeAddress,AddAddress,SendGarp,StartUnit,StartUnit";
    // Each of the steps that precede StopMirror: the standby was not told, md still has both legs.
    for (Step stopping : std::vector<Step>{step::StopUnit{"postfix.service", 1000ms},
                                           step::RemoveAddress{"eth0", "198.51.100.25/24"},
                                           step::Unmount{"/var/spool/mail"},
                                           step::RunHook{"before_handback", {"/bin/false"}, 1000ms}}) {
        auto r = handover();
        INFO("failed step: " << to_string(stopping));
        auto d = r.m->handle(failed(stopping, "target is busy"), r.at + 100ms);
        CHECK(d.next == P::HANDOVER);
        CHECK(step_names(d.steps) == kResume);
        CHECK(d.reason.find("beta was not told to take over") != std::string::npos);
        CHECK(d.reason.find("resuming the service here") != std::string::npos);
        // Heartbeats while the resume plan runs change nothing.
        d = r.m->handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING), heard(r.at + 200ms, t0)},
                        r.at + 200ms);
        CHECK(d.next == P::HANDOVER);
        CHECK(d.steps.empty());
        d = r.m->handle(event::StepsSucceeded{}, r.at + 300ms);
        CHECK(d.next == P::MIRRORED);
        CHECK(d.steps.empty());
        CHECK(d.reason.find("resumed serving") != std::string::npos);
    }
}

TEST_CASE("failed switchover after the array was let go, or with a failed undo: HALTED, the operator decides") {
    for (Step late : std::vector<Step>{step::StopMirror{"/dev/md/haspool"}, step::DetachNbd{0},
                                       step::NotifyPeer{MessageKind::take_over},
                                       step::RunHook{"after_handback", {"/bin/false"}, 1000ms}}) {
        auto r = handover();
        INFO("failed step: " << to_string(late));
        auto d = r.m->handle(failed(late), r.at + 100ms);
        CHECK(d.next == P::HALTED);
        CHECK(d.steps.empty());
        CHECK(d.reason.find("the operator decides") != std::string::npos);
    }
    auto r = handover();
    event::StepFailed f = failed(step::Unmount{"/var/spool/mail"});
    f.undo_errors.push_back("AddAddress: EPERM");
    CHECK(r.m->handle(f, r.at + 100ms).next == P::HALTED);
}

TEST_CASE("failed switchover: md failing a leg meanwhile degrades once serving again, a failed resume halts") {
    auto r = handover();
    r.m->handle(failed(step::Unmount{"/var/spool/mail"}), r.at + 100ms);
    auto d = r.m->handle(event::MdMemberFailed{"/dev/nbd0"}, r.at + 150ms);
    CHECK(d.next == P::HANDOVER);
    CHECK(d.steps.empty());
    d = r.m->handle(event::StepsSucceeded{}, r.at + 300ms);
    CHECK(d.next == P::DEGRADED);
    CHECK(step_names(d.steps) == kDegrade);
    CHECK(d.reason.find("md failed /dev/nbd0 meanwhile") != std::string::npos);

    auto h = handover();
    h.m->handle(failed(step::StopUnit{"postfix.service", 1000ms}), h.at + 100ms);
    d = h.m->handle(failed(step::ProbeAddress{"eth0", "198.51.100.25/24", 1000ms}, "answered by 02:00:00:00:00:09"),
                    h.at + 300ms);
    CHECK(d.next == P::HALTED);
    CHECK(d.steps.empty());
    CHECK(d.reason.find("resuming the service after the failed switchover failed: ProbeAddress") != std::string::npos);
}

namespace {

// Stopping the service (a failed step left something that could not be undone).
const char* kStopServingSteps = "StopUnit,StopUnit,RemoveAddress,Unmount";

std::map<std::string, std::vector<PhaseRow>> phase_table() {
    return {
        {"CONNECTING running connect",
         {{"StepFailed", "WAIT_PEER (retrying connect)", ""},
          {"StepsSucceeded", "MIRRORED", ""}}},
        {"CONNECTING running connect_resync",
         {{"StepFailed", "WAIT_PEER (retrying connect)", ""},
          {"StepsSucceeded", "RESYNC", ""}}},
        {"CONNECTING running create",
         {{"StepFailed", "WAIT_PEER (retrying connect)", ""},
          {"StepsSucceeded", "RESYNC", ""}}},
        {"DEGRADED running degrade",
         {{"StepFailed", "HALTED running stop", kStopServingSteps},
          {"StepsSucceeded", "DEGRADED", ""}}},
        {"DEGRADED running solo",
         {{"StepFailed", "HALTED", ""},
          {"StepsSucceeded", "DEGRADED", ""}}},
        {"DEGRADED",
         {{"HeartbeatReceived", "RESYNC running resync", kResync}}},
        {"FAILBACK running failback",
         {{"StepFailed", "STANDING_BY (retrying failback)", ""},
          {"StepsSucceeded", "RESYNC", ""}}},
        {"HALTED running stop",
         {{"StepFailed", "HALTED", ""},
          {"StepsSucceeded", "HALTED", ""}}},
        {"HANDOVER running handover",
         {{"StepFailed", "HALTED", ""},
          {"StepsSucceeded", "STANDING_BY", ""}}},
        {"HANDOVER running resume",
         {{"StepFailed", "HALTED", ""},
          {"StepsSucceeded", "MIRRORED", ""}}},
        {"MIRRORED",
         {{"MdMemberFailed", "DEGRADED running degrade", kDegrade},
          {"NbdLinkLost", "MIRRORED", "ReconnectNbd"},
          {"OperatorCommand(switchover)", "HANDOVER running handover", kHandover},
          {"PeerSilent", "DEGRADED running degrade", kDegrade},
          {"TimerFired", "DEGRADED running degrade", kDegrade}}},
        {"RESYNC running resync",
         {{"MdMemberFailed", "DEGRADED", ""},
          {"NbdLinkLost", "RESYNC running resync", "ReconnectNbd"},
          {"PeerSilent", "DEGRADED running degrade", "FailMember"},
          {"ResyncFinished", "MIRRORED", "RestoreWriteMostly"},
          {"StepFailed", "DEGRADED (retrying resync)", ""},
          {"StepsSucceeded", "RESYNC", ""},
          {"TimerFired", "DEGRADED running degrade", "FailMember"}}},
        {"RESYNC",
         {{"MdMemberFailed", "DEGRADED", ""},
          {"NbdLinkLost", "RESYNC", "ReconnectNbd"},
          {"PeerSilent", "DEGRADED running degrade", "FailMember"},
          {"ResyncFinished", "MIRRORED", "RestoreWriteMostly"},
          {"TimerFired", "DEGRADED running degrade", "FailMember"}}},
        {"RESYNC, rebuilding X from Y after a failback",
         {{"MdMemberFailed", "HALTED running stop", kStopServingSteps},
          {"NbdLinkLost", "RESYNC", "ReconnectNbd"},
          {"ResyncFinished", "MIRRORED", "RestoreWriteMostly"}}},
        {"SPLIT_BRAIN running resolve",
         {{"StepFailed", "HALTED", ""},
          {"StepsSucceeded", "STANDING_BY", ""}}},
        {"SPLIT_BRAIN",
         {{"PeerRequest(discard-primary)", "SPLIT_BRAIN running resolve", kDiscardXFromPeer},
          {"PeerRequest(discard-standby)", "WAIT_PEER", ""},
          {"ResolveRequested(alpha)", "SPLIT_BRAIN running resolve", kDiscardX},
          {"ResolveRequested(beta)", "WAIT_PEER", "NotifyPeer"}}},
        {"STANDING_BY (retrying failback)",
         {{"OperatorCommand(failback)", "STANDING_BY (retrying failback)", "NotifyPeer"},
          {"PeerRequest(handed-back)", "FAILBACK running failback", kFailback}}},
        {"STANDING_BY",
         {{"OperatorCommand(failback)", "STANDING_BY", "NotifyPeer"},
          {"PeerRequest(handed-back)", "FAILBACK running failback", kFailback}}},
        {"WAIT_PEER",
         {{"HeartbeatReceived", "CONNECTING running connect", kConnect}}},
    };
}

}  // namespace

TEST_CASE("an outcome belongs to its batch: a failed reconnect queued before the degrade plan does not halt") {
    auto r = mirrored();
    auto d = r.m->handle(event::NbdLinkLost{"reset by peer"}, r.at + 100ms);
    CHECK(step_names(d.steps) == "ReconnectNbd");
    d = r.m->handle(event::MdMemberFailed{"/dev/nbd0"}, r.at + 200ms);
    CHECK(step_names(d.steps) == kDegrade);
    CHECK(to_string(r.m->phase()) == "DEGRADED running degrade");
    CHECK(r.m->in_flight().size() == 2);
    // The reconnect reports first: it failed (the leg is gone), which the degrade plan handles.
    d = r.m->handle(failed(step::ReconnectNbd{}, "connection refused"), r.at + 300ms);
    CHECK(d.next == P::DEGRADED);
    CHECK(d.steps.empty());
    CHECK(to_string(r.m->phase()) == "DEGRADED running degrade");
    // Then the degrade plan's own outcome.
    d = r.m->handle(event::StepsSucceeded{}, r.at + 400ms);
    CHECK(d.next == P::DEGRADED);
    CHECK_THAT(d.reason, Catch::Contains("marks the writes Y misses"));
    CHECK(to_string(r.m->phase()) == "DEGRADED");
}

TEST_CASE("an outcome belongs to its batch: a resync left behind by a silent standby is not the degrade plan's") {
    auto r = degraded();
    TimePoint at = r.at + 10s;
    r.m->handle(event::HeartbeatReceived{standby_says(StandbyState::EXPORTING), heard(at, at - 5s)}, at);
    REQUIRE(to_string(r.m->phase()) == "RESYNC running resync");
    auto d = r.m->handle(event::PeerSilent{silent(at)}, at + kDead + 1ms);
    REQUIRE(to_string(r.m->phase()) == "DEGRADED running degrade");
    // The resync's AttachNbd failed (the standby is gone): not "cannot record the degraded period".
    d = r.m->handle(failed(step::AttachNbd{}, "connection timed out"), at + kDead + 2ms);
    CHECK(d.next == P::DEGRADED);
    CHECK(d.steps.empty());
    d = r.m->handle(event::StepsSucceeded{}, at + kDead + 3ms);
    CHECK(d.next == P::DEGRADED);
    CHECK(to_string(r.m->phase()) == "DEGRADED");
}
