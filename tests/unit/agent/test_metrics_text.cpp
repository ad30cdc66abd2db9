// The status report as Prometheus text (metrics.textfile): pinned byte for byte, since
// dashboards and alerts name these series; tests/integration/check_metrics.py parses it back.
#include <catch2/catch.hpp>

#include "agent/control/metrics_text.hpp"
#include "sample_status_report.hpp"

using namespace haspool;
using namespace haspool::agent;
using namespace std::chrono_literals;

namespace {

using test::t0;

// The sample primary with its entries and stays since the daemon started and the datagrams it
// accepted.
StatusReport primary_report() {
    StatusReport r = test::sample_primary();
    r.entered = {{"WAIT_PEER", 1}, {"CONNECTING", 1}, {"MIRRORED", 1}};
    r.last_stay = {{"WAIT_PEER", 300ms}, {"CONNECTING", 4200ms}};
    r.accepted = 250;
    return r;
}

// The sample standby with its NBD server's counters.
StatusReport standby_report() {
    StatusReport r = test::sample_standby();
    r.spool_export->counters = {10, 4096, 8192, 0, 2, 1, 3};
    return r;
}

bool has_line(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

}  // namespace

TEST_CASE("metrics: the primary's exposition") {
    CHECK(render_metrics(primary_report()) ==
          "# HELP haspool_info This node: its name, role and peer (always 1).\n"
          "# TYPE haspool_info gauge\n"
          "haspool_info{node=\"alpha\",role=\"primary\",peer=\"beta\"} 1\n"
          "# HELP haspool_state The state this node's machine is in (1) and the others of its role (0).\n"
          "# TYPE haspool_state gauge\n"
          "haspool_state{state=\"WAIT_PEER\"} 0\n"
          "haspool_state{state=\"CONNECTING\"} 0\n"
          "haspool_state{state=\"MIRRORED\"} 1\n"
          "haspool_state{state=\"DEGRADED\"} 0\n"
          "haspool_state{state=\"RESYNC\"} 0\n"
          "haspool_state{state=\"STANDING_BY\"} 0\n"
          "haspool_state{state=\"FAILBACK\"} 0\n"
          "haspool_state{state=\"HANDOVER\"} 0\n"
          "haspool_state{state=\"HALTED\"} 0\n"
          "haspool_state{state=\"SPLIT_BRAIN\"} 0\n"
          "haspool_state{state=\"DISKLESS\"} 0\n"
          "# HELP haspool_state_duration_seconds How long this node has been in its current state.\n"
          "# TYPE haspool_state_duration_seconds gauge\n"
          "haspool_state_duration_seconds 1.2\n"
          "# HELP haspool_state_entered_total How often this node entered each state since the daemon started.\n"
          "# TYPE haspool_state_entered_total counter\n"
          "haspool_state_entered_total{state=\"WAIT_PEER\"} 1\n"
          "haspool_state_entered_total{state=\"CONNECTING\"} 1\n"
          "haspool_state_entered_total{state=\"MIRRORED\"} 1\n"
          "haspool_state_entered_total{state=\"DEGRADED\"} 0\n"
          "haspool_state_entered_total{state=\"RESYNC\"} 0\n"
          "haspool_state_entered_total{state=\"STANDING_BY\"} 0\n"
          "haspool_state_entered_total{state=\"FAILBACK\"} 0\n"
          "haspool_state_entered_total{state=\"HANDOVER\"} 0\n"
          "haspool_state_entered_total{state=\"HALTED\"} 0\n"
          "haspool_state_entered_total{state=\"SPLIT_BRAIN\"} 0\n"
          "haspool_state_entered_total{state=\"DISKLESS\"} 0\n"
          "# HELP haspool_state_last_duration_seconds How long this node stayed in each state the last time it left it "
          "(TAKEOVER: the last takeover's duration).\n"
          "# TYPE haspool_state_last_duration_seconds gauge\n"
          "haspool_state_last_duration_seconds{state=\"CONNECTING\"} 4.2\n"
          "haspool_state_last_duration_seconds{state=\"WAIT_PEER\"} 0.3\n"
          "# HELP haspool_generation The counter of this node's data generation (0: a blank disk).\n"
          "# TYPE haspool_generation gauge\n"
          "haspool_generation 1\n"
          "# HELP haspool_generation_by_standby 1 when the standby minted this node's current generation.\n"
          "# TYPE haspool_generation_by_standby gauge\n"
          "haspool_generation_by_standby 0\n"
          "# HELP haspool_steps_running 1 while a plan's steps run.\n"
          "# TYPE haspool_steps_running gauge\n"
          "haspool_steps_running 0\n"
          "# HELP haspool_disk_problem 1 when this node's disk is lost or failing (X lost, Y failed).\n"
          "# TYPE haspool_disk_problem gauge\n"
          "haspool_disk_problem 0\n"
          "# HELP haspool_md_running 1 while the spool's md array runs on this node.\n"
          "# TYPE haspool_md_running gauge\n"
          "haspool_md_running{device=\"/dev/md/haspool\"} 1\n"
          "# HELP haspool_md_degraded The array's slots without a working member (md/degraded).\n"
          "# TYPE haspool_md_degraded gauge\n"
          "haspool_md_degraded{device=\"/dev/md/haspool\"} 0\n"
          "# HELP haspool_md_syncing 1 while md copies between the legs (resync, recover, check...).\n"
          "# TYPE haspool_md_syncing gauge\n"
          "haspool_md_syncing{device=\"/dev/md/haspool\"} 0\n"
          "# HELP haspool_peer_heard 1 once an authenticated heartbeat of the peer arrived.\n"
          "# TYPE haspool_peer_heard gauge\n"
          "haspool_peer_heard 1\n"
          "# HELP haspool_peer_generation The counter of the peer's data generation, as it last said.\n"
          "# TYPE haspool_peer_generation gauge\n"
          "haspool_peer_generation 1\n"
          "# HELP haspool_path_alive 1 when the peer was heard on the path within the path-down window.\n"
          "# TYPE haspool_path_alive gauge\n"
          "haspool_path_alive{path=\"replication\"} 1\n"
          "haspool_path_alive{path=\"service\"} 0\n"
          "# HELP haspool_path_stable 1 when the path has been alive without a break for stable_after.\n"
          "# TYPE haspool_path_stable gauge\n"
          "haspool_path_stable{path=\"replication\"} 1\n"
          "haspool_path_stable{path=\"service\"} 0\n"
          "# HELP haspool_path_heartbeat_age_seconds Time since the last authenticated datagram on the path.\n"
          "# TYPE haspool_path_heartbeat_age_seconds gauge\n"
          "haspool_path_heartbeat_age_seconds{path=\"replication\"} 0.2\n"
          "# HELP haspool_path_rtt_seconds The path's last measured round trip.\n"
          "# TYPE haspool_path_rtt_seconds gauge\n"
          "haspool_path_rtt_seconds{path=\"replication\"} 0.002\n"
          "# HELP haspool_peer_clock_offset_seconds The peer's wall clock minus this node's (reported only).\n"
          "# TYPE haspool_peer_clock_offset_seconds gauge\n"
          "haspool_peer_clock_offset_seconds -3600.25\n"
          "# HELP haspool_datagrams_accepted_total Peer datagrams accepted (authenticated, fresh).\n"
          "# TYPE haspool_datagrams_accepted_total counter\n"
          "haspool_datagrams_accepted_total 250\n"
          "# HELP haspool_datagrams_dropped_total Peer datagrams refused, by reason.\n"
          "# TYPE haspool_datagrams_dropped_total counter\n"
          "haspool_datagrams_dropped_total{reason=\"bad-hmac\"} 3\n"
          "haspool_datagrams_dropped_total{reason=\"replayed\"} 1\n");
}

TEST_CASE("metrics: the standby's export, a peer never heard, no md family") {
    std::string m = render_metrics(standby_report());
    CHECK(has_line(m, "haspool_state{state=\"EXPORTING\"} 1"));
    CHECK(has_line(m, "haspool_state{state=\"SPLIT_BRAIN\"} 0"));
    CHECK(m.find("state=\"MIRRORED\"") == std::string::npos);  // the standby's states only
    CHECK(has_line(m, "haspool_generation 0"));
    CHECK(has_line(m, "haspool_steps_running 1"));
    CHECK(has_line(m, "haspool_nbd_export_running 1"));
    CHECK(has_line(m, "haspool_nbd_sessions 1"));
    CHECK(has_line(m, "# TYPE haspool_nbd_requests_total counter"));
    CHECK(has_line(m, "haspool_nbd_requests_total 10"));
    CHECK(has_line(m, "haspool_nbd_read_bytes_total 4096"));
    CHECK(has_line(m, "haspool_nbd_written_bytes_total 8192"));
    CHECK(has_line(m, "haspool_nbd_io_errors_total 0"));
    CHECK(has_line(m, "haspool_nbd_rejected_requests_total 2"));
    CHECK(has_line(m, "haspool_nbd_rejected_connections_total 1"));
    CHECK(has_line(m, "haspool_nbd_sessions_started_total 3"));
    CHECK(has_line(m, "haspool_peer_heard 0"));
    CHECK(has_line(m, "haspool_path_alive{path=\"replication\"} 0"));
    // Families without a sample are left out whole, HELP and TYPE included.
    CHECK(m.find("haspool_md_") == std::string::npos);
    CHECK(m.find("haspool_peer_generation") == std::string::npos);
    CHECK(m.find("haspool_path_heartbeat_age_seconds") == std::string::npos);
    CHECK(m.find("haspool_path_rtt_seconds") == std::string::npos);
    CHECK(m.find("haspool_peer_clock_offset_seconds") == std::string::npos);
    CHECK(m.find("haspool_datagrams_dropped_total") == std::string::npos);
    CHECK(m.find("haspool_state_last_duration_seconds") == std::string::npos);  // never left a state
    CHECK(has_line(m, "haspool_state_entered_total{state=\"TAKEOVER\"} 0"));
    CHECK(has_line(m, "haspool_datagrams_accepted_total 0"));
}

TEST_CASE("metrics: a takeover's count and duration, from the standby's entries and stays") {
    StatusReport r = standby_report();
    r.state = "ACTIVE";
    r.entered = {{"EXPORTING", 1}, {"SUSPECT", 2}, {"TAKEOVER", 1}, {"ACTIVE", 1}};
    r.last_stay = {{"EXPORTING", 60000ms}, {"SUSPECT", 2800ms}, {"TAKEOVER", 1750ms}};
    std::string m = render_metrics(r);
    CHECK(has_line(m, "haspool_state_entered_total{state=\"TAKEOVER\"} 1"));
    CHECK(has_line(m, "haspool_state_entered_total{state=\"SUSPECT\"} 2"));
    CHECK(has_line(m, "haspool_state_entered_total{state=\"HANDBACK\"} 0"));
    CHECK(has_line(m, "haspool_state_last_duration_seconds{state=\"TAKEOVER\"} 1.75"));
    CHECK(has_line(m, "haspool_state_last_duration_seconds{state=\"EXPORTING\"} 60"));
    r.entered["SOMETHING_NEW"] = 1;  // a state this build does not list: still counted
    CHECK(has_line(render_metrics(r), "haspool_state_entered_total{state=\"SOMETHING_NEW\"} 1"));
}

TEST_CASE("metrics: md copying, degraded, stopped") {
    StatusReport r = primary_report();
    r.state = "RESYNC";
    raid::MdSnapshot md;
    md.degraded = 1;
    md.sync_action = "recover";
    md.sync_completed = raid::SyncProgress{42, 100};
    r.mirror->array = md;
    std::string m = render_metrics(r);
    CHECK(has_line(m, "haspool_state{state=\"RESYNC\"} 1"));
    CHECK(has_line(m, "haspool_state{state=\"MIRRORED\"} 0"));
    CHECK(has_line(m, "haspool_md_degraded{device=\"/dev/md/haspool\"} 1"));
    CHECK(has_line(m, "haspool_md_syncing{device=\"/dev/md/haspool\"} 1"));
    CHECK(has_line(m, "# TYPE haspool_md_sync_completed_ratio gauge"));
    CHECK(has_line(m, "haspool_md_sync_completed_ratio{device=\"/dev/md/haspool\"} 0.42"));
    CHECK(has_line(m, "haspool_md_sync_remaining_bytes{device=\"/dev/md/haspool\"} 29696"));  // 58 sectors
    CHECK(m.find("haspool_md_sync_speed_bytes_per_second") == std::string::npos);  // md has not measured one
    md.sync_speed_kib = 12288;
    r.mirror->array = md;
    CHECK(has_line(render_metrics(r), "haspool_md_sync_speed_bytes_per_second{device=\"/dev/md/haspool\"} 12582912"));
    md.sync_completed = raid::SyncProgress{7, 3};  // sysfs past its end: never above 1
    r.mirror->array = md;
    CHECK(has_line(render_metrics(r), "haspool_md_sync_completed_ratio{device=\"/dev/md/haspool\"} 1"));
    r.mirror->array.reset();
    m = render_metrics(r);
    CHECK(has_line(m, "haspool_md_running{device=\"/dev/md/haspool\"} 0"));
    CHECK(m.find("haspool_md_degraded") == std::string::npos);
}

TEST_CASE("metrics: label values escaped, an unlisted state still shown") {
    CHECK(metric_label_value("plain") == "plain");
    CHECK(metric_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
    StatusReport r = primary_report();
    r.node = "al\"pha";
    r.facts.paths = {{"back\\slash\nnl", true, false, t0 + 1000ms, std::nullopt}};
    r.dropped = {{"why \"quoted\"", 1}};
    r.state = "";  // before the first decision: every state 0
    std::string m = render_metrics(r);
    CHECK(has_line(m, "haspool_info{node=\"al\\\"pha\",role=\"primary\",peer=\"beta\"} 1"));
    CHECK(has_line(m, "haspool_path_alive{path=\"back\\\\slash\\nnl\"} 1"));
    CHECK(has_line(m, "haspool_datagrams_dropped_total{reason=\"why \\\"quoted\\\"\"} 1"));
    for (size_t at = m.find("\nhaspool_state{"); at != std::string::npos; at = m.find("\nhaspool_state{", at + 1))
        CHECK(m.compare(m.find('\n', at + 1) - 2, 2, " 0") == 0);
    CHECK(has_line(m, "haspool_state{state=\"MIRRORED\"} 0"));
    r.state = "SOMETHING_NEW";
    CHECK(has_line(render_metrics(r), "haspool_state{state=\"SOMETHING_NEW\"} 1"));
}

TEST_CASE("metrics: durations in seconds, negative and whole") {
    StatusReport r = primary_report();
    r.now = r.since + 3000ms;
    r.peer_clock_offset = Millis(-5);
    r.facts.paths = {{"replication", true, true, r.now, 1500ms}};
    std::string m = render_metrics(r);
    CHECK(has_line(m, "haspool_state_duration_seconds 3"));
    CHECK(has_line(m, "haspool_peer_clock_offset_seconds -0.005"));
    CHECK(has_line(m, "haspool_path_heartbeat_age_seconds{path=\"replication\"} 0"));
    CHECK(has_line(m, "haspool_path_rtt_seconds{path=\"replication\"} 1.5"));
}
