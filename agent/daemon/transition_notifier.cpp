#include "agent/daemon/transition_notifier.hpp"

#include "agent/log/log.hpp"

namespace haspool::agent {

TransitionNotifier::TransitionNotifier(std::string prefix, std::size_t max_queued)
    : prefix_(std::move(prefix)), max_queued_(max_queued), worker_([this] { work(); }) {}

TransitionNotifier::~TransitionNotifier() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
        queue_.clear();
    }
    cv_.notify_all();
    worker_.join();
}

void TransitionNotifier::notify(Notice n) {
    {
        std::lock_guard lock(mu_);
        if (queue_.size() >= max_queued_) {
            queue_.pop_front();
            ++dropped_;
        }
        queue_.push_back(std::move(n));
    }
    cv_.notify_one();
}

void TransitionNotifier::work() {
    for (;;) {
        Notice n;
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            n = std::move(queue_.front());
            queue_.pop_front();
            n.env["HASPOOL_DROPPED"] = std::to_string(dropped_);
            dropped_ = 0;
        }
        actions::CommandSpec spec;
        spec.argv = n.argv;
        spec.extra_env = n.env;
        spec.timeout = n.timeout;
        actions::CommandResult r = actions::run_command(spec);
        if (!r.succeeded())
            log::warning(prefix_ + "notify command for " + n.env["HASPOOL_FROM"] + " -> " + n.env["HASPOOL_STATE"] +
                             " failed (nothing depends on it): " + r.describe(),
                         {{"EVENT", "notify-failed"}});
    }
}

}  // namespace haspool::agent
