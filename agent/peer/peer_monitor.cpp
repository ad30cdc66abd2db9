#include "agent/peer/peer_monitor.hpp"

namespace haspool::agent {

PeerMonitor::PeerMonitor(std::vector<std::string> paths, Millis path_down_after, Millis stable_after)
    : order_(std::move(paths)), down_after_(path_down_after), stable_after_(stable_after) {
    for (const auto& p : order_) paths_[p];
}

bool PeerMonitor::alive(const Path& p, TimePoint now) const {
    return p.last_seen && now - *p.last_seen < down_after_;
}

void PeerMonitor::heartbeat(const std::string& path, TimePoint now, std::optional<Millis> rtt) {
    auto it = paths_.find(path);
    if (it == paths_.end()) return;  // the codec only passes configured paths
    Path& p = it->second;
    if (!alive(p, now)) p.good_since = now;  // a new run starts: hysteresis counts from here
    p.last_seen = now;
    if (rtt) p.rtt = rtt;
}

void PeerMonitor::nbd_activity(TimePoint now) { last_nbd_ = now; }

PeerFacts PeerMonitor::facts(TimePoint now) const {
    PeerFacts f;
    f.last_nbd_activity = last_nbd_;
    for (const auto& name : order_) {
        const Path& p = paths_.at(name);
        PathFacts pf;
        pf.name = name;
        pf.alive = alive(p, now);
        pf.stable = pf.alive && p.good_since && now - *p.good_since >= stable_after_;
        pf.last_seen = p.last_seen;
        pf.rtt = p.rtt;
        if (p.last_seen && (!f.last_heartbeat || *p.last_seen > *f.last_heartbeat)) f.last_heartbeat = p.last_seen;
        if (pf.stable) {
            TimePoint since = *p.good_since;
            if (!f.stable_since || since < *f.stable_since) f.stable_since = since;
        }
        f.paths.push_back(pf);
    }
    return f;
}

}  // namespace haspool::agent
