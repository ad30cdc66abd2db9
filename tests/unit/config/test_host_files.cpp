// Reading the host's files below a root and resolving symlinks inside it (config/host_files.hpp),
// on real files and links in a temporary tree.
#include <catch2/catch.hpp>

#include "../temp_dir.hpp"

#include <filesystem>

#include "config/host_files.hpp"

using namespace haspool::config;
namespace fs = std::filesystem;
using haspool::test::TempDir;

namespace {

void make_link(const TempDir& d, const std::string& target, const std::string& name) {
    fs::create_directories((d.path / name).parent_path());
    fs::create_symlink(target, d.path / name);
}

}  // namespace

TEST_CASE("resolve_host_path: links inside the root, relative and absolute, a missing tail kept") {
    TempDir d;
    const std::string root = d.path.string();
    fs::create_directories(d.path / "var/mail");
    make_link(d, "../mail", "var/spool/mail");                 // Debian's base-files link
    make_link(d, "/var/mail", "srv/abs");                      // absolute: inside the root, not the host's /var
    make_link(d, "../../var/spool/mail", "srv/deep/chain");    // a link to a link
    make_link(d, "loop-b", "srv/loop-a");
    make_link(d, "loop-a", "srv/loop-b");
    make_link(d, "/nowhere/at/all", "srv/dangling");

    CHECK(resolve_host_path(root, "/var/spool/mail") == "/var/mail");
    CHECK(resolve_host_path(root, "/var/spool/mail/") == "/var/mail");
    CHECK(resolve_host_path(root, "/var/spool/mail/postfix/deferred") == "/var/mail/postfix/deferred");
    CHECK(resolve_host_path(root, "/srv/abs/x") == "/var/mail/x");
    CHECK(resolve_host_path(root, "/srv/deep/chain") == "/var/mail");
    CHECK(resolve_host_path(root, "/var/spool/mail/../postfix") == "/var/postfix");  // ".." after the link's target
    CHECK(resolve_host_path(root, "/var/./spool//mail") == "/var/mail");
    CHECK(resolve_host_path(root, "/not/there/../x") == "/not/x");
    CHECK(resolve_host_path(root, "/srv/dangling/y") == "/nowhere/at/all/y");
    CHECK(resolve_host_path(root, "/") == "/");
    CHECK(resolve_host_path(root, "relative/path") == "relative/path");
    // A loop stops where it was instead of spinning.
    std::string looped = resolve_host_path(root, "/srv/loop-a");
    CHECK(looped.rfind("/srv/loop-", 0) == 0);
    // The same with the root given with a trailing slash.
    CHECK(resolve_host_path(root + "/", "/srv/abs") == "/var/mail");
}

TEST_CASE("read_host_files: the files, the modules-load.d entries in systemd's order, systemd and nbd") {
    TempDir d;
    const std::string root = d.path.string();
    DeploymentFacts empty = read_host_files(root);
    CHECK_FALSE(empty.mdadm_conf);
    CHECK(empty.fstab.empty());
    CHECK(empty.modules_load.empty());
    CHECK_FALSE(empty.systemd_running);
    CHECK_FALSE(empty.nbd_loaded);
    CHECK(empty.mdadm_conf_path == root + "/etc/mdadm/mdadm.conf");

    d.write("etc/mdadm/mdadm.conf", "AUTO -all\n");
    d.write("etc/fstab", "/dev/sda1 / ext4 defaults 0 1\n");
    d.write("usr/lib/modules-load.d/haspool.conf", "nbd\n");
    d.write("usr/lib/modules-load.d/other.conf", "loop\n");
    d.write("usr/lib/modules-load.d/README", "not a .conf\n");
    make_link(d, "/dev/null", "etc/modules-load.d/haspool.conf");  // systemd's way to mask a file
    d.write("run/modules-load.d/zz.conf", "dm_mod\n");
    d.write("etc/modules", "loop\n");
    d.write("proc/cmdline", "quiet\n");
    fs::create_directories(d.path / "run/systemd/system");
    fs::create_directories(d.path / "sys/module/nbd");
    DeploymentFacts f = read_host_files(root);
    CHECK(f.mdadm_conf == "AUTO -all\n");
    CHECK(f.fstab == "/dev/sda1 / ext4 defaults 0 1\n");
    REQUIRE(f.modules_load.size() == 4);
    CHECK(f.modules_load[0].dir == "/etc/modules-load.d");
    CHECK(f.modules_load[0].name == "haspool.conf");
    CHECK(f.modules_load[0].text.empty());
    CHECK(f.modules_load[1].dir == "/run/modules-load.d");
    CHECK(f.modules_load[2].dir == "/usr/lib/modules-load.d");
    CHECK(f.modules_load[2].name == "haspool.conf");
    CHECK(f.modules_load[3].name == "other.conf");
    CHECK(f.etc_modules == "loop\n");
    CHECK(f.kernel_cmdline == "quiet\n");
    CHECK(f.systemd_running);
    CHECK(f.nbd_loaded);

    resolve_host_paths(root, {"/etc/modules-load.d/haspool.conf", "/missing"}, f);
    CHECK(f.resolved["/etc/modules-load.d/haspool.conf"] == "/dev/null");
    CHECK(f.resolved["/missing"] == "/missing");
}
