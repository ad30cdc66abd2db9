#pragma once
// Both directions of the peer protocol for one run of this node (docs/agent.md "Clocks and
// replay protection"), pure: the daemon passes its clocks in. Out: every datagram gets this
// run's boot id, the next sequence number (one counter over every path and type), this node's
// monotonic stamp and wall clock, the peer's boot id and the newest stamp heard from it on that
// path (the echo), and the key PeerGate chooses. In: PeerGate's verdict, plus what an accepted
// datagram measures: the path's round trip (on this node's monotonic clock alone) and the
// peer's wall-clock offset (reported only).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/peer/heartbeat_codec.hpp"
#include "agent/peer/peer_gate.hpp"

namespace haspool::agent {

// A time point of the monotonic clock as a stamp on the wire: ms, never 0.
uint64_t stamp_of(TimePoint t);
// The wall clock as ms since the Unix epoch.
uint64_t wall_ms_of(WallTime t);

class PeerSession {
public:
    PeerSession(std::string cluster, std::string self, std::string peer, KeyRing keys, BootId own_boot);

    // `m` says what to send (type, status, kind, request id); the session fills the rest, signs
    // it for `path`, and counts the sequence.
    std::vector<uint8_t> seal(Message m, const std::string& path, TimePoint now, WallTime wall);

    struct Arrival {
        Decoded decoded;                     // PeerGate's verdict
        std::optional<Millis> rtt;           // this path's round trip, when the datagram echoed one of ours
        std::optional<Millis> clock_offset;  // the peer's wall clock minus ours (one-way delay included)
    };
    Arrival open(const std::string& path, const uint8_t* data, size_t size, TimePoint now, WallTime wall);

    void set_keys(KeyRing keys) { gate_.set_keys(std::move(keys)); }
    const PeerGate& gate() const { return gate_; }
    const BootId& boot() const { return boot_; }
    uint64_t sequence() const { return sequence_; }

private:
    struct Heard {
        BootId boot;
        uint64_t stamp;
        TimePoint at;
    };
    std::optional<Heard> echo_for(const std::string& path) const;

    std::string cluster_, self_;
    BootId boot_;
    PeerGate gate_;
    uint64_t sequence_ = 0;
    std::map<std::string, Heard> heard_;  // per path: the newest stamp heard and when
};

}  // namespace haspool::agent
