// The standby's transition table (every state × event) and the safety rules of docs/design.md §3/§7
// as named cases. Time is explicit (t0 + N ms); nothing sleeps.
#include <catch2/catch.hpp>

#include <functional>

#include "agent_test_support.hpp"
#include "phase_table.hpp"
#include "agent/core/standby_machine.hpp"

using namespace haspool;
using namespace haspool::agent;
using namespace haspool::agent::test;
using S = StandbyState;

namespace {

const Millis kDead = example_config().heartbeat.dead_after;

// From start to ACTIVE: Y exported, the primary heard MIRRORED, then silent for dead_after;
// the takeover plan reported done at t0 + 5 s.
void take_over_from_start(StandbyMachine& m) {
    m.start(t0);
    m.handle(event::StepsSucceeded{}, t0);
    m.handle(event::HeartbeatReceived{primary_says(PrimaryState::MIRRORED), heard(t0 + 1s, t0)}, t0 + 1s);
    m.handle(event::PeerSilent{silent(t0 + 1s)}, t0 + 2s);
    m.handle(event::TimerFired{silent(t0 + 1s)}, t0 + 1s + kDead);
    m.handle(event::StepsSucceeded{}, t0 + 5s);
    REQUIRE(m.state() == S::ACTIVE);
}

// Machines brought into each state by the events that lead there; `at` is the time reached.
struct Reached {
    std::unique_ptr<StandbyMachine> m;
    TimePoint at;
};

Reached exporting() {
    auto m = std::make_unique<StandbyMachine>(example_config(), base_lineage());
    m->start(t0);
    m->handle(event::StepsSucceeded{}, t0 + 10ms);
    m->handle(event::HeartbeatReceived{primary_says(PrimaryState::MIRRORED), heard(t0 + 1000ms, t0)}, t0 + 1000ms);
    REQUIRE(m->state() == S::EXPORTING);
    return {std::move(m), t0 + 1000ms};
}

Reached suspect() {
    auto r = exporting();
    r.m->handle(event::PeerSilent{silent(t0 + 1000ms)}, t0 + 2100ms);
    REQUIRE(r.m->state() == S::SUSPECT);
    return {std::move(r.m), t0 + 2100ms};
}

Reached takeover() {
    auto r = suspect();
    TimePoint at = t0 + 1000ms + kDead;
    r.m->handle(event::TimerFired{silent(t0 + 1000ms)}, at);
    REQUIRE(r.m->state() == S::TAKEOVER);
    return {std::move(r.m), at};
}

Reached active() {
    auto r = takeover();
    r.m->handle(event::StepsSucceeded{}, r.at + 500ms);
    REQUIRE(r.m->state() == S::ACTIVE);
    return {std::move(r.m), r.at + 500ms};
}

Reached handback() {
    auto r = active();
    TimePoint at = r.at + 5000ms;
    r.m->handle(event::HeartbeatReceived{primary_says(PrimaryState::STANDING_BY), heard(at, r.at + 1000ms)}, at);
    r.m->handle(event::OperatorCommand{event::Command::failback}, at + 10ms);
    REQUIRE(r.m->state() == S::HANDBACK);
    return {std::move(r.m), at + 10ms};
}

Reached halted() {
    auto r = takeover();
    r.m->handle(failed(step::Mount{"/dev/md/haspool", "/var/spool/mail", config::Filesystem::ext4, {}}), r.at + 100ms);
    REQUIRE(r.m->state() == S::HALTED);
    return {std::move(r.m), r.at + 100ms};
}

Reached split_brain() {
    auto r = exporting();
    Lineage other{Generation{5}, {Generation{4}}};  // 2/standby's sibling: diverged from base
    r.m->handle(event::HeartbeatReceived{primary_says(PrimaryState::DEGRADED, other), heard(r.at + 100ms, t0)}, r.at + 100ms);
    REQUIRE(r.m->state() == S::SPLIT_BRAIN);
    return {std::move(r.m), r.at + 100ms};
}

// The table's events, all observed 100 ms after the state was reached. "silent" facts put the
// last heartbeat dead_after + 1 ms in the past.
std::vector<std::pair<std::string, std::function<Event(TimePoint)>>> events() {
    return {
        {"HeartbeatReceived", [](TimePoint t) -> Event { return event::HeartbeatReceived{primary_says(PrimaryState::MIRRORED), heard(t, t - 10s)}; }},
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
        {"StepFailed", [](TimePoint) -> Event { return failed(step::Unmount{"/var/spool/mail"}); }},
    };
}

const char* kTakeover = "StopExport,ProbeAddress,BumpGeneration,AssembleDegraded,Fsck,Mount,AddAddress,SendGarp,StartUnit,StartUnit";
const char* kHandback = "StopUnit,StopUnit,RemoveAddress,Unmount,StopMirror,StartExport,NotifyPeer";
// resolve --discard beta run here (passed on to the peer first), and as the peer's request.
const char* kDiscardY = "NotifyPeer,StopUnit,StopUnit,RemoveAddress,Unmount,StopMirror,DiscardGeneration,StartExport";
const char* kDiscardYFromPeer = "StopUnit,StopUnit,RemoveAddress,Unmount,StopMirror,DiscardGeneration,StartExport";

struct Row {
    const char* event;
    S next;
    const char* steps;
};

// Expected outcome per state; an event not listed keeps the state and runs nothing.
std::map<std::string, std::vector<Row>> table() {
    return {
        {"EXPORTING", {{"PeerSilent", S::SUSPECT, ""}, {"PeerRequest(take-over)", S::TAKEOVER, kTakeover}}},
        {"SUSPECT", {{"HeartbeatReceived", S::EXPORTING, ""}, {"PeerSilent", S::TAKEOVER, kTakeover},
                     {"TimerFired", S::TAKEOVER, kTakeover}, {"PeerRequest(take-over)", S::TAKEOVER, kTakeover}}},
        {"TAKEOVER", {{"StepsSucceeded", S::ACTIVE, ""}, {"StepFailed", S::HALTED, ""}}},
        {"ACTIVE", {{"HeartbeatReceived", S::SPLIT_BRAIN, ""}}},
        // The table's StepFailed is a failed Unmount: the handback stopped before letting go of
        // the array, so the service resumes here (the primary was not told).
        {"HANDBACK", {{"StepsSucceeded", S::EXPORTING, ""},
                      {"StepFailed", S::HANDBACK, "Fsck,Mount,ProbeAddress,AddAddress,SendGarp,StartUnit,StartUnit"}}},
        {"HALTED", {}},
        // split_brain() diverged from EXPORTING; the operator resolves here or on the primary.
        {"SPLIT_BRAIN", {{"ResolveRequested(beta)", S::SPLIT_BRAIN, kDiscardY},
                         {"ResolveRequested(alpha)", S::EXPORTING, "NotifyPeer,StartExport"},
                         {"PeerRequest(discard-standby)", S::SPLIT_BRAIN, kDiscardYFromPeer},
                         {"PeerRequest(discard-primary)", S::EXPORTING, "StartExport"}}},
    };
}

}  // namespace

