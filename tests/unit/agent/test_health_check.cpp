// `haspool status --check` (issue 15 item 3): one line and 0/1/2 per state, for monitors.
#include <catch2/catch.hpp>

#include "agent/control/health_check.hpp"

using namespace haspool;
using namespace haspool::agent;
using namespace std::chrono_literals;

namespace {

const TimePoint t0 = TimePoint{} + 24h;

StatusReport report(const char* role, const char* state, bool peer_heard, uint8_t peer_state,
                    MirrorHealth peer_md = MirrorHealth::in_sync) {
    StatusReport r;
    r.role = role;
    r.node = std::string(role) == "primary" ? "alpha" : "beta";
    r.peer_node = std::string(role) == "primary" ? "beta" : "alpha";
    r.state = state;
    r.since = t0;
    r.now = t0 + 1s;
    r.last_decision = "because";
    if (peer_heard) {
        PeerStatus p;
        p.primary = std::string(role) != "primary";
        p.state = peer_state;
        p.md = peer_md;
        r.peer = p;
        r.facts.paths = {{"replication", true, true, t0 + 900ms, 2ms}};
    } else {
        r.facts.paths = {{"replication", false, false, std::nullopt, std::nullopt}};
    }
    return r;
}

constexpr uint8_t kExporting = static_cast<uint8_t>(StandbyState::EXPORTING);
constexpr uint8_t kMirrored = static_cast<uint8_t>(PrimaryState::MIRRORED);
constexpr uint8_t kDegraded = static_cast<uint8_t>(PrimaryState::DEGRADED);

}  // namespace

TEST_CASE("status --check: ok only for a redundant pair, from either side") {
    auto a = health_check(report("primary", "MIRRORED", true, kExporting));
    CHECK(a.code == 0);
    CHECK(a.line == "ok: alpha MIRRORED, in sync with beta EXPORTING\n");
    auto b = health_check(report("standby", "EXPORTING", true, kMirrored));
    CHECK(b.code == 0);
    CHECK(b.line == "ok: beta EXPORTING, Y in sync under alpha MIRRORED\n");
}

TEST_CASE("status --check: warning without redundancy or in transition") {
    CHECK(health_check(report("primary", "MIRRORED", false, 0)).code == 1);  // the standby silent now
    CHECK(health_check(report("primary", "DEGRADED", true, kExporting)).code == 1);
    CHECK(health_check(report("primary", "RESYNC", true, kExporting)).code == 1);
    CHECK(health_check(report("primary", "WAIT_PEER", false, 0)).code == 1);
    auto sb = health_check(report("primary", "STANDING_BY", true, static_cast<uint8_t>(StandbyState::ACTIVE)));
    CHECK(sb.code == 1);
    CHECK(sb.line == "warning: alpha STANDING_BY, beta ACTIVE serves; this node waits for the failback\n");
    auto d = report("primary", "DISKLESS", true, kExporting);
    d.disk_problem = "X is lost (md failed it)";
    CHECK(health_check(d).line == "warning: alpha DISKLESS, X is lost (md failed it)\n");
    CHECK(health_check(report("standby", "EXPORTING", true, kDegraded, MirrorHealth::degraded)).code == 1);
    CHECK(health_check(report("standby", "EXPORTING", true, kMirrored, MirrorHealth::resyncing)).code == 1);
    CHECK(health_check(report("standby", "SUSPECT", false, 0)).code == 1);
    CHECK(health_check(report("standby", "ACTIVE", true, static_cast<uint8_t>(PrimaryState::STANDING_BY))).code == 1);
}

TEST_CASE("status --check: critical when halted, split, or Y failed") {
    auto h = health_check(report("standby", "HALTED", true, kMirrored));
    CHECK(h.code == 2);
    CHECK(h.line == "critical: beta HALTED, the operator decides: because\n");
    CHECK(health_check(report("primary", "HALTED", true, kExporting)).code == 2);
    CHECK(health_check(report("primary", "SPLIT_BRAIN", true, kExporting)).code == 2);
    CHECK(health_check(report("standby", "SPLIT_BRAIN", true, kMirrored)).code == 2);
    auto y = report("standby", "EXPORTING", true, kMirrored);
    y.disk_problem = "Y failed: 3 request(s) on /dev/vdb answered with an I/O error";
    CHECK(health_check(y).code == 2);
    CHECK(health_check(y).line == "critical: beta EXPORTING, Y failed: 3 request(s) on /dev/vdb answered with an I/O error\n");
}
