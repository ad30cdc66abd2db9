#include "agent/system/actions/fence.hpp"

namespace haspool::actions {

Environment fence_environment(const std::string& peer, const std::string& self) {
    return {{"HASPOOL_PEER", peer}, {"HASPOOL_NODE", self}, {"HASPOOL_EVENT", "fence"}};
}

ActionResult fence_peer(const config::Fence& fence, const std::string& peer, const std::string& self) {
    if (fence.command.empty()) return ActionResult::done("no fence command configured");
    CommandSpec cmd;
    cmd.argv = fence.command;
    cmd.extra_env = fence_environment(peer, self);
    cmd.timeout = fence.timeout;
    auto r = run_command(cmd);
    if (!r.succeeded()) return ActionResult::failed("fencing " + peer + " failed (only exit 0 counts as fenced): " + r.describe());
    return ActionResult::done("fenced " + peer);
}

}  // namespace haspool::actions
