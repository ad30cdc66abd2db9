#pragma once
// Events are past-tense facts handed to the state machines with the time they were observed.
// The peer monitor's facts travel with the events that depend on them, so the machines never
// read a clock or a socket.
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "agent/core/steps.hpp"
#include "agent/core/types.hpp"

namespace haspool::agent {

// What the peer monitor knows about the peer at one moment (see peer_monitor.hpp).
struct PathFacts {
    std::string name;
    bool alive = false;   // heard within the path-down window
    bool stable = false;  // alive, and continuously so for stable_after (hysteresis)
    std::optional<TimePoint> last_seen;
    std::optional<Millis> rtt;
};

struct PeerFacts {
    std::vector<PathFacts> paths;
    std::optional<TimePoint> last_heartbeat;     // newest authenticated arrival on any path
    std::optional<TimePoint> last_nbd_activity;  // newest sign of life on the NBD session
    std::optional<TimePoint> stable_since;       // start of the oldest unbroken run among stable paths

    unsigned paths_total() const { return static_cast<unsigned>(paths.size()); }
    unsigned paths_alive() const;
    unsigned paths_stable() const;
    bool ever_heard() const { return last_heartbeat.has_value(); }
    // Time since the last sign of life of either kind (heartbeat or NBD); empty if never heard.
    std::optional<Millis> silent_for(TimePoint now) const;
    std::optional<Millis> heartbeat_silent_for(TimePoint now) const;
    std::optional<Millis> nbd_silent_for(TimePoint now) const;
};

namespace event {
struct HeartbeatReceived { PeerStatus peer; PeerFacts facts; };  // an authenticated heartbeat
struct PeerSilent { PeerFacts facts; };       // no path heard within the path-down window
struct TimerFired { PeerFacts facts; };       // the machine's wake_at came
struct NbdLinkLost { std::string why; };      // the NBD socket dropped (kernel may reconnect)
struct MdMemberFailed { std::string dev; };   // md failed a leg
// Standby: the export of Y answered requests with I/O errors (the disk under it fails).
struct YFailed { std::string why; };
struct ResyncFinished {};                     // md finished copying
// replace_disk: `haspool replace-disk` on a DISKLESS primary, a full copy of Y onto a new X.
enum class Command { switchover, failback, replace_disk };
struct OperatorCommand { Command command; };
struct PeerRequest { MessageKind message; };  // the peer asked/told us something (acknowledged)
// The operator ran `haspool resolve --discard NODE` on this node: NODE's data loses the split
// brain. (Run on the peer, the decision arrives as PeerRequest discard-primary/-standby.)
struct ResolveRequested { std::string discard; };
struct StepsSucceeded {};                     // every step of the last decision succeeded
struct StepFailed {
    Step step;                    // the step that failed
    std::string why;              // its error sentence
    std::vector<Step> undone;     // undo steps performed (newest first)
    std::vector<std::string> undo_errors;  // undo steps that failed too
};
}  // namespace event

using Event = std::variant<event::HeartbeatReceived, event::PeerSilent, event::TimerFired,
                           event::NbdLinkLost, event::MdMemberFailed, event::YFailed, event::ResyncFinished,
                           event::OperatorCommand, event::PeerRequest, event::StepsSucceeded,
                           event::StepFailed, event::ResolveRequested>;

std::string name_of(const Event& e);  // "HeartbeatReceived"
// The peer facts an event carries, if any.
const PeerFacts* facts_of(const Event& e);
const char* to_string(event::Command c);

// What a machine decided: the next state, the steps to run (in order), when to wake it up
// even if nothing happens, and why — one sentence for the log line.
template <class State>
struct Decision {
    State next;
    std::vector<Step> steps;
    std::optional<TimePoint> wake_at;
    std::string reason;           // empty: nothing worth a log line
    bool undo_on_failure = false; // when a step fails, undo the completed ones (step runner)
    bool warn = false;            // a degraded choice the operator must notice: logged at WARNING
};

}  // namespace haspool::agent
