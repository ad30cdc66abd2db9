#include "agent/peer/peer_session.hpp"

namespace haspool::agent {

uint64_t stamp_of(TimePoint t) {
    auto ms = std::chrono::duration_cast<Millis>(t.time_since_epoch()).count();
    return ms > 0 ? static_cast<uint64_t>(ms) : 1;
}

uint64_t wall_ms_of(WallTime t) {
    auto ms = std::chrono::duration_cast<Millis>(t.time_since_epoch()).count();
    return ms > 0 ? static_cast<uint64_t>(ms) : 0;
}

PeerSession::PeerSession(std::string cluster, std::string self, std::string peer, KeyRing keys, BootId own_boot)
    : cluster_(cluster), self_(std::move(self)), boot_(own_boot),
      gate_(std::move(cluster), std::move(peer), std::move(keys), own_boot) {}

// The echo on `path`: what was heard there from the run we echo; before anything was heard on
// this path, the newest heard on any path (its round trip then spans two paths, once).
std::optional<PeerSession::Heard> PeerSession::echo_for(const std::string& path) const {
    BootId boot = gate_.echo_boot();
    if (auto it = heard_.find(path); it != heard_.end() && it->second.boot == boot) return it->second;
    std::optional<Heard> newest;
    for (const auto& [p, h] : heard_)
        if (h.boot == boot && (!newest || h.at > newest->at)) newest = h;
    return newest;
}

std::vector<uint8_t> PeerSession::seal(Message m, const std::string& path, TimePoint now, WallTime wall) {
    m.cluster = cluster_;
    m.sender = self_;
    m.boot_id = boot_;
    m.sequence = ++sequence_;
    m.stamp_ms = stamp_of(now);
    m.wall_ms = wall_ms_of(wall);
    m.peer_boot = BootId{};
    m.echo_stamp_ms = 0;
    m.echo_hold_ms = 0;
    if (auto h = echo_for(path)) {
        m.peer_boot = h->boot;
        m.echo_stamp_ms = h->stamp;
        m.echo_hold_ms = static_cast<uint32_t>(std::chrono::duration_cast<Millis>(now - h->at).count());
    }
    m.next_key_id = gate_.keys().next.empty() ? KeyId{} : key_id(gate_.keys().next);
    return encode(m, gate_.signing_key());
}

PeerSession::Arrival PeerSession::open(const std::string& path, const uint8_t* data, size_t size, TimePoint now, WallTime wall) {
    Arrival a;
    a.decoded = gate_.accept(data, size);
    if (const auto& e = a.decoded.echo) {
        // Never move an echo back in time (a slower path may deliver older stamps later).
        auto it = heard_.find(path);
        if (it == heard_.end() || it->second.boot != e->boot || e->stamp_ms >= it->second.stamp)
            heard_[path] = Heard{e->boot, e->stamp_ms, now};
    }
    if (!a.decoded.message) return a;
    const Message& m = *a.decoded.message;
    // Both ends of the round trip are this node's monotonic clock: the stamp we sent, and now;
    // the peer's hold is a duration on its own monotonic clock. No wall clock is involved.
    uint64_t n = stamp_of(now);
    if (m.echo_stamp_ms && n >= m.echo_stamp_ms + m.echo_hold_ms) a.rtt = Millis(n - m.echo_stamp_ms - m.echo_hold_ms);
    a.clock_offset = Millis(static_cast<int64_t>(m.wall_ms) - static_cast<int64_t>(wall_ms_of(wall)));
    return a;
}

}  // namespace haspool::agent
