#include "agent/core/events.hpp"

#include <algorithm>

namespace haspool::agent {

unsigned PeerFacts::paths_alive() const {
    return static_cast<unsigned>(std::count_if(paths.begin(), paths.end(), [](const PathFacts& p) { return p.alive; }));
}

unsigned PeerFacts::paths_stable() const {
    return static_cast<unsigned>(std::count_if(paths.begin(), paths.end(), [](const PathFacts& p) { return p.stable; }));
}

std::optional<Millis> PeerFacts::heartbeat_silent_for(TimePoint now) const {
    if (!last_heartbeat) return std::nullopt;
    return std::chrono::duration_cast<Millis>(now - *last_heartbeat);
}

std::optional<Millis> PeerFacts::nbd_silent_for(TimePoint now) const {
    if (!last_nbd_activity) return std::nullopt;
    return std::chrono::duration_cast<Millis>(now - *last_nbd_activity);
}

std::optional<Millis> PeerFacts::silent_for(TimePoint now) const {
    auto hb = heartbeat_silent_for(now), nbd = nbd_silent_for(now);
    if (hb && nbd) return std::min(*hb, *nbd);
    return hb ? hb : nbd;
}

std::string name_of(const Event& e) {
    static const char* names[] = {"HeartbeatReceived", "PeerSilent", "TimerFired", "NbdLinkLost",
                                  "MdMemberFailed", "YFailed", "ResyncFinished", "OperatorCommand", "PeerRequest",
                                  "StepsSucceeded", "StepFailed", "ResolveRequested"};
    static_assert(std::variant_size_v<Event> == sizeof names / sizeof names[0]);
    return names[e.index()];
}

const PeerFacts* facts_of(const Event& e) {
    if (const auto* h = std::get_if<event::HeartbeatReceived>(&e)) return &h->facts;
    if (const auto* s = std::get_if<event::PeerSilent>(&e)) return &s->facts;
    if (const auto* t = std::get_if<event::TimerFired>(&e)) return &t->facts;
    return nullptr;
}

const char* to_string(event::Command c) {
    switch (c) {
        case event::Command::switchover: return "switchover";
        case event::Command::failback: return "failback";
        case event::Command::replace_disk: return "replace-disk";
    }
    return "?";
}

}  // namespace haspool::agent
