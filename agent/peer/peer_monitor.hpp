#pragma once
// Turns arrivals into facts about the peer: alive on which paths, silent since when, and which
// paths are stable again (hysteresis: a path must be good for stable_after before it counts as
// back). Pure: every call takes an explicit time point.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/core/events.hpp"

namespace haspool::agent {

class PeerMonitor {
public:
    // A path is alive while its last arrival is younger than `path_down_after` (two heartbeat
    // intervals: one lost datagram is not an outage).
    PeerMonitor(std::vector<std::string> paths, Millis path_down_after, Millis stable_after);

    void heartbeat(const std::string& path, TimePoint now, std::optional<Millis> rtt = {});
    void nbd_activity(TimePoint now);
    PeerFacts facts(TimePoint now) const;

private:
    struct Path {
        std::optional<TimePoint> last_seen;
        std::optional<TimePoint> good_since;  // start of the current unbroken run of arrivals
        std::optional<Millis> rtt;
    };
    bool alive(const Path& p, TimePoint now) const;

    std::vector<std::string> order_;
    std::map<std::string, Path> paths_;
    Millis down_after_, stable_after_;
    std::optional<TimePoint> last_nbd_;
};

}  // namespace haspool::agent
