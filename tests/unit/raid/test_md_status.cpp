#include <catch2/catch.hpp>

#include "raid/md_status.hpp"

using namespace haspool::raid;

TEST_CASE("array_state words parse, unknown ones say so") {
    CHECK(parse_array_state("clean\n") == ArrayState::clean);
    CHECK(parse_array_state("active") == ArrayState::active);
    CHECK(parse_array_state("read-auto\n") == ArrayState::read_auto);
    CHECK(parse_array_state("write-pending") == ArrayState::write_pending);
    CHECK(parse_array_state("inactive") == ArrayState::inactive);
    CHECK(parse_array_state("bogus") == ArrayState::unknown);
    CHECK(std::string(to_string(ArrayState::active_idle)) == "active-idle");
}

TEST_CASE("sync_completed: 'done / total' sectors or none") {
    // seen on a guest during the initial resync
    auto p = parse_sync_completed("147456 / 262016\n");
    REQUIRE(p);
    CHECK(p->done_sectors == 147456);
    CHECK(p->total_sectors == 262016);
    CHECK_FALSE(parse_sync_completed("none\n"));
    CHECK_FALSE(parse_sync_completed("delayed"));
    CHECK_FALSE(parse_sync_completed("12 / x"));
}

TEST_CASE("sync_speed: KiB/s while a sync runs, none otherwise") {
    CHECK(parse_sync_speed("12288\n") == 12288u);
    CHECK_FALSE(parse_sync_speed("none\n"));
    CHECK_FALSE(parse_sync_speed(""));
    CHECK_FALSE(parse_sync_speed("12k"));
}

TEST_CASE("member state flags as md writes them") {
    auto m = parse_member_state("faulty,write_mostly\n");  // the NBD leg after a failure
    CHECK(m.faulty);
    CHECK(m.write_mostly);
    CHECK_FALSE(m.in_sync);
    CHECK(m.text == "faulty,write_mostly");
    auto s = parse_member_state("in_sync,write_mostly");
    CHECK(s.in_sync);
    CHECK(s.write_mostly);
    CHECK_FALSE(parse_member_state("spare").in_sync);
    CHECK(parse_member_state("spare").spare);
}

namespace {
MdSnapshot mirror(unsigned degraded, const std::string& x_state, const std::string& nbd_state,
                  const std::string& action = "idle") {
    MdSnapshot s;
    s.array_state = ArrayState::clean;
    s.raid_disks = 2;
    s.degraded = degraded;
    s.sync_action = action;
    s.members.push_back({"vda", parse_member_state(x_state), 0u});
    s.members.push_back({"nbd0", parse_member_state(nbd_state), 1u});
    return s;
}
}  // namespace

TEST_CASE("health follows mdadm --detail --test") {
    CHECK(health(mirror(0, "in_sync", "in_sync,write_mostly")) == MdHealth::ok);
    CHECK(health(mirror(1, "in_sync", "faulty,write_mostly")) == MdHealth::degraded);
    CHECK(health(mirror(2, "faulty", "faulty")) == MdHealth::failed);
    MdSnapshot inactive = mirror(0, "in_sync", "in_sync");
    inactive.array_state = ArrayState::inactive;
    CHECK(health(inactive) == MdHealth::error);
    CHECK(static_cast<int>(MdHealth::failed) == 2);
    CHECK(static_cast<int>(MdHealth::error) == 4);
}

TEST_CASE("a clean mirror has both legs in sync and no sync running") {
    CHECK(is_clean_mirror(mirror(0, "in_sync", "in_sync,write_mostly")));
    CHECK_FALSE(is_clean_mirror(mirror(0, "in_sync", "in_sync,write_mostly", "recover")));
    CHECK_FALSE(is_clean_mirror(mirror(1, "in_sync", "faulty,write_mostly")));
    // a re-added leg still recovering is not in_sync yet
    CHECK_FALSE(is_clean_mirror(mirror(0, "in_sync", "write_mostly")));
}
