// Issue #7's raw takeover (docs/agent.md "Raw takeover"): the standby's fallback when Y cannot be
// assembled as md, the persisted full-copy mark, and the primary's full add at failback. Time is
// explicit (t0 + N ms); nothing sleeps.
#include <catch2/catch.hpp>

#include "agent_test_support.hpp"
#include "fake_system.hpp"
#include "agent/core/plans.hpp"
#include "agent/core/primary_machine.hpp"
#include "agent/core/standby_machine.hpp"
#include "agent/system/step_runner.hpp"

using namespace haspool;
using namespace haspool::agent;
using namespace haspool::agent::test;
using S = StandbyState;
using P = PrimaryState;

namespace {

const Millis kDead = example_config().heartbeat.dead_after;
const Lineage kTakenOver = base_lineage().bumped(true);  // what the takeover's BumpGeneration persisted

config::Config with_fallback(bool on) {
    config::Config c = example_config();
    c.spool.raw_mount_fallback = on;
    return c;
}

// A standby that heard the primary MIRRORED, then lost it for dead_after: the takeover plan runs.
struct Taking {
    config::Config cfg;
    std::unique_ptr<StandbyMachine> m;
    TimePoint at;
};
std::unique_ptr<Taking> taking_over(bool fallback) {
    auto t = std::make_unique<Taking>();
    t->cfg = with_fallback(fallback);
    t->m = std::make_unique<StandbyMachine>(t->cfg, base_lineage());
    t->m->start(t0);
    t->m->handle(event::StepsSucceeded{}, t0 + 10ms);
    t->m->handle(event::HeartbeatReceived{primary_says(P::MIRRORED), heard(t0 + 1s, t0)}, t0 + 1s);
    t->m->handle(event::PeerSilent{silent(t0 + 1s)}, t0 + 2s);
    t->at = t0 + 1s + kDead;
    auto d = t->m->handle(event::TimerFired{silent(t0 + 1s)}, t->at);
    REQUIRE(d.next == S::TAKEOVER);
    REQUIRE(step_names(d.steps).find("AssembleDegraded") != std::string::npos);
    t->m->lineage_changed(kTakenOver);
    return t;
}

event::StepFailed assembly_failed() {
    return failed(step::AssembleDegraded{"/dev/md/haspool", "/dev/vdb"},
                  "assembling /dev/md/haspool: 'mdadm --assemble /dev/md/haspool --run /dev/vdb' exited with status 1: "
                  "mdadm: no recogniseable superblock on /dev/vdb");
}

size_t index_of(const std::vector<Step>& steps, const std::string& name) {
    for (size_t i = 0; i < steps.size(); ++i)
        if (name_of(steps[i]) == name) return i;
    FAIL("no " << name << " in " << step_names(steps));
    return 0;
}

}  // namespace

TEST_CASE("raw takeover: fallback off (the default) -> HALTED as before, and the reason says why") {
    auto t = taking_over(false);
    auto d = t->m->handle(assembly_failed(), t->at + 1s);
    CHECK(d.next == S::HALTED);
    CHECK(d.steps.empty());
    CHECK_THAT(d.reason, Catch::Contains("takeover failed at AssembleDegraded") &&
                             Catch::Contains("no raw fallback (spool.raw_mount_fallback is off)"));
    CHECK_FALSE(t->m->raw_written());
}

TEST_CASE("raw takeover: fallback on -> a raw plan, marked BEFORE the mapping and the mount, logged as a warning") {
    auto t = taking_over(true);
    auto d = t->m->handle(assembly_failed(), t->at + 1s);
    CHECK(d.next == S::TAKEOVER);
    CHECK(d.warn);
    CHECK(d.undo_on_failure);
    CHECK_THAT(d.reason, Catch::Contains("RAW TAKEOVER (spool.raw_mount_fallback)") &&
                             Catch::Contains("no recogniseable superblock") && Catch::Contains("full resync"));
    CHECK(step_names(d.steps) ==
          "MarkRawWrites,StopMirror,MapRaw,Fsck,Mount,AddAddress,SendGarp,StartUnit,StartUnit");
    CHECK(index_of(d.steps, "MarkRawWrites") < index_of(d.steps, "MapRaw"));
    CHECK(index_of(d.steps, "MarkRawWrites") < index_of(d.steps, "Mount"));
    const std::string link = Plans(t->cfg).raw_link();
    CHECK(link == "/run/haspool/haspool-raw");
    CHECK(std::get<step::Mount>(d.steps[index_of(d.steps, "Mount")]).dev == link);
    CHECK(std::get<step::Fsck>(d.steps[index_of(d.steps, "Fsck")]).dev == link);
    CHECK(std::get<step::MapRaw>(d.steps[index_of(d.steps, "MapRaw")]).dev == "/dev/vdb");
    // The heartbeats say so from now on (the mark is persisted first).
    CHECK(t->m->raw_written());
}

