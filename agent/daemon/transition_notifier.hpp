#pragma once
// The `hooks.notify` command (issue 15 item 6): run on every state transition, asynchronously, as
// keepalived's notify script is. It can never delay or fail a takeover: the daemon's loop only
// queues the notice; one worker thread runs the commands in order, each bounded by its timeout,
// and a failure is logged, never acted on. The queue is bounded: when a notify command hangs
// and transitions pile up, the oldest notices are dropped and the drop is counted in the next
// one's HASPOOL_DROPPED.
//
// The environment (docs/actions.md): HASPOOL_EVENT=transition, HASPOOL_NODE, HASPOOL_ROLE,
// HASPOOL_PEER, HASPOOL_FROM, HASPOOL_STATE, HASPOOL_REASON, HASPOOL_GENERATION, HASPOOL_TRIGGER
// (the event that decided), HASPOOL_TIME (Unix seconds), HASPOOL_DROPPED.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/system/actions/command_runner.hpp"

namespace haspool::agent {

class TransitionNotifier {
public:
    struct Notice {
        std::vector<std::string> argv;  // hooks.notify as the configuration says now
        std::chrono::milliseconds timeout;
        actions::Environment env;
    };
    // `prefix` starts each log line ("standby beta: ").
    explicit TransitionNotifier(std::string prefix, std::size_t max_queued = 32);
    // Drops what was not started yet; waits for the running command (bounded by its timeout).
    ~TransitionNotifier();
    TransitionNotifier(const TransitionNotifier&) = delete;
    TransitionNotifier& operator=(const TransitionNotifier&) = delete;

    // Never blocks on the command: queues it.
    void notify(Notice n);

private:
    void work();
    std::string prefix_;
    std::size_t max_queued_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Notice> queue_;  // guarded by mu_
    uint64_t dropped_ = 0;      // guarded by mu_: since the last notice that was run
    bool stopping_ = false;     // guarded by mu_
    std::thread worker_;
};

}  // namespace haspool::agent
