#include "agent/control/metrics_text.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>


namespace haspool::agent {

namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

struct Sample {
    Labels labels;
    std::string value;
};

// Milliseconds as seconds without trailing zeros: 1200 -> "1.2", -3600250 -> "-3600.25", 0 -> "0".
std::string seconds(Millis m) {
    long long ms = m.count();
    std::string sign = ms < 0 ? "-" : "";
    unsigned long long a = ms < 0 ? 0ULL - static_cast<unsigned long long>(ms) : static_cast<unsigned long long>(ms);
    std::string s = sign + std::to_string(a / 1000);
    if (unsigned long long frac = a % 1000) {
        char buf[8];
        std::snprintf(buf, sizeof buf, ".%03llu", frac);
        std::string f = buf;
        while (f.back() == '0') f.pop_back();
        s += f;
    }
    return s;
}

std::string count(uint64_t n) { return std::to_string(n); }
std::string flag(bool b) { return b ? "1" : "0"; }

// done/total in [0, 1], up to six significant digits.
std::string ratio(uint64_t done, uint64_t total) {
    if (total == 0) return "0";
    if (done >= total) return "1";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(done) / static_cast<double>(total));
    return buf;
}

// The HELP text's escapes: backslash and newline.
std::string help_text(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '\\') o += "\\\\";
        else if (c == '\n') o += "\\n";
        else o += c;
    }
    return o;
}

// Every state name of a role, in wire order: the one-hot family has one sample for each.
std::vector<std::string> states_of(const std::string& role) {
    std::vector<std::string> v;
    if (role == "primary")
        for (uint8_t w = static_cast<uint8_t>(PrimaryState::WAIT_PEER); w <= static_cast<uint8_t>(PrimaryState::DISKLESS); ++w)
            v.push_back(to_string(static_cast<PrimaryState>(w)));
    else
        for (uint8_t w = static_cast<uint8_t>(StandbyState::EXPORTING); w <= static_cast<uint8_t>(StandbyState::SPLIT_BRAIN); ++w)
            v.push_back(to_string(static_cast<StandbyState>(w)));
    return v;
}

bool known_state(const std::string& role, const std::string& s) {
    std::vector<std::string> all = states_of(role);
    return std::find(all.begin(), all.end(), s) != all.end();
}

class Exposition {
public:
    // One family: HELP, TYPE, then its samples; nothing at all without a sample.
    void family(const std::string& name, const char* type, const std::string& help, const std::vector<Sample>& samples) {
        if (samples.empty()) return;
        o_ += "# HELP " + name + " " + help_text(help) + "\n# TYPE " + name + " " + type + "\n";
        for (const Sample& s : samples) {
            o_ += name;
            if (!s.labels.empty()) {
                o_ += "{";
                for (size_t i = 0; i < s.labels.size(); ++i)
                    o_ += (i ? "," : "") + s.labels[i].first + "=\"" + metric_label_value(s.labels[i].second) + "\"";
                o_ += "}";
            }
            o_ += " " + s.value + "\n";
        }
    }
    void gauge(const std::string& name, const std::string& help, std::vector<Sample> samples) {
        family(name, "gauge", help, samples);
    }
    void counter(const std::string& name, const std::string& help, std::vector<Sample> samples) {
        family(name, "counter", help, samples);
    }
    std::string text() && { return std::move(o_); }

private:
    std::string o_;
};

void node_metrics(Exposition& e, const StatusReport& r) {
    e.gauge("haspool_info", "This node: its name, role and peer (always 1).",
            {{{{"node", r.node}, {"role", r.role}, {"peer", r.peer_node}}, "1"}});
    std::vector<Sample> states;
    for (const std::string& s : states_of(r.role)) states.push_back({{{"state", s}}, flag(s == r.state)});
    if (!r.state.empty() && !known_state(r.role, r.state)) states.push_back({{{"state", r.state}}, "1"});
    e.gauge("haspool_state", "The state this node's machine is in (1) and the others of its role (0).", std::move(states));
    e.gauge("haspool_state_duration_seconds", "How long this node has been in its current state.",
            {{{}, seconds(std::chrono::duration_cast<Millis>(r.now - r.since))}});
    std::vector<Sample> entered, stays;
    for (const std::string& s : states_of(r.role)) {
        auto it = r.entered.find(s);
        entered.push_back({{{"state", s}}, count(it == r.entered.end() ? 0 : it->second)});
    }
    for (const auto& [s, n] : r.entered)
        if (!known_state(r.role, s)) entered.push_back({{{"state", s}}, count(n)});
    for (const auto& [s, d] : r.last_stay) stays.push_back({{{"state", s}}, seconds(d)});
    e.counter("haspool_state_entered_total", "How often this node entered each state since the daemon started.",
              std::move(entered));
    e.gauge("haspool_state_last_duration_seconds",
            "How long this node stayed in each state the last time it left it (TAKEOVER: the last takeover's duration).",
            std::move(stays));
    e.gauge("haspool_generation", "The counter of this node's data generation (0: a blank disk).",
            {{{}, count(r.generation.counter())}});
    e.gauge("haspool_generation_by_standby", "1 when the standby minted this node's current generation.",
            {{{}, flag(r.generation.by_standby())}});
    e.gauge("haspool_steps_running", "1 while a plan's steps run.", {{{}, flag(r.steps_running.has_value())}});
    e.gauge("haspool_disk_problem", "1 when this node's disk is lost or failing (X lost, Y failed).",
            {{{}, flag(!r.disk_problem.empty())}});
}

