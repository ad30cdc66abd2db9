#pragma once
// Runs a Decision's steps through the System in order, stops at the first failure and, when the
// machine asked for it (Decision::undo_on_failure), undoes the completed steps newest first
// (steps::undo_of). The outcome comes back as an event for the machine: StepsSucceeded or
// StepFailed{step, why, undone, undo_errors}.
#include <functional>
#include <vector>

#include "agent/core/events.hpp"
#include "agent/system/system.hpp"

namespace haspool::agent {

class StepRunner {
public:
    // Called after every step and every undo step (the daemon logs them).
    using Observer = std::function<void(const Step& step, const StepResult& result, bool undo)>;

    // Called before every step (the daemon extends systemd's start timeout around fsck/mount).
    using Announcer = std::function<void(const Step& step)>;

    explicit StepRunner(System& sys, Observer observer = {}, Announcer before = {})
        : sys_(sys), observer_(std::move(observer)), before_(std::move(before)) {}

    Event run(const std::vector<Step>& steps, bool undo_on_failure);

private:
    System& sys_;
    Observer observer_;
    Announcer before_;
};

}  // namespace haspool::agent
