#include <catch2/catch.hpp>

#include "agent/log/log.hpp"
#include "agent/log/message_ids.hpp"

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

TEST_CASE("MESSAGE_IDs: the transitions an operator alerts on have one each, the others none") {
    using namespace haspool::log;
    CHECK(std::string(message_id_for_state("TAKEOVER")) == kMessageTakeover);
    CHECK(std::string(message_id_for_state("SPLIT_BRAIN")) == kMessageSplitBrain);
    CHECK(std::string(message_id_for_state("HALTED")) == kMessageHalted);
    CHECK(std::string(message_id_for_state("DISKLESS")) == kMessageXLost);
    for (const char* s : {"MIRRORED", "DEGRADED", "EXPORTING", "ACTIVE", "SUSPECT", ""}) {
        INFO(s);
        CHECK(message_id_for_state(s) == nullptr);
    }
    for (const char* id : {kMessageTakeover, kMessageSplitBrain, kMessageHalted, kMessageXLost, kMessageYFailed}) {
        INFO(id);
        std::string v(id);
        CHECK(v.size() == 32);
        CHECK(v.find_first_not_of("0123456789abcdef") == std::string::npos);
    }
}

TEST_CASE("parse_level: the names, nothing else") {
    using namespace haspool::log;
    CHECK(parse_level("debug") == Level::debug);
    CHECK(parse_level("warning") == Level::warning);
    CHECK(parse_level("critical") == Level::critical);
    CHECK_FALSE(parse_level("DEBUG"));
    CHECK_FALSE(parse_level("warn"));
    CHECK_FALSE(parse_level(""));
}
