// The step runner with the fake system: order, stop at the first failure, undo on request.
#include <catch2/catch.hpp>

#include "agent_test_support.hpp"
#include "fake_system.hpp"
#include "agent/core/plans.hpp"
#include "agent/system/step_runner.hpp"

using namespace haspool::agent;
using namespace haspool::agent::test;

TEST_CASE("runner: every step runs in order and success is reported") {
    FakeSystem sys;
    StepRunner run(sys);
    auto steps = Plans(example_config()).takeover(false);
    Event e = run.run(steps, true);
    CHECK(std::holds_alternative<event::StepsSucceeded>(e));
    REQUIRE(sys.transcript.size() == steps.size());
    for (size_t i = 0; i < steps.size(); ++i) CHECK(sys.transcript[i] == to_string(steps[i]));
}

TEST_CASE("runner: the Nth step fails -> later steps do not run, completed ones are undone newest first") {
    FakeSystem sys;
    // takeover: StopExport, ProbeAddress, BumpGeneration, AssembleDegraded, Fsck, Mount, AddAddress, SendGarp...
    sys.fail_call(8, "sendto: Network is unreachable");
    StepRunner run(sys);
    Event e = run.run(Plans(example_config()).takeover(false), true);
    REQUIRE(std::holds_alternative<event::StepFailed>(e));
    const auto& f = std::get<event::StepFailed>(e);
    CHECK(name_of(f.step) == "SendGarp");
    CHECK(f.why == "sendto: Network is unreachable");
    CHECK(step_names(f.undone) == "RemoveAddress,Unmount,StopMirror");
    CHECK(f.undo_errors.empty());
    REQUIRE(sys.transcript.size() == 11);
    CHECK(sys.transcript[8] == "RemoveAddress if=eth0 addr=198.51.100.25/24");
    CHECK(sys.transcript[9] == "Unmount dir=/var/spool/mail");
    CHECK(sys.transcript[10] == "StopMirror md=/dev/md/haspool");
}

TEST_CASE("runner: without undo, a failure just stops") {
    FakeSystem sys;
    sys.fail_kind("Unmount", "target is busy");
    StepRunner run(sys);
    Event e = run.run(Plans(example_config()).handback(), false);
    REQUIRE(std::holds_alternative<event::StepFailed>(e));
    CHECK(std::get<event::StepFailed>(e).undone.empty());
    CHECK(sys.transcript.back() == "Unmount dir=/var/spool/mail");
}

TEST_CASE("runner: a failing undo step is reported, the rest of the undo still runs") {
    FakeSystem sys;
    sys.fail_kind("StartUnit", "job failed");
    sys.fail_kind("RemoveAddress", "Operation not permitted");
    StepRunner run(sys);
    Event e = run.run(Plans(example_config()).takeover(false), true);
    const auto& f = std::get<event::StepFailed>(e);
    CHECK(name_of(f.step) == "StartUnit");
    REQUIRE(f.undo_errors.size() == 1);
    CHECK(f.undo_errors[0] == "RemoveAddress: Operation not permitted");
    CHECK(step_names(f.undone) == "RemoveAddress,Unmount,StopMirror");
}

TEST_CASE("runner: the observer sees every step and undo") {
    FakeSystem sys;
    sys.fail_kind("Mount", "wrong fs type");
    std::vector<std::string> seen;
    StepRunner run(sys, [&](const Step& s, const StepResult& r, bool undo) {
        seen.push_back((undo ? "undo " : "") + name_of(s) + (r.ok ? "" : " FAILED"));
    });
    run.run(Plans(example_config()).takeover(false), true);
    CHECK(seen.back() == "undo StopMirror");
    CHECK(std::find(seen.begin(), seen.end(), "Mount FAILED") != seen.end());
}
