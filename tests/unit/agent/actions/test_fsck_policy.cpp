// The e2fsck(8) exit-status policy of docs/actions.md.
#include <catch2/catch.hpp>

#include "agent/system/actions/spool_filesystem.hpp"

using namespace haspool::actions;

TEST_CASE("e2fsck 0 and 1 are fine") {
    CHECK(interpret_e2fsck_status(0).acceptable);
    CHECK(interpret_e2fsck_status(0).meaning == "no errors");
    CHECK(interpret_e2fsck_status(1).acceptable);
    CHECK(interpret_e2fsck_status(1).meaning == "errors corrected");
}

TEST_CASE("e2fsck 2 and 3 (reboot advised) are accepted for an unmounted spool and say so") {
    for (int s : {2, 3}) {
        auto v = interpret_e2fsck_status(s);
        CHECK(v.acceptable);
        CHECK(v.meaning.find("reboot advised") != std::string::npos);
    }
}

TEST_CASE("any e2fsck status bit from 4 up is a failure naming every bit") {
    for (int s : {4, 5, 6, 8, 12, 16, 32, 128, 255}) {
        INFO("status " << s);
        CHECK_FALSE(interpret_e2fsck_status(s).acceptable);
    }
    CHECK(interpret_e2fsck_status(4).meaning == "errors left uncorrected");
    CHECK(interpret_e2fsck_status(12).meaning == "errors left uncorrected, operational error");
    CHECK(interpret_e2fsck_status(64).meaning == "undefined status bits");
    CHECK_FALSE(interpret_e2fsck_status(-1).acceptable);
}

TEST_CASE("the spool spec takes type, mount point, options and timeouts from the config") {
    haspool::config::Config c;
    c.spool.filesystem = haspool::config::Filesystem::xfs;
    c.spool.mount_point = "/srv/spool";
    c.spool.mount_options = {"noatime", "nodev"};
    auto s = spool_filesystem_spec(c, "/dev/md/haspool");
    CHECK(s.device == "/dev/md/haspool");
    CHECK(s.type == haspool::config::Filesystem::xfs);
    CHECK(s.mount_point == "/srv/spool");
    CHECK(s.mount_options == std::vector<std::string>{"noatime", "nodev"});
    CHECK(s.fsck_timeout == c.spool.fsck_timeout);
    CHECK_FALSE(s.xfs_repair);
}
