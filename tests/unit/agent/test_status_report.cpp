// The status report: one value rendered as `haspool status` text and `haspool status --json`.
// Both renderings are pinned byte for byte: tests/integration and tests/vm grep them.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "agent/control/status_report.hpp"
#include "sample_status_report.hpp"

using namespace haspool;
using namespace haspool::agent;
using namespace std::chrono_literals;

namespace {

using test::t0;

raid::MdMember member(std::string dev, std::string state) {
    raid::MdMember m;
    m.block_device = std::move(dev);
    m.state = raid::parse_member_state(state);
    return m;
}

// The sample primary with md's two members, its last decision and transitions, the generation's
// reason and a key rotation under way.
StatusReport primary_report() {
    StatusReport r = test::sample_primary();
    r.last_decision = "md is clean";
    r.generation_reason = "initialised";
    r.mirror->array->members = {member("vda", "in_sync"), member("nbd0", "in_sync,write_mostly")};
    r.keys = StatusReport::Keys{true, true, true};
    r.data = MirrorHealth::in_sync;
    r.transitions = {{t0 - 5000ms, "START", "CONNECTING", "started", "started"},
                     {t0, "CONNECTING", "MIRRORED", "md is clean", "ResyncFinished"}};
    return r;
}

StatusReport standby_report() { return test::sample_standby(); }

}  // namespace

TEST_CASE("status report: the primary's text") {
    CHECK(render_text(primary_report()) ==
          "primary alpha: MIRRORED for 1.2s\n"
          "  last decision: md is clean\n"
          "  generation 1/primary (initialised)\n"
          "  steps: idle\n"
          "  md /dev/md/haspool: clean (vda in_sync, nbd0 in_sync,write_mostly)\n"
          "  data: in-sync\n"
          "  last transitions:\n"
          "    6.2s ago: START -> CONNECTING (started)\n"
          "    1.2s ago: CONNECTING -> MIRRORED (md is clean)\n"
          "peer beta: EXPORTING, generation 1/primary, md unknown, nbd none\n"
          "  path replication: up, last heard 200ms ago, rtt 2ms\n"
          "  path service: down, last heard never\n"
          "  clock: beta's wall clock is -3600.2s from this node's (reported only)\n"
          "  keys: signing with the next key; next key set, beta holds it\n"
          "  dropped datagrams: bad-hmac=3 replayed=1\n");
}

TEST_CASE("status report: the primary's JSON") {
    CHECK(render_json(primary_report()) ==
          "{\"version\":1,\"node\":\"alpha\",\"role\":\"primary\",\"state\":\"MIRRORED\",\"state_for_ms\":1200,"
          "\"last_decision\":\"md is clean\",\"generation\":\"1/primary\",\"steps_running\":null,\"disk_problem\":null,\"data\":\"in-sync\","
          "\"md\":\"clean (vda in_sync, nbd0 in_sync,write_mostly)\",\"md_sync\":null,\"nbd_leg\":null,"
          "\"peer\":{\"node\":\"beta\",\"state\":\"EXPORTING\",\"generation\":\"1/primary\",\"md\":\"unknown\",\"nbd\":\"none\",\"md_percent\":0,"
          "\"clock_offset_ms\":-3600250,\"paths\":[{\"name\":\"replication\",\"alive\":true,\"stable\":true,\"last_heard_ms_ago\":200,\"rtt_ms\":2},"
          "{\"name\":\"service\",\"alive\":false,\"stable\":false,\"last_heard_ms_ago\":null,\"rtt_ms\":null}],"
          "\"report\":null,\"report_answered_in_ms\":null,\"report_problem\":null},"
          "\"dropped\":{\"bad-hmac\":3,\"replayed\":1},"
          "\"transitions\":[{\"ago_ms\":6200,\"from\":\"START\",\"to\":\"CONNECTING\",\"reason\":\"started\",\"trigger\":\"started\"},"
          "{\"ago_ms\":1200,\"from\":\"CONNECTING\",\"to\":\"MIRRORED\",\"reason\":\"md is clean\",\"trigger\":\"ResyncFinished\"}],"
          "\"keys\":{\"next_configured\":true,\"signing_with_next\":true,\"peer_holds_next\":true}}\n");
}

