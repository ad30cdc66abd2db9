#include "agent/control/status_report.hpp"

#include <cstdio>
#include <sstream>

#include "agent/core/md_transitions.hpp"

namespace haspool::agent {

namespace {

Millis since(TimePoint t, TimePoint now) { return std::chrono::duration_cast<Millis>(now - t); }

// "+3600.2s": a signed offset between two wall clocks.
std::string signed_seconds(Millis m) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%+.1fs", static_cast<double>(m.count()) / 1000.0);
    return buf;
}

std::string age(std::optional<TimePoint> t, TimePoint now) {
    return t ? format_duration(since(*t, now)) + " ago" : "never";
}

const char* json_bool(bool b) { return b ? "true" : "false"; }

}  // namespace

std::string json_string(const std::string& s) {
    std::string o = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\', o += c;
        else if (static_cast<unsigned char>(c) < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", c);
            o += b;
        } else o += c;
    }
    return o + "\"";
}

std::optional<SyncFigures> sync_figures(const raid::MdSnapshot& md) {
    if (md.sync_action.empty() || md.sync_action == "idle" || !md.sync_completed) return std::nullopt;
    SyncFigures f;
    f.action = md.sync_action;
    f.done_bytes = md.sync_completed->done_sectors * 512;
    f.total_bytes = md.sync_completed->total_sectors * 512;
    if (md.sync_speed_kib && *md.sync_speed_kib > 0) {
        f.bytes_per_second = *md.sync_speed_kib * 1024;
        uint64_t left = f.total_bytes > f.done_bytes ? f.total_bytes - f.done_bytes : 0;
        f.eta_seconds = (left + *f.bytes_per_second - 1) / *f.bytes_per_second;
    }
    return f;
}

namespace {
// "128.0 MiB", "1.5 GiB"
std::string size_text(uint64_t bytes) {
    char b[32];
    double mib = static_cast<double>(bytes) / (1024.0 * 1024.0);
    if (mib >= 1024.0) std::snprintf(b, sizeof b, "%.1f GiB", mib / 1024.0);
    else std::snprintf(b, sizeof b, "%.1f MiB", mib);
    return b;
}

// "7s", "1m33s", "2h05m": a time left, to the second below an hour.
std::string eta_text(uint64_t seconds) {
    char b[32];
    if (seconds < 60) std::snprintf(b, sizeof b, "%llus", static_cast<unsigned long long>(seconds));
    else if (seconds < 3600)
        std::snprintf(b, sizeof b, "%llum%02llus", static_cast<unsigned long long>(seconds / 60),
                      static_cast<unsigned long long>(seconds % 60));
    else
        std::snprintf(b, sizeof b, "%lluh%02llum", static_cast<unsigned long long>(seconds / 3600),
                      static_cast<unsigned long long>(seconds % 3600 / 60));
    return b;
}
}  // namespace

std::string sync_text(const SyncFigures& f) {
    std::string s = size_text(f.done_bytes) + " of " + size_text(f.total_bytes);
    if (!f.bytes_per_second) return s + ", speed not measured yet";
    return s + " at " + size_text(*f.bytes_per_second) + "/s, about " + eta_text(*f.eta_seconds) + " left";
}

std::string md_text(const StatusReport::Mirror& m) {
    if (!m.array) return "not running";
    const raid::MdSnapshot& md = *m.array;
    std::string s = md.degraded ? "degraded" : md.sync_action == "idle" ? "clean" : md.sync_action;
    if (md.sync_action != "idle") {
        s += " " + std::to_string(sync_percent_of(md)) + "%";
        if (auto f = sync_figures(md)) s += ", " + sync_text(*f);
        // md recovers a member only after our (re-)add; a resync (a new or unclean array) is not ours
        if (md.sync_action == "recover" && !m.copy_plan.empty()) s += ", " + m.copy_plan;
    }
    std::string members;
    for (const auto& mem : md.members) members += (members.empty() ? "" : ", ") + mem.block_device + " " + mem.state.text;
    return s + (members.empty() ? "" : " (" + members + ")");
}

