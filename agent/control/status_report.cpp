#include "agent/control/status_report.hpp"

#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "agent/control/peer_report.hpp"
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

}  // namespace

std::string well_formed_utf8(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    const auto* b = reinterpret_cast<const unsigned char*>(s.data());
    size_t n = s.size(), i = 0;
    auto cont = [&](size_t k) { return k < n && (b[k] & 0xC0) == 0x80; };
    while (i < n) {
        unsigned char c = b[i];
        size_t len = 0;
        if (c < 0x80) len = 1;
        else if (c >= 0xC2 && c <= 0xDF) len = cont(i + 1) ? 2 : 0;
        else if (c >= 0xE0 && c <= 0xEF) {
            // no overlongs (E0 80..9F) and no surrogates (ED A0..BF)
            bool ok = cont(i + 1) && cont(i + 2) && !(c == 0xE0 && b[i + 1] < 0xA0) && !(c == 0xED && b[i + 1] > 0x9F);
            len = ok ? 3 : 0;
        } else if (c >= 0xF0 && c <= 0xF4) {
            bool ok = cont(i + 1) && cont(i + 2) && cont(i + 3) && !(c == 0xF0 && b[i + 1] < 0x90) &&
                      !(c == 0xF4 && b[i + 1] > 0x8F);
            len = ok ? 4 : 0;
        }
        if (len == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
        } else {
            out.append(s, i, len);
            i += len;
        }
    }
    return out;
}

