#include "agent/system/step_runner.hpp"

namespace haspool::agent {

Event StepRunner::run(const std::vector<Step>& steps, bool undo_on_failure) {
    std::vector<const Step*> done;
    for (const Step& s : steps) {
        if (before_) before_(s);
        StepResult r = perform(sys_, s);
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
                StepResult u = perform(sys_, *undo);
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
