// The pure translation from the agent's steps to the actions library: filesystem specs (step
// fields over the Config), hook names, and results.
#include <catch2/catch.hpp>

#include "agent_test_support.hpp"
#include "agent/system/step_actions.hpp"

using namespace haspool;
using namespace haspool::agent;
using namespace haspool::agent::test;

TEST_CASE("step actions: Fsck and Mount take device, type, options and timeout from the step") {
    const config::Config& c = example_config();
    auto f = filesystem_spec(c, step::Fsck{"/dev/loop7", config::Filesystem::xfs, Millis(1234)});
    CHECK(f.device == "/dev/loop7");
    CHECK(f.type == config::Filesystem::xfs);
    CHECK(f.fsck_timeout == Millis(1234));
    CHECK(f.mount_point == c.spool.mount_point);

    auto m = filesystem_spec(c, step::Mount{"/dev/loop8", "/mnt/x", config::Filesystem::ext4, {"noatime", "nodev"}});
    CHECK(m.device == "/dev/loop8");
    CHECK(m.mount_point == "/mnt/x");
    CHECK(m.type == config::Filesystem::ext4);
    CHECK(m.mount_options == std::vector<std::string>{"noatime", "nodev"});
    CHECK(m.mount_timeout == c.spool.mount_timeout);
}

TEST_CASE("step actions: Unmount only unmounts the md array every plan mounts") {
    const config::Config& c = example_config();
    auto u = filesystem_spec(c, step::Unmount{"/mnt/x"});
    CHECK(u.device == c.spool.md_device);
    CHECK(u.mount_point == "/mnt/x");
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
