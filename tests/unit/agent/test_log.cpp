#include <catch2/catch.hpp>

#include "agent/log/log.hpp"

using namespace haspool;

TEST_CASE("log records carry level, message and structured fields to the sink") {
    std::vector<log::Record> seen;
    log::set_sink([&](const log::Record& r) { seen.push_back(r); });
    log::notice("standby beta: EXPORTING -> SUSPECT (no heartbeat on 2/2 paths for 1.2s)",
                {{"EVENT", "transition"}, {"FROM", "EXPORTING"}, {"TO", "SUSPECT"}});
    log::debug("dropped below the minimum level");
    log::set_sink({});
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].level == log::Level::notice);
    CHECK(seen[0].fields.size() == 3);
    CHECK(seen[0].fields[1].key == "FROM");
}

TEST_CASE("debug lines pass once the minimum level is debug") {
    int n = 0;
    log::set_sink([&](const log::Record&) { ++n; });
    log::set_min_level(log::Level::debug);
    log::debug("now visible");
    log::set_min_level(log::Level::info);
    log::debug("hidden again");
    log::set_sink({});
    CHECK(n == 1);
}
