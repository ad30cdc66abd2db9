// LinuxSystem's steps that need no kernel device: the persisted discard of a generation, and
// the md steps' refusal when there is no array.
#include <catch2/catch.hpp>

#include "../temp_dir.hpp"
#include "agent_test_support.hpp"
#include "agent/system/linux_system.hpp"

using namespace haspool;
using namespace haspool::agent;
using namespace haspool::agent::test;
using haspool::test::TempDir;

namespace {
const Lineage kSplitA = base_lineage().bumped(false);
}  // namespace

TEST_CASE("LinuxSystem DiscardGeneration: persisted with history, idempotent, refused when the generation moved on") {
    TempDir dir;
    NodeStateStore store(dir.path.string(), "alpha");
    NodeState st;
    st.node = "alpha";
    st.lineage = kSplitA;
    REQUIRE(store.save(st) == "");
    LinuxSystem sys(store, PersistedMark::raw_writes(dir.path.string()), false, nullptr);
    sys.set_state(st);

    StepResult r = perform(sys, step::DiscardGeneration{kSplitA.current, "test"});
    REQUIRE(r.ok);
    auto loaded = store.load();
    REQUIRE(loaded.state);
    CHECK(loaded.state->lineage.current == Generation::blank());
    CHECK(loaded.state->lineage.ancestors.front() == kSplitA.current);
    CHECK(loaded.state->history.back().reason == "discarded generation 2/primary: test");
    CHECK(sys.state().lineage.current == Generation::blank());
    // Again: already blank, nothing to do.
    CHECK(perform(sys, step::DiscardGeneration{kSplitA.current, "test"}).ok);
    CHECK(store.load().state->history.size() == 1);

    // A node that moved on since the decision is not discarded.
    NodeState moved = st;
    moved.lineage = kSplitA.bumped(false);
    REQUIRE(store.save(moved) == "");
    sys.set_state(moved);
    r = perform(sys, step::DiscardGeneration{kSplitA.current, "test"});
    CHECK_FALSE(r.ok);
    CHECK_THAT(r.error, Catch::Contains("now holds generation 3/primary; nothing was discarded"));
    CHECK(store.load().state->lineage.current == moved.lineage.current);
}

TEST_CASE("LinuxSystem AddMemberFull refuses when the array is not running") {
    TempDir dir;
    LinuxSystem sys(NodeStateStore(dir.path.string(), "alpha"), PersistedMark::raw_writes(dir.path.string()), false, nullptr);
    StepResult r = perform(sys, step::AddMemberFull{"/dev/md/haspool", "/dev/nbd0"});
    CHECK_FALSE(r.ok);
    CHECK_THAT(r.error, Catch::Contains("/dev/md/haspool is not running"));
}

TEST_CASE("LinuxSystem MarkXLost/ClearXLost: the x-lost file beside the raw-writes mark, both idempotent") {
    TempDir dir;
    LinuxSystem sys(NodeStateStore(dir.path.string(), "alpha"), PersistedMark::raw_writes(dir.path.string()), false, nullptr);
    PersistedMark mark = PersistedMark::x_lost(dir.path.string());
    CHECK_FALSE(mark.load().marked);
    REQUIRE(perform(sys, step::MarkXLost{"/dev/vdb", "md failed it"}).ok);
    auto l = mark.load();
    CHECK(l.marked);
    CHECK_THAT(l.reason, Catch::StartsWith("x-lost ") && Catch::Contains("/dev/vdb: md failed it"));
    CHECK(perform(sys, step::MarkXLost{"/dev/vdb", "again"}).ok);
    CHECK_FALSE(PersistedMark::raw_writes(dir.path.string()).load().marked);  // a separate file
    REQUIRE(perform(sys, step::ClearXLost{"rebuilt"}).ok);
    CHECK_FALSE(mark.load().marked);
    CHECK(perform(sys, step::ClearXLost{"rebuilt"}).ok);
}
