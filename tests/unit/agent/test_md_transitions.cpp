// md_transitions: what the mirror watch reports to the primary's machine, from two snapshots.
#include <catch2/catch.hpp>

#include "agent/core/md_transitions.hpp"
#include "agent/peer/heartbeat_codec.hpp"

using namespace haspool;
using namespace haspool::agent;

namespace {

raid::MdMember member(const char* name, bool in_sync, bool faulty = false, bool wm = false) {
    raid::MdMember m;
    m.block_device = name;
    m.state.in_sync = in_sync;
    m.state.faulty = faulty;
    m.state.write_mostly = wm;
    return m;
}

raid::MdSnapshot clean() {
    raid::MdSnapshot s;
    s.kernel_name = "md127";
    s.level = "raid1";
    s.array_state = raid::ArrayState::clean;
    s.raid_disks = 2;
    s.degraded = 0;
    s.sync_action = "idle";
    s.members = {member("vda", true), member("nbd0", true, false, true)};
    return s;
}

raid::MdSnapshot nbd_faulty() {
    raid::MdSnapshot s = clean();
    s.degraded = 1;
    s.members[1] = member("nbd0", false, true, true);
    return s;
}

raid::MdSnapshot recovering(uint64_t done, uint64_t total) {
    raid::MdSnapshot s = clean();
    s.degraded = 1;
    s.sync_action = "recover";
    s.sync_completed = raid::SyncProgress{done, total};
    s.members[1] = member("nbd0", false, false, true);
    return s;
}

std::string names(const std::vector<Event>& v) {
    std::string s;
    for (const auto& e : v) {
        s += (s.empty() ? "" : ",") + name_of(e);
        if (const auto* f = std::get_if<event::MdMemberFailed>(&e)) s += "(" + f->dev + ")";
    }
    return s;
}

}  // namespace

TEST_CASE("md transitions: a leg turning faulty is reported once") {
    CHECK(names(md_transitions(clean(), nbd_faulty())) == "MdMemberFailed(/dev/nbd0)");
    CHECK(names(md_transitions(nbd_faulty(), nbd_faulty())).empty());
    // removed afterwards (the degrade plan's FailMember): nothing new
    raid::MdSnapshot removed = nbd_faulty();
    removed.members.pop_back();
    CHECK(names(md_transitions(nbd_faulty(), removed)).empty());
}

TEST_CASE("md transitions: a resync ending is reported when the mirror becomes clean") {
    CHECK(names(md_transitions(recovering(10, 100), recovering(50, 100))).empty());
    CHECK(names(md_transitions(recovering(90, 100), clean())) == "ResyncFinished");
    CHECK(names(md_transitions(clean(), clean())).empty());
    // a degraded array with the leg removed is not clean
    raid::MdSnapshot one_leg = nbd_faulty();
    one_leg.members.pop_back();
    CHECK(names(md_transitions(recovering(90, 100), one_leg)).empty());
}

TEST_CASE("md transitions: the first look (or a re-check) reports the condition itself") {
    // A resync that ended while a plan still ran is not lost: the daemon asks for a re-check.
    CHECK(names(md_transitions(std::nullopt, clean())) == "ResyncFinished");
    CHECK(names(md_transitions(std::nullopt, nbd_faulty())) == "MdMemberFailed(/dev/nbd0)");
    CHECK(names(md_transitions(std::nullopt, recovering(1, 100))).empty());
}

TEST_CASE("mirror health as the heartbeat tells it: never better than md shows") {
    CHECK(mirror_health_of(clean()) == MirrorHealth::in_sync);
    CHECK(mirror_health_of(nbd_faulty()) == MirrorHealth::degraded);
    CHECK(mirror_health_of(recovering(1, 4)) == MirrorHealth::degraded);
    // the initial sync after --init: no leg missing, but Y is still being filled
    raid::MdSnapshot initial = clean();
    initial.sync_action = "resync";
    initial.sync_completed = raid::SyncProgress{25, 100};
    CHECK(mirror_health_of(initial) == MirrorHealth::resyncing);
    CHECK(sync_percent_of(initial) == 25);
    CHECK(sync_percent_of(clean()) == 0);
}

// Found by fuzz_md_status: sysfs read "sync_completed: 65536 / 888" during a recover. The percent
// was 100 * done / total cast to a byte (212), and the peer's decoder refuses a percent over 100
// as malformed: every heartbeat of the primary would have been dropped while md said so.
TEST_CASE("a sync progress past its total is 100 percent, a value the heartbeat carries") {
    raid::MdSysfsText t;
    t.kernel_name = "md127";
    t.array_state = "active\n";
    t.sync_action = "recover\n";
    t.sync_completed = "65536 / 888\n";
    const raid::MdSnapshot s = raid::parse_md_snapshot(t);
    CHECK(sync_percent_of(s) == 100);
    CHECK(sync_percent_of(recovering(UINT64_MAX - 1, UINT64_MAX)) == 99);  // no overflow on the way
    CHECK(sync_percent_of(recovering(UINT64_MAX / 2, UINT64_MAX)) == 49);

    Message m;
    m.cluster = "mailspool";
    m.sender = "alpha";
    m.sequence = 1;
    m.stamp_ms = 1;
    m.status.primary = true;
    m.status.state = static_cast<uint8_t>(PrimaryState::RESYNC);
    m.status.md = mirror_health_of(s);
    m.status.md_percent = sync_percent_of(s);
    const auto bytes = encode(m, "key");
    CHECK(decode(bytes.data(), bytes.size(), KeyRing{"key", ""}).message);
}
