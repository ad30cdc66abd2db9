// `switchover --wait` and `failback --wait` (issue 15 item 2): the verdict on each status sample.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "agent/control/operation_watch.hpp"

using namespace haspool::agent;
using nlohmann::json;
using Phase = OperationVerdict::Phase;

namespace {

// A status --json sample: this node, its state, the peer's state in its heartbeat and (unless
// empty) in its own answer.
json status_sample(const std::string& role, const std::string& state, const std::string& peer_hb,
            const std::string& peer_report = "", json extra = json::object()) {
    json s = {{"version", 1}, {"node", role == "primary" ? "alpha" : "beta"}, {"role", role}, {"state", state},
              {"last_decision", "why " + state}};
    json peer = {{"node", role == "primary" ? "beta" : "alpha"}, {"state", peer_hb}, {"md_percent", 0}};
    peer["report"] = peer_report.empty() ? json(nullptr)
                                         : json{{"state", peer_report}, {"last_decision", "its why " + peer_report}};
    s["peer"] = peer;
    s.update(extra);
    return s;
}

}  // namespace

TEST_CASE("operation watch: a switchover on the primary, HANDOVER to STANDING_BY with the standby ACTIVE") {
    OperationWatch w(WatchedOperation::switchover);
    auto v = w.observe(status_sample("primary", "HANDOVER", "EXPORTING"));
    CHECK(v.phase == Phase::running);
    CHECK(v.line == "alpha HANDOVER, beta EXPORTING");
    v = w.observe(status_sample("primary", "STANDING_BY", "ACTIVE", "TAKEOVER"));  // its own answer is fresher
    CHECK(v.phase == Phase::running);
    CHECK(v.line == "alpha STANDING_BY, beta TAKEOVER");
    v = w.observe(status_sample("primary", "STANDING_BY", "TAKEOVER", "ACTIVE"));
    CHECK(v.phase == Phase::done);
    CHECK(v.line == "beta ACTIVE serves the spool; alpha STANDING_BY");
}

TEST_CASE("operation watch: a switchover fails when the primary resumes, or either node halts") {
    OperationWatch w(WatchedOperation::switchover);
    CHECK(w.observe(status_sample("primary", "HANDOVER", "EXPORTING")).phase == Phase::running);
    auto v = w.observe(status_sample("primary", "MIRRORED", "EXPORTING"));
    CHECK(v.phase == Phase::failed);
    CHECK(v.line == "the handover stopped and alpha serves again (MIRRORED): why MIRRORED");
    v = OperationWatch(WatchedOperation::switchover).observe(status_sample("primary", "STANDING_BY", "HALTED", "HALTED"));
    CHECK(v.phase == Phase::failed);
    CHECK(v.line == "beta is HALTED: its why HALTED");
    v = OperationWatch(WatchedOperation::switchover).observe(status_sample("primary", "HALTED", "EXPORTING"));
    CHECK(v.phase == Phase::failed);
    CHECK(v.line == "alpha is HALTED: why HALTED");
    v = OperationWatch(WatchedOperation::switchover).observe(status_sample("standby", "ACTIVE", "STANDING_BY"));
    CHECK(v.phase == Phase::failed);
}

TEST_CASE("operation watch: a failback on the primary runs through md's copy to MIRRORED, with figures") {
    OperationWatch w(WatchedOperation::failback);
    CHECK(w.observe(status_sample("primary", "STANDING_BY", "ACTIVE")).phase == Phase::running);
    CHECK(w.observe(status_sample("primary", "STANDING_BY", "HANDBACK")).phase == Phase::running);
    CHECK(w.observe(status_sample("primary", "FAILBACK", "EXPORTING")).phase == Phase::running);
    json copy = {{"md_sync",
                  {{"action", "recover"}, {"done_bytes", 16777216}, {"total_bytes", 134217728}, {"bytes_per_second", 4194304},
                   {"eta_seconds", 28}}}};
    auto v = w.observe(status_sample("primary", "RESYNC", "EXPORTING", "", copy));
    CHECK(v.phase == Phase::running);
    CHECK(v.percent == 12);
    CHECK(v.line == "alpha RESYNC, beta EXPORTING: md recover 16.0 MiB of 128.0 MiB at 4.0 MiB/s, about 28s left");
    v = w.observe(status_sample("primary", "MIRRORED", "EXPORTING"));
    CHECK(v.phase == Phase::done);
    CHECK_FALSE(v.percent);
}

TEST_CASE("operation watch: a failback fails when the standby resumes after HANDBACK, or the primary degrades") {
    OperationWatch w(WatchedOperation::failback);
    CHECK(w.observe(status_sample("primary", "STANDING_BY", "ACTIVE")).phase == Phase::running);  // not started yet
    CHECK(w.observe(status_sample("primary", "STANDING_BY", "HANDBACK")).phase == Phase::running);
    auto v = w.observe(status_sample("primary", "STANDING_BY", "HANDBACK", "ACTIVE"));
    CHECK(v.phase == Phase::failed);
    CHECK(v.line == "beta stopped the handback and serves again: its why ACTIVE");
    v = OperationWatch(WatchedOperation::failback).observe(status_sample("primary", "DEGRADED", "SUSPECT"));
    CHECK(v.phase == Phase::failed);
}

TEST_CASE("operation watch: a failback on the standby ends when the primary is MIRRORED, its percent meanwhile") {
    OperationWatch w(WatchedOperation::failback);
    CHECK(w.observe(status_sample("standby", "HANDBACK", "STANDING_BY")).phase == Phase::running);
    json s = status_sample("standby", "EXPORTING", "RESYNC");
    s["peer"]["md_percent"] = 40;
    auto v = w.observe(s);
    CHECK(v.phase == Phase::running);
    CHECK(v.percent == 40);
    CHECK(v.line == "beta EXPORTING, alpha RESYNC: md copying, 40%");
    CHECK(w.observe(status_sample("standby", "EXPORTING", "MIRRORED")).phase == Phase::done);
    OperationWatch resumed(WatchedOperation::failback);
    CHECK(resumed.observe(status_sample("standby", "HANDBACK", "STANDING_BY")).phase == Phase::running);
    CHECK(resumed.observe(status_sample("standby", "ACTIVE", "STANDING_BY")).phase == Phase::failed);
}
