#pragma once
// `haspool resolve --discard NODE` (docs/agent.md, "Split brain and resolve"): what both machines
// check before they act on it, and how the decision travels between the agents.
#include <string>

#include "config/config.hpp"
#include "agent/core/types.hpp"

namespace haspool::agent {

struct ResolveCheck {
    const config::Node* loser = nullptr;  // the node whose data is discarded (when accepted)
    std::string what;                     // "resolve --discard beta (run on alpha)", for the log line
    std::string refusal;                  // non-empty: refused, and why
};

// Accepted only for a node of the cluster, in SPLIT_BRAIN, with no resolve and no other
// decision's steps still running (their results would be taken for the resolve's).
ResolveCheck check_resolve(const config::Config& c, const std::string& discard, bool from_peer,
                           const std::string& peer_name, const char* state, bool split_brain,
                           bool resolve_running, unsigned batches_running);

// The peer request that carries the decision, and back.
MessageKind discard_message(const config::Node& loser);
// The node a discard-primary/-standby request names; nullptr for every other kind.
const config::Node* discarded_by(const config::Config& c, MessageKind k);

}  // namespace haspool::agent
