// The lines of `haspool events`: one JSON object each, with the common head and the fields of
// its type (docs/status-json.md "Events").
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "agent/control/event_stream.hpp"

using namespace haspool;
using namespace haspool::agent;
using nlohmann::json;

namespace {

json parse_line(const std::string& line) {
    REQUIRE(!line.empty());
    CHECK(line.back() == '\n');
    CHECK(line.find('\n') == line.size() - 1);  // one line
    return json::parse(line);
}

void check_head(const json& j, const char* type) {
    CHECK(j["version"] == kStatusJsonVersion);
    CHECK(j["type"] == type);
    CHECK(j["time_ms"] == 1764800000123);
    CHECK(j["node"] == "beta");
}

}  // namespace

TEST_CASE("events: a transition, a step, a path, md, the status") {
    json t = parse_line(transition_event("beta", 1764800000123, "SUSPECT", "TAKEOVER", "no heartbeat on 2/2 paths for 3.0s",
                                         "timer", "4/standby"));
    check_head(t, "transition");
    CHECK(t["from"] == "SUSPECT");
    CHECK(t["to"] == "TAKEOVER");
    CHECK(t["reason"] == "no heartbeat on 2/2 paths for 3.0s");
    CHECK(t["trigger"] == "timer");
    CHECK(t["generation"] == "4/standby");

    json s = parse_line(step_event("beta", 1764800000123, "Fsck", "Fsck /dev/vdb (ext4, timeout 300s)", false, false,
                                   "e2fsck -p /dev/vdb exited 4:\nUNEXPECTED INCONSISTENCY", 812));
    check_head(s, "step");
    CHECK(s["step"] == "Fsck");
    CHECK(s["undo"] == false);
    CHECK(s["ok"] == false);
    CHECK(s["result"] == "e2fsck -p /dev/vdb exited 4:\nUNEXPECTED INCONSISTENCY");
    CHECK(s["duration_ms"] == 812);

    json p = parse_line(path_event("beta", 1764800000123, "replication", false, false));
    check_head(p, "path");
    CHECK(p["path"] == "replication");
    CHECK(p["alive"] == false);

    json m = parse_line(md_event("beta", 1764800000123, "md-member-failed", "vda"));
    check_head(m, "md");
    CHECK(m["what"] == "md-member-failed");

    StatusReport r;
    r.node = "beta";
    r.role = "standby";
    r.state = "EXPORTING";
    r.peer_node = "alpha";
    json st = parse_line(status_event(r, 1764800000123));
    check_head(st, "status");
    CHECK(st["status"]["state"] == "EXPORTING");
    CHECK(st["status"]["version"] == kStatusJsonVersion);
}

TEST_CASE("events: a command's output that is not UTF-8 still makes a line of JSON") {
    json s = parse_line(step_event("beta", 1764800000123, "RunHook", "RunHook before_takeover", false, false,
                                   "hook said: \xe9" "chec", 3));
    CHECK(s["result"] == "hook said: \xef\xbf\xbd" "chec");
}
