// The pure translation from the agent's steps to the actions library: filesystem specs, fence
// and hook commands (from the step alone), hook names, and results.
#include <catch2/catch.hpp>

#include "agent/system/step_actions.hpp"

using namespace haspool;
using namespace haspool::agent;

TEST_CASE("step actions: Fsck, Mount and Unmount take everything from the step") {
    auto f = filesystem_spec(step::Fsck{"/dev/loop7", config::Filesystem::xfs, Millis(1234), "/mnt/f"});
    CHECK(f.device == "/dev/loop7");
    CHECK(f.type == config::Filesystem::xfs);
    CHECK(f.fsck_timeout == Millis(1234));
    CHECK(f.mount_point == "/mnt/f");

    auto m = filesystem_spec(step::Mount{"/dev/loop8", "/mnt/x", config::Filesystem::ext4, {"noatime", "nodev"}, Millis(4321)});
    CHECK(m.device == "/dev/loop8");
    CHECK(m.mount_point == "/mnt/x");
    CHECK(m.type == config::Filesystem::ext4);
    CHECK(m.mount_options == std::vector<std::string>{"noatime", "nodev"});
    CHECK(m.mount_timeout == Millis(4321));

    auto u = filesystem_spec(step::Unmount{"/mnt/x", {"/dev/md/haspool", "/run/haspool/haspool-raw"}}, "/dev/md/haspool");
    CHECK(u.device == "/dev/md/haspool");
    CHECK(u.mount_point == "/mnt/x");
}

TEST_CASE("step actions: the fence runs the step's argv, environment and timeout") {
    auto f = fence_command(step::RunFence{{"/sbin/fence", "-n"}, Millis(777), {{"HASPOOL_PEER", "alpha"}}, "alpha"});
    CHECK(f.argv == std::vector<std::string>{"/sbin/fence", "-n"});
    CHECK(f.env == actions::Environment{{"HASPOOL_PEER", "alpha"}});
    CHECK(f.timeout == Millis(777));
    CHECK(f.peer == "alpha");
}

TEST_CASE("step actions: a hook runs the step's command, with the run-time situation added to its environment") {
    step::RunHook s{"after_takeover", {"/bin/hook", "x"}, Millis(555),
                    {{"HASPOOL_EVENT", "after_takeover"}, {"HASPOOL_NODE", "beta"}, {"HASPOOL_PEER", "alpha"}}};
    actions::HookContext now{"ignored", "ignored", "TAKEOVER", 7, "peer silent"};
    auto h = hook_command(s, actions::HookEvent::after_takeover, now);
    CHECK(h.event == actions::HookEvent::after_takeover);
    CHECK(h.argv == s.argv);
    CHECK(h.timeout == Millis(555));
    CHECK(h.env == actions::Environment{{"HASPOOL_EVENT", "after_takeover"}, {"HASPOOL_NODE", "beta"},
                                        {"HASPOOL_PEER", "alpha"}, {"HASPOOL_STATE", "TAKEOVER"},
                                        {"HASPOOL_GENERATION", "7"}, {"HASPOOL_REASON", "peer silent"}});
}

TEST_CASE("step actions: every hook name the plans use is a hook event, others are not") {
    for (const char* n : {"before_takeover", "after_takeover", "before_handback", "after_handback"}) {
        auto e = hook_event_named(n);
        REQUIRE(e);
        CHECK(std::string(actions::to_string(*e)) == n);
    }
    CHECK_FALSE(hook_event_named("after_failover"));
    CHECK_FALSE(hook_event_named(""));
}

TEST_CASE("step actions: a failed action keeps its error sentence, a done one is ok with its note") {
    CHECK(to_step_result(actions::ActionResult::done("already mounted")).ok);
    CHECK(to_step_result(actions::ActionResult::done("already mounted")).error.empty());
    // the note reaches the step's log line: "Fsck ...: ok (e2fsck: journal replayed)"
    CHECK(to_step_result(actions::ActionResult::done("e2fsck: journal replayed")).note == "e2fsck: journal replayed");
    CHECK(to_step_result(actions::ActionResult::done()).note.empty());
    auto r = to_step_result(actions::ActionResult::failed("cannot mount '/dev/md0': busy"));
    CHECK_FALSE(r.ok);
    CHECK(r.error == "cannot mount '/dev/md0': busy");
    CHECK(r.note.empty());
}
