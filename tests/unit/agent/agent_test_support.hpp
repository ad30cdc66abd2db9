#pragma once
// Shared fixtures for the agent's unit tests: the example configuration, explicit time points,
// and builders for peer facts and heartbeats. No test here reads a clock or sleeps.
#include <string>

#include "config/config_loader.hpp"
#include "agent/core/events.hpp"
#include "agent/core/steps.hpp"

namespace haspool::agent::test {

using namespace std::chrono_literals;

inline const config::Config& example_config() {
    static const config::Config c = [] {
        auto r = config::load_file(std::string(HASPOOL_SOURCE_DIR) + "/config/haspool.example.yaml");
        if (!r.config) throw std::runtime_error("example config does not load");
        return *r.config;
    }();
    return c;
}

inline const TimePoint t0 = TimePoint{} + std::chrono::hours(24);

// A lineage both nodes share after a clean mirror: generation 1/primary after a blank start.
inline Lineage base_lineage() { return Lineage{Generation{2}, {Generation::blank()}}; }

// Both paths heard at `last`, stable since `since` (alive when `now - last` < 2 intervals).
inline PeerFacts heard(TimePoint last, TimePoint since, bool stable = true) {
    PeerFacts f;
    for (const char* n : {"replication", "service"}) f.paths.push_back({n, true, stable, last, 1ms});
    f.last_heartbeat = last;
    if (stable) f.stable_since = since;
    return f;
}

// No path alive; the last heartbeat came at `last` (never, when empty).
inline PeerFacts silent(std::optional<TimePoint> last) {
    PeerFacts f;
    for (const char* n : {"replication", "service"}) f.paths.push_back({n, false, false, last, {}});
    f.last_heartbeat = last;
    return f;
}

inline PeerStatus primary_says(PrimaryState s, Lineage l = base_lineage(), MirrorHealth md = MirrorHealth::in_sync) {
    PeerStatus p;
    p.primary = true;
    p.state = static_cast<uint8_t>(s);
    p.lineage = std::move(l);
    p.md = md;
    return p;
}

inline PeerStatus standby_says(StandbyState s, Lineage l = base_lineage()) {
    PeerStatus p;
    p.primary = false;
    p.state = static_cast<uint8_t>(s);
    p.lineage = std::move(l);
    return p;
}

inline std::string step_names(const std::vector<Step>& steps) {
    std::string s;
    for (const auto& st : steps) s += (s.empty() ? "" : ",") + name_of(st);
    return s;
}

inline event::StepFailed failed(Step step, std::string why = "boom") {
    return event::StepFailed{std::move(step), std::move(why), {}, {}};
}

}  // namespace haspool::agent::test
