// SpoolExport: the standby's embedded export of Y, on loopback with a file as Y. It starts, serves
// a real NBD handshake, stops (the listener is gone: the primary cannot reconnect), starts again.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "../loopback.hpp"
#include "../temp_dir.hpp"
#include "agent_test_support.hpp"
#include "blockdev/nbd_client_handshake.hpp"
#include "agent/core/plans.hpp"
#include "agent/system/spool_export.hpp"
#include "agent/system/nbd_tls_keys.hpp"
#include "blockdev/nbd_attach.hpp"
#include "blockdev/tls_channel.hpp"

using namespace haspool;
using namespace haspool::agent;

namespace {

using haspool::test::loopback_connect;
using haspool::test::loopback_free_port;

// What StartExport carries (Plans::start_export), with `y` as the device.
ExportSpec spec_of(const step::StartExport& s, const std::string& y) {
    return {y, s.listen_address, s.port, s.export_name, s.allow, s.description, s.tls.required, tls_psks(s.tls.keys)};
}

// A `bytes`-long file of zeros standing in for Y.
std::string y_file(haspool::test::TempDir& d, size_t bytes) {
    std::string p = d.write("y.img", "").string();
    REQUIRE(::truncate(p.c_str(), static_cast<off_t>(bytes)) == 0);
    return p;
}

}  // namespace

TEST_CASE("spool export: start, serve a handshake, stop refuses reconnects, start again") {
    config::Config c = agent::test::example_config();
    c.nbd.listen_address = "127.0.0.1";
    c.nbd.allowed_peers = {"127.0.0.1"};
    c.nbd.port = loopback_free_port();
    haspool::test::TempDir dir;
    std::string y = y_file(dir, 4 << 20);
    std::vector<std::string> events;
    const ExportSpec spec = spec_of(Plans(c).start_export(), y);
    SpoolExport ex([&](const std::string& kind, const std::string&) { events.push_back(kind); });
    CHECK_FALSE(ex.running());
    CHECK(loopback_connect(c.nbd.port) == -1);

    REQUIRE(ex.start(spec) == "");
    CHECK(ex.running());
    CHECK(ex.start(spec) == "");  // idempotent
    int fd = loopback_connect(c.nbd.port);
    REQUIRE(fd >= 0);
    auto h = nbd::client_handshake(fd, c.nbd.export_name, std::chrono::seconds(5));
    REQUIRE(h.error == "");
    CHECK(h.export_info->size == (4u << 20));
    ::close(fd);

    REQUIRE(ex.stop() == "");
    CHECK_FALSE(ex.running());
    CHECK(ex.stop() == "");  // idempotent
    CHECK(loopback_connect(c.nbd.port) == -1);

    REQUIRE(ex.start(spec) == "");
    fd = loopback_connect(c.nbd.port);
    REQUIRE(fd >= 0);
    CHECK(nbd::client_handshake(fd, c.nbd.export_name, std::chrono::seconds(5)).error == "");
    ::close(fd);
}

TEST_CASE("spool export: a start with other settings (a reload changed them) restarts it with those") {
    config::Config c = agent::test::example_config();
    c.nbd.listen_address = "127.0.0.1";
    c.nbd.allowed_peers = {"127.0.0.1"};
    c.nbd.port = loopback_free_port();
    haspool::test::TempDir dir;
    std::string y = y_file(dir, 4 << 20);
    SpoolExport ex(nullptr);
    REQUIRE(ex.start(spec_of(Plans(c).start_export(), y)) == "");
    const uint16_t old_port = c.nbd.port;
    c.nbd.port = loopback_free_port();
    c.nbd.export_name = "spool2";
    REQUIRE(ex.start(spec_of(Plans(c).start_export(), y)) == "");
    CHECK(ex.running());
    CHECK(loopback_connect(old_port) == -1);
    int fd = loopback_connect(c.nbd.port);
    REQUIRE(fd >= 0);
    CHECK(nbd::client_handshake(fd, "spool2", std::chrono::seconds(5)).error == "");
    ::close(fd);
}

TEST_CASE("spool export: a missing Y is an error that names it") {
    config::Config c = agent::test::example_config();
    c.nbd.listen_address = "127.0.0.1";
    c.nbd.port = loopback_free_port();
    SpoolExport ex(nullptr);
    std::string e = ex.start(spec_of(Plans(c).start_export(), "/nonexistent/haspool-y"));
    CHECK_THAT(e, Catch::Contains("/nonexistent/haspool-y"));
    CHECK_FALSE(ex.running());
}