TEST_CASE("standby transition table: every state x event") {
    std::vector<std::pair<std::string, std::function<Reached()>>> states = {
        {"EXPORTING", exporting}, {"SUSPECT", suspect}, {"TAKEOVER", takeover}, {"ACTIVE", active},
        {"HANDBACK", handback}, {"HALTED", halted}, {"SPLIT_BRAIN", split_brain}};
    auto expected = table();
    REQUIRE(states.size() == 7);
    for (const auto& [state_name, reach] : states) {
        for (const auto& [event_name, make] : events()) {
            Reached r = reach();
            S from = r.m->state();
            Row want{event_name.c_str(), from, ""};
            for (const auto& row : expected[state_name])
                if (event_name == row.event) want = row;
            TimePoint now = r.at + 100ms;
            auto d = r.m->handle(make(now), now);
            INFO("row: standby " << state_name << " x " << event_name);
            CHECK(to_string(d.next) == std::string(to_string(want.next)));
            CHECK(step_names(d.steps) == want.steps);
            CHECK(r.m->state() == d.next);
        }
    }
}

namespace {

// The sub-states: each (state, running plan) the standby can be in, reached by the events that
// lead there, and named by its phase (to_string(phase())); the label adds what the phase
// cannot show (an outcome still to come of a plan the state left behind).
const config::Config& raw_fallback_config() {
    static const config::Config c = [] {
        config::Config x = example_config();
        x.spool.raw_mount_fallback = true;
        return x;
    }();
    return c;
}

Reached exporting_starting() {
    auto m = std::make_unique<StandbyMachine>(example_config(), base_lineage());
    m->start(t0);
    return {std::move(m), t0};
}

Reached exporting_adopting() {
    auto r = exporting();
    TimePoint at = r.at + 500ms;
    r.m->handle(event::HeartbeatReceived{primary_says(PrimaryState::MIRRORED, base_lineage().bumped(false)), heard(at, t0)}, at);
    return {std::move(r.m), at};
}

Reached exporting_clearing_raw() {
    auto m = std::make_unique<StandbyMachine>(example_config(), base_lineage(), true);
    m->start(t0);
    m->handle(event::StepsSucceeded{}, t0 + 10ms);
    m->handle(event::HeartbeatReceived{primary_says(PrimaryState::MIRRORED), heard(t0 + 1000ms, t0)}, t0 + 1000ms);
    return {std::move(m), t0 + 1000ms};
}

Reached suspect_starting() {
    auto r = exporting_starting();
    r.m->handle(event::HeartbeatReceived{primary_says(PrimaryState::MIRRORED), heard(t0 + 1000ms, t0)}, t0 + 1000ms);
    r.m->handle(event::PeerSilent{silent(t0 + 1000ms)}, t0 + 2100ms);
    return {std::move(r.m), t0 + 2100ms};
}

Reached takeover_raw() {
    auto m = std::make_unique<StandbyMachine>(raw_fallback_config(), base_lineage());
    m->start(t0);
    m->handle(event::StepsSucceeded{}, t0 + 10ms);
    m->handle(event::HeartbeatReceived{primary_says(PrimaryState::MIRRORED), heard(t0 + 1000ms, t0)}, t0 + 1000ms);
    m->handle(event::PeerSilent{silent(t0 + 1000ms)}, t0 + 2100ms);
    TimePoint at = t0 + 1000ms + kDead;
    m->handle(event::TimerFired{silent(t0 + 1000ms)}, at);
    m->handle(failed(step::AssembleDegraded{"/dev/md/haspool", "/dev/vdb"}, "mdadm: no superblock"), at + 100ms);
    return {std::move(m), at + 100ms};
}

Reached takeover_resuming() {
    auto m = std::make_unique<StandbyMachine>(example_config(), base_lineage());
    m->start(t0, StandbyMachine::SpoolInUse{"/dev/vdb is held by md127", false});
    return {std::move(m), t0};
}

Reached handback_resuming() {
    auto r = handback();
    r.m->handle(failed(step::Unmount{"/var/spool/mail"}, "target is busy"), r.at + 100ms);
    return {std::move(r.m), r.at + 100ms};
}

Reached active_failback_held() {
    auto r = handback_resuming();
    r.m->handle(event::StepsSucceeded{}, r.at + 100ms);
    return {std::move(r.m), r.at + 100ms};
}

Reached split_brain_resolving() {
    auto r = split_brain();
    r.m->handle(event::ResolveRequested{"beta"}, r.at + 100ms);
    return {std::move(r.m), r.at + 100ms};
}

Reached split_brain_takeover_left_behind() {
    auto r = takeover();
    Lineage other{Generation{5}, {Generation{4}}};
    r.m->handle(event::HeartbeatReceived{primary_says(PrimaryState::DEGRADED, other), heard(r.at + 50ms, t0)}, r.at + 50ms);
    return {std::move(r.m), r.at + 50ms};
}

struct PhaseCase {
    const char* label;  // the row's name
    const char* phase;  // what phase() must say once reached
    std::size_t in_flight;  // batches whose outcome is still to come
    std::function<Reached()> reach;
};

std::vector<PhaseCase> phases() {
    return {
        {"EXPORTING", "EXPORTING", 0, exporting},
        {"EXPORTING running export_y", "EXPORTING running export_y", 1, exporting_starting},
        {"EXPORTING running adopt", "EXPORTING running adopt", 1, exporting_adopting},
        {"EXPORTING running clear_raw", "EXPORTING running clear_raw", 1, exporting_clearing_raw},
        {"SUSPECT", "SUSPECT", 0, suspect},
        {"SUSPECT running export_y", "SUSPECT running export_y", 1, suspect_starting},
        {"TAKEOVER running takeover", "TAKEOVER running takeover", 1, takeover},
        {"TAKEOVER running takeover_raw", "TAKEOVER running takeover_raw", 1, takeover_raw},
        {"TAKEOVER running resume", "TAKEOVER running resume", 1, takeover_resuming},
        {"ACTIVE", "ACTIVE", 0, active},
        {"ACTIVE (automatic failback held)", "ACTIVE (automatic failback held)", 0, active_failback_held},
        {"HANDBACK running handback", "HANDBACK running handback", 1, handback},
        {"HANDBACK running resume", "HANDBACK running resume (automatic failback held)", 1, handback_resuming},
        {"HALTED", "HALTED", 0, halted},
        {"SPLIT_BRAIN", "SPLIT_BRAIN", 0, split_brain},
        {"SPLIT_BRAIN running resolve", "SPLIT_BRAIN running resolve", 1, split_brain_resolving},
        {"SPLIT_BRAIN, a takeover's outcome to come", "SPLIT_BRAIN", 1, split_brain_takeover_left_behind},
    };
}

// Expected outcome per sub-state; an event not listed keeps the phase and runs nothing.
std::map<std::string, std::vector<PhaseRow>> phase_table();

}  // namespace

