// One case per validation rule, asserting the sentence an operator reads.
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>

#include "config/config_loader.hpp"

using namespace haspool::config;

namespace {

const char* kValid = R"(cluster:
  name: mailspool
  secret_file: /etc/haspool/secret
nodes:
  - name: alpha
    role: primary
    spool_device: /dev/vdb
    addresses: {replication: 192.0.2.1, service: 198.51.100.11}
  - name: beta
    role: standby
    spool_device: /dev/vdb
    addresses: {replication: 192.0.2.2, service: 198.51.100.12}
service:
  address: 198.51.100.25/24
  interface: eth0
)";

LoadResult load(const std::string& yaml) { return load_string(yaml, "test.yaml"); }

// Appends `extra` (top-level YAML) to the valid base.
LoadResult with(const std::string& extra) { return load(std::string(kValid) + extra); }

std::vector<std::string> messages(const LoadResult& r) {
    std::vector<std::string> v;
    for (const auto& e : r.errors) v.push_back(e.path + ": " + e.message);
    return v;
}

bool has_error(const LoadResult& r, const std::string& path, const std::string& fragment) {
    for (const auto& e : r.errors)
        if (e.path == path && e.message.find(fragment) != std::string::npos) return true;
    return false;
}

std::string dump(const LoadResult& r) {
    std::string s;
    for (const auto& m : messages(r)) s += m + "\n";
    return s;
}

#define REQUIRE_ERROR(r, path, fragment)           \
    do {                                           \
        INFO(dump(r));                             \
        REQUIRE_FALSE((r).config.has_value());     \
        REQUIRE(has_error((r), (path), (fragment))); \
    } while (0)

}  // namespace

TEST_CASE("a minimal valid file loads with the documented defaults") {
    auto r = load(kValid);
    INFO(dump(r));
    REQUIRE(r.errors.empty());
    const Config& c = *r.config;
    CHECK(c.cluster.name == "mailspool");
    CHECK(c.primary().name == "alpha");
    CHECK(c.standby().name == "beta");
    CHECK(c.heartbeat.interval == Millis(500));
    CHECK(c.heartbeat.dead_after == Millis(3000));
    CHECK(c.heartbeat.paths == std::vector<std::string>{"replication", "service"});
    CHECK(c.nbd.path == "replication");
    CHECK(c.nbd_listen_address() == "192.0.2.2");
    CHECK(c.nbd.allowed_peers == std::vector<std::string>{"192.0.2.1"});
    CHECK(c.nbd.port == 10809);
    CHECK(c.spool.md_device == "/dev/md/haspool");
    CHECK(c.spool.mount_point == "/var/spool/mail");
    CHECK(c.failback.policy == FailbackPolicy::manual);
    CHECK_FALSE(c.spool.raw_mount_fallback);  // explicit: off unless asked for
    CHECK(r.warnings.empty());
    CHECK(c.nodes[0].hostname == "alpha");
}

TEST_CASE("the annotated example file round-trips without problems") {
    auto r = load_file(std::string(HASPOOL_SOURCE_DIR) + "/config/haspool.example.yaml");
    INFO(dump(r));
    REQUIRE(r.errors.empty());
    const Config& c = *r.config;
    // The example shows every default: what it states must equal what the loader assumes.
    Config d;
    CHECK(c.heartbeat.port == d.heartbeat.port);
    CHECK(c.heartbeat.interval == d.heartbeat.interval);
    CHECK(c.heartbeat.dead_after == d.heartbeat.dead_after);
    CHECK(c.heartbeat.stable_after == d.heartbeat.stable_after);
    CHECK(c.heartbeat.max_clock_skew == d.heartbeat.max_clock_skew);
    CHECK(c.nbd.port == d.nbd.port);
    CHECK(c.nbd.io_timeout == d.nbd.io_timeout);
    CHECK(c.nbd.dead_conn_timeout == d.nbd.dead_conn_timeout);
    CHECK(c.nbd.timeout_margin == d.nbd.timeout_margin);
    CHECK(c.nbd.block_size == d.nbd.block_size);
    CHECK(c.spool.md_device == d.spool.md_device);
    CHECK(c.spool.fsck_timeout == d.spool.fsck_timeout);
    CHECK(c.spool.raw_mount_fallback == d.spool.raw_mount_fallback);
    CHECK(c.service.garp.count == d.service.garp.count);
    CHECK(c.service.garp.repeat_after == d.service.garp.repeat_after);
    CHECK(c.fence.timeout == d.fence.timeout);
    CHECK(c.failback.hold_off == d.failback.hold_off);
    CHECK(c.nodes[0].hostname == "mail-a");
    CHECK(c.service.units.size() == 2);
}

