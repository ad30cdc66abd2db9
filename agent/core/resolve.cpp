#include "agent/core/resolve.hpp"

namespace haspool::agent {

ResolveCheck check_resolve(const config::Config& c, const std::string& discard, bool from_peer,
                           const std::string& peer_name, const char* state, bool split_brain,
                           bool resolve_running, unsigned batches_running) {
    ResolveCheck r;
    r.what = "resolve --discard " + discard + (from_peer ? " (run on " + peer_name + ")" : "");
    const config::Node* loser = c.find_node(discard);
    if (!loser)
        r.refusal = "refused resolve: '" + discard + "' is not a node of this cluster (" + c.primary().name + ", " +
                    c.standby().name + ")";
    else if (!split_brain)
        r.refusal = "refused " + r.what + ": this node is " + state + ", not SPLIT_BRAIN; nothing to resolve";
    else if (resolve_running)
        r.refusal = "refused " + r.what + ": a resolve is already running";
    else if (batches_running > 0)
        r.refusal = "refused " + r.what + ": steps of an earlier decision are still running; try again when they finish";
    else
        r.loser = loser;
    return r;
}

MessageKind discard_message(const config::Node& loser) {
    return loser.role == config::Role::primary ? MessageKind::discard_primary : MessageKind::discard_standby;
}

const config::Node* discarded_by(const config::Config& c, MessageKind k) {
    if (k == MessageKind::discard_primary) return &c.primary();
    if (k == MessageKind::discard_standby) return &c.standby();
    return nullptr;
}

}  // namespace haspool::agent