TEST_CASE("standby phase table: every (state, running plan) x event") {
    check_phase_table("standby", phases(), events(), phase_table());
}

TEST_CASE("safety: partition on one path only -> no takeover") {
    auto r = exporting();
    // The replication path went quiet long ago; the service path still carries heartbeats.
    PeerFacts f = heard(r.at + 10s, t0);
    f.paths[0].alive = f.paths[0].stable = false;
    auto d = r.m->handle(event::PeerSilent{f}, r.at + 10s);
    CHECK(d.next == S::EXPORTING);
    CHECK(d.steps.empty());
    CHECK(r.m->takeover_refusal(f, r.at + 10s).has_value());
}

TEST_CASE("safety: NBD session still active -> no takeover") {
    auto r = suspect();
    TimePoint now = t0 + 1000ms + kDead + 1ms;
    PeerFacts f = silent(t0 + 1000ms);
    f.last_nbd_activity = now - 200ms;
    auto d = r.m->handle(event::TimerFired{f}, now);
    CHECK(d.next == S::SUSPECT);
    CHECK(d.steps.empty());
    REQUIRE(d.wake_at);
    CHECK(*d.wake_at == now - 200ms + kDead);
    // Once the NBD session has been silent as long too, the takeover goes ahead.
    d = r.m->handle(event::TimerFired{f}, *d.wake_at);
    CHECK(d.next == S::TAKEOVER);
}

