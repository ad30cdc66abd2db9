#include "agent/control/operation_watch.hpp"

#include <cstdio>

namespace haspool::agent {

using json = nlohmann::json;

namespace {

std::string str(const json& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string mib(uint64_t bytes) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    return b;
}

bool halted(const std::string& s) { return s == "HALTED" || s == "SPLIT_BRAIN"; }

}  // namespace

OperationVerdict OperationWatch::observe(const json& s) {
    OperationVerdict v;
    const json& peer = s.contains("peer") && s["peer"].is_object() ? s["peer"] : json::object();
    const json* report = peer.contains("report") && peer["report"].is_object() ? &peer["report"] : nullptr;
    const std::string node = str(s, "node"), role = str(s, "role"), state = str(s, "state");
    const std::string peer_node = str(peer, "node");
    // The peer's own answer when it gave one (fresher and its own word), else its heartbeat.
    std::string peer_state = report ? str(*report, "state") : str(peer, "state");
    std::string peer_why = report ? str(*report, "last_decision") : std::string();
    if (peer_state.empty()) peer_state = "unheard";
    seen_own_.insert(state);
    seen_peer_.insert(peer_state);

    v.line = node + " " + state + ", " + peer_node + " " + peer_state;
    if (role == "primary" && s.contains("md_sync") && s["md_sync"].is_object()) {
        const json& m = s["md_sync"];
        uint64_t done = m.value("done_bytes", uint64_t(0)), total = m.value("total_bytes", uint64_t(0));
        if (total > 0) v.percent = static_cast<int>(done * 100 / total);
        v.line += ": md " + str(m, "action") + " " + mib(done) + " of " + mib(total);
        if (m.contains("bytes_per_second") && m["bytes_per_second"].is_number())
            v.line += " at " + mib(m["bytes_per_second"].get<uint64_t>()) + "/s";
        if (m.contains("eta_seconds") && m["eta_seconds"].is_number())
            v.line += ", about " + std::to_string(m["eta_seconds"].get<uint64_t>()) + "s left";
    } else if (role == "standby" && peer_state == "RESYNC" && peer.contains("md_percent") && peer["md_percent"].is_number()) {
        v.percent = peer["md_percent"].get<int>();
        v.line += ": md copying, " + std::to_string(*v.percent) + "%";
    }

    auto fail = [&](std::string why) {
        v.phase = OperationVerdict::Phase::failed;
        v.line = std::move(why);
        v.percent.reset();
        return v;
    };
    auto done = [&](std::string what) {
        v.phase = OperationVerdict::Phase::done;
        v.line = std::move(what);
        v.percent.reset();
        return v;
    };
    if (halted(state)) return fail(node + " is " + state + ": " + str(s, "last_decision"));
    if (halted(peer_state))
        return fail(peer_node + " is " + peer_state + (peer_why.empty() ? std::string() : ": " + peer_why));

    if (op_ == WatchedOperation::switchover) {
        if (role != "primary") return fail("a switchover is started on the primary; " + node + " is the standby");
        if (state == "STANDING_BY" && peer_state == "ACTIVE")
            return done(peer_node + " ACTIVE serves the spool; " + node + " STANDING_BY");
        if (state == "MIRRORED" || state == "DEGRADED" || state == "DISKLESS" || state == "RESYNC")
            return fail("the handover stopped and " + node + " serves again (" + state + "): " + str(s, "last_decision"));
        return v;
    }
    if (role == "primary") {
        if (state == "MIRRORED") return done(node + " MIRRORED serves the spool, both legs in sync; " + peer_node + " " + peer_state);
        if (state == "DEGRADED")
            return fail(node + " serves, but DEGRADED: " + str(s, "last_decision"));
        if (seen_peer_.count("HANDBACK") && peer_state == "ACTIVE")
            return fail(peer_node + " stopped the handback and serves again" + (peer_why.empty() ? std::string() : ": " + peer_why));
        return v;
    }
    if (state == "EXPORTING" && peer_state == "MIRRORED")
        return done(peer_node + " MIRRORED serves the spool, both legs in sync; " + node + " EXPORTING");
    if (seen_own_.count("HANDBACK") && state == "ACTIVE")
        return fail("the handback stopped and " + node + " serves again: " + str(s, "last_decision"));
    return v;
}

}  // namespace haspool::agent
