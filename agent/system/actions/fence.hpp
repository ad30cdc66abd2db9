#pragma once
// Fencing the peer before a takeover (config fence.command, fence.timeout): the operator's
// command (a PDU or IPMI script, a cloud API call) gets the peer's name and must exit 0 to
// count as fenced. Anything else — another status, a signal, the timeout — is "not fenced",
// and a takeover that needs fencing must stop there (docs/design.md §3 rule 1).
//
// Environment (on top of the command runner's PATH and LC_ALL=C):
//   HASPOOL_PEER   the node to fence
//   HASPOOL_NODE   this node (the one asking)
//   HASPOOL_EVENT  "fence"
#include <chrono>
#include <string>
#include <vector>

#include "agent/system/actions/action_result.hpp"
#include "agent/system/actions/command_runner.hpp"

namespace haspool::actions {

Environment fence_environment(const std::string& peer, const std::string& self);

// What to run: the agent's RunFence step carries exactly this (agent/core/plans.cpp).
struct FenceCommand {
    std::vector<std::string> argv;  // fence.command
    Environment env;                // fence_environment(peer, self)
    std::chrono::milliseconds timeout{10000};
    std::string peer;               // for the messages
};

// Done with "no fence command configured" when argv is empty (the takeover's other guards
// still apply); done with "fenced" on exit 0; failed with the command's status and output tail
// otherwise.
ActionResult fence_peer(const FenceCommand& fence);

}  // namespace haspool::actions
