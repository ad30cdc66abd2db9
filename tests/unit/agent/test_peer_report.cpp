// The peer's own status report (issue 15 item 1): what a daemon sends when the other node's
// `haspool status` asks, and what the asker shows of it.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "agent/control/peer_report.hpp"

using namespace haspool;
using namespace haspool::agent;
using namespace std::chrono_literals;

namespace {

const TimePoint t0 = TimePoint{} + 24h;

StatusReport standby(size_t transitions, const std::string& reason = "started") {
    StatusReport r;
    r.role = "standby";
    r.node = "beta";
    r.state = "EXPORTING";
    r.since = t0;
    r.now = t0 + 5000ms;
    r.generation = Generation{2};
    r.data = MirrorHealth::in_sync;
    r.last_decision = "alpha's array is clean";
    r.spool_export = StatusReport::Export{true, 1, {1500, 1 << 20, 3 << 20, 0, 0, 0, 1}};
    r.peer_node = "alpha";
    r.facts.paths = {{"replication", true, true, t0 + 4700ms, 1ms}};
    for (size_t i = 0; i < transitions; ++i)
        r.transitions.push_back({t0 + Millis(i), "SUSPECT", "EXPORTING", reason + " " + std::to_string(i), "HeartbeatReceived"});
    return r;
}

}  // namespace

TEST_CASE("peer report: the standby's report in full, read back and shown") {
    std::string p = peer_report_payload(standby(2), 1000);
    auto o = peer_report_json(p);
    CHECK(o["node"] == "beta");
    CHECK(o["state"] == "EXPORTING");
    CHECK(o["data"] == "in-sync");
    CHECK(o["export"]["requests"] == 1500);
    CHECK(o["transitions"].size() == 2);
    CHECK_FALSE(o.contains("trimmed"));
    CHECK(peer_report_text(p, 3ms) ==
          "standby beta: EXPORTING for 5.0s (its own answer over the peer channel, in 3ms)\n"
          "  last decision: alpha's array is clean\n"
          "  generation 1/primary, data in-sync\n"
          "  export of Y: running, 1 session(s); 1500 requests, 1.0 MiB read, 3.0 MiB written, 0 I/O errors\n"
          "  path replication (as it hears us): up, last heard 300ms ago, rtt 1ms\n"
          "  last transitions:\n"
          "    5.0s ago: SUSPECT -> EXPORTING (started 0)\n"
          "    5.0s ago: SUSPECT -> EXPORTING (started 1)\n");
}

TEST_CASE("peer report: long reasons and many transitions are trimmed to the cap, newest kept") {
    StatusReport r = standby(8, std::string(300, 'r'));
    std::string p = peer_report_payload(r, 1000);
    CHECK(p.size() <= 1000);
    auto o = peer_report_json(p);
    CHECK(o["trimmed"] == true);
    REQUIRE(!o["transitions"].empty());
    CHECK(o["transitions"].back()["reason"].get<std::string>().find(" 7") == std::string::npos);  // cut, yet the newest
    CHECK(o["transitions"].back()["ago_ms"] == 4993);
    // A cap nothing fits: the essentials.
    std::string tiny = peer_report_payload(r, 100);
    auto e = peer_report_json(tiny);
    CHECK(e["state"] == "EXPORTING");
    CHECK(e["trimmed"] == true);
    CHECK_FALSE(e.contains("transitions"));
}

TEST_CASE("peer report: a cut inside a UTF-8 sequence leaves U+FFFD, the JSON stays valid") {
    StatusReport r = standby(1, std::string(239, 'a') + "\xc3\xa9" "chec");
    std::string p = peer_report_payload(r, 1000);
    auto o = peer_report_json(p);
    REQUIRE(o.is_object());
    CHECK(o["transitions"][0]["reason"].get<std::string>().find("\xef\xbf\xbd") != std::string::npos);
}

TEST_CASE("peer report: what is not a report, or fields of the wrong type, are never trusted") {
    CHECK(peer_report_json("not json").is_null());
    CHECK(peer_report_json("[1,2]").is_null());
    CHECK(peer_report_text("{", 1ms) == "  (the peer's answer is not a report this version can read)\n");
    auto o = peer_report_json(R"({"node":7,"state":"EXPORTING","state_for_ms":"long","export":{"requests":-1},)"
                              R"("paths":[1,{"name":"lan","alive":"yes"}],"transitions":"none","extra":true})");
    CHECK_FALSE(o.contains("node"));
    CHECK_FALSE(o.contains("state_for_ms"));
    CHECK_FALSE(o["export"].contains("requests"));
    CHECK(o["paths"].size() == 1);
    CHECK_FALSE(o["paths"][0].contains("alive"));
    CHECK_FALSE(o.contains("transitions"));
    CHECK_FALSE(o.contains("extra"));
    // Shown with what there is.
    CHECK(peer_report_text(o.dump(), 2ms).rfind("? ?: EXPORTING (its own answer over the peer channel, in 2ms)\n", 0) == 0);
}