TEST_CASE("status report: the standby's text and JSON, peer never heard") {
    StatusReport r = standby_report();
    CHECK(render_text(r) ==
          "standby beta: EXPORTING for 350ms\n"
          "  generation 0 (blank)\n"
          "  steps: running EXPORTING: 1 step(s) from StartExport\n"
          "  export of Y: running, 1 session(s)\n"
          "  data: unknown\n"
          "peer alpha: never heard\n"
          "  path replication: down, last heard never\n");
    r.spool_export->running = false;
    r.steps_running.reset();
    r.facts.paths[0] = {"replication", true, false, t0, std::nullopt};
    CHECK(render_text(r) ==
          "standby beta: EXPORTING for 350ms\n"
          "  generation 0 (blank)\n"
          "  steps: idle\n"
          "  export of Y: stopped\n"
          "  data: unknown\n"
          "peer alpha: never heard\n"
          "  path replication: up (not yet stable), last heard 350ms ago\n");
    CHECK(render_json(r) ==
          "{\"version\":1,\"node\":\"beta\",\"role\":\"standby\",\"state\":\"EXPORTING\",\"state_for_ms\":350,"
          "\"last_decision\":\"\",\"generation\":\"0 (blank)\",\"steps_running\":null,\"disk_problem\":null,\"data\":\"unknown\","
          "\"export_running\":false,\"peer\":{\"node\":\"alpha\",\"clock_offset_ms\":null,"
          "\"paths\":[{\"name\":\"replication\",\"alive\":true,\"stable\":false,\"last_heard_ms_ago\":350,\"rtt_ms\":null}],"
          "\"report\":null,\"report_answered_in_ms\":null,\"report_problem\":null},"
          "\"dropped\":{},\"transitions\":[],\"keys\":{\"next_configured\":false,\"signing_with_next\":false,\"peer_holds_next\":false}}\n");
    r.steps_running = "EXPORTING: 1 step(s) from StartExport";
    CHECK(render_json(r).find(",\"steps_running\":\"EXPORTING: 1 step(s) from StartExport\",") != std::string::npos);
    // A failed Y (docs/faults.md): one line of text, a string in JSON.
    r.disk_problem = "Y failed: 3 request(s) on /dev/vdb answered with an I/O error by the disk; no takeover from it";
    CHECK(render_text(r).find("\n  disk: Y failed: 3 request(s) on /dev/vdb") != std::string::npos);
    CHECK(render_json(r).find(",\"disk_problem\":\"Y failed: 3 request(s)") != std::string::npos);
}

TEST_CASE("status report: md while a re-add copies, degraded, not running") {
    StatusReport::Mirror m{"/dev/md/haspool", std::nullopt, ""};
    CHECK(md_text(m) == "not running");
    raid::MdSnapshot md;
    md.degraded = 1;
    md.sync_action = "recover";
    md.sync_completed = raid::SyncProgress{110200, 262144};  // sectors: 53.8 of 128 MiB, 42%
    md.members = {member("vda", "in_sync"), member("nbd0", "spare")};
    m.array = md;
    m.copy_plan = "copying /dev/nbd0: 10 of 128 chunk(s)";
    // md has not measured a speed yet (sync_speed "none" at the very start)
    CHECK(md_text(m) == "degraded 42%, 53.8 MiB of 128.0 MiB, speed not measured yet, copying /dev/nbd0: 10 of 128 "
                        "chunk(s) (vda in_sync, nbd0 spare)");
    m.array->sync_speed_kib = 12288;  // 12 MiB/s: 74.2 MiB left, 6.2 s, rounded up
    CHECK(md_text(m) == "degraded 42%, 53.8 MiB of 128.0 MiB at 12.0 MiB/s, about 7s left, copying /dev/nbd0: 10 of "
                        "128 chunk(s) (vda in_sync, nbd0 spare)");
    m.array->sync_action = "resync";  // a resync is not our copy: the plan is not shown
    m.array->degraded = 0;
    CHECK(md_text(m) == "resync 42%, 53.8 MiB of 128.0 MiB at 12.0 MiB/s, about 7s left (vda in_sync, nbd0 spare)");
    m.array->members.clear();
    m.array->sync_action = "idle";
    m.array->degraded = 1;
    CHECK(md_text(m) == "degraded");
}

TEST_CASE("status report: a running sync in figures: bytes, md's speed, the time left, typed in JSON") {
    raid::MdSnapshot md;
    md.sync_action = "idle";
    CHECK_FALSE(sync_figures(md));
    md.sync_action = "recover";
    CHECK_FALSE(sync_figures(md));  // no progress read yet
    md.sync_completed = raid::SyncProgress{2097152, 20971520};  // 1 of 10 GiB
    md.sync_speed_kib = 102400;                                  // 100 MiB/s
    auto f = sync_figures(md);
    REQUIRE(f);
    CHECK(f->action == "recover");
    CHECK(f->done_bytes == 1073741824ull);
    CHECK(f->total_bytes == 10737418240ull);
    CHECK(f->remaining_bytes == 9663676416ull);
    CHECK(f->bytes_per_second == 104857600ull);
    CHECK(f->eta_seconds == 93);  // 9 GiB at 100 MiB/s: 92.16 s, rounded up
    CHECK(sync_text(*f) == "1.0 GiB of 10.0 GiB at 100.0 MiB/s, about 1m33s left");
    md.sync_completed = raid::SyncProgress{65536, 888};  // sysfs past its end (fuzz_md_status): nothing left
    CHECK(sync_figures(md)->remaining_bytes == 0);
    CHECK(sync_figures(md)->eta_seconds == 0);

    StatusReport r = primary_report();
    md.sync_completed = raid::SyncProgress{2097152, 20971520};
    r.mirror->array = md;
    CHECK(render_json(r).find(",\"md_sync\":{\"action\":\"recover\",\"done_bytes\":1073741824,\"total_bytes\":"
                              "10737418240,\"bytes_per_second\":104857600,\"eta_seconds\":93}") != std::string::npos);
    r.mirror->array->sync_speed_kib.reset();
    CHECK(render_json(r).find("\"bytes_per_second\":null,\"eta_seconds\":null}") != std::string::npos);
    r.mirror->array->sync_action = "idle";
    CHECK(render_json(r).find(",\"md_sync\":null") != std::string::npos);
}