TEST_CASE("safety: Y outdated (primary said DEGRADED) -> takeover refused with the reason") {
    auto r = exporting();
    r.m->handle(event::HeartbeatReceived{primary_says(PrimaryState::DEGRADED, base_lineage(), MirrorHealth::degraded),
                                         heard(r.at + 500ms, t0)},
                r.at + 500ms);
    r.m->handle(event::PeerSilent{silent(r.at + 500ms)}, r.at + 1600ms);
    REQUIRE(r.m->state() == S::SUSPECT);
    auto d = r.m->handle(event::TimerFired{silent(r.at + 500ms)}, r.at + 500ms + kDead);
    CHECK(d.next == S::SUSPECT);
    CHECK(d.steps.empty());
    CHECK_THAT(d.reason, Catch::Contains("Y is outdated") && Catch::Contains("DEGRADED"));
    // Logged once: the same refusal on the next tick says nothing new.
    CHECK(r.m->handle(event::TimerFired{silent(r.at + 500ms)}, r.at + 600ms + kDead).reason.empty());
}

TEST_CASE("safety: Y outdated (primary said RESYNC) -> takeover refused") {
    auto r = exporting();
    r.m->handle(event::HeartbeatReceived{primary_says(PrimaryState::RESYNC, base_lineage(), MirrorHealth::resyncing),
                                         heard(r.at + 500ms, t0)},
                r.at + 500ms);
    r.m->handle(event::PeerSilent{silent(r.at + 500ms)}, r.at + 1600ms);
    auto d = r.m->handle(event::TimerFired{silent(r.at + 500ms)}, r.at + 500ms + kDead);
    CHECK(d.next == S::SUSPECT);
    CHECK_THAT(d.reason, Catch::Contains("RESYNC"));
}

TEST_CASE("safety: you-are-outdated notice -> takeover refused") {
    auto r = exporting();
    r.m->handle(event::PeerRequest{MessageKind::you_are_outdated}, r.at + 10ms);
    r.m->handle(event::PeerSilent{silent(r.at)}, r.at + 1100ms);
    auto d = r.m->handle(event::TimerFired{silent(r.at)}, r.at + kDead);
    CHECK(d.next == S::SUSPECT);
    CHECK_THAT(d.reason, Catch::Contains("you-are-outdated"));
}

TEST_CASE("safety: never heard the primary since start -> no takeover") {
    StandbyMachine m(example_config(), base_lineage());
    m.start(t0);
    auto d = m.handle(event::PeerSilent{silent(std::nullopt)}, t0 + 1h);
    CHECK(d.next == S::EXPORTING);
    CHECK(m.takeover_refusal(silent(std::nullopt), t0 + 1h)->why.find("never heard") != std::string::npos);
}

TEST_CASE("safety: flapping path -> no takeover, SUSPECT ends only once a path is stable") {
    auto r = suspect();
    TimePoint now = r.at;
    // The path comes back for a moment every 2 s (shorter than dead_after): never stable.
    for (int i = 0; i < 10; ++i) {
        now += 2000ms;
        auto d = r.m->handle(event::HeartbeatReceived{primary_says(PrimaryState::MIRRORED), heard(now, now, false)}, now);
        CHECK(d.next == S::SUSPECT);
        d = r.m->handle(event::TimerFired{silent(now)}, now + 1500ms);
        CHECK(d.next == S::SUSPECT);
        CHECK(d.steps.empty());
    }
    auto d = r.m->handle(event::HeartbeatReceived{primary_says(PrimaryState::MIRRORED), heard(now + 2100ms, now)}, now + 2100ms);
    CHECK(d.next == S::EXPORTING);
}

TEST_CASE("safety: takeover happens only after dead_after of silence") {
    auto r = suspect();
    auto d = r.m->handle(event::TimerFired{silent(t0 + 1000ms)}, t0 + 1000ms + kDead - 1ms);
    CHECK(d.next == S::SUSPECT);
    REQUIRE(d.wake_at);
    CHECK(*d.wake_at == t0 + 1000ms + kDead);
    d = r.m->handle(event::TimerFired{silent(t0 + 1000ms)}, *d.wake_at);
    CHECK(d.next == S::TAKEOVER);
    CHECK(d.undo_on_failure);
    CHECK_THAT(d.reason, Catch::Contains("silent on 2/2 paths"));
}

TEST_CASE("safety: failed takeover step -> HALTED, reason names the step and what was undone") {
    auto r = takeover();
    event::StepFailed f = failed(step::AddAddress{"eth0", "198.51.100.25/24"}, "RTNETLINK answers: File exists");
    f.undone = {step::Unmount{"/var/spool/mail"}, step::StopMirror{"/dev/md/haspool"}};
    auto d = r.m->handle(f, r.at + 1s);
    CHECK(d.next == S::HALTED);
    CHECK(d.steps.empty());
    CHECK_THAT(d.reason, Catch::Contains("takeover failed at AddAddress") && Catch::Contains("undone: Unmount, StopMirror"));
    // Nothing moves it on automatically: a returning primary is only noted.
    d = r.m->handle(event::HeartbeatReceived{primary_says(PrimaryState::MIRRORED), heard(r.at + 5s, r.at)}, r.at + 5s);
    CHECK(d.next == S::HALTED);
}

