#pragma once
// How the agent's steps translate into the actions library's terms (pure, no side effects):
// filesystem specs from a step plus the Config, hook names to HookEvents, ActionResults to
// StepResults. LinuxSystem uses these; unit tests check them without touching the system.
#include <optional>
#include <string>

#include "agent/system/actions/action_result.hpp"
#include "config/config.hpp"
#include "agent/system/actions/hooks.hpp"
#include "agent/system/actions/spool_filesystem.hpp"
#include "agent/core/steps.hpp"
#include "agent/system/system.hpp"

namespace haspool::agent {

// The step's own fields (device, type, options, timeout) win over the Config's spool section.
actions::FilesystemSpec filesystem_spec(const config::Config& c, const step::Fsck& s);
actions::FilesystemSpec filesystem_spec(const config::Config& c, const step::Mount& s);
// Unmount carries only the directory: the device is spool.md_device, the one every plan mounts
// (Plans::serve); ensure_unmounted() refuses to unmount anything else mounted there.
actions::FilesystemSpec filesystem_spec(const config::Config& c, const step::Unmount& s);

// "before_takeover" -> HookEvent::before_takeover, ...; nullopt for a name that is no hook.
std::optional<actions::HookEvent> hook_event_named(const std::string& name);

// ok keeps its note (the step's log line shows it); a failure keeps its error sentence unchanged.
StepResult to_step_result(const actions::ActionResult& r);

}  // namespace haspool::agent