TEST_CASE("spool export under nbd.tls: required: TLS with the daemon's keys, plain and wrong keys refused") {
    config::Config c = agent::test::example_config();
    c.nbd.listen_address = "127.0.0.1";
    c.nbd.allowed_peers = {"127.0.0.1"};
    c.nbd.port = loopback_free_port();
    c.nbd.tls = config::NbdTls::required;
    haspool::test::TempDir dir;
    std::string y = y_file(dir, 4 << 20);
    SpoolExport ex(nullptr);
    // No key derived: refused, not served in plain.
    std::string e = ex.start(spec_of(Plans(c).start_export(), y));
    CHECK_THAT(e, Catch::Contains("nbd.tls is required and this node has no TLS key"));
    CHECK_FALSE(ex.running());
    CHECK(loopback_connect(c.nbd.port) == -1);

    std::string why;
    c.nbd.tls_keys = nbd_tls_link_keys(c, "current secret", "next secret", why);
    REQUIRE(c.nbd.tls_keys.size() == 2);
    REQUIRE(ex.start(spec_of(Plans(c).start_export(), y)) == "");
    auto client = [&](const std::string& secret) {
        auto k = nbd_tls_keys(c.cluster.name, secret, "", why);
        REQUIRE(k.size() == 1);
        return nbd::TlsContext::make(nbd::TlsContext::Side::client, k[0], why);
    };
    // Either secret of a rotation is admitted.
    for (const char* secret : {"current secret", "next secret"}) {
        INFO(secret);
        auto ctx = client(secret);
        REQUIRE(ctx);
        int fd = loopback_connect(c.nbd.port);
        REQUIRE(fd >= 0);
        auto h = nbd::client_handshake(fd, c.nbd.export_name, std::chrono::seconds(5), true, {ctx.get(), false});
        CHECK(h.error == "");
        CHECK(h.encrypted);
        ::close(fd);
    }
    // Plain NBD, and TLS with a key from another secret: refused.
    int fd = loopback_connect(c.nbd.port);
    REQUIRE(fd >= 0);
    CHECK_FALSE(nbd::client_handshake(fd, c.nbd.export_name, std::chrono::seconds(5)).export_info);
    ::close(fd);
    auto wrong = client("some other secret");
    REQUIRE(wrong);
    fd = loopback_connect(c.nbd.port);
    REQUIRE(fd >= 0);
    CHECK_FALSE(nbd::client_handshake(fd, c.nbd.export_name, std::chrono::seconds(5), true, {wrong.get(), false}).export_info);
    ::close(fd);

    // A rotation's last reload: the export takes only the next secret's key. An open session
    // keeps going; a new client with the old key is refused, one with the new key served.
    auto old_ctx = client("current secret");
    int held = loopback_connect(c.nbd.port);
    REQUIRE(held >= 0);
    auto kept = nbd::client_handshake(held, c.nbd.export_name, std::chrono::seconds(5), true, {old_ctx.get(), false});
    REQUIRE(kept.error == "");
    REQUIRE(ex.replace_tls_keys(nbd_tls_keys(c.cluster.name, "next secret", "", why)) == "");
    CHECK(ex.open_sessions() == 1);
    fd = loopback_connect(c.nbd.port);
    REQUIRE(fd >= 0);
    CHECK_FALSE(nbd::client_handshake(fd, c.nbd.export_name, std::chrono::seconds(5), true, {old_ctx.get(), false}).export_info);
    ::close(fd);
    auto new_ctx = client("next secret");
    fd = loopback_connect(c.nbd.port);
    REQUIRE(fd >= 0);
    CHECK(nbd::client_handshake(fd, c.nbd.export_name, std::chrono::seconds(5), true, {new_ctx.get(), false}).error == "");
    ::close(fd);
    ::close(held);
    CHECK(ex.replace_tls_keys({}) == "no TLS key to replace the export's keys with");

    // The primary's attach with keys the export does not hold: each key is tried on its own
    // connection, and the error names every identity refused (the kernel is never reached).
    nbd::AttachRequest r;
    r.host = "127.0.0.1";
    r.port = c.nbd.port;
    r.export_name = c.nbd.export_name;
    r.connect_timeout = std::chrono::milliseconds(3000);
    r.tls_required = true;
    r.tls_keys = nbd_tls_keys(c.cluster.name, "old secret", "other secret", why);
    REQUIRE(r.tls_keys.size() == 2);
    nbd::AttachResult res = nbd::attach(r);
    CHECK_THAT(res.error, Catch::Contains("with key '" + r.tls_keys[0].identity + "'"));
    CHECK_THAT(res.error, Catch::Contains("with key '" + r.tls_keys[1].identity + "'"));
    r.tls_keys.clear();
    CHECK_THAT(nbd::attach(r).error, Catch::Contains("nbd.tls is required and no TLS key was given"));
}

TEST_CASE("device claims: a regular file is never claimed, a missing device says why") {
    haspool::test::TempDir dir;
    CHECK(device_claimed_by(y_file(dir, 4096)) == "");
    CHECK_THAT(device_claimed_by("/nonexistent/dev"), Catch::Contains("cannot stat"));
}