TEST_CASE("yaml syntax errors name the file, line and column") {
    auto r = load("cluster:\n  name: [unclosed\n");
    REQUIRE(r.errors.size() == 1);
    CHECK_THAT(r.errors[0].message, Catch::Matches("test\\.yaml:\\d+:\\d+: YAML syntax error: .*"));
}

TEST_CASE("a missing file is named with the reason") {
    auto r = load_file("/nonexistent/haspool.yaml");
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].message == "cannot read /nonexistent/haspool.yaml: No such file or directory");
}

TEST_CASE("unknown keys are errors, with a suggestion for typos") {
    auto r = with("heartbeat:\n  intervall_ms: 500\n");
    REQUIRE_ERROR(r, "heartbeat.intervall_ms", "unknown key (did you mean 'interval_ms'?)");
    auto r2 = with("frobnicate: 1\n");
    REQUIRE_ERROR(r2, "frobnicate", "unknown key");
}

TEST_CASE("missing required keys are named") {
    auto r = load("nodes: []\n");
    REQUIRE_ERROR(r, "cluster", "required key is missing");
    REQUIRE(has_error(r, "service", "required key is missing"));
    auto r2 = load(std::regex_replace(std::string(kValid), std::regex("  secret_file: .*\n"), ""));
    REQUIRE_ERROR(r2, "cluster.secret_file", "required key is missing");
    auto r3 = load(std::regex_replace(std::string(kValid), std::regex("    role: standby\n"), ""));
    REQUIRE_ERROR(r3, "nodes[1].role", "required key is missing");
}

TEST_CASE("type errors say what was expected and what was found") {
    REQUIRE_ERROR(with("heartbeat:\n  interval_ms: fast\n"), "heartbeat.interval_ms", "must be a whole number, got 'fast'");
    REQUIRE_ERROR(with("heartbeat:\n  interval_ms: [1]\n"), "heartbeat.interval_ms", "must be a whole number, got a list");
    REQUIRE_ERROR(with("service_x: 1\nheartbeat: 5\n"), "heartbeat", "must be a mapping");
    auto r = load(std::regex_replace(std::string(kValid), std::regex("  interface: eth0\n"), "  interface: eth0\n  probe: maybe\n"));
    REQUIRE_ERROR(r, "service.probe", "must be true or false, got 'maybe'");
}

TEST_CASE("enumerations list the allowed values") {
    REQUIRE_ERROR(with("failback:\n  policy: sometimes\n"), "failback.policy", "must be one of manual, auto (got 'sometimes')");
    REQUIRE_ERROR(with("spool:\n  filesystem: btrfs\n"), "spool.filesystem", "must be one of ext4, ext3, ext2, xfs (got 'btrfs')");
}

TEST_CASE("ports must be 1..65535") {
    REQUIRE_ERROR(with("nbd:\n  port: 70000\n"), "nbd.port", "must be between 1 and 65535 (got 70000)");
    REQUIRE_ERROR(with("heartbeat:\n  port: 0\n"), "heartbeat.port", "must be between 1 and 65535 (got 0)");
}

TEST_CASE("addresses must be IP addresses") {
    auto r = load(std::regex_replace(std::string(kValid), std::regex("192\\.0\\.2\\.2"), "192.0.2.300"));
    REQUIRE_ERROR(r, "nodes[1].addresses.replication", "is not an IPv4 or IPv6 address ('192.0.2.300')");
    REQUIRE_ERROR(with("nbd:\n  allowed_peers: [alpha]\n"), "nbd.allowed_peers[0]", "is not an IPv4 or IPv6 address ('alpha')");
}

