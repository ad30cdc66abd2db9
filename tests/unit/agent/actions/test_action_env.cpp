// Environments handed to child commands (hooks, fence), the GARP schedule, argv rendering.
#include <catch2/catch.hpp>

#include "agent/system/actions/command_runner.hpp"
#include "agent/system/actions/fence.hpp"
#include "agent/system/address/gratuitous_arp.hpp"
#include "agent/system/actions/hooks.hpp"

using namespace haspool::actions;
using namespace std::chrono_literals;

TEST_CASE("hooks get the documented HASPOOL_* variables and nothing else of ours") {
    HookContext ctx{"beta", "alpha", "TAKEOVER", 42, "peer silent on every path for 3000 ms"};
    auto env = hook_environment(HookEvent::before_takeover, ctx);
    CHECK(env == Environment{{"HASPOOL_EVENT", "before_takeover"},
                             {"HASPOOL_NODE", "beta"},
                             {"HASPOOL_PEER", "alpha"},
                             {"HASPOOL_STATE", "TAKEOVER"},
                             {"HASPOOL_GENERATION", "42"},
                             {"HASPOOL_REASON", "peer silent on every path for 3000 ms"}});
    CHECK(hook_environment(HookEvent::after_handback, ctx).at("HASPOOL_EVENT") == "after_handback");
}

TEST_CASE("each hook event selects its own configured command") {
    haspool::config::Hooks h;
    h.before_takeover = {"/bin/a"};
    h.after_takeover = {"/bin/b"};
    h.before_handback = {"/bin/c"};
    h.after_handback = {"/bin/d"};
    CHECK(hook_command(h, HookEvent::before_takeover)[0] == "/bin/a");
    CHECK(hook_command(h, HookEvent::after_takeover)[0] == "/bin/b");
    CHECK(hook_command(h, HookEvent::before_handback)[0] == "/bin/c");
    CHECK(hook_command(h, HookEvent::after_handback)[0] == "/bin/d");
}

TEST_CASE("an absent hook or fence command is done without running anything") {
    auto r = run_hook(HookCommand{HookEvent::after_takeover, {}, {}, std::chrono::milliseconds(1000)});
    CHECK(r.ok());
    CHECK(r.message() == "no hook configured");
    auto f = fence_peer(FenceCommand{{}, fence_environment("alpha", "beta"), std::chrono::milliseconds(1000), "alpha"});
    CHECK(f.ok());
    CHECK(f.message() == "no fence command configured");
}

TEST_CASE("the fence command learns whom to fence") {
    auto env = fence_environment("alpha", "beta");
    CHECK(env.at("HASPOOL_PEER") == "alpha");
    CHECK(env.at("HASPOOL_NODE") == "beta");
    CHECK(env.at("HASPOOL_EVENT") == "fence");
}

TEST_CASE("child commands start from a fixed base environment") {
    auto env = base_environment();
    CHECK(env.size() == 2);
    CHECK(env.at("LC_ALL") == "C");
    CHECK(env.at("PATH").find("/usr/sbin") != std::string::npos);
}

TEST_CASE("argv renders quoted only where a shell would need it, tails keep the last lines") {
    CHECK(render_argv({"e2fsck", "-p", "/dev/loop3"}) == "e2fsck -p /dev/loop3");
    CHECK(render_argv({"sh", "-c", "echo it's"}) == "sh -c 'echo it'\\''s'");
    CHECK(render_argv({""}) == "''");
    CHECK(last_lines("a\n\nb\nc  \nd\n", 2) == "c | d");
    CHECK(last_lines("", 3).empty());
}

TEST_CASE("the GARP schedule is a burst, a repeat burst and an optional refresh") {
    haspool::config::Garp g;  // defaults: 5 at 200 ms, 5 more after 5 s, no refresh
    auto s = garp_schedule(g);
    CHECK(s.offsets == std::vector<std::chrono::milliseconds>{0ms, 200ms, 400ms, 600ms, 800ms, 5000ms, 5200ms,
                                                              5400ms, 5600ms, 5800ms});
    CHECK(s.refresh == 0ms);
    g.count = 2;
    g.repeat_count = 0;
    g.refresh = 60000ms;
    s = garp_schedule(g);
    CHECK(s.offsets == std::vector<std::chrono::milliseconds>{0ms, 200ms});
    CHECK(s.refresh == 60000ms);
}
