#include <catch2/catch.hpp>

#include "blockdev/nbd_attach.hpp"
#include "blockdev/nbd_netlink.hpp"

using namespace haspool::nbd;
using std::chrono::seconds;

namespace {
KernelConnectRequest good() {
    KernelConnectRequest r;
    r.index = 0;
    r.size_bytes = 128ull << 20;
    r.block_size_bytes = 4096;
    r.io_timeout = seconds(20);
    r.dead_conn_timeout = seconds(3);
    r.socket_fds = {5};
    return r;
}
}  // namespace

TEST_CASE("a complete connect request is valid") { CHECK(validate(good()).empty()); }

TEST_CASE("the I/O timeout must be set: 0 would hang md forever on a dead standby") {
    auto r = good();
    r.io_timeout = seconds(0);
    CHECK(validate(r).find("I/O timeout must be set") != std::string::npos);
}

TEST_CASE("bad connect requests are rejected before the kernel sees them") {
    auto r = good();
    r.socket_fds.clear();
    CHECK(validate(r) == "no socket to hand to the kernel");
    r = good();
    r.block_size_bytes = 3000;
    CHECK(validate(r).find("not a power of two") != std::string::npos);
    r = good();
    r.block_size_bytes = 8192;
    CHECK_FALSE(validate(r).empty());
    r = good();
    r.size_bytes = 4096 * 3 + 512;
    CHECK(validate(r).find("not a multiple of the block size") != std::string::npos);
    r = good();
    r.size_bytes = 0;
    CHECK_FALSE(validate(r).empty());
    r = good();
    r.socket_fds = {-1};
    CHECK(validate(r).find("invalid socket descriptor -1") != std::string::npos);
}

TEST_CASE("connect on an invalid request returns the reason and never reaches netlink") {
    auto r = good();
    r.io_timeout = seconds(0);
    auto res = kernel_connect(r);
    CHECK_FALSE(res.index);
    CHECK(res.error.find("NBD_CMD_CONNECT for /dev/nbd0: the I/O timeout") == 0);
}

TEST_CASE("reconfigure refuses an empty change and a zero timeout") {
    CHECK(kernel_reconfigure(0, "b", {}).find("nothing to change") != std::string::npos);
    CHECK(kernel_reconfigure(0, "b", {}, seconds(0)).find("above 0") != std::string::npos);
}

TEST_CASE("the backend identifier names address, port and export") {
    AttachRequest r;
    r.host = "192.0.2.2";
    r.port = 10809;
    r.export_name = "haspool";
    CHECK(backend_identifier(r) == "192.0.2.2:10809/haspool");
}

TEST_CASE("ADDR:PORT parses, including bracketed IPv6") {
    std::string h;
    uint16_t p = 0;
    CHECK(parse_host_port("192.0.2.2:10809", h, p).empty());
    CHECK(h == "192.0.2.2");
    CHECK(p == 10809);
    CHECK(parse_host_port("[2001:db8::1]:10809", h, p).empty());
    CHECK(h == "2001:db8::1");
    CHECK_FALSE(parse_host_port("192.0.2.2", h, p).empty());
    CHECK_FALSE(parse_host_port("192.0.2.2:0", h, p).empty());
    CHECK_FALSE(parse_host_port("192.0.2.2:70000", h, p).empty());
    CHECK_FALSE(parse_host_port("192.0.2.2:10x", h, p).empty());
}
