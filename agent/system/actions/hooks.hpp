#pragma once
// Operator hooks around takeover and handback (config hooks.*), run like keepalived's notify
// scripts: an argv (no shell), a timeout (hooks.timeout), and what happened in the environment.
//
// Environment of every hook (on top of the command runner's PATH and LC_ALL=C):
//   HASPOOL_EVENT       before_takeover | after_takeover | before_handback | after_handback
//   HASPOOL_NODE        this node's name
//   HASPOOL_PEER        the other node's name
//   HASPOOL_STATE       this node's state when the hook runs (e.g. TAKEOVER, ACTIVE, HANDBACK)
//   HASPOOL_GENERATION  this node's data generation (decimal)
//   HASPOOL_REASON      why (the decision's reason, one line)
// A hook that exits non-zero, is killed or times out fails its step (docs/actions.md).
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/system/actions/action_result.hpp"
#include "agent/system/actions/command_runner.hpp"
#include "config/config.hpp"

namespace haspool::actions {

enum class HookEvent { before_takeover, after_takeover, before_handback, after_handback };

const char* to_string(HookEvent e);

struct HookContext {
    std::string node;
    std::string peer;
    std::string state;
    uint64_t generation = 0;
    std::string reason;
};

// The HASPOOL_* variables above (pure: tests compare the map).
Environment hook_environment(HookEvent event, const HookContext& ctx);

// The configured argv for `event` (empty: no hook).
const std::vector<std::string>& hook_command(const config::Hooks& hooks, HookEvent event);

// What to run: the agent's RunHook step carries argv, timeout and the plan's part of `env`
// (agent/core/plans.cpp); the executor adds the run-time part (hook_environment()).
struct HookCommand {
    HookEvent event = HookEvent::before_takeover;
    std::vector<std::string> argv;  // empty: no hook
    Environment env;
    std::chrono::milliseconds timeout{30000};
};

// Runs the hook; done ("no hook configured") when argv is empty.
ActionResult run_hook(const HookCommand& hook);

}  // namespace haspool::actions
