// /proc/PID/maps device numbers, holder descriptions, and a real holder found by device number.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <fcntl.h>
#include <unistd.h>

#include "agent/system/actions/mount_holders.hpp"

using namespace haspool::actions;

TEST_CASE("maps lines give the device of file mappings in hex, none for anonymous ones") {
    auto d = maps_line_device("7f12a000-7f12b000 r--p 00000000 fd:01 1234   /usr/lib/libc.so.6");
    REQUIRE(d);
    CHECK(d->first == 0xfd);
    CHECK(d->second == 1);
    auto big = maps_line_device("7f12a000-7f12b000 r-xp 00001000 103:0a 99 /mnt/lib.so");
    REQUIRE(big);
    CHECK(big->first == 0x103);
    CHECK(big->second == 10);
    CHECK_FALSE(maps_line_device("7ffd1000-7ffd2000 rw-p 00000000 00:00 0          [stack]"));
    CHECK_FALSE(maps_line_device("garbage"));
}

TEST_CASE("holders are described as pid (command: how)") {
    CHECK(describe_holders({}) == "no process found");
    CHECK(describe_holders({{12, "sleep", "cwd"}, {34, "cat", "fd 3"}}) == "pid 12 (sleep: cwd), pid 34 (cat: fd 3)");
}

TEST_CASE("an open file makes this process a holder of its filesystem") {
    char path[] = "/tmp/haspool-holder-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    struct stat st {};
    REQUIRE(fstat(fd, &st) == 0);
    auto holders = find_mount_holders(major(st.st_dev), minor(st.st_dev));
    bool found = false;
    for (const auto& h : holders)
        if (h.pid == getpid() && h.how == "fd " + std::to_string(fd)) found = true;
    CHECK(found);
    close(fd);
    unlink(path);
}