TEST_CASE("IPv6 addresses are accepted") {
    auto r = load(std::regex_replace(std::string(kValid), std::regex("192\\.0\\.2\\.(\\d)"), "2001:db8::$1"));
    INFO(dump(r));
    CHECK(r.errors.empty());
}

// Issue 14 item 6: the takeover adds the address with ARP, IPv4 only; until NDP (DAD,
// unsolicited NAs) is built, check-config refuses what the takeover would refuse.
TEST_CASE("an IPv6 service address is refused by check-config, not at the takeover") {
    auto r = load(std::regex_replace(std::string(kValid), std::regex("198\\.51\\.100\\.25/24"), "2001:db8::25/64"));
    REQUIRE_ERROR(r, "service.address", "is IPv6 (2001:db8::25/64): this build moves only IPv4 service addresses");
}

TEST_CASE("the service address needs a prefix length") {
    auto r = load(std::regex_replace(std::string(kValid), std::regex("198\\.51\\.100\\.25/24"), "198.51.100.25"));
    REQUIRE_ERROR(r, "service.address", "must be an address with prefix length");
    auto r2 = load(std::regex_replace(std::string(kValid), std::regex("198\\.51\\.100\\.25/24"), "198.51.100.25/33"));
    REQUIRE_ERROR(r2, "service.address", "(got '198.51.100.25/33')");
}

TEST_CASE("cluster.secret_file_next: optional, absolute, not the same file as secret_file") {
    auto none = load(kValid);
    REQUIRE(none.config);
    CHECK(none.config->cluster.secret_file_next.empty());
    auto r = load(std::regex_replace(std::string(kValid), std::regex("  secret_file: .*\n"),
                                     "  secret_file: /etc/haspool/secret\n  secret_file_next: /etc/haspool/secret.next\n"));
    REQUIRE(r.config);
    CHECK(r.config->cluster.secret_file_next == "/etc/haspool/secret.next");
    auto rel = load(std::regex_replace(std::string(kValid), std::regex("  secret_file: .*\n"),
                                       "  secret_file: /etc/haspool/secret\n  secret_file_next: secret.next\n"));
    REQUIRE_ERROR(rel, "cluster.secret_file_next", "must be an absolute path (got 'secret.next')");
    auto same = load(std::regex_replace(std::string(kValid), std::regex("  secret_file: .*\n"),
                                        "  secret_file: /etc/haspool/secret\n  secret_file_next: /etc/haspool/secret\n"));
    REQUIRE_ERROR(same, "cluster.secret_file_next", "names the same file as cluster.secret_file");
}

TEST_CASE("cluster.control_group: root only by default, a group name or refused") {
    auto none = load(kValid);
    REQUIRE(none.config);
    CHECK(none.config->cluster.control_group.empty());
    auto set = [](const std::string& v) {
        return load(std::regex_replace(std::string(kValid), std::regex("  secret_file: .*\n"),
                                       "  secret_file: /etc/haspool/secret\n  control_group: " + v + "\n"));
    };
    for (const char* ok : {"haspool", "mail-admins", "_ops", "Ops2", "machine$"}) {
        INFO(ok);
        auto r = set(ok);
        REQUIRE(r.config);
        CHECK(r.config->cluster.control_group == ok);
    }
    for (const char* bad : {"2ops", "-ops", "ops admin", "ops/x", "a$b", "abcdefghijklmnopqrstuvwxyzabcdefg"}) {
        INFO(bad);
        REQUIRE_ERROR(set(std::string("'") + bad + "'"), "cluster.control_group", "must be a group name");
    }
    REQUIRE_ERROR(set("[wheel]"), "cluster.control_group", "must be a string");
}

