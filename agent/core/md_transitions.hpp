#pragma once
// What a change of the running array means to the primary's machine (pure): two sysfs snapshots
// in, events out. The mirror watch (mirror_watch.hpp) reads the snapshots; the machine decides.
#include <optional>
#include <vector>

#include "agent/core/events.hpp"
#include "raid/md_status.hpp"
#include "agent/core/types.hpp"

namespace haspool::agent {

// `before` is nullopt for the first look (daemon start, array just assembled, or a re-check the
// daemon asked for): then the current condition itself is reported — a faulty member, a mirror
// already clean — so an edge missed while nobody watched is not lost.
//   MdMemberFailed{"/dev/<member>"}  a member is faulty now and was not before
//   ResyncFinished                   the mirror is clean now (both legs in sync, no sync running)
//                                    and was not before
std::vector<Event> md_transitions(const std::optional<raid::MdSnapshot>& before, const raid::MdSnapshot& after);

// The heartbeat's view of the array: a sync in progress is "resyncing" even while the machine
// says MIRRORED (the initial sync after --init), so the standby never takes over from a Y that
// is still being filled (docs/design.md §7).
MirrorHealth mirror_health_of(const raid::MdSnapshot& s);
// Percent of the running sync done (0 when none runs).
uint8_t sync_percent_of(const raid::MdSnapshot& s);

}  // namespace haspool::agent