TEST_CASE("raw takeover: only the md assembly falls back, any other failed step halts") {
    auto t = taking_over(true);
    auto d = t->m->handle(failed(step::RunFence{{"/usr/local/sbin/fence"}, 1000ms}, "exit 1"), t->at + 1s);
    CHECK(d.next == S::HALTED);
    CHECK_FALSE(t->m->raw_written());
    auto u = taking_over(true);
    d = u->m->handle(failed(step::Mount{"/dev/md/haspool", "/var/spool/mail", config::Filesystem::ext4, {}}), u->at + 1s);
    CHECK(d.next == S::HALTED);
    // An assembly failure whose undo failed is not a clean state to start from either.
    auto w = taking_over(true);
    event::StepFailed f = assembly_failed();
    f.undo_errors = {"undo StopExport: boom"};
    d = w->m->handle(f, w->at + 1s);
    CHECK(d.next == S::HALTED);
}

TEST_CASE("raw takeover: a failed raw plan halts, and the mark stays") {
    auto t = taking_over(true);
    t->m->handle(assembly_failed(), t->at + 1s);
    event::StepFailed f = failed(step::Fsck{"/run/haspool/haspool-raw", config::Filesystem::ext4, 600000ms}, "e2fsck exit 4");
    f.undone = {step::UnmapRaw{"/dev/vdb", "/run/haspool/haspool-raw"}};
    auto d = t->m->handle(f, t->at + 2s);
    CHECK(d.next == S::HALTED);
    CHECK_THAT(d.reason, Catch::Contains("takeover failed at Fsck") && Catch::Contains("undone: UnmapRaw") &&
                             Catch::Contains("the raw takeover's mark stays"));
    CHECK(t->m->raw_written());
}

TEST_CASE("raw takeover: ACTIVE from the raw mapping, the handback unmaps it before exporting Y") {
    auto t = taking_over(true);
    t->m->handle(assembly_failed(), t->at + 1s);
    auto d = t->m->handle(event::StepsSucceeded{}, t->at + 2s);
    CHECK(d.next == S::ACTIVE);
    CHECK(d.warn);
    CHECK_THAT(d.reason, Catch::Contains("took over RAW"));
    CHECK(t->m->serving_raw());
    TimePoint back = t->at + 60s;
    t->m->handle(event::HeartbeatReceived{primary_says(P::STANDING_BY, base_lineage()), heard(back, back - 10s)}, back);
    d = t->m->handle(event::OperatorCommand{event::Command::failback}, back + 1s);
    REQUIRE(d.next == S::HANDBACK);
    CHECK(step_names(d.steps) ==
          "StopUnit,StopUnit,RemoveAddress,Unmount,UnmapRaw,StopMirror,StartExport,NotifyPeer");
    d = t->m->handle(event::StepsSucceeded{}, back + 2s);
    CHECK(d.next == S::EXPORTING);
    CHECK_THAT(d.reason, Catch::Contains("marked raw-written"));
    CHECK_FALSE(t->m->serving_raw());
    CHECK(t->m->raw_written());  // until X is rebuilt in full
}

TEST_CASE("raw takeover: the mark is cleared only once the primary reports X rebuilt at our generation") {
    const config::Config cfg = with_fallback(true);  // the machine keeps a reference to it
    StandbyMachine m(cfg, kTakenOver, true);  // restarted with the mark on disk
    CHECK(m.raw_written());
    m.start(t0);
    m.handle(event::StepsSucceeded{}, t0);
    // Still standing by, or copying Y->X: the mark stays.
    auto d = m.handle(event::HeartbeatReceived{primary_says(P::STANDING_BY, base_lineage(), MirrorHealth::unknown), heard(t0 + 1s, t0)}, t0 + 1s);
    CHECK(d.steps.empty());
    d = m.handle(event::HeartbeatReceived{primary_says(P::RESYNC, kTakenOver, MirrorHealth::resyncing), heard(t0 + 2s, t0)}, t0 + 2s);
    CHECK(d.steps.empty());
    d = m.handle(event::HeartbeatReceived{primary_says(P::MIRRORED, kTakenOver, MirrorHealth::resyncing), heard(t0 + 3s, t0)}, t0 + 3s);
    CHECK(d.steps.empty());
    CHECK(m.raw_written());
    // Rebuilt: in sync at our generation.
    d = m.handle(event::HeartbeatReceived{primary_says(P::MIRRORED, kTakenOver, MirrorHealth::in_sync), heard(t0 + 4s, t0)}, t0 + 4s);
    CHECK(step_names(d.steps) == "ClearRawWrites");
    // A failure keeps it, and the next heartbeat tries again.
    d = m.handle(failed(step::ClearRawWrites{"x"}, "EROFS"), t0 + 4100ms);
    CHECK_THAT(d.reason, Catch::Contains("cannot clear the raw-writes mark"));
    CHECK(m.raw_written());
    d = m.handle(event::HeartbeatReceived{primary_says(P::MIRRORED, kTakenOver, MirrorHealth::in_sync), heard(t0 + 5s, t0)}, t0 + 5s);
    CHECK(step_names(d.steps) == "ClearRawWrites");
    d = m.handle(event::StepsSucceeded{}, t0 + 5100ms);
    CHECK_FALSE(m.raw_written());
    d = m.handle(event::HeartbeatReceived{primary_says(P::MIRRORED, kTakenOver, MirrorHealth::in_sync), heard(t0 + 6s, t0)}, t0 + 6s);
    CHECK(d.steps.empty());
}

