#include "agent/control/reload_decision.hpp"

namespace haspool::agent {

ReloadDecision decide_reload(const config::Config& running, const config::Config& loaded, const std::string& self) {
    const config::Node& was = *running.find_node(self);
    const config::Node* now = loaded.find_node(self);
    auto refuse = [](std::string why) { return ReloadDecision{false, std::move(why)}; };
    if (!now || now->role != was.role) return refuse("this node's name or role changed");
    if (loaded.cluster.name != running.cluster.name) return refuse("cluster.name changed");
    if (loaded.heartbeat.paths != running.heartbeat.paths || loaded.heartbeat.port != running.heartbeat.port ||
        now->addresses != was.addresses || loaded.peer_of(*now).addresses != running.peer_of(was).addresses ||
        loaded.cluster.control_socket != running.cluster.control_socket ||
        loaded.cluster.control_group != running.cluster.control_group ||
        loaded.cluster.state_dir != running.cluster.state_dir)
        return refuse("addresses, paths, port, state_dir, control_socket or control_group changed (a restart applies "
                      "those)");
    return {true, {}};
}

}  // namespace haspool::agent