TEST_CASE("paths must be absolute") {
    auto r = load(std::regex_replace(std::string(kValid), std::regex("/etc/haspool/secret"), "secret"));
    REQUIRE_ERROR(r, "cluster.secret_file", "must be an absolute path (got 'secret')");
    REQUIRE_ERROR(with("spool:\n  mount_point: var/spool/mail\n"), "spool.mount_point", "must be an absolute path");
}

TEST_CASE("commands are argv lists with an absolute program") {
    REQUIRE_ERROR(with("fence:\n  command: [fence-peer, --now]\n"), "fence.command",
                  "the program must be an absolute path (got 'fence-peer')");
}

TEST_CASE("units must be systemd unit names") {
    auto r = load(std::regex_replace(std::string(kValid), std::regex("  interface: eth0\n"), "  interface: eth0\n  units: [postfix]\n"));
    REQUIRE_ERROR(r, "service.units[0]", "is not a systemd unit name");
}

TEST_CASE("exactly one primary and one standby") {
    auto r = load(std::regex_replace(std::string(kValid), std::regex("role: standby"), "role: primary"));
    REQUIRE_ERROR(r, "nodes", "must have one node with role primary and one with role standby (got 2 primary, 0 standby)");
    auto r2 = load(std::regex_replace(std::string(kValid), std::regex("name: beta"), "name: alpha"));
    REQUIRE_ERROR(r2, "nodes[1].name", "duplicates another node's name ('alpha')");
}

TEST_CASE("every node needs an address on every heartbeat path") {
    auto r = load(std::regex_replace(std::string(kValid), std::regex(", service: 198\\.51\\.100\\.12"), ""));
    REQUIRE_ERROR(r, "nodes[1].addresses.service", "node 'beta' has no address on heartbeat path 'service'");
}

TEST_CASE("dead_after must be at least 3 intervals") {
    REQUIRE_ERROR(with("heartbeat:\n  interval_ms: 200\n  dead_after_ms: 300\n"), "heartbeat.dead_after_ms",
                  "must be at least 3 × interval_ms (got 300 with interval 200)");
}

TEST_CASE("the zero-loss timing rule: io_timeout > dead_after + fence timeout + margin") {
    auto r = with("nbd:\n  io_timeout_ms: 15000\nfence:\n  command: [/bin/true]\n  timeout_ms: 10000\n");
    REQUIRE_ERROR(r, "nbd.io_timeout_ms",
                  "must be greater than heartbeat.dead_after_ms + fence.timeout_ms + nbd.timeout_margin_ms = "
                  "3000 + 10000 + 2000 = 15000 ms (got 15000)");
    // Without a fence command the fence timeout does not count.
    auto ok = with("nbd:\n  io_timeout_ms: 5001\n");
    INFO(dump(ok));
    CHECK(ok.errors.empty());
}

TEST_CASE("the dead-connection timeout must not exceed dead_after") {
    REQUIRE_ERROR(with("nbd:\n  dead_conn_timeout_ms: 4000\n"), "nbd.dead_conn_timeout_ms",
                  "must be at most heartbeat.dead_after_ms (got 4000 with dead_after 3000)");
}

TEST_CASE("the nbd path must be a heartbeat path") {
    REQUIRE_ERROR(with("nbd:\n  path: storage\n"), "nbd.path", "names no heartbeat path ('storage')");
}

TEST_CASE("block size and bitmap chunk must be powers of two") {
    REQUIRE_ERROR(with("nbd:\n  block_size: 3000\n"), "nbd.block_size", "must be a power of two (got 3000)");
    REQUIRE_ERROR(with("spool:\n  bitmap_chunk_kib: 100\n"), "spool.bitmap_chunk_kib", "must be 0 (mdadm's choice) or a power of two");
}

TEST_CASE("a service interface is required somewhere") {
    auto r = load(std::regex_replace(std::string(kValid), std::regex("  interface: eth0\n"), ""));
    REQUIRE_ERROR(r, "service.interface", "required unless every node sets service_interface (node 'alpha' does not)");
}