TEST_CASE("raw takeover: a marked standby makes the primary's failback a full add of X, never a re-add") {
    PrimaryMachine m(example_config(), base_lineage(), PrimaryMachine::Options{});
    m.start(t0);
    PeerStatus active = standby_says(S::ACTIVE, kTakenOver);
    active.md = MirrorHealth::raw_written;
    m.handle(event::HeartbeatReceived{active, heard(t0 + 500ms, t0)}, t0 + 500ms);
    REQUIRE(m.state() == P::STANDING_BY);
    PeerStatus exporting = active;
    exporting.state = static_cast<uint8_t>(S::EXPORTING);
    auto d = m.handle(event::HeartbeatReceived{exporting, heard(t0 + 1s, t0)}, t0 + 1s);
    REQUIRE(d.next == P::FAILBACK);
    CHECK_THAT(d.reason, Catch::Contains("adding X in full (Y was written outside md)"));
    CHECK(step_names(d.steps) ==
          "AttachNbd,AssembleFromRaw,AddMemberFull,AdoptGeneration,Mount,ProbeAddress,AddAddress,SendGarp,StartUnit,StartUnit");
    CHECK(std::get<step::AddMemberFull>(d.steps[2]).dev == "/dev/vdb");
    // A failed failback is retried the same way, even after it adopted Y's lineage.
    m.handle(failed(step::Mount{"/dev/md/haspool", "/var/spool/mail", config::Filesystem::ext4, {}}), t0 + 2s);
    REQUIRE(m.state() == P::STANDING_BY);
    m.lineage_changed(kTakenOver);
    d = m.handle(event::HeartbeatReceived{exporting, heard(t0 + 100s, t0)}, t0 + 100s);
    REQUIRE(d.next == P::FAILBACK);
    CHECK(step_names(d.steps).find("AddMemberFull") != std::string::npos);
    CHECK(step_names(d.steps).find("ReAddMember") == std::string::npos);
    CHECK(step_names(d.steps).find("MergeBitmap") == std::string::npos);

    // Unmarked, the same failback re-adds X with the bitmap union (the incremental path).
    PrimaryMachine u(example_config(), base_lineage(), PrimaryMachine::Options{});
    u.start(t0);
    PeerStatus plain = standby_says(S::EXPORTING, kTakenOver);
    d = u.handle(event::HeartbeatReceived{plain, heard(t0 + 500ms, t0)}, t0 + 500ms);
    REQUIRE(d.next == P::FAILBACK);
    CHECK(step_names(d.steps).find("MergeBitmap,ReAddMember") != std::string::npos);
}

TEST_CASE("raw takeover: run through the step runner, nothing touches Y before the mark is persisted") {
    config::Config c = with_fallback(true);
    std::vector<Step> plan = Plans(c).takeover_raw();
    FakeSystem ok;
    StepRunner(ok).run(plan, true);
    REQUIRE(ok.transcript.size() == plan.size());
    CHECK(ok.transcript[0].rfind("MarkRawWrites", 0) == 0);
    // The mark cannot be persisted: no mapping, no mount, nothing to undo.
    FakeSystem broken;
    broken.fail_kind("MarkRawWrites", "No space left on device");
    Event e = StepRunner(broken).run(plan, true);
    REQUIRE(std::holds_alternative<event::StepFailed>(e));
    CHECK(broken.transcript.size() == 1);
    // A mount that fails is undone back to an unmapped Y.
    FakeSystem mount_fails;
    mount_fails.fail_kind("Mount", "wrong fs type");
    e = StepRunner(mount_fails).run(plan, true);
    const auto& f = std::get<event::StepFailed>(e);
    CHECK(step_names(f.undone) == "UnmapRaw");
}
