#include "agent/peer/peer_requests.hpp"

#include <algorithm>

namespace haspool::agent {

uint64_t Outbox::add(MessageKind kind, TimePoint now) {
    for (auto it = pending_.begin(); it != pending_.end();)
        it = it->second.kind == kind ? pending_.erase(it) : std::next(it);
    uint64_t id = next_id_++;
    pending_[id] = Entry{kind, now};
    return id;
}

std::vector<std::pair<uint64_t, MessageKind>> Outbox::due(TimePoint now, Millis interval) {
    std::vector<std::pair<uint64_t, MessageKind>> out;
    for (auto& [id, e] : pending_)
        if (now >= e.next) {
            out.emplace_back(id, e.kind);
            e.next = now + interval;
        }
    return out;
}

bool Outbox::acknowledged(uint64_t id) { return pending_.erase(id) > 0; }

bool Inbox::first_time(const BootId& boot, uint64_t id) {
    auto key = std::make_pair(boot, id);
    if (std::find(seen_.begin(), seen_.end(), key) != seen_.end()) return false;
    seen_.push_back(key);
    if (seen_.size() > 64) seen_.pop_front();
    return true;
}

}  // namespace haspool::agent
