// Persisted generations: round trip, crash-safe save, and explicit handling of missing and
// corrupt files (never a silent reset).
#include <catch2/catch.hpp>

#include "../temp_dir.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/store/node_state.hpp"

using namespace haspool::agent;
namespace fs = std::filesystem;

using haspool::test::TempDir;

TEST_CASE("node state: --init of a primary starts at 1/primary descending from blank") {
    TempDir d;
    NodeStateStore store(d.path.string(), "alpha");
    REQUIRE(store.initialise(false, 1000) == "");
    auto l = store.load();
    REQUIRE(l.state);
    CHECK(to_string(l.state->lineage.current) == "1/primary");
    CHECK(l.state->lineage.descends_from(Generation::blank()));
    CHECK(l.state->history.size() == 1);
    CHECK((fs::status(store.path()).permissions() & fs::perms::others_read) == fs::perms::none);
}

TEST_CASE("node state: --init refuses an initialised node") {
    TempDir d;
    NodeStateStore store(d.path.string(), "beta");
    REQUIRE(store.initialise(true, 1000) == "");
    CHECK_THAT(store.initialise(true, 2000), Catch::Contains("already exists"));
    CHECK(store.load().state->lineage.current == Generation::blank());
}

TEST_CASE("node state: bump and adopt persist with history") {
    TempDir d;
    NodeStateStore store(d.path.string(), "beta");
    REQUIRE(store.initialise(true, 1000) == "");
    NodeState s = *store.load().state;
    s = s.bumped(true, "takeover by beta", 2000);
    REQUIRE(store.save(s) == "");
    auto l = store.load();
    REQUIRE(l.state);
    CHECK(to_string(l.state->lineage.current) == "1/standby");
    CHECK(l.state->history.back().reason == "takeover by beta");
    CHECK(l.state->history.back().unix_time == 2000);
    CHECK_FALSE(fs::exists(store.path() + ".tmp"));
}

TEST_CASE("node state: missing file is reported with the fix, not reset") {
    TempDir d;
    NodeStateStore store(d.path.string(), "alpha");
    auto l = store.load();
    CHECK_FALSE(l.state);
    CHECK(l.missing);
    CHECK_THAT(l.error, Catch::Contains("haspool primary --init"));
    CHECK_FALSE(fs::exists(store.path()));
}

TEST_CASE("node state: a damaged file is refused (checksum) and left as it is") {
    TempDir d;
    NodeStateStore store(d.path.string(), "alpha");
    REQUIRE(store.initialise(false, 1000) == "");
    std::string text;
    {
        std::ifstream in(store.path());
        text.assign(std::istreambuf_iterator<char>(in), {});
    }
    auto pos = text.find("generation 2");
    REQUIRE(pos != std::string::npos);
    text.replace(pos, 12, "generation 9");
    { std::ofstream(store.path()) << text; }
    auto l = store.load();
    CHECK_FALSE(l.state);
    CHECK_FALSE(l.missing);
    CHECK_THAT(l.error, Catch::Contains("checksum mismatch") && Catch::Contains("nothing automatic"));
    { std::ofstream(store.path()) << text.substr(0, 30); }
    CHECK_THAT(store.load().error, Catch::Contains("no checksum line"));
}

TEST_CASE("node state: a file of another node is refused") {
    TempDir d;
    REQUIRE(NodeStateStore(d.path.string(), "alpha").initialise(false, 1) == "");
    CHECK_THAT(NodeStateStore(d.path.string(), "beta").load().error, Catch::Contains("belongs to node 'alpha'"));
}
