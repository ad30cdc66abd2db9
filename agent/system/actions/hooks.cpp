#include "agent/system/actions/hooks.hpp"

namespace haspool::actions {

const char* to_string(HookEvent e) {
    switch (e) {
    case HookEvent::before_takeover: return "before_takeover";
    case HookEvent::after_takeover: return "after_takeover";
    case HookEvent::before_handback: return "before_handback";
    case HookEvent::after_handback: return "after_handback";
    }
    return "?";
}

Environment hook_environment(HookEvent event, const HookContext& ctx) {
    return {
        {"HASPOOL_EVENT", to_string(event)},
        {"HASPOOL_NODE", ctx.node},
        {"HASPOOL_PEER", ctx.peer},
        {"HASPOOL_STATE", ctx.state},
        {"HASPOOL_GENERATION", std::to_string(ctx.generation)},
        {"HASPOOL_REASON", ctx.reason},
    };
}

const std::vector<std::string>& hook_command(const config::Hooks& hooks, HookEvent event) {
    switch (event) {
    case HookEvent::before_takeover: return hooks.before_takeover;
    case HookEvent::after_takeover: return hooks.after_takeover;
    case HookEvent::before_handback: return hooks.before_handback;
    case HookEvent::after_handback: return hooks.after_handback;
    }
    return hooks.before_takeover;  // unreachable: every enumerator is handled above
}

ActionResult run_hook(const HookCommand& hook) {
    if (hook.argv.empty()) return ActionResult::done("no hook configured");
    CommandSpec cmd;
    cmd.argv = hook.argv;
    cmd.extra_env = hook.env;
    cmd.timeout = hook.timeout;
    auto r = run_command(cmd);
    if (!r.succeeded()) return ActionResult::failed(std::string("hook ") + to_string(hook.event) + " failed: " + r.describe());
    return ActionResult::done(std::string("hook ") + to_string(hook.event) + " succeeded");
}

}  // namespace haspool::actions