std::optional<SyncFigures> sync_figures(const raid::MdSnapshot& md) {
    if (md.sync_action.empty() || md.sync_action == "idle" || !md.sync_completed) return std::nullopt;
    SyncFigures f;
    f.action = md.sync_action;
    f.done_bytes = md.sync_completed->done_sectors * 512;
    f.total_bytes = md.sync_completed->total_sectors * 512;
    f.remaining_bytes = f.total_bytes > f.done_bytes ? f.total_bytes - f.done_bytes : 0;
    if (md.sync_speed_kib && *md.sync_speed_kib > 0) {
        f.bytes_per_second = *md.sync_speed_kib * 1024;
        f.eta_seconds = (f.remaining_bytes + *f.bytes_per_second - 1) / *f.bytes_per_second;
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

nlohmann::ordered_json nbd_leg_json(const std::string& device, const raid::BlockIo& io) {
    return {{"device", device},           {"reads", io.reads},
            {"read_bytes", io.read_sectors * 512}, {"writes", io.writes},
            {"write_bytes", io.write_sectors * 512}, {"in_flight", io.in_flight}};
}

std::string sync_text(const SyncFigures& f) {
    std::string s = size_text(f.done_bytes) + " of " + size_text(f.total_bytes);
    if (!f.bytes_per_second) return s + ", speed not measured yet";
    return s + " at " + size_text(*f.bytes_per_second) + "/s, about " + eta_text(*f.eta_seconds) + " left";
}

std::string data_state(const StatusReport& r) {
    if (r.role != "standby" || r.data != MirrorHealth::unknown) return to_string(r.data);
    if (r.state == "TAKEOVER" || r.state == "ACTIVE" || r.state == "HANDBACK") return "current";
    if (!r.peer || !r.peer->primary) return to_string(r.data);
    const PeerStatus& p = *r.peer;
    if (p.says(PrimaryState::DISKLESS) || p.md == MirrorHealth::x_lost) return "sole-copy";
    if (p.says(PrimaryState::DEGRADED) || p.md == MirrorHealth::degraded) return "outdated";
    if (p.says(PrimaryState::RESYNC) || p.md == MirrorHealth::resyncing) return "resyncing";
    if (p.says(PrimaryState::MIRRORED) && p.md == MirrorHealth::in_sync && p.lineage.current == r.generation) return "in-sync";
    return to_string(r.data);
}

const raid::MdMember* nbd_leg(const raid::MdSnapshot& md) {
    for (const auto& m : md.members)
        if (m.block_device.rfind("nbd", 0) == 0) return &m;
    return nullptr;
}

std::string nbd_leg_text(const std::string& device, const raid::BlockIo& io) {
    return device + ": " + std::to_string(io.reads) + " reads (" + size_text(io.read_sectors * 512) + "), " +
           std::to_string(io.writes) + " writes (" + size_text(io.write_sectors * 512) + "), " +
           std::to_string(io.in_flight) + " in flight";
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
    if (r.mirror && r.mirror->array)
        if (const raid::MdMember* leg = nbd_leg(*r.mirror->array); leg && leg->io)
            o << "  NBD leg " << nbd_leg_text(leg->block_device, *leg->io) << "\n";
    if (r.spool_export)
        o << "  export of Y: "
          << (r.spool_export->running ? "running, " + std::to_string(r.spool_export->sessions) + " session(s)" : "stopped")
          << "\n";
    o << "  data: " << data_state(r) << "\n";
    if (!r.transitions.empty()) {
        o << "  last transitions:\n";
        for (const auto& t : r.transitions)
            o << "    " << format_duration(since(t.at, r.now)) << " ago: " << t.from << " -> " << t.to
              << (t.reason.empty() ? "" : " (" + t.reason + ")") << "\n";
    }
    if (r.peer_answer) o << peer_report_text(r.peer_answer->payload, r.peer_answer->answered_in);
    o << "peer " << r.peer_node << ": ";
    if (r.peer)
        o << r.peer->state_name() << ", generation " << to_string(r.peer->lineage.current) << ", md "
          << to_string(r.peer->md) << ", nbd " << to_string(r.peer->nbd) << "\n";
    else o << "never heard\n";
    if (!r.peer_unanswered.empty()) o << "  its daemon: " << r.peer_unanswered << "\n";
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

nlohmann::ordered_json status_json(const StatusReport& r) {
    using json = nlohmann::ordered_json;  // the keys in the documented order (docs/status-json.md)
    auto ms_ago = [&](std::optional<TimePoint> t) { return t ? json(since(*t, r.now).count()) : json(nullptr); };
    auto number = [](const std::optional<uint64_t>& v) { return v ? json(*v) : json(nullptr); };
    auto text_or_null = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
    json o;
    o["version"] = kStatusJsonVersion;
    o["node"] = r.node;
    o["role"] = r.role;
    o["state"] = r.state;
    o["state_for_ms"] = since(r.since, r.now).count();
    // A command's output tail may be in any encoding (docs/status-json.md: strings are UTF-8).
    o["last_decision"] = well_formed_utf8(r.last_decision);
    o["generation"] = to_string(r.generation);
    o["steps_running"] = r.steps_running ? json(well_formed_utf8(*r.steps_running)) : json(nullptr);
    o["disk_problem"] = text_or_null(well_formed_utf8(r.disk_problem));
    // After the keys of schema 1's first release: scripts that matched `"generation":…,"steps_running"`
    // in the text (the VM lab's did) keep working.
    o["data"] = data_state(r);
    if (r.mirror) {
        o["md"] = well_formed_utf8(md_text(*r.mirror));
        auto f = r.mirror->array ? sync_figures(*r.mirror->array) : std::nullopt;
        o["md_sync"] = f ? json{{"action", f->action},
                                {"done_bytes", f->done_bytes},
                                {"total_bytes", f->total_bytes},
                                {"bytes_per_second", number(f->bytes_per_second)},
                                {"eta_seconds", number(f->eta_seconds)}}
                         : json(nullptr);
        const raid::MdMember* leg = r.mirror->array ? nbd_leg(*r.mirror->array) : nullptr;
        o["nbd_leg"] = leg && leg->io ? nbd_leg_json(leg->block_device, *leg->io) : json(nullptr);
    }
    if (r.spool_export) o["export_running"] = r.spool_export->running;
    json peer;
    peer["node"] = r.peer_node;
    if (r.peer) {
        peer["state"] = r.peer->state_name();
        peer["generation"] = to_string(r.peer->lineage.current);
        peer["md"] = to_string(r.peer->md);
        peer["nbd"] = to_string(r.peer->nbd);
        peer["md_percent"] = r.peer->md_percent;
    }
    peer["clock_offset_ms"] = r.peer_clock_offset ? json(r.peer_clock_offset->count()) : json(nullptr);
    json paths = json::array();
    for (const auto& p : r.facts.paths)
        paths.push_back({{"name", p.name},
                         {"alive", p.alive},
                         {"stable", p.stable},
                         {"last_heard_ms_ago", ms_ago(p.last_seen)},
                         {"rtt_ms", p.rtt ? json(p.rtt->count()) : json(nullptr)}});
    peer["paths"] = std::move(paths);
    peer["report"] = r.peer_answer ? peer_report_json(r.peer_answer->payload) : json(nullptr);
    peer["report_answered_in_ms"] = r.peer_answer ? json(r.peer_answer->answered_in.count()) : json(nullptr);
    peer["report_problem"] = r.peer_unanswered.empty() ? json(nullptr) : json(r.peer_unanswered);
    o["peer"] = std::move(peer);
    json dropped = json::object();
    for (const auto& [why, n] : r.dropped) dropped[why] = n;
    o["dropped"] = std::move(dropped);
    json transitions = json::array();
    for (const auto& t : r.transitions)
        transitions.push_back({{"ago_ms", since(t.at, r.now).count()},
                               {"from", t.from},
                               {"to", t.to},
                               {"reason", well_formed_utf8(t.reason)},
                               {"trigger", t.trigger}});
    o["transitions"] = std::move(transitions);
    o["keys"] = {{"next_configured", r.keys.next_configured},
                 {"signing_with_next", r.keys.signing_with_next},
                 {"peer_holds_next", r.keys.peer_holds_next}};
    return o;
}

std::string render_json(const StatusReport& r) {
    // The strings that carry outside text were made well-formed by status_json; `replace` is the
    // net for any other, so the answer is always JSON (nlohmann's default would throw).
    return status_json(r).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace haspool::agent
