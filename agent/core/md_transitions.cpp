#include "agent/core/md_transitions.hpp"

#include <cstdint>

namespace haspool::agent {

namespace {

bool syncing(const raid::MdSnapshot& s) {
    return s.sync_action == "resync" || s.sync_action == "recover" || s.sync_action == "frozen";
}

}  // namespace

std::vector<Event> md_transitions(const std::optional<raid::MdSnapshot>& before, const raid::MdSnapshot& after) {
    std::vector<Event> out;
    for (const auto& m : after.members) {
        if (!m.state.faulty) continue;
        const raid::MdMember* was = before ? before->member(m.block_device) : nullptr;
        if (!before || !was || !was->state.faulty) out.push_back(event::MdMemberFailed{"/dev/" + m.block_device});
    }
    if (raid::is_clean_mirror(after) && (!before || !raid::is_clean_mirror(*before))) out.push_back(event::ResyncFinished{});
    return out;
}

MirrorHealth mirror_health_of(const raid::MdSnapshot& s) {
    if (s.degraded > 0) return MirrorHealth::degraded;
    if (syncing(s)) return MirrorHealth::resyncing;
    return MirrorHealth::in_sync;
}

uint8_t sync_percent_of(const raid::MdSnapshot& s) {
    if (!syncing(s) || !s.sync_completed || s.sync_completed->total_sectors == 0) return 0;
    const uint64_t done = s.sync_completed->done_sectors, total = s.sync_completed->total_sectors;
    // Whatever sysfs says, never more than 100: the peer's decoder refuses a heartbeat carrying
    // more as malformed (heartbeat_codec.cpp); and 100 * done must not wrap on the way.
    if (done >= total) return 100;
    return static_cast<uint8_t>(static_cast<unsigned __int128>(done) * 100 / total);
}

}  // namespace haspool::agent