void mirror_metrics(Exposition& e, const StatusReport& r) {
    if (!r.mirror) return;
    const std::optional<raid::MdSnapshot>& md = r.mirror->array;
    Labels dev{{"device", r.mirror->device}};
    e.gauge("haspool_md_running", "1 while the spool's md array runs on this node.", {{dev, flag(md.has_value())}});
    if (!md) return;
    e.gauge("haspool_md_degraded", "The array's slots without a working member (md/degraded).", {{dev, count(md->degraded)}});
    bool syncing = md->sync_action != "idle";
    e.gauge("haspool_md_syncing", "1 while md copies between the legs (resync, recover, check...).", {{dev, flag(syncing)}});
    if (syncing && md->sync_completed)
        e.gauge("haspool_md_sync_completed_ratio", "The part of the running copy md has done (0 to 1).",
                {{dev, ratio(md->sync_completed->done_sectors, md->sync_completed->total_sectors)}});
    if (auto f = sync_figures(*md)) {
        e.gauge("haspool_md_sync_remaining_bytes", "What the running copy has left to do, in bytes.",
                {{dev, count(f->remaining_bytes)}});
        if (f->bytes_per_second)
            e.gauge("haspool_md_sync_speed_bytes_per_second", "The running copy's speed (md/sync_speed, md's ~30 s average).",
                    {{dev, count(*f->bytes_per_second)}});
    }
}

void export_metrics(Exposition& e, const StatusReport& r) {
    if (!r.spool_export) return;
    const StatusReport::Export& x = *r.spool_export;
    const StatusReport::Export::Counters& c = x.counters;
    e.gauge("haspool_nbd_export_running", "1 while the standby exports Y over NBD.", {{{}, flag(x.running)}});
    e.gauge("haspool_nbd_sessions", "Open NBD sessions on the export.", {{{}, std::to_string(x.sessions)}});
    e.counter("haspool_nbd_sessions_started_total", "NBD sessions that reached transmission.", {{{}, count(c.sessions_started)}});
    e.counter("haspool_nbd_requests_total", "NBD requests received.", {{{}, count(c.requests)}});
    e.counter("haspool_nbd_read_bytes_total", "Bytes read from Y for NBD requests.", {{{}, count(c.bytes_read)}});
    e.counter("haspool_nbd_written_bytes_total", "Bytes written to Y by NBD requests.", {{{}, count(c.bytes_written)}});
    e.counter("haspool_nbd_io_errors_total", "NBD requests Y answered with an I/O error.", {{{}, count(c.io_errors)}});
    e.counter("haspool_nbd_rejected_requests_total", "NBD requests refused as invalid.", {{{}, count(c.rejected_requests)}});
    e.counter("haspool_nbd_rejected_connections_total", "NBD connections refused (not allowed, export disengaged, second writer).",
              {{{}, count(c.rejected_connections)}});
}

void peer_metrics(Exposition& e, const StatusReport& r) {
    e.gauge("haspool_peer_heard", "1 once an authenticated heartbeat of the peer arrived.", {{{}, flag(r.peer.has_value())}});
    if (r.peer) e.gauge("haspool_peer_generation", "The counter of the peer's data generation, as it last said.",
                        {{{}, count(r.peer->lineage.current.counter())}});
    std::vector<Sample> alive, stable, age, rtt;
    for (const PathFacts& p : r.facts.paths) {
        Labels l{{"path", p.name}};
        alive.push_back({l, flag(p.alive)});
        stable.push_back({l, flag(p.stable)});
        if (p.last_seen) age.push_back({l, seconds(std::chrono::duration_cast<Millis>(r.now - *p.last_seen))});
        if (p.rtt) rtt.push_back({l, seconds(*p.rtt)});
    }
    e.gauge("haspool_path_alive", "1 when the peer was heard on the path within the path-down window.", std::move(alive));
    e.gauge("haspool_path_stable", "1 when the path has been alive without a break for stable_after.", std::move(stable));
    e.gauge("haspool_path_heartbeat_age_seconds", "Time since the last authenticated datagram on the path.", std::move(age));
    e.gauge("haspool_path_rtt_seconds", "The path's last measured round trip.", std::move(rtt));
    if (r.peer_clock_offset)
        e.gauge("haspool_peer_clock_offset_seconds", "The peer's wall clock minus this node's (reported only).",
                {{{}, seconds(*r.peer_clock_offset)}});
    e.counter("haspool_datagrams_accepted_total", "Peer datagrams accepted (authenticated, fresh).", {{{}, count(r.accepted)}});
    std::vector<Sample> dropped;
    for (const auto& [why, n] : r.dropped) dropped.push_back({{{"reason", why}}, count(n)});
    e.counter("haspool_datagrams_dropped_total", "Peer datagrams refused, by reason.", std::move(dropped));
}

}  // namespace

std::string metric_label_value(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '\\') o += "\\\\";
        else if (c == '"') o += "\\\"";
        else if (c == '\n') o += "\\n";
        else o += c;
    }
    return o;
}

std::string render_metrics(const StatusReport& r) {
    Exposition e;
    node_metrics(e, r);
    mirror_metrics(e, r);
    export_metrics(e, r);
    peer_metrics(e, r);
    return std::move(e).text();
}

}  // namespace haspool::agent
