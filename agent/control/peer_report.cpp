#include "agent/control/peer_report.hpp"

#include <sstream>

namespace haspool::agent {

using json = nlohmann::ordered_json;

namespace {

Millis since(TimePoint t, TimePoint now) { return std::chrono::duration_cast<Millis>(now - t); }

// `s` cut to at most `n` bytes, then made well-formed again (a cut inside a UTF-8 sequence
// leaves a U+FFFD, never a broken byte).
std::string cut(const std::string& s, size_t n) {
    if (s.size() <= n) return well_formed_utf8(s);
    return well_formed_utf8(s.substr(0, n)) + "...";
}

json build(const StatusReport& r, size_t text_limit, size_t transitions_kept, bool trimmed) {
    json o;
    o["version"] = kPeerReportVersion;
    o["node"] = r.node;
    o["role"] = r.role;
    o["state"] = r.state;
    o["state_for_ms"] = since(r.since, r.now).count();
    o["generation"] = to_string(r.generation);
    o["data"] = data_state(r);
    o["disk_problem"] = r.disk_problem.empty() ? json(nullptr) : json(cut(r.disk_problem, text_limit));
    o["last_decision"] = cut(r.last_decision, text_limit);
    if (r.steps_running) o["steps_running"] = cut(*r.steps_running, text_limit);
    if (r.mirror) o["md"] = cut(md_text(*r.mirror), text_limit);
    if (r.mirror && r.mirror->array)
        if (const raid::MdMember* leg = nbd_leg(*r.mirror->array); leg && leg->io) o["nbd_leg"] = nbd_leg_json(leg->block_device, *leg->io);
    if (r.spool_export) {
        const auto& c = r.spool_export->counters;
        o["export"] = {{"running", r.spool_export->running}, {"sessions", r.spool_export->sessions},
                       {"requests", c.requests},           {"bytes_read", c.bytes_read},
                       {"bytes_written", c.bytes_written}, {"io_errors", c.io_errors}};
    }
    json paths = json::array();
    for (const auto& p : r.facts.paths)
        paths.push_back({{"name", p.name},
                         {"alive", p.alive},
                         {"stable", p.stable},
                         {"last_heard_ms_ago", p.last_seen ? json(since(*p.last_seen, r.now).count()) : json(nullptr)},
                         {"rtt_ms", p.rtt ? json(p.rtt->count()) : json(nullptr)}});
    o["paths"] = std::move(paths);
    json t = json::array();
    size_t skip = r.transitions.size() > transitions_kept ? r.transitions.size() - transitions_kept : 0;
    for (size_t i = skip; i < r.transitions.size(); ++i) {
        const auto& x = r.transitions[i];
        t.push_back({{"ago_ms", since(x.at, r.now).count()},
                     {"from", x.from},
                     {"to", x.to},
                     {"reason", cut(x.reason, text_limit)},
                     {"trigger", x.trigger}});
    }
    o["transitions"] = std::move(t);
    if (auto h = r.last_stay.find("HANDBACK"); h != r.last_stay.end()) o["last_handback_ms"] = h->second.count();
    if (r.disk_bitmap)
        o["disk_bitmap"] = r.disk_bitmap->error.empty()
                               ? json{{"dirty_chunks", r.disk_bitmap->dirty}, {"chunks", r.disk_bitmap->chunks},
                                      {"chunk_bytes", r.disk_bitmap->chunk_bytes}}
                               : json{{"error", cut(r.disk_bitmap->error, text_limit)}};
    if (trimmed) o["trimmed"] = true;
    return o;
}

std::string dump(const json& o) { return o.dump(-1, ' ', false, json::error_handler_t::replace); }

// The value under `key` when it has the type `ok` accepts, else nothing.
template <class Pred>
void copy_if(json& out, const json& in, const char* key, Pred ok) {
    auto it = in.find(key);
    if (it != in.end() && ok(*it)) out[key] = *it;
}

bool is_str(const json& v) { return v.is_string(); }
bool is_str_or_null(const json& v) { return v.is_string() || v.is_null(); }
bool is_count(const json& v) { return v.is_number_unsigned(); }
bool is_ms(const json& v) { return v.is_number_integer(); }
bool is_ms_or_null(const json& v) { return v.is_number_integer() || v.is_null(); }
bool is_bool(const json& v) { return v.is_boolean(); }

std::string str(const json& o, const char* key, const std::string& fallback = "?") {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : fallback;
}

std::string mib(uint64_t bytes) {
    std::ostringstream s;
    s.precision(1);
    s << std::fixed << static_cast<double>(bytes) / (1024.0 * 1024.0) << " MiB";
    return s.str();
}

}  // namespace

std::string peer_report_payload(const StatusReport& r, size_t cap) {
    // Full texts and every transition kept; then shorter texts; then fewer transitions (the
    // oldest go first), each with texts as long as still fit.
    const size_t all = r.transitions.size();
    for (size_t k = all + 1; k-- > 0;)
        for (size_t limit : {size_t(240), size_t(120), size_t(60)}) {
            std::string s = dump(build(r, limit, k, limit < 240 || k < all));
            if (s.size() <= cap) return s;
        }
    // Nothing fits with the paths and the texts: the essentials only.
    json o{{"version", kPeerReportVersion}, {"node", r.node}, {"role", r.role}, {"state", r.state},
           {"generation", to_string(r.generation)}, {"data", data_state(r)}, {"trimmed", true}};
    if (r.disk_bitmap && r.disk_bitmap->error.empty())
        o["disk_bitmap"] = {{"dirty_chunks", r.disk_bitmap->dirty}, {"chunks", r.disk_bitmap->chunks},
                            {"chunk_bytes", r.disk_bitmap->chunk_bytes}};
    return dump(o);
}

json peer_report_json(const std::string& payload) {
    json in = json::parse(payload, nullptr, false);
    if (in.is_discarded() || !in.is_object()) return nullptr;
    json o;
    copy_if(o, in, "version", is_count);
    for (const char* k : {"node", "role", "state", "generation", "data", "last_decision", "steps_running", "md"})
        copy_if(o, in, k, is_str);
    copy_if(o, in, "state_for_ms", is_ms);
    copy_if(o, in, "disk_problem", is_str_or_null);
    if (auto e = in.find("export"); e != in.end() && e->is_object()) {
        json x;
        copy_if(x, *e, "running", is_bool);
        for (const char* k : {"sessions", "requests", "bytes_read", "bytes_written", "io_errors"}) copy_if(x, *e, k, is_count);
        o["export"] = std::move(x);
    }
    if (auto p = in.find("paths"); p != in.end() && p->is_array()) {
        json paths = json::array();
        for (const auto& e : *p) {
            if (!e.is_object()) continue;
            json x;
            copy_if(x, e, "name", is_str);
            copy_if(x, e, "alive", is_bool);
            copy_if(x, e, "stable", is_bool);
            copy_if(x, e, "last_heard_ms_ago", is_ms_or_null);
            copy_if(x, e, "rtt_ms", is_ms_or_null);
            paths.push_back(std::move(x));
        }
        o["paths"] = std::move(paths);
    }
    if (auto t = in.find("transitions"); t != in.end() && t->is_array()) {
        json list = json::array();
        for (const auto& e : *t) {
            if (!e.is_object()) continue;
            json x;
            copy_if(x, e, "ago_ms", is_ms);
            for (const char* k : {"from", "to", "reason", "trigger"}) copy_if(x, e, k, is_str);
            list.push_back(std::move(x));
        }
        o["transitions"] = std::move(list);
    }
    if (auto l = in.find("nbd_leg"); l != in.end() && l->is_object()) {
        json x;
        copy_if(x, *l, "device", is_str);
        for (const char* k : {"reads", "read_bytes", "writes", "write_bytes", "in_flight"}) copy_if(x, *l, k, is_count);
        o["nbd_leg"] = std::move(x);
    }
    copy_if(o, in, "last_handback_ms", is_ms);
    if (auto b = in.find("disk_bitmap"); b != in.end() && b->is_object()) {
        json x;
        for (const char* k : {"dirty_chunks", "chunks", "chunk_bytes"}) copy_if(x, *b, k, is_count);
        copy_if(x, *b, "error", is_str);
        o["disk_bitmap"] = std::move(x);
    }
    copy_if(o, in, "trimmed", is_bool);
    return o;
}

std::string peer_report_text(const std::string& payload, Millis answered_in) {
    json o = peer_report_json(payload);
    std::ostringstream s;
    if (o.is_null()) {
        s << "  (the peer's answer is not a report this version can read)\n";
        return s.str();
    }
    s << str(o, "role") << " " << str(o, "node") << ": " << str(o, "state");
    if (o.contains("state_for_ms")) s << " for " << format_duration(Millis(o["state_for_ms"].get<int64_t>()));
    s << " (its own answer over the peer channel, in " << answered_in.count() << "ms)\n";
    if (auto d = str(o, "last_decision", ""); !d.empty()) s << "  last decision: " << d << "\n";
    s << "  generation " << str(o, "generation") << ", data " << str(o, "data") << "\n";
    if (o.contains("steps_running")) s << "  steps: running " << str(o, "steps_running") << "\n";
    if (o.contains("disk_problem") && o["disk_problem"].is_string()) s << "  disk: " << str(o, "disk_problem") << "\n";
    if (o.contains("md")) s << "  md: " << str(o, "md") << "\n";
    if (o.contains("nbd_leg")) {
        const json& l = o["nbd_leg"];
        auto n = [&](const char* k) { return l.contains(k) ? l[k].get<uint64_t>() : uint64_t(0); };
        s << "  NBD leg " << str(l, "device") << ": " << n("reads") << " reads (" << mib(n("read_bytes")) << "), " << n("writes")
          << " writes (" << mib(n("write_bytes")) << "), " << n("in_flight") << " in flight\n";
    }
    if (o.contains("export")) {
        const json& e = o["export"];
        auto n = [&](const char* k) { return e.contains(k) ? e[k].get<uint64_t>() : uint64_t(0); };
        s << "  export of Y: "
          << (e.value("running", false) ? "running, " + std::to_string(n("sessions")) + " session(s)" : std::string("stopped"))
          << "; " << n("requests") << " requests, " << mib(n("bytes_read")) << " read, " << mib(n("bytes_written"))
          << " written, " << n("io_errors") << " I/O errors\n";
    }
    if (o.contains("paths"))
        for (const auto& p : o["paths"]) {
            s << "  path " << str(p, "name") << " (as it hears us): "
              << (p.value("stable", false) ? "up" : p.value("alive", false) ? "up (not yet stable)" : "down");
            if (p.contains("last_heard_ms_ago") && p["last_heard_ms_ago"].is_number())
                s << ", last heard " << format_duration(Millis(p["last_heard_ms_ago"].get<int64_t>())) << " ago";
            if (p.contains("rtt_ms") && p["rtt_ms"].is_number()) s << ", rtt " << p["rtt_ms"].get<int64_t>() << "ms";
            s << "\n";
        }
    if (o.contains("transitions") && !o["transitions"].empty()) {
        s << "  last transitions:\n";
        for (const auto& t : o["transitions"]) {
            s << "    " << (t.contains("ago_ms") ? format_duration(Millis(t["ago_ms"].get<int64_t>())) + " ago" : std::string("?"))
              << ": " << str(t, "from") << " -> " << str(t, "to");
            if (auto why = str(t, "reason", ""); !why.empty()) s << " (" << why << ")";
            s << "\n";
        }
    }
    if (o.value("trimmed", false)) s << "  (the report was trimmed to fit one datagram)\n";
    return s.str();
}

}  // namespace haspool::agent
