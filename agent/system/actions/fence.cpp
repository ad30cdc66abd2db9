#include "agent/system/actions/fence.hpp"

namespace haspool::actions {

Environment fence_environment(const std::string& peer, const std::string& self) {
    return {{"HASPOOL_PEER", peer}, {"HASPOOL_NODE", self}, {"HASPOOL_EVENT", "fence"}};
}

ActionResult fence_peer(const FenceCommand& fence) {
    if (fence.argv.empty()) return ActionResult::done("no fence command configured");
    CommandSpec cmd;
    cmd.argv = fence.argv;
    cmd.extra_env = fence.env;
    cmd.timeout = fence.timeout;
    auto r = run_command(cmd);
    if (!r.succeeded())
        return ActionResult::failed("fencing " + fence.peer + " failed (only exit 0 counts as fenced): " + r.describe());
    return ActionResult::done("fenced " + fence.peer);
}

}  // namespace haspool::actions
