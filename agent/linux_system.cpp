#include "linux_system.hpp"

#include <ctime>

#include "run_command.hpp"

namespace haspool::agent {

LinuxSystem::LinuxSystem(NodeStateStore store, bool standby, std::function<void(MessageKind)> notify)
    : store_(std::move(store)), standby_(standby), notify_(std::move(notify)) {}

NodeState LinuxSystem::state() const {
    std::lock_guard lock(mutex_);
    return state_;
}

void LinuxSystem::set_state(NodeState s) {
    std::lock_guard lock(mutex_);
    state_ = std::move(s);
}

StepResult LinuxSystem::unavailable(const Step& s, const char* component) {
    return StepResult::failure(to_string(s) + ": not available in this build (" + component +
                               " is not wired into the agent yet); nothing was done");
}

StepResult LinuxSystem::run_fence(const step::RunFence& s) {
    CommandResult r = run_command(s.argv, s.timeout);
    if (r.ok) return StepResult::success();
    return StepResult::failure("fence command " + r.description + " (the peer is NOT known to be fenced)");
}

StepResult LinuxSystem::run_hook(const step::RunHook& s) {
    CommandResult r = run_command(s.argv, s.timeout);
    if (r.ok) return StepResult::success();
    return StepResult::failure("hook " + s.name + ": " + r.description);
}

StepResult LinuxSystem::bump_generation(const step::BumpGeneration& s) {
    std::lock_guard lock(mutex_);
    NodeState next = state_.bumped(standby_, s.reason, std::time(nullptr));
    if (std::string e = store_.save(next); !e.empty())
        return StepResult::failure("cannot persist generation " + to_string(next.lineage.current) + ": " + e);
    state_ = std::move(next);
    return StepResult::success();
}

StepResult LinuxSystem::adopt_generation(const step::AdoptGeneration& s) {
    std::lock_guard lock(mutex_);
    if (state_.lineage.current == s.lineage.current) return StepResult::success();
    NodeState next = state_.adopted(s.lineage, s.reason, std::time(nullptr));
    if (std::string e = store_.save(next); !e.empty())
        return StepResult::failure("cannot persist generation " + to_string(next.lineage.current) + ": " + e);
    state_ = std::move(next);
    return StepResult::success();
}

StepResult LinuxSystem::notify_peer(const step::NotifyPeer& s) {
    if (!notify_) return StepResult::failure("no peer link to send " + std::string(to_string(s.message)));
    notify_(s.message);
    return StepResult::success();
}

}  // namespace haspool::agent