TEST_CASE("safety: both generations advanced -> SPLIT_BRAIN, never guessed") {
    auto r = active();  // took over: the standby minted a generation
    r.m->lineage_changed(base_lineage().bumped(true));
    Lineage primary_degraded = base_lineage().bumped(false);
    auto d = r.m->handle(event::HeartbeatReceived{primary_says(PrimaryState::STANDING_BY, primary_degraded), heard(r.at + 1s, r.at)},
                         r.at + 1s);
    CHECK(d.next == S::SPLIT_BRAIN);
    CHECK_THAT(d.reason, Catch::Contains("haspool resolve"));
}

TEST_CASE("switchover request: planned takeover without dead_after and without fencing") {
    config::Config c = example_config();
    c.fence.command = {"/usr/local/sbin/fence-peer"};
    StandbyMachine m(c, base_lineage());
    m.start(t0);
    auto d = m.handle(event::PeerRequest{MessageKind::take_over}, t0 + 1s);
    CHECK(d.next == S::TAKEOVER);
    CHECK(step_names(d.steps).find("RunFence") == std::string::npos);
    // An unplanned takeover with a fence configured fences after the probe.
    StandbyMachine u(c, base_lineage());
    u.start(t0);
    u.handle(event::HeartbeatReceived{primary_says(PrimaryState::MIRRORED), heard(t0 + 1s, t0)}, t0 + 1s);
    u.handle(event::PeerSilent{silent(t0 + 1s)}, t0 + 2s);
    d = u.handle(event::TimerFired{silent(t0 + 1s)}, t0 + 1s + kDead);
    CHECK(step_names(d.steps).rfind("StopExport,ProbeAddress,RunFence,BumpGeneration", 0) == 0);
}

TEST_CASE("automatic failback waits for the primary to be stable for hold_off") {
    config::Config c = example_config();
    c.failback.policy = config::FailbackPolicy::automatic;
    StandbyMachine m(c, base_lineage());
    take_over_from_start(m);
    TimePoint back = t0 + 100s;
    auto d = m.handle(event::HeartbeatReceived{primary_says(PrimaryState::STANDING_BY), heard(back + 3s, back)}, back + 3s);
    CHECK(d.next == S::ACTIVE);
    REQUIRE(d.wake_at);
    CHECK(*d.wake_at == back + c.failback.hold_off);
    d = m.handle(event::TimerFired{heard(back + c.failback.hold_off, back)}, back + c.failback.hold_off);
    CHECK(d.next == S::HANDBACK);
    CHECK(step_names(d.steps) == kHandback);
}

TEST_CASE("standby adopts the primary's generation once the mirror is in sync") {
    Lineage mine = base_lineage();
    StandbyMachine m(example_config(), mine);
    m.start(t0);
    m.handle(event::StepsSucceeded{}, t0);
    Lineage newer = mine.bumped(false);
    auto d = m.handle(event::HeartbeatReceived{primary_says(PrimaryState::MIRRORED, newer), heard(t0 + 1s, t0)}, t0 + 1s);
    CHECK(step_names(d.steps) == "AdoptGeneration");
    // Not while the primary is still copying.
    StandbyMachine m2(example_config(), mine);
    m2.start(t0);
    m2.handle(event::StepsSucceeded{}, t0);
    d = m2.handle(event::HeartbeatReceived{primary_says(PrimaryState::RESYNC, newer, MirrorHealth::resyncing), heard(t0 + 1s, t0)}, t0 + 1s);
    CHECK(d.steps.empty());    // Nor while it says MIRRORED but md still runs the initial sync after --init: Y is incomplete.
    d = m2.handle(event::HeartbeatReceived{primary_says(PrimaryState::MIRRORED, newer, MirrorHealth::resyncing), heard(t0 + 2s, t0)}, t0 + 2s);
    CHECK(d.steps.empty());
    d = m2.handle(event::HeartbeatReceived{primary_says(PrimaryState::MIRRORED, newer, MirrorHealth::in_sync), heard(t0 + 3s, t0)}, t0 + 3s);
    CHECK(step_names(d.steps) == "AdoptGeneration");
}

TEST_CASE("a failed export is retried and is not a safety event") {
    StandbyMachine m(example_config(), base_lineage());
    auto d = m.start(t0);
    CHECK(step_names(d.steps) == "StartExport");
    d = m.handle(failed(step::StartExport{}, "not available in this build"), t0 + 1ms);
    CHECK(d.next == S::EXPORTING);
    REQUIRE(d.wake_at);
    CHECK_THAT(d.reason, Catch::Contains("cannot export Y") && Catch::Contains("not available in this build"));
    d = m.handle(event::TimerFired{silent(std::nullopt)}, *d.wake_at);
    CHECK(step_names(d.steps) == "StartExport");
}

