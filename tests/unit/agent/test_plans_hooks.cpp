// Where the operator's hooks sit in every plan. The hooks stand in for whatever serves mail from
// the spool (keepalived's notify scripts): after_takeover runs once a node serves, on either
// side, and before_handback runs before anything it started could pin the spool (the unmount).
#include <catch2/catch.hpp>

#include "agent_test_support.hpp"
#include "agent/core/plans.hpp"

using namespace haspool;
using namespace haspool::agent;
using namespace haspool::agent::test;

namespace {

config::Config with_hooks() {
    config::Config c = example_config();
    c.hooks.before_takeover = {"/bin/true", "bt"};
    c.hooks.after_takeover = {"/bin/true", "at"};
    c.hooks.before_handback = {"/bin/true", "bh"};
    c.hooks.after_handback = {"/bin/true", "ah"};
    return c;
}

// "name@index" of every RunHook step, and the index of the first Unmount / last Mount.
std::string hooks_of(const std::vector<Step>& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i)
        if (const auto* h = std::get_if<step::RunHook>(&s[i])) out += (out.empty() ? "" : ",") + h->name;
    return out;
}

template <class T>
std::optional<size_t> index_of(const std::vector<Step>& s) {
    for (size_t i = 0; i < s.size(); ++i)
        if (std::holds_alternative<T>(s[i])) return i;
    return std::nullopt;
}

void ends_with_after_takeover(const std::vector<Step>& s) {
    REQUIRE_FALSE(s.empty());
    const auto* h = std::get_if<step::RunHook>(&s.back());
    REQUIRE(h != nullptr);
    CHECK(h->name == "after_takeover");
    CHECK(h->argv == std::vector<std::string>{"/bin/true", "at"});
    // after the service is fully up: mounted, address held and announced
    CHECK(index_of<step::Mount>(s) < s.size() - 1);
    CHECK(index_of<step::SendGarp>(s) < s.size() - 1);
}

}  // namespace

TEST_CASE("every plan that starts serving ends with after_takeover, on either node") {
    config::Config c = with_hooks();
    Plans p(c);
    SECTION("standby takeover, crash and planned") {
        CHECK(hooks_of(p.takeover(false)) == "before_takeover,after_takeover");
        ends_with_after_takeover(p.takeover(false));
        ends_with_after_takeover(p.takeover(true));
    }
    SECTION("primary start, every variant") {
        for (bool x_newer : {false, true})
            for (bool create : {false, true})
                for (bool y_blank : {false, true}) {
                    CAPTURE(x_newer, create, y_blank);
                    auto s = p.connect(x_newer, create, false, y_blank);
                    CHECK(hooks_of(s) == "after_takeover");
                    ends_with_after_takeover(s);
                }
    }
    SECTION("primary failback, re-add and full add") {
        ends_with_after_takeover(p.failback(base_lineage(), false));
        ends_with_after_takeover(p.failback(base_lineage(), true));
    }
    SECTION("primary forced solo start") { ends_with_after_takeover(p.solo()); }
}

TEST_CASE("every plan that stops serving runs before_handback before the unmount") {
    config::Config c = with_hooks();
    Plans p(c);
    auto before_unmount = [](const std::vector<Step>& s) {
        auto u = index_of<step::Unmount>(s);
        REQUIRE(u);
        const auto* h = std::get_if<step::RunHook>(&s.front());
        REQUIRE(h != nullptr);
        CHECK(h->name == "before_handback");
        CHECK(0 < *u);
    };
    before_unmount(p.handback());
    before_unmount(p.handover());
    before_unmount(p.release(c.primary()));
    before_unmount(p.release(c.standby()));
    before_unmount(p.discard(c.primary(), Generation{3}));
    before_unmount(p.discard(c.standby(), Generation{3}));
    CHECK(hooks_of(p.handback()) == "before_handback,after_handback");
    CHECK(hooks_of(p.handover()) == "before_handback,after_handback");
    // release/discard give up what a split brain or an interrupted flow left: no after_handback,
    // since nothing was handed to anyone.
    CHECK(hooks_of(p.release(c.standby())) == "before_handback");
}

TEST_CASE("without hooks configured, no plan has a hook step") {
    Plans p(example_config());
    REQUIRE(example_config().hooks.after_takeover.empty());
    CHECK(hooks_of(p.takeover(false)).empty());
    CHECK(hooks_of(p.connect(false, true)).empty());
    CHECK(hooks_of(p.failback(base_lineage())).empty());
    CHECK(hooks_of(p.release(example_config().primary())).empty());
}
