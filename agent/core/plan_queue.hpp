#pragma once
// The batches of steps a machine handed to the daemon whose outcomes are still to come, each
// named by the plan it runs. Pure: no I/O.
//
// Why a queue and not one "pending" value: the daemon runs each decision's steps as one batch,
// one batch at a time, and reports exactly one outcome (StepsSucceeded or StepFailed) per batch,
// in the order the batches were queued. A decision may queue steps while an earlier batch still
// runs: a NotifyPeer, a Reconnect or a RestoreWriteMostly beside a plan, or the new plan of a
// state the machine entered before the outcome of the previous state's plan came back. The front
// batch is the one the next outcome belongs to.
//
// At most one batch is *awaited*: the plan whose outcome the current state waits for (the
// machine's running plan, part of its phase). Side batches (a notice, a reconnect) are never
// awaited; a plan the machine left behind (its state moved on: a split brain, md failing a leg
// mid-resync) is released, so its outcome, when it comes, decides nothing.
#include <cstddef>
#include <deque>
#include <optional>

namespace haspool::agent {

template <class Plan>
class PlanQueue {
public:
    struct Batch {
        Plan plan;
        bool awaited;  // the current state waits for its outcome
    };

    // A decision's steps were handed to the daemon. An awaited plan replaces the one before.
    void queued(Plan p, bool awaited) {
        if (awaited) release();
        batches_.push_back(Batch{p, awaited});
    }
    // The state moved on: no queued batch's outcome decides anything any more.
    void release() {
        for (auto& b : batches_) b.awaited = false;
    }
    // An outcome arrived: it belongs to the front batch (nullopt: none was queued).
    std::optional<Batch> pop() {
        if (batches_.empty()) return std::nullopt;
        Batch b = batches_.front();
        batches_.pop_front();
        return b;
    }
    // The awaited plan, or Plan::none.
    Plan awaited() const {
        for (const auto& b : batches_)
            if (b.awaited) return b.plan;
        return Plan::none;
    }
    // Batches whose outcomes are still to come.
    std::size_t size() const { return batches_.size(); }
    const std::deque<Batch>& batches() const { return batches_; }

private:
    std::deque<Batch> batches_;
};

}  // namespace haspool::agent