TEST_CASE("all problems are reported at once, each with its line") {
    auto r = with("heartbeat:\n  port: 0\n  intervall_ms: 1\nnbd:\n  port: -1\nfailback:\n  policy: never\n");
    INFO(dump(r));
    REQUIRE(r.errors.size() >= 4);
    for (const auto& e : r.errors) CHECK(e.line > 0);
    CHECK(has_error(r, "heartbeat.port", "between"));
    CHECK(has_error(r, "heartbeat.intervall_ms", "unknown key"));
    CHECK(has_error(r, "nbd.port", "between"));
    CHECK(has_error(r, "failback.policy", "must be one of"));
}

TEST_CASE("write-behind is allowed but warned about") {
    auto r = with("spool:\n  write_behind: 256\n");
    REQUIRE(r.errors.empty());
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0].path == "spool.write_behind");
}

TEST_CASE("the raw-mount fallback is opt-in, and warned about when on") {
    auto on = with("spool:\n  raw_mount_fallback: true\n");
    INFO(dump(on));
    REQUIRE(on.errors.empty());
    CHECK(on.config->spool.raw_mount_fallback);
    REQUIRE(on.warnings.size() == 1);
    CHECK(on.warnings[0].path == "spool.raw_mount_fallback");
    CHECK(on.warnings[0].message.find("copies the whole spool") != std::string::npos);

    auto off = with("spool:\n  raw_mount_fallback: false\n");
    REQUIRE(off.errors.empty());
    CHECK_FALSE(off.config->spool.raw_mount_fallback);
    CHECK(off.warnings.empty());

    REQUIRE_ERROR(with("spool:\n  raw_mount_fallback: sometimes\n"), "spool.raw_mount_fallback", "must be true or false");
}

TEST_CASE("metrics.textfile: off by default, an absolute file, .prom or warned about") {
    auto none = load(kValid);
    REQUIRE(none.config);
    CHECK(none.config->metrics.textfile.empty());
    auto on = with("metrics:\n  textfile: /var/lib/prometheus/node-exporter/haspool.prom\n");
    INFO(dump(on));
    REQUIRE(on.errors.empty());
    CHECK(on.warnings.empty());
    CHECK(on.config->metrics.textfile == "/var/lib/prometheus/node-exporter/haspool.prom");
    REQUIRE_ERROR(with("metrics:\n  textfile: haspool.prom\n"), "metrics.textfile",
                  "must be an absolute path (got 'haspool.prom')");
    REQUIRE_ERROR(with("metrics:\n  textfile: /var/lib/node-exporter/\n"), "metrics.textfile",
                  "must name a file, not a directory");
    REQUIRE_ERROR(with("metrics:\n  text_file: /x.prom\n"), "metrics.text_file", "unknown key (did you mean 'textfile'?)");
    auto txt = with("metrics:\n  textfile: /run/haspool.txt\n");
    REQUIRE(txt.errors.empty());
    REQUIRE(txt.warnings.size() == 1);
    CHECK(txt.warnings[0].path == "metrics.textfile");
    CHECK(txt.warnings[0].message.find("reads only files ending in .prom") != std::string::npos);
}

TEST_CASE("nbd.tls: off by default, off and required accepted, anything else refused") {
    auto none = load(kValid);
    REQUIRE(none.config);
    CHECK(none.config->nbd.tls == NbdTls::off);
    auto off = with("nbd:\n  tls: off\n");
    INFO(dump(off));
    REQUIRE(off.config);
    CHECK(off.config->nbd.tls == NbdTls::off);
    CHECK(off.warnings.empty());
    auto req = with("nbd:\n  tls: required\n");
    INFO(dump(req));
    REQUIRE(req.config);
    CHECK(req.config->nbd.tls == NbdTls::required);
    CHECK(req.config->nbd.tls_keys.empty());  // never from the file: the daemon derives them
    REQUIRE_ERROR(with("nbd:\n  tls: yes\n"), "nbd.tls", "must be one of off, required (got 'yes')");
    auto colon = load(std::regex_replace(std::string(kValid), std::regex("name: mailspool"), "name: mail:spool") +
                      "nbd:\n  tls: required\n");
    REQUIRE_ERROR(colon, "cluster.name", "may not contain ':'");
}
