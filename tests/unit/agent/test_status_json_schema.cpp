// docs/status-json.md is the schema of `haspool status --json`: this test keeps the two in step.
// Full reports of both roles (every optional part present, the nullable ones both null and set)
// are rendered; every key path in them must be a row of the document's table, with a value of
// the type the row gives, and every row must be met by one of them.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "agent/control/peer_report.hpp"
#include "agent/control/status_report.hpp"
#include "sample_status_report.hpp"

using namespace haspool;
using namespace haspool::agent;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

using test::t0;

// key path -> the type cell ("integer or null", ...), from the rows "| `path` | type |" of the
// status's table (the first; "## Events" and later sections have tables of their own).
std::map<std::string, std::string> documented() {
    std::ifstream f(std::string(HASPOOL_SOURCE_DIR) + "/docs/status-json.md");
    REQUIRE(f);
    std::map<std::string, std::string> rows;
    std::regex row(R"(^\| `([a-z_.\[\]]+)` \| ([a-z ]+) \|)");
    std::string line;
    std::smatch m;
    while (std::getline(f, line) && line.rfind("## ", 0) != 0)  // the status's table: before the first section
        if (std::regex_search(line, m, row)) rows[m[1]] = m[2];
    return rows;
}

std::string type_of(const json& v) {
    if (v.is_null()) return "null";
    if (v.is_boolean()) return "boolean";
    if (v.is_number_integer()) return "integer";
    if (v.is_string()) return "string";
    if (v.is_array()) return "array";
    if (v.is_object()) return "object";
    return "other";
}

// Every key path of `v` under `path` with its value; an array's elements as path[] (objects:
// path[].key).
void walk(const json& v, const std::string& path, std::multimap<std::string, json>& out) {
    if (!path.empty()) out.emplace(path, v);
    if (path == "dropped") return;  // its keys are the reasons, each documented as one row
    if (v.is_object())
        for (const auto& [k, child] : v.items()) walk(child, path.empty() ? k : path + "." + k, out);
    else if (v.is_array())
        for (const auto& e : v) {
            if (e.is_object())  // an element's keys are rows of their own: path[].key
                for (const auto& [k, child] : e.items()) walk(child, path + "[]." + k, out);
            else walk(e, path + "[]", out);
        }
}

// The sample primary copying (RESYNC) or having lost X (DEGRADED), at generation 4, with the NBD
// leg's counters.
StatusReport primary(bool syncing) {
    StatusReport r = test::sample_primary();
    r.state = syncing ? "RESYNC" : "DEGRADED";
    r.now = t0 + 1500ms;
    r.last_decision = "md is copying";
    r.generation = Generation{4};
    r.steps_running = syncing ? std::optional<std::string>("RESYNC: 2 step(s) from AttachNbd") : std::nullopt;
    r.disk_problem = syncing ? "" : "X lost: md failed /dev/vda";
    raid::MdSnapshot& md = *r.mirror->array;
    md.sync_action = syncing ? "recover" : "idle";
    if (syncing) md.sync_completed = raid::SyncProgress{1000, 262144};
    if (syncing) md.sync_speed_kib = 4096;
    raid::MdMember leg;
    leg.block_device = "nbd0";
    leg.io = raid::BlockIo{120, 2048, 340, 8192, 1};
    md.members = {leg};
    r.peer->lineage = Lineage{Generation{4}, {}};
    r.peer_clock_offset = syncing ? std::optional<Millis>(Millis(250)) : std::nullopt;
    r.data = syncing ? MirrorHealth::resyncing : MirrorHealth::x_lost;
    r.transitions = {{t0, "MIRRORED", r.state, "md failed /dev/vda", "MdMemberFailed"}};
    return r;
}

// The sample standby, idle, with its start and its last handback's stay.
StatusReport standby() {
    StatusReport r = test::sample_standby();
    r.steps_running.reset();
    r.transitions = {{t0, "START", "EXPORTING", "started", "started"}};
    r.last_stay = {{"HANDBACK", Millis(1900)}};
    return r;
}

// The reports with the peer's own answer: in full, trimmed to fit a small cap, and missing.
std::vector<StatusReport> reports() {
    StatusReport a = primary(true), b = primary(false), c = standby(), d = standby();
    StatusReport asked = standby();  // as `plan failback` asks it: with Y's bitmap
    asked.disk_bitmap = StatusReport::DiskBitmap{12, 128, 1 << 20, {}};
    a.peer_answer = StatusReport::PeerAnswer{peer_report_payload(asked, 1000), 3ms};
    StatusReport unreadable = standby();
    unreadable.disk_bitmap = StatusReport::DiskBitmap{0, 0, 0, "examining the bitmap of /dev/vdb: mdadm exited 1"};
    b.peer_answer = StatusReport::PeerAnswer{peer_report_payload(unreadable, 1000), 3ms};
    StatusReport e = primary(false);
    e.peer_unanswered = "did not answer over the peer channel within 1s";
    c.peer_answer = StatusReport::PeerAnswer{peer_report_payload(primary(true), 1000), 4ms};
    d.peer_answer = StatusReport::PeerAnswer{peer_report_payload(primary(true), 400), 4ms};
    return {a, b, c, d, e};
}

}  // namespace

TEST_CASE("status --json: every key is in docs/status-json.md with its type, every row is met") {
    const auto rows = documented();
    REQUIRE(rows.size() > 30);
    std::set<std::string> met;
    for (const StatusReport& r : reports()) {
        json doc = json::parse(render_json(r));
        CHECK(doc["version"] == kStatusJsonVersion);
        std::multimap<std::string, json> found;
        walk(doc, "", found);
        for (const auto& [path, value] : found) {
            INFO(r.role << ": " << path << " = " << value.dump());
            auto row = rows.find(path);
            REQUIRE(row != rows.end());  // an undocumented key
            // "integer or null" admits either; "object" also admits the row's own children
            std::string type = type_of(value);
            CHECK(row->second.find(type) != std::string::npos);
            met.insert(path);
        }
        for (const auto& [why, n] : doc["dropped"].items()) {
            INFO("dropped." << why);
            CHECK(n.is_number_integer());
        }
    }
    for (const auto& [path, type] : rows) {
        INFO("documented but never rendered: " << path);
        CHECK(met.count(path) == 1);
    }
}
