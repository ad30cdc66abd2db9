#pragma once
// What a SIGHUP may change (pure): the running configuration and the one just loaded in, a
// verdict out. A reload takes timings, policies, units, hooks, fencing and the secret; what the
// daemon bound or opened at start (its name and role, the cluster, the heartbeat paths, port
// and addresses, the state directory, the control socket) needs a restart, and a file that
// changes one of those is refused as a whole, with the reason.
#include <string>

#include "config/config.hpp"

namespace haspool::agent {

struct ReloadDecision {
    bool accepted = false;
    std::string reason;  // why it was refused; empty when accepted
};

// `self` names this node in `running`.
ReloadDecision decide_reload(const config::Config& running, const config::Config& loaded, const std::string& self);

}  // namespace haspool::agent