TEST_CASE("status report: the JSON is valid even when a reason holds bytes that are not UTF-8") {
    // A hook's or fence command's output tail ends up in last_decision as it was printed: a
    // Latin-1 message, or a multi-byte character cut by the tail, is not UTF-8. JSON is.
    StatusReport r = primary_report();
    r.last_decision = "fence said: \xe9" "chec\n(tail cut \xc3";
    std::string out = render_json(r);
    INFO(out);
    nlohmann::json parsed;
    REQUIRE_NOTHROW(parsed = nlohmann::json::parse(out));
    CHECK(parsed["last_decision"] == "fence said: \xef\xbf\xbd" "chec\n(tail cut \xef\xbf\xbd");  // U+FFFD each
    r.last_decision = "overlong \xc0\xaf, surrogate \xed\xa0\x80, 4-byte \xf0\x9f\x98\x80 kept";
    parsed = nlohmann::json::parse(render_json(r));
    CHECK(parsed["last_decision"] ==
          "overlong \xef\xbf\xbd\xef\xbf\xbd, surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd, 4-byte \xf0\x9f\x98\x80 kept");
}

TEST_CASE("status report: an empty history reason still shows its parentheses") {
    StatusReport r = standby_report();
    r.generation_reason = "";
    CHECK(render_text(r).find("  generation 0 (blank) ()\n") != std::string::npos);
}

TEST_CASE("status report: JSON escapes quotes, backslashes and control characters, UTF-8 passes through") {
    StatusReport r = primary_report();
    r.last_decision = "fence \"ipmi\" said:\nno\\\t\x01 gr\xc3\xbc\xc3\x9f";
    std::string out = render_json(r);
    CHECK(out.find(",\"last_decision\":\"fence \\\"ipmi\\\" said:\\nno\\\\\\t\\u0001 gr\xc3\xbc\xc3\x9f\",") !=
          std::string::npos);
    CHECK(nlohmann::json::parse(out)["last_decision"] == r.last_decision);
}

TEST_CASE("status report: the primary's NBD leg counters, in text and JSON") {
    StatusReport r = primary_report();
    for (auto& m : r.mirror->array->members)
        if (m.block_device == "nbd0") m.io = raid::BlockIo{120, 2048, 340, 8192, 1};
    CHECK(render_text(r).find("\n  NBD leg nbd0: 120 reads (1.0 MiB), 340 writes (4.0 MiB), 1 in flight\n") != std::string::npos);
    CHECK(render_json(r).find(",\"nbd_leg\":{\"device\":\"nbd0\",\"reads\":120,\"read_bytes\":1048576,\"writes\":340,"
                              "\"write_bytes\":4194304,\"in_flight\":1},") != std::string::npos);
}

TEST_CASE("status report: a standby's data state from the primary's heartbeat, its own word first") {
    StatusReport r;
    r.role = "standby";
    r.state = "EXPORTING";
    r.generation = Generation{2};
    CHECK(data_state(r) == "unknown");  // nothing heard
    PeerStatus p;
    p.primary = true;
    p.state = static_cast<uint8_t>(PrimaryState::MIRRORED);
    p.md = MirrorHealth::in_sync;
    p.lineage = Lineage{Generation{2}, {}};
    r.peer = p;
    CHECK(data_state(r) == "in-sync");
    r.peer->lineage = Lineage{Generation{4}, {Generation{2}}};  // mirrored at a generation we have not adopted yet
    CHECK(data_state(r) == "unknown");
    r.peer->state = static_cast<uint8_t>(PrimaryState::DEGRADED);
    r.peer->md = MirrorHealth::degraded;
    CHECK(data_state(r) == "outdated");
    r.peer->state = static_cast<uint8_t>(PrimaryState::RESYNC);
    r.peer->md = MirrorHealth::resyncing;
    CHECK(data_state(r) == "resyncing");
    r.peer->state = static_cast<uint8_t>(PrimaryState::DISKLESS);
    r.peer->md = MirrorHealth::x_lost;
    CHECK(data_state(r) == "sole-copy");
    r.state = "ACTIVE";
    CHECK(data_state(r) == "current");
    r.data = MirrorHealth::y_failed;  // its own word wins
    CHECK(data_state(r) == "y-failed");
    r.role = "primary";
    r.data = MirrorHealth::degraded;
    CHECK(data_state(r) == "degraded");
}
