#pragma once
// Runs a Decision's steps through the System in order, stops at the first failure and, when the
// machine asked for it (Decision::undo_on_failure), undoes the completed steps newest first
// (steps::undo_of). The outcome comes back as an event for the machine: StepsSucceeded or
// StepFailed{step, why, undone, undo_errors}.
#include <functional>
#include <vector>

#include "events.hpp"
#include "system.hpp"

namespace haspool::agent {

class StepRunner {
public:
    // Called after every step and every undo step (the daemon logs them).
    using Observer = std::function<void(const Step& step, const StepResult& result, bool undo)>;

    explicit StepRunner(System& sys, Observer observer = {}) : sys_(sys), observer_(std::move(observer)) {}

    Event run(const std::vector<Step>& steps, bool undo_on_failure);

private:
    System& sys_;
    Observer observer_;
};

}  // namespace haspool::agent
