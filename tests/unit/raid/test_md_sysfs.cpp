#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "raid/md_sysfs.hpp"

using namespace haspool::raid;
namespace fs = std::filesystem;

namespace {

// A fake /sys/block/md127/md tree holding what a guest showed with the NBD leg failed.
struct FakeMd {
    fs::path root;
    fs::path md;
    FakeMd() {
        char tmpl[] = "/tmp/haspool-md-sysfs-XXXXXX";
        root = mkdtemp(tmpl);
        md = root / "block" / "md127" / "md";
        put("array_state", "active\n");
        put("level", "raid1\n");
        put("raid_disks", "2\n");
        put("degraded", "1\n");
        put("sync_action", "idle\n");
        put("sync_completed", "none\n");
        put("sync_speed", "none\n");
        put("bitmap_set_bits", "");
        put("dev-vda/state", "in_sync\n");
        put("dev-vda/slot", "0\n");
        put("dev-nbd0/state", "faulty,write_mostly\n");
        put("dev-nbd0/slot", "none\n");
    }
    ~FakeMd() { fs::remove_all(root); }
    void put(const std::string& rel, const std::string& text) {
        fs::create_directories((md / rel).parent_path());
        std::ofstream(md / rel) << text;
    }
    std::string get(const std::string& rel) {
        std::ifstream f(md / rel);
        return std::string(std::istreambuf_iterator<char>(f), {});
    }
};

}  // namespace

TEST_CASE("a snapshot reads every attribute and member") {
    FakeMd f;
    auto r = read_md_snapshot(f.md.string());
    REQUIRE(r.error.empty());
    const MdSnapshot& s = r.snapshot;
    CHECK(s.kernel_name == "md127");
    CHECK(s.level == "raid1");
    CHECK(s.array_state == ArrayState::active);
    CHECK(s.raid_disks == 2);
    CHECK(s.degraded == 1);
    CHECK(s.sync_action == "idle");
    CHECK_FALSE(s.sync_completed);
    CHECK_FALSE(s.sync_speed_kib);
    f.put("sync_action", "recover\n");
    f.put("sync_completed", "147456 / 262016\n");
    f.put("sync_speed", "12288\n");
    MdSnapshot copying = read_md_snapshot(f.md.string()).snapshot;
    CHECK(copying.sync_completed->done_sectors == 147456);
    CHECK(copying.sync_speed_kib == 12288u);
    REQUIRE(s.member("nbd0"));
    CHECK(s.member("nbd0")->state.faulty);
    CHECK_FALSE(s.member("nbd0")->slot);
    REQUIRE(s.member("vda"));
    CHECK(*s.member("vda")->slot == 0);
    CHECK(health(s) == MdHealth::degraded);
}

TEST_CASE("a missing array is an error that names the path") {
    auto r = read_md_snapshot("/nonexistent/md");
    CHECK(r.error.find("/nonexistent/md/array_state") != std::string::npos);
}

TEST_CASE("member state and bitmap bits are written where md reads them") {
    FakeMd f;
    f.put("dev-nbd0/state", "");  // sysfs files take a write whole; a plain file would keep the old tail
    CHECK(write_member_state(f.md.string(), "nbd0", "writemostly").empty());
    CHECK(f.get("dev-nbd0/state") == "writemostly");
    CHECK(write_bitmap_set_bits(f.md.string(), "0 2-8").empty());
    CHECK(f.get("bitmap_set_bits") == "0 2-8");
    CHECK(write_member_state(f.md.string(), "nbd9", "faulty").find("cannot open") != std::string::npos);
}

TEST_CASE("md_sysfs_dir refuses what is not an md device") {
    auto r = md_sysfs_dir("/dev/null");
    CHECK(r.error.find("not an md device") != std::string::npos);
    CHECK_FALSE(md_sysfs_dir("/dev/does-not-exist").error.empty());
}

TEST_CASE("the watch returns at its timeout when nothing is notified") {
    FakeMd f;
    MdWatch w(f.md.string());
    REQUIRE(w.arm().empty());
    CHECK(w.wait(std::chrono::milliseconds(0)).empty());
    MdWatch missing("/nonexistent/md");
    CHECK_FALSE(missing.arm().empty());
}

TEST_CASE("a member's I/O counters come from its block device's stat, through md/dev-*/block") {
    FakeMd f;
    CHECK_FALSE(read_md_snapshot(f.md.string()).snapshot.member("nbd0")->io);  // no stat: unknown, not zero
    // A Debian 12 guest's /sys/block/nbd0/stat (kernel 6.1: 17 fields)
    f.put("dev-nbd0/block/stat", "     120        0     2048      310      340        5     8192     1200        1     1400     1510        0        0        0        0       12       44\n");
    MdSnapshot s = read_md_snapshot(f.md.string()).snapshot;
    REQUIRE(s.member("nbd0")->io);
    CHECK(*s.member("nbd0")->io == BlockIo{120, 2048, 340, 8192, 1});
    CHECK(parse_block_stat("1 2 3") == std::nullopt);
    CHECK(parse_block_stat("1 2 3 4 5 6 7 8 x") == std::nullopt);
    CHECK(parse_block_stat("1 2 3 4 5 6 7 8 -9") == std::nullopt);
    CHECK(parse_block_stat("1 2 3 4 5 6 7 8 99999999999999999999") == std::nullopt);  // beyond 64 bits
}
