#include "agent/system/step_actions.hpp"

namespace haspool::agent {

actions::FilesystemSpec filesystem_spec(const config::Config& c, const step::Fsck& s) {
    actions::FilesystemSpec spec = actions::spool_filesystem_spec(c, s.dev);
    spec.type = s.fs;
    spec.fsck_timeout = s.timeout;
    return spec;
}

actions::FilesystemSpec filesystem_spec(const config::Config& c, const step::Mount& s) {
    actions::FilesystemSpec spec = actions::spool_filesystem_spec(c, s.dev);
    spec.type = s.fs;
    spec.mount_point = s.dir;
    spec.mount_options = s.options;
    return spec;
}

actions::FilesystemSpec filesystem_spec(const config::Config& c, const step::Unmount& s) {
    actions::FilesystemSpec spec = actions::spool_filesystem_spec(c, c.spool.md_device);
    spec.mount_point = s.dir;
    return spec;
}

std::optional<actions::HookEvent> hook_event_named(const std::string& name) {
    using actions::HookEvent;
    for (HookEvent e : {HookEvent::before_takeover, HookEvent::after_takeover, HookEvent::before_handback,
                        HookEvent::after_handback})
        if (name == actions::to_string(e)) return e;
    return std::nullopt;
}

StepResult to_step_result(const actions::ActionResult& r) {
    return r.ok() ? StepResult::success(r.message()) : StepResult::failure(r.message());
}

}  // namespace haspool::agent
