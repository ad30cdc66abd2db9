#include "agent/system/step_actions.hpp"

namespace haspool::agent {

actions::FilesystemSpec filesystem_spec(const step::Fsck& s) {
    actions::FilesystemSpec spec;
    spec.device = s.dev;
    spec.type = s.fs;
    spec.mount_point = s.dir;
    spec.fsck_timeout = s.timeout;
    return spec;
}

actions::FilesystemSpec filesystem_spec(const step::Mount& s) {
    actions::FilesystemSpec spec;
    spec.device = s.dev;
    spec.type = s.fs;
    spec.mount_point = s.dir;
    spec.mount_options = s.options;
    spec.mount_timeout = s.timeout;
    return spec;
}

actions::FilesystemSpec filesystem_spec(const step::Unmount& s, const std::string& device) {
    actions::FilesystemSpec spec;
    spec.device = device;
    spec.mount_point = s.dir;
    return spec;
}

actions::FenceCommand fence_command(const step::RunFence& s) { return {s.argv, s.env, s.timeout, s.peer}; }

std::optional<actions::HookEvent> hook_event_named(const std::string& name) {
    using actions::HookEvent;
    for (HookEvent e : {HookEvent::before_takeover, HookEvent::after_takeover, HookEvent::before_handback,
                        HookEvent::after_handback})
        if (name == actions::to_string(e)) return e;
    return std::nullopt;
}

actions::HookCommand hook_command(const step::RunHook& s, actions::HookEvent event, const actions::HookContext& now) {
    actions::HookCommand h{event, s.argv, s.env, s.timeout};
    const actions::Environment situation = actions::hook_environment(event, now);
    for (const char* k : {"HASPOOL_STATE", "HASPOOL_GENERATION", "HASPOOL_REASON"}) h.env[k] = situation.at(k);
    return h;
}

StepResult to_step_result(const actions::ActionResult& r) {
    return r.ok() ? StepResult::success(r.message()) : StepResult::failure(r.message());
}

}  // namespace haspool::agent
