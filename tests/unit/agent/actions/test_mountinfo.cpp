// /proc/self/mountinfo parsing: fields, optional fields, octal escapes, malformed lines.
#include <catch2/catch.hpp>

#include "agent/system/actions/mountinfo.hpp"

using namespace haspool::actions;

TEST_CASE("mountinfo lines become entries with device numbers, type and source") {
    const char* text =
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n"
        "36 22 7:3 / /var/spool/mail rw,noatime shared:12 master:3 - ext4 /dev/loop3 rw\n"
        "40 22 0:45 / /mnt/with\\040space rw - tmpfs tmpfs rw,size=1024k\n";
    std::string err;
    auto m = parse_mountinfo(text, &err);
    REQUIRE(m);
    REQUIRE(m->size() == 3);
    CHECK((*m)[1].mount_id == 36);
    CHECK((*m)[1].parent_id == 22);
    CHECK((*m)[1].major == 7);
    CHECK((*m)[1].minor == 3);
    CHECK((*m)[1].mount_point == "/var/spool/mail");
    CHECK((*m)[1].mount_options == "rw,noatime");
    CHECK((*m)[1].fstype == "ext4");
    CHECK((*m)[1].source == "/dev/loop3");
    CHECK((*m)[2].mount_point == "/mnt/with space");
    CHECK((*m)[2].super_options == "rw,size=1024k");
}

TEST_CASE("mountinfo lookups find the topmost mount at a point and every mount of a device") {
    auto m = parse_mountinfo(
        "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
        "2 1 7:3 / /srv rw - ext4 /dev/loop3 rw\n"
        "3 2 0:50 / /srv rw - tmpfs tmpfs rw\n"
        "4 1 7:3 / /other rw - ext4 /dev/loop3 rw\n");
    REQUIRE(m);
    const MountEntry* top = find_mount_at(*m, "/srv");
    REQUIRE(top);
    CHECK(top->fstype == "tmpfs");
    CHECK(find_mount_at(*m, "/nowhere") == nullptr);
    auto of = find_mounts_of(*m, 7, 3);
    REQUIRE(of.size() == 2);
    CHECK(of[1]->mount_point == "/other");
}

TEST_CASE("a malformed mountinfo line is rejected with its line number") {
    std::string err;
    CHECK_FALSE(parse_mountinfo("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 x / /srv rw\n", &err));
    CHECK(err.find("line 2") != std::string::npos);
    CHECK_FALSE(parse_mountinfo("1 0 8:1 / / rw shared:1 ext4 /dev/sda1 rw\n", &err));
    CHECK(err.find("separator") != std::string::npos);
}

TEST_CASE("the running system's mountinfo parses") {
    std::string err;
    auto m = read_mountinfo(&err);
    REQUIRE(m);
    CHECK(find_mount_at(*m, "/") != nullptr);
}