std::string render_text(const StatusReport& r) {
    std::ostringstream o;
    o << r.role << " " << r.node << ": " << r.state << " for " << format_duration(since(r.since, r.now)) << "\n";
    if (!r.last_decision.empty()) o << "  last decision: " << r.last_decision << "\n";
    o << "  generation " << to_string(r.generation);
    if (r.generation_reason) o << " (" << *r.generation_reason << ")";
    o << "\n  steps: " << (r.steps_running ? "running " + *r.steps_running : "idle") << "\n";
    if (!r.disk_problem.empty()) o << "  disk: " << r.disk_problem << "\n";
    if (r.mirror) o << "  md " << r.mirror->device << ": " << md_text(*r.mirror) << "\n";
    if (r.spool_export)
        o << "  export of Y: "
          << (r.spool_export->running ? "running, " + std::to_string(r.spool_export->sessions) + " session(s)" : "stopped")
          << "\n";
    o << "peer " << r.peer_node << ": ";
    if (r.peer)
        o << r.peer->state_name() << ", generation " << to_string(r.peer->lineage.current) << ", md "
          << to_string(r.peer->md) << ", nbd " << to_string(r.peer->nbd) << "\n";
    else o << "never heard\n";
    for (const auto& p : r.facts.paths) {
        o << "  path " << p.name << ": " << (p.stable ? "up" : p.alive ? "up (not yet stable)" : "down")
          << ", last heard " << age(p.last_seen, r.now);
        if (p.rtt) o << ", rtt " << p.rtt->count() << "ms";
        o << "\n";
    }
    if (r.peer_clock_offset)
        o << "  clock: " << r.peer_node << "'s wall clock is " << signed_seconds(*r.peer_clock_offset)
          << " from this node's (reported only)\n";
    if (r.keys.next_configured || r.keys.signing_with_next)
        o << "  keys: signing with the " << (r.keys.signing_with_next ? "next" : "current") << " key; "
          << (r.keys.next_configured ? std::string("next key set, ") + r.peer_node + (r.keys.peer_holds_next ? " holds it" : " does not hold it yet")
                                     : std::string("no next key"))
          << "\n";
    if (!r.dropped.empty()) {
        o << "  dropped datagrams:";
        for (const auto& [why, n] : r.dropped) o << " " << why << "=" << n;
        o << "\n";
    }
    return o.str();
}

std::string render_json(const StatusReport& r) {
    std::ostringstream o;
    auto ms_ago = [&](std::optional<TimePoint> t) {
        return t ? std::to_string(since(*t, r.now).count()) : std::string("null");
    };
    o << "{\"node\":" << json_string(r.node) << ",\"role\":" << json_string(r.role) << ",\"state\":" << json_string(r.state)
      << ",\"state_for_ms\":" << since(r.since, r.now).count() << ",\"last_decision\":" << json_string(r.last_decision)
      << ",\"generation\":" << json_string(to_string(r.generation))
      << ",\"steps_running\":" << (r.steps_running ? json_string(*r.steps_running) : "null");
    o << ",\"disk_problem\":" << (r.disk_problem.empty() ? "null" : json_string(r.disk_problem));
    if (r.mirror) {
        o << ",\"md\":" << json_string(md_text(*r.mirror)) << ",\"md_sync\":";
        auto f = r.mirror->array ? sync_figures(*r.mirror->array) : std::nullopt;
        auto number = [](const std::optional<uint64_t>& v) { return v ? std::to_string(*v) : std::string("null"); };
        if (f)
            o << "{\"action\":" << json_string(f->action) << ",\"done_bytes\":" << f->done_bytes
              << ",\"total_bytes\":" << f->total_bytes << ",\"bytes_per_second\":" << number(f->bytes_per_second)
              << ",\"eta_seconds\":" << number(f->eta_seconds) << "}";
        else o << "null";
    }
    if (r.spool_export) o << ",\"export_running\":" << json_bool(r.spool_export->running);
    o << ",\"peer\":{\"node\":" << json_string(r.peer_node);
    if (r.peer)
        o << ",\"state\":" << json_string(r.peer->state_name()) << ",\"generation\":" << json_string(to_string(r.peer->lineage.current))
          << ",\"md\":" << json_string(to_string(r.peer->md)) << ",\"nbd\":" << json_string(to_string(r.peer->nbd));
    o << ",\"clock_offset_ms\":" << (r.peer_clock_offset ? std::to_string(r.peer_clock_offset->count()) : "null");
    o << ",\"paths\":[";
    for (size_t i = 0; i < r.facts.paths.size(); ++i) {
        const auto& p = r.facts.paths[i];
        o << (i ? "," : "") << "{\"name\":" << json_string(p.name) << ",\"alive\":" << json_bool(p.alive)
          << ",\"stable\":" << json_bool(p.stable) << ",\"last_heard_ms_ago\":" << ms_ago(p.last_seen)
          << ",\"rtt_ms\":" << (p.rtt ? std::to_string(p.rtt->count()) : "null") << "}";
    }
    o << "]},\"dropped\":{";
    bool first = true;
    for (const auto& [why, n] : r.dropped) {
        o << (first ? "" : ",") << json_string(why) << ":" << n;
        first = false;
    }
    o << "},\"keys\":{\"next_configured\":" << json_bool(r.keys.next_configured)
      << ",\"signing_with_next\":" << json_bool(r.keys.signing_with_next)
      << ",\"peer_holds_next\":" << json_bool(r.keys.peer_holds_next) << "}}\n";
    return o.str();
}

}  // namespace haspool::agent
