#pragma once
// How the agent's steps translate into the actions library's terms (pure, no side effects):
// filesystem specs, fence and hook commands, each from the step alone (a step is the whole
// instruction: nothing here reads a configuration); hook names to HookEvents; ActionResults to
// StepResults. LinuxSystem uses these; unit tests check them without touching the system.
#include <optional>
#include <string>

#include "agent/system/actions/action_result.hpp"
#include "agent/system/actions/fence.hpp"
#include "agent/system/actions/hooks.hpp"
#include "agent/system/actions/spool_filesystem.hpp"
#include "agent/core/steps.hpp"
#include "agent/system/system.hpp"

namespace haspool::agent {

actions::FilesystemSpec filesystem_spec(const step::Fsck& s);
actions::FilesystemSpec filesystem_spec(const step::Mount& s);
// One spec per device the step may find mounted on its directory (the array, the raw mapping).
actions::FilesystemSpec filesystem_spec(const step::Unmount& s, const std::string& device);

actions::FenceCommand fence_command(const step::RunFence& s);

// "before_takeover" -> HookEvent::before_takeover, ...; nullopt for a name that is no hook.
std::optional<actions::HookEvent> hook_event_named(const std::string& name);

// The step's command and environment, plus the run-time situation (HASPOOL_STATE,
// HASPOOL_GENERATION, HASPOOL_REASON from `now`; its node and peer are the step's).
actions::HookCommand hook_command(const step::RunHook& s, actions::HookEvent event, const actions::HookContext& now);

// ok stays ok, its note (e.g. "already mounted") kept for the step's log line; a failure keeps
// its error sentence unchanged.
StepResult to_step_result(const actions::ActionResult& r);

}  // namespace haspool::agent
