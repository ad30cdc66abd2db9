#pragma once
// Sample status reports for the tests of what renders one: the status text and JSON
// (test_status_report), the Prometheus text (test_metrics_text) and the JSON against its schema
// (test_status_json_schema). Each test adds to them what it pins.
#include <optional>

#include "agent/control/status_report.hpp"
#include "agent_test_support.hpp"

namespace haspool::agent::test {

// alpha MIRRORED for 1.2 s with md idle; beta EXPORTING at generation 2, heard on one path of
// two; three forged datagrams dropped and one replayed; beta's wall clock an hour behind.
inline StatusReport sample_primary() {
    StatusReport r;
    r.role = "primary";
    r.node = "alpha";
    r.state = "MIRRORED";
    r.since = t0;
    r.now = t0 + 1200ms;
    r.generation = Generation{2};
    raid::MdSnapshot md;
    md.sync_action = "idle";
    r.mirror = StatusReport::Mirror{"/dev/md/haspool", md, ""};
    r.peer_node = "beta";
    r.peer = standby_says(StandbyState::EXPORTING, Lineage{Generation{2}, {}});
    r.facts.paths = {{"replication", true, true, t0 + 1000ms, 2ms}, {"service", false, false, std::nullopt, std::nullopt}};
    r.dropped = {{"bad-hmac", 3}, {"replayed", 1}};
    r.peer_clock_offset = Millis(-3'600'250);
    return r;
}

// beta EXPORTING for 350 ms with one NBD session, its export's step running, nothing heard from
// alpha yet.
inline StatusReport sample_standby() {
    StatusReport r;
    r.role = "standby";
    r.node = "beta";
    r.state = "EXPORTING";
    r.since = t0;
    r.now = t0 + 350ms;
    r.generation = Generation{0};
    r.steps_running = "EXPORTING: 1 step(s) from StartExport";
    r.spool_export = StatusReport::Export{true, 1};
    r.peer_node = "alpha";
    r.facts.paths = {{"replication", false, false, std::nullopt, std::nullopt}};
    return r;
}

}  // namespace haspool::agent::test
