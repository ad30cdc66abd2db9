#include <catch2/catch.hpp>

#include "../temp_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/config_loader.hpp"
#include "config/host_check.hpp"
#include "config/host_files.hpp"

using namespace haspool::config;
namespace fs = std::filesystem;

using haspool::test::TempDir;

namespace {

Config make_config(const TempDir& d) {
    std::string yaml = "cluster: {name: c, secret_file: " + (d.path / "secret").string() + "}\n"
                       "nodes:\n"
                       "  - {name: alpha, role: primary, hostname: mail-a.example.org, spool_device: " + (d.path / "x.img").string() + ", addresses: {r: 192.0.2.1}}\n"
                       "  - {name: beta, role: standby, spool_device: /dev/vdb, addresses: {r: 192.0.2.2}}\n"
                       "service: {address: 198.51.100.25/24, interface: eth0}\n";
    auto r = load_string(yaml, "t.yaml");
    REQUIRE(r.errors.empty());
    return *r.config;
}

bool has(const std::vector<Problem>& v, const std::string& path, const std::string& frag) {
    for (const auto& p : v)
        if (p.path == path && p.message.find(frag) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("identify_self: --node wins, then full or short hostname, else an explanation") {
    TempDir d;
    Config c = make_config(d);
    CHECK(identify_self(c, std::string("beta"), "whatever").self->name == "beta");
    CHECK(identify_self(c, std::nullopt, "mail-a.example.org").self->name == "alpha");
    CHECK(identify_self(c, std::nullopt, "beta.example.org").self->name == "beta");
    auto none = identify_self(c, std::nullopt, "mail-c");
    CHECK(none.self == nullptr);
    CHECK(none.why == "this host ('mail-c') is none of the nodes (alpha, beta); set nodes[].hostname or pass --node NAME");
    auto bad = identify_self(c, std::string("gamma"), "x");
    CHECK(bad.self == nullptr);
    CHECK(bad.why == "--node gamma names none of the nodes (alpha, beta)");
}

TEST_CASE("secret file: missing, too open, too short, fine") {
    TempDir d;
    auto missing = read_secret((d.path / "nope").string());
    CHECK(missing.error.find("No such file or directory") != std::string::npos);
    auto open = read_secret(d.write("open", "0123456789abcdef0123", 0644).string());
    CHECK(open.error.find("accessible by group or others (mode 0644); run: chmod 600") != std::string::npos);
    auto short_key = read_secret(d.write("short", "abc\n").string());
    CHECK(short_key.error.find("holds 3 bytes; at least 16 are needed") != std::string::npos);
    auto ok = read_secret(d.write("ok", "0123456789abcdef\n").string());
    CHECK(ok.error.empty());
    CHECK(ok.key == "0123456789abcdef");
}

TEST_CASE("check_host reports the secret file and a missing spool device") {
    TempDir d;
    Config c = make_config(d);
    auto r = check_host(c, c.primary(), read_host_files(d.path.string()));
    CHECK(has(r.errors, "cluster.secret_file", "No such file or directory"));
    CHECK(has(r.errors, "nodes[0].spool_device", "No such file or directory"));
    d.write("secret", "0123456789abcdef0123456789abcdef");
    d.write("x.img", "");
    auto ok = check_host(c, c.primary(), read_host_files(d.path.string()));
    CHECK(ok.errors.empty());
}

TEST_CASE("check_host: the directory of metrics.textfile must exist") {
    TempDir d;
    Config c = make_config(d);
    d.write("secret", "0123456789abcdef0123456789abcdef");
    d.write("x.img", "");
    c.metrics.textfile = (d.path / "missing" / "haspool.prom").string();
    auto r = check_host(c, c.primary(), read_host_files(d.path.string()));
    CHECK(has(r.errors, "metrics.textfile", "the directory " + (d.path / "missing").string() + " of " + c.metrics.textfile +
                                                ": No such file or directory"));
    d.write("file", "");
    c.metrics.textfile = (d.path / "file" / "haspool.prom").string();
    CHECK(has(check_host(c, c.primary(), read_host_files(d.path.string())).errors, "metrics.textfile", "is not a directory"));
    c.metrics.textfile = (d.path / "haspool.prom").string();
    CHECK(check_host(c, c.primary(), read_host_files(d.path.string())).errors.empty());
}

TEST_CASE("check_host checks secret_file_next as secret_file, and that it holds another key") {
    TempDir d;
    Config c = make_config(d);
    c.cluster.secret_file_next = (d.path / "secret.next").string();
    d.write("secret", "0123456789abcdef0123456789abcdef");
    d.write("x.img", "");
    auto missing = check_host(c, c.primary(), read_host_files(d.path.string()));
    CHECK(has(missing.errors, "cluster.secret_file_next", "No such file or directory"));
    d.write("secret.next", "0123456789abcdef0123456789abcdef");
    CHECK(has(check_host(c, c.primary(), read_host_files(d.path.string())).errors, "cluster.secret_file_next", "holds the same key as"));
    d.write("secret.next", "short");
    CHECK(has(check_host(c, c.primary(), read_host_files(d.path.string())).errors, "cluster.secret_file_next", "at least 16 are needed"));
    d.write("secret.next", "fedcba9876543210fedcba9876543210", 0644);
    CHECK(has(check_host(c, c.primary(), read_host_files(d.path.string())).errors, "cluster.secret_file_next", "accessible by group or others"));
    d.write("secret.next", "fedcba9876543210fedcba9876543210");
    CHECK(check_host(c, c.primary(), read_host_files(d.path.string())).errors.empty());
    Secrets s = read_secrets(c.cluster);
    CHECK(s.error.empty());
    CHECK(s.current == "0123456789abcdef0123456789abcdef");
    CHECK(s.next == "fedcba9876543210fedcba9876543210");
}

TEST_CASE("check_host judges the files read below the root: mdadm.conf, fstab through a symlink") {
    TempDir d;
    Config c = make_config(d);
    d.write("secret", "0123456789abcdef0123456789abcdef");
    d.write("x.img", "");
    const std::string root = d.path.string();
    auto facts = [&] {
        DeploymentFacts f = read_host_files(root);
        resolve_host_paths(root, paths_to_resolve(c, c.primary(), f), f);
        return f;
    };
    auto r = check_host(c, c.primary(), facts());
    CHECK(has(r.warnings, "spool.md_device", "mdadm.conf is missing"));
    d.write("etc/mdadm/mdadm.conf", "DEVICE partitions\nAUTO +all\n");
    d.write("etc/fstab", "/dev/md/haspool /var/spool/mail ext4 defaults 0 2\n");
    r = check_host(c, c.primary(), facts());
    CHECK(has(r.warnings, "spool.md_device", "has no 'AUTO -all'"));
    CHECK(has(r.errors, "spool.mount_point", "/etc/fstab line 1 would mount the spool at boot"));
    d.write("etc/mdadm/mdadm.conf", "AUTO -all\n");
    d.write("etc/fstab", "# /dev/md/haspool /var/spool/mail ext4 defaults 0 2\n/dev/md/haspool /var/spool/mail ext4 noauto 0 0\n");
    r = check_host(c, c.primary(), facts());
    CHECK(r.errors.empty());
    // Debian's /var/spool/mail -> ../mail: an fstab line for /var/mail mounts the spool too.
    std::filesystem::create_directories(d.path / "var/mail");
    std::filesystem::create_directories(d.path / "var/spool");
    std::filesystem::create_symlink("../mail", d.path / "var/spool/mail");
    d.write("etc/fstab", "/dev/sdb1 /var/mail ext4 defaults 0 2\n");
    r = check_host(c, c.primary(), facts());
    CHECK(has(r.errors, "spool.mount_point", "'/dev/sdb1 /var/mail' mounts on spool.mount_point /var/spool/mail (both resolve to /var/mail)"));
}