TEST_CASE("safety: Y older than the primary's generation (or blank) -> takeover refused") {
    for (Lineage mine : {Lineage{Generation::blank(), {}}, base_lineage()}) {
        StandbyMachine m(example_config(), mine);
        m.start(t0);
        Lineage newer = base_lineage().bumped(false);
        m.handle(event::HeartbeatReceived{primary_says(PrimaryState::WAIT_PEER, newer, MirrorHealth::unknown), heard(t0 + 1s, t0)}, t0 + 1s);
        m.handle(event::PeerSilent{silent(t0 + 1s)}, t0 + 2s);
        REQUIRE(m.state() == S::SUSPECT);
        auto d = m.handle(event::TimerFired{silent(t0 + 1s)}, t0 + 1s + kDead);
        CHECK(d.next == S::SUSPECT);
        CHECK(d.steps.empty());
        CHECK_THAT(d.reason, Catch::Contains("Y is outdated") && Catch::Contains("is newer than this node's"));
    }
}

TEST_CASE("a primary still CONNECTING while this node took over is not a split brain") {
    auto r = active();
    auto d = r.m->handle(event::HeartbeatReceived{primary_says(PrimaryState::CONNECTING, base_lineage(), MirrorHealth::unknown),
                                                  heard(r.at + 1s, r.at)},
                         r.at + 1s);
    CHECK(d.next == S::ACTIVE);
}

TEST_CASE("failed handback before the array was stopped: the service resumes here, automatic failback waits") {
    config::Config c = example_config();
    c.failback.policy = config::FailbackPolicy::automatic;
    StandbyMachine m(c, base_lineage());
    take_over_from_start(m);
    TimePoint back = t0 + 100s, due = back + c.failback.hold_off;
    m.handle(event::HeartbeatReceived{primary_says(PrimaryState::STANDING_BY), heard(back + 3s, back)}, back + 3s);
    REQUIRE(m.handle(event::TimerFired{heard(due, back)}, due).next == S::HANDBACK);

    auto d = m.handle(failed(step::Unmount{"/var/spool/mail"}, "busy; held by pid 42 (postdrop: fd 3)"), due + 1s);
    CHECK(d.next == S::HANDBACK);
    CHECK(step_names(d.steps) == "Fsck,Mount,ProbeAddress,AddAddress,SendGarp,StartUnit,StartUnit");
    CHECK(d.reason.find("alpha was not told to fail back") != std::string::npos);
    CHECK(d.reason.find("held by pid 42") != std::string::npos);
    d = m.handle(event::StepsSucceeded{}, due + 2s);
    CHECK(d.next == S::ACTIVE);
    CHECK(d.reason.find("automatic failback waits for the operator") != std::string::npos);

    // The primary stays stable: no second automatic attempt (a lasting cause would flap the VIP).
    for (auto later : {due + 10s, due + 10min}) {
        d = m.handle(event::TimerFired{heard(later, back)}, later);
        CHECK(d.next == S::ACTIVE);
        CHECK(d.steps.empty());
    }
    // The operator retries.
    d = m.handle(event::OperatorCommand{event::Command::failback}, due + 11min);
    CHECK(d.next == S::HANDBACK);
    CHECK(step_names(d.steps) == kHandback);
}

TEST_CASE("failed handback after the array was let go, or a failed resume: HALTED") {
    auto r = handback();
    auto d = r.m->handle(failed(step::StartExport{}), r.at + 100ms);
    CHECK(d.next == S::HALTED);
    CHECK(d.steps.empty());
    r = handback();
    r.m->handle(failed(step::RemoveAddress{"eth0", "198.51.100.25/24"}), r.at + 100ms);
    REQUIRE(r.m->state() == S::HANDBACK);
    d = r.m->handle(failed(step::AddAddress{"eth0", "198.51.100.25/24"}, "EPERM"), r.at + 200ms);
    CHECK(d.next == S::HALTED);
    CHECK(d.reason.find("resuming the service after the failed handback failed at AddAddress") != std::string::npos);
}

