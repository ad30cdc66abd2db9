#pragma once
// Requests between the agents are retried until acknowledged and handled once (docs/design.md §5).
// Outbox: what we asked and have not seen acknowledged; resent every interval.
// Inbox: which (boot, id) requests we already handled; a duplicate is acknowledged again but not
// handed to the machine a second time. Pure: explicit time points.
#include <deque>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "agent/peer/heartbeat_codec.hpp"

namespace haspool::agent {

class Outbox {
public:
    // Queues `kind`; a still-pending request of the same kind is replaced (idempotent).
    uint64_t add(MessageKind kind, TimePoint now);
    // Requests to (re)send now; each is then due again after `interval`.
    std::vector<std::pair<uint64_t, MessageKind>> due(TimePoint now, Millis interval);
    // True when `id` was pending (and is now done).
    bool acknowledged(uint64_t id);
    size_t pending() const { return pending_.size(); }

private:
    struct Entry {
        MessageKind kind;
        TimePoint next;
    };
    uint64_t next_id_ = 1;
    std::map<uint64_t, Entry> pending_;
};

class Inbox {
public:
    // True the first time this (boot, id) is seen.
    bool first_time(const BootId& boot, uint64_t id);

private:
    std::deque<std::pair<BootId, uint64_t>> seen_;  // bounded: the last 64
};

}  // namespace haspool::agent
