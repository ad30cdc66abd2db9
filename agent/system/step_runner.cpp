#include "agent/system/step_runner.hpp"

#include <chrono>

namespace haspool::agent {

namespace {

// perform() with the time it took: the daemon logs it with every step (HASPOOL_DURATION_MS), and
// the drill and the benchmarks read a plan's breakdown back from the journal.
StepResult timed(System& sys, const Step& s) {
    const auto t0 = std::chrono::steady_clock::now();
    StepResult r = perform(sys, s);
    r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    return r;
}

}  // namespace

Event StepRunner::run(const std::vector<Step>& steps, bool undo_on_failure) {
    std::vector<const Step*> done;
    for (const Step& s : steps) {
        if (before_) before_(s);
        StepResult r = timed(sys_, s);
        if (observer_) observer_(s, r, false);
        if (r.ok) {
            done.push_back(&s);
            continue;
        }
        event::StepFailed f{s, r.error, {}, {}};
        if (undo_on_failure) {
            for (auto it = done.rbegin(); it != done.rend(); ++it) {
                auto undo = undo_of(**it);
                if (!undo) continue;
                StepResult u = timed(sys_, *undo);
                if (observer_) observer_(*undo, u, true);
                f.undone.push_back(*undo);
                if (!u.ok) f.undo_errors.push_back(name_of(*undo) + ": " + u.error);
            }
        }
        return f;
    }
    return event::StepsSucceeded{};
}

}  // namespace haspool::agent