TEST_CASE("safety: a standby restarted while Y is in use here never exports it, it resumes serving") {
    const char* kResume = "Fsck,Mount,ProbeAddress,AddAddress,SendGarp,StartUnit,StartUnit";
    SECTION("through md (restarted while ACTIVE, or mid-takeover)") {
        StandbyMachine m(example_config(), base_lineage().bumped(true));
        auto d = m.start(t0, StandbyMachine::SpoolInUse{"/dev/vdb is held by md127", false});
        CHECK(d.next == S::TAKEOVER);
        CHECK(step_names(d.steps) == kResume);
        CHECK(std::get<step::Fsck>(d.steps[0]).dev == "/dev/md/haspool");
        CHECK(d.reason.find("instead of exporting Y") != std::string::npos);
        CHECK(d.reason.find("held by md127") != std::string::npos);
        // The primary standing by changes nothing while the plan runs; no export, no takeover plan.
        d = m.handle(event::HeartbeatReceived{primary_says(PrimaryState::STANDING_BY), heard(t0 + 1s, t0)}, t0 + 1s);
        CHECK(d.steps.empty());
        d = m.handle(event::StepsSucceeded{}, t0 + 2s);
        CHECK(d.next == S::ACTIVE);
        CHECK(d.reason.find("after a restart while this node served") != std::string::npos);
        CHECK_FALSE(m.serving_raw());
    }
    SECTION("through the raw mapping: the full-copy mark is persisted first if it was missing") {
        StandbyMachine m(example_config(), base_lineage().bumped(true), false);
        auto d = m.start(t0, StandbyMachine::SpoolInUse{"/dev/vdb is the backing device of /dev/loop3", true});
        CHECK(step_names(d.steps) == std::string("MarkRawWrites,") + kResume);
        CHECK(std::get<step::Fsck>(d.steps[1]).dev == Plans(example_config()).raw_link());
        CHECK(m.raw_written());
        m.handle(event::StepsSucceeded{}, t0 + 2s);
        CHECK(m.state() == S::ACTIVE);
        CHECK(m.serving_raw());
        // The handback unmaps the loop device before Y is exported again.
        m.handle(event::HeartbeatReceived{primary_says(PrimaryState::STANDING_BY), heard(t0 + 5s, t0 + 1s)}, t0 + 5s);
        d = m.handle(event::OperatorCommand{event::Command::failback}, t0 + 6s);
        CHECK(d.next == S::HANDBACK);
        CHECK(step_names(d.steps).find("UnmapRaw") != std::string::npos);
    }
    SECTION("marked already: no second mark") {
        StandbyMachine m(example_config(), base_lineage().bumped(true), true);
        auto d = m.start(t0, StandbyMachine::SpoolInUse{"/dev/vdb is the backing device of /dev/loop3", true});
        CHECK(step_names(d.steps) == kResume);
    }
    SECTION("the resume fails: HALTED, Y still not exported") {
        StandbyMachine m(example_config(), base_lineage().bumped(true));
        m.start(t0, StandbyMachine::SpoolInUse{"/dev/vdb is mounted at /mnt", false});
        auto d = m.handle(failed(step::Fsck{"/dev/md/haspool", config::Filesystem::ext4, 1000ms}, "cannot stat"), t0 + 1s);
        CHECK(d.next == S::HALTED);
        CHECK(d.steps.empty());
        CHECK(d.reason.find("resuming the service after a restart while this node served failed at Fsck") != std::string::npos);
        CHECK(d.reason.find("Y is not exported") != std::string::npos);
    }
}

namespace {

// Resuming it.
const char* kResumeSteps = "Fsck,Mount,ProbeAddress,AddAddress,SendGarp,StartUnit,StartUnit";

std::map<std::string, std::vector<PhaseRow>> phase_table() {
    return {
        {"ACTIVE (automatic failback held)",
         {{"HeartbeatReceived", "SPLIT_BRAIN (automatic failback held)", ""},
          {"OperatorCommand(failback)", "HANDBACK running handback (automatic failback held)", kHandback},
          {"PeerRequest(failback-request)", "HANDBACK running handback (automatic failback held)", kHandback}}},
        {"ACTIVE",
         {{"HeartbeatReceived", "SPLIT_BRAIN", ""}}},
        {"EXPORTING running adopt",
         {{"PeerRequest(take-over)", "TAKEOVER running takeover", kTakeover},
          {"PeerSilent", "SUSPECT running adopt", ""},
          {"StepFailed", "EXPORTING", ""},
          {"StepsSucceeded", "EXPORTING", ""}}},
        {"EXPORTING running clear_raw",
         {{"PeerRequest(take-over)", "TAKEOVER running takeover", kTakeover},
          {"PeerSilent", "SUSPECT running clear_raw", ""},
          {"StepFailed", "EXPORTING", ""},
          {"StepsSucceeded", "EXPORTING", ""}}},
        {"EXPORTING running export_y",
         {{"PeerRequest(take-over)", "TAKEOVER running takeover", kTakeover},
          {"PeerSilent", "SUSPECT running export_y", ""},
          {"StepFailed", "EXPORTING", ""},
          {"StepsSucceeded", "EXPORTING", ""}}},
        {"EXPORTING",
         {{"PeerRequest(take-over)", "TAKEOVER running takeover", kTakeover},
          {"PeerSilent", "SUSPECT", ""}}},
        {"HANDBACK running handback",
         {{"StepFailed", "HANDBACK running resume (automatic failback held)", kResumeSteps},
          {"StepsSucceeded", "EXPORTING", ""}}},
        {"HANDBACK running resume",
         {{"StepFailed", "HALTED (automatic failback held)", ""},
          {"StepsSucceeded", "ACTIVE (automatic failback held)", ""}}},
        {"SPLIT_BRAIN running resolve",
         {{"StepFailed", "HALTED", ""},
          {"StepsSucceeded", "EXPORTING", ""}}},
        {"SPLIT_BRAIN",
         {{"PeerRequest(discard-primary)", "EXPORTING running export_y", "StartExport"},
          {"PeerRequest(discard-standby)", "SPLIT_BRAIN running resolve", kDiscardYFromPeer},
          {"ResolveRequested(alpha)", "EXPORTING running export_y", "NotifyPeer,StartExport"},
          {"ResolveRequested(beta)", "SPLIT_BRAIN running resolve", kDiscardY}}},
        {"SUSPECT running export_y",
         {{"HeartbeatReceived", "EXPORTING running export_y", ""},
          {"PeerRequest(take-over)", "TAKEOVER running takeover", kTakeover},
          {"PeerSilent", "TAKEOVER running takeover", kTakeover},
          {"StepFailed", "SUSPECT", ""},
          {"StepsSucceeded", "SUSPECT", ""},
          {"TimerFired", "TAKEOVER running takeover", kTakeover}}},
        {"SUSPECT",
         {{"HeartbeatReceived", "EXPORTING", ""},
          {"PeerRequest(take-over)", "TAKEOVER running takeover", kTakeover},
          {"PeerSilent", "TAKEOVER running takeover", kTakeover},
          {"TimerFired", "TAKEOVER running takeover", kTakeover}}},
        {"TAKEOVER running resume",
         {{"StepFailed", "HALTED", ""},
          {"StepsSucceeded", "ACTIVE", ""}}},
        {"TAKEOVER running takeover",
         {{"StepFailed", "HALTED", ""},
          {"StepsSucceeded", "ACTIVE", ""}}},
        {"TAKEOVER running takeover_raw",
         {{"StepFailed", "HALTED", ""},
          {"StepsSucceeded", "ACTIVE", ""}}},
    };
}

}  // namespace

TEST_CASE("an outcome belongs to its batch: an export left behind by a takeover is not the takeover's") {
    auto r = suspect_starting();
    auto d = r.m->handle(event::TimerFired{silent(t0 + 1000ms)}, t0 + 1000ms + kDead);
    REQUIRE(d.next == S::TAKEOVER);
    CHECK(to_string(r.m->phase()) == "TAKEOVER running takeover");
    CHECK(r.m->in_flight().size() == 2);
    // The export reports first (it worked): the takeover still runs.
    d = r.m->handle(event::StepsSucceeded{}, t0 + 1000ms + kDead + 10ms);
    CHECK(d.next == S::TAKEOVER);
    CHECK(to_string(r.m->phase()) == "TAKEOVER running takeover");
    d = r.m->handle(event::StepsSucceeded{}, t0 + 1000ms + kDead + 20ms);
    CHECK(d.next == S::ACTIVE);
    CHECK(r.m->in_flight().size() == 0);
}

// docs/agent.md "A daemon restarted while its node serves": stopping the primary's daemon leaves
// its node serving. Reproduced in the Debian lab: `systemctl stop` of the primary's first-start
// unit and `systemctl enable --now haspool-primary` took 12 s under TCG; the standby took over
// after dead_after, its address probe found alpha still holding 192.0.2.10, it went HALTED, and
// the new primary daemon waited in WAIT_PEER for a standby that would never export again.
TEST_CASE("safety: an announced daemon restart on the primary holds the takeover back, then lets it go") {
    auto r = exporting();
    auto d = r.m->handle(event::PeerRequest{MessageKind::daemon_restarting}, r.at + 10ms);
    CHECK(d.next == S::EXPORTING);
    CHECK_THAT(d.reason, Catch::Contains("restarting"));
    r.m->handle(event::PeerSilent{silent(r.at)}, r.at + 1100ms);
    REQUIRE(r.m->state() == S::SUSPECT);
    // dead_after of silence: no takeover, the wake-up is the hold's end
    d = r.m->handle(event::TimerFired{silent(r.at)}, r.at + kDead);
    CHECK(d.next == S::SUSPECT);
    CHECK(d.steps.empty());
    REQUIRE(d.wake_at);
    CHECK(*d.wake_at == r.at + 10ms + StandbyMachine::kDaemonRestartHold);
    auto refusal = r.m->takeover_refusal(silent(r.at), r.at + kDead);
    REQUIRE(refusal);
    CHECK_THAT(refusal->why, Catch::Contains("daemon is restarting"));
    // the primary never came back (its node died during the restart): the takeover comes at the hold's end
    d = r.m->handle(event::TimerFired{silent(r.at)}, *d.wake_at);
    CHECK(d.next == S::TAKEOVER);
}

TEST_CASE("an announced restart ends when the primary is heard again: a later silence takes over after dead_after") {
    auto r = exporting();
    r.m->handle(event::PeerRequest{MessageKind::daemon_restarting}, r.at + 10ms);
    r.m->handle(event::PeerSilent{silent(r.at)}, r.at + 1100ms);
    TimePoint back = r.at + 8000ms;  // the new daemon's heartbeats
    auto d = r.m->handle(event::HeartbeatReceived{primary_says(PrimaryState::MIRRORED), heard(back, back)}, back);
    REQUIRE(d.next == S::EXPORTING);
    r.m->handle(event::PeerSilent{silent(back)}, back + 1100ms);
    d = r.m->handle(event::TimerFired{silent(back)}, back + kDead);
    CHECK(d.next == S::TAKEOVER);
}

TEST_CASE("the restart notice in SUSPECT also holds the takeover back") {
    auto r = suspect();
    auto d = r.m->handle(event::PeerRequest{MessageKind::daemon_restarting}, r.at);
    REQUIRE(d.wake_at);
    CHECK(*d.wake_at == r.at + StandbyMachine::kDaemonRestartHold);
    d = r.m->handle(event::TimerFired{silent(t0 + 1000ms)}, t0 + 1000ms + kDead);
    CHECK(d.next == S::SUSPECT);
}
