// The client handshake against a scripted server on a socketpair: GO with block sizes, the
// EXPORT_NAME fallback, refusal of exports without flush/FUA, error replies and short reads.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "blockdev/nbd_client_handshake.hpp"
#include "blockdev/nbd_codec.hpp"
#include "blockdev/socket_io.hpp"

using namespace haspool::nbd;
using namespace std::chrono_literals;

namespace {

constexpr uint16_t kGood = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA;

struct Pair {
    int client = -1, server = -1;
    Pair() {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
        client = sv[0];
        server = sv[1];
    }
    ~Pair() {
        ::close(client);
        if (server >= 0) ::close(server);
    }
};

std::vector<uint8_t> greeting(uint16_t flags = NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES) {
    std::vector<uint8_t> g(18);
    put_be64(g.data(), NBDMAGIC);
    put_be64(g.data() + 8, IHAVEOPT);
    put_be16(g.data() + 16, flags);
    return g;
}

// Reads one option from the client; returns its code and payload.
std::pair<uint32_t, std::vector<uint8_t>> read_option(int fd) {
    uint8_t h[kOptionHeaderSize];
    REQUIRE(read_exact(fd, h, sizeof h, std::nullopt) == 0);
    auto oh = *parse_option_header(h);
    REQUIRE(oh.magic == IHAVEOPT);
    std::vector<uint8_t> p(oh.length);
    if (oh.length) REQUIRE(read_exact(fd, p.data(), p.size(), std::nullopt) == 0);
    return {oh.option, p};
}

// A whole successful handshake as the server sends it (the greeting, then NBD_INFO_EXPORT and
// NBD_REP_ACK to NBD_OPT_GO), written before the client speaks.
std::vector<uint8_t> whole_handshake() {
    std::vector<uint8_t> out = greeting();
    append_option_reply(out, NBD_OPT_GO, NBD_REP_INFO, encode_info_export(1 << 20, kGood));
    append_option_reply(out, NBD_OPT_GO, NBD_REP_ACK, {});
    return out;
}

void send(int fd, const std::vector<uint8_t>& b) { REQUIRE(write_all(fd, b.data(), b.size(), std::nullopt) == 0); }

// A server that answers NBD_OPT_GO with `infos` then `final_type` (+ message).
void go_server(int fd, std::vector<std::vector<uint8_t>> infos, uint32_t final_type, std::string msg = {}) {
    send(fd, greeting());
    uint8_t cf[4];
    REQUIRE(read_exact(fd, cf, 4, std::nullopt) == 0);
    CHECK(get_be32(cf) == (NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES));
    auto [opt, payload] = read_option(fd);
    CHECK(opt == NBD_OPT_GO);
    auto ir = parse_info_request(payload);
    REQUIRE(ir);
    CHECK(ir->name == "disk-y");
    CHECK(ir->requests == std::vector<uint16_t>{NBD_INFO_BLOCK_SIZE});
    std::vector<uint8_t> out;
    for (auto& i : infos) append_option_reply(out, NBD_OPT_GO, NBD_REP_INFO, i);
    append_option_reply(out, NBD_OPT_GO, final_type, std::vector<uint8_t>(msg.begin(), msg.end()));
    send(fd, out);
}

}  // namespace

TEST_CASE("client handshake negotiates size, flags and block sizes with NBD_OPT_GO") {
    Pair p;
    std::thread srv([&] {
        go_server(p.server, {encode_info_block_size(512, 4096, 1 << 20), encode_info_export(1 << 30, kGood)}, NBD_REP_ACK);
    });
    auto r = client_handshake(p.client, "disk-y", 5s);
    srv.join();
    INFO(r.error);
    REQUIRE(r.export_info);
    CHECK(r.export_info->size == 1u << 30);
    CHECK(r.export_info->transmission_flags == kGood);
    CHECK(r.export_info->min_block == 512);
    CHECK(r.export_info->preferred_block == 4096);
    CHECK(r.export_info->max_block == 1u << 20);
}

TEST_CASE("client handshake falls back to NBD_OPT_EXPORT_NAME on NBD_REP_ERR_UNSUP") {
    Pair p;
    std::thread srv([&] {
        go_server(p.server, {}, NBD_REP_ERR_UNSUP);
        auto [opt, payload] = read_option(p.server);
        CHECK(opt == NBD_OPT_EXPORT_NAME);
        CHECK(std::string(payload.begin(), payload.end()) == "disk-y");
        std::vector<uint8_t> e(10);  // NO_ZEROES negotiated: no 124 zero bytes
        put_be64(e.data(), 8 << 20);
        put_be16(e.data() + 8, kGood);
        send(p.server, e);
    });
    auto r = client_handshake(p.client, "disk-y", 5s);
    srv.join();
    INFO(r.error);
    REQUIRE(r.export_info);
    CHECK(r.export_info->size == 8u << 20);
    CHECK(r.export_info->preferred_block == 4096);  // defaults kept
}

TEST_CASE("client handshake refuses an export without SEND_FLUSH unless told otherwise") {
    for (bool require : {true, false}) {
        Pair p;
        std::thread srv([&] { go_server(p.server, {encode_info_export(1 << 20, NBD_FLAG_HAS_FLAGS)}, NBD_REP_ACK); });
        auto r = client_handshake(p.client, "disk-y", 5s, require);
        srv.join();
        if (require) {
            CHECK_FALSE(r.export_info);
            CHECK_THAT(r.error, Catch::Contains("does not offer NBD_FLAG_SEND_FLUSH"));
        } else {
            CHECK(r.export_info);
        }
    }
}

TEST_CASE("client handshake reports the server's error reply with its message") {
    Pair p;
    std::thread srv([&] { go_server(p.server, {}, NBD_REP_ERR_UNKNOWN, "no such export"); });
    auto r = client_handshake(p.client, "disk-y", 5s);
    srv.join();
    CHECK_FALSE(r.export_info);
    CHECK(r.error == "NBD server refused export 'disk-y' with NBD_REP_ERR_UNKNOWN: no such export");
}

TEST_CASE("client handshake fails cleanly when the server closes mid-greeting") {
    Pair p;
    auto g = greeting();
    send(p.server, std::vector<uint8_t>(g.begin(), g.begin() + 10));
    ::close(p.server);
    p.server = -1;
    auto r = client_handshake(p.client, "disk-y", 5s);
    CHECK_FALSE(r.export_info);
    CHECK_THAT(r.error, Catch::Contains("server closed the connection waiting for the NBD greeting"));
}

TEST_CASE("client handshake gives up at its deadline when the server says nothing") {
    Pair p;
    auto r = client_handshake(p.client, "disk-y", 20ms);
    CHECK_FALSE(r.export_info);
    CHECK_THAT(r.error, Catch::Contains("timed out waiting for the NBD greeting"));
}

TEST_CASE("client handshake rejects a non-NBD peer and old-style servers") {
    Pair p;
    send(p.server, std::vector<uint8_t>(18, 'x'));
    auto r = client_handshake(p.client, "disk-y", 5s);
    CHECK_THAT(r.error, Catch::Contains("not an NBD server"));
}

// Found with the hostile servers (tests/interop/blockdev/nbd_client_hostile_servers.sh): bytes a
// server sends after its NBD_REP_ACK, before any request, were left in the socket the primary
// hands to the kernel, which would read them as replies to requests it never sent. The server's
// side is in the socket before the client starts (it need not read the client's option first).
TEST_CASE("client handshake refuses a server that speaks after ending the handshake") {
    Pair p;
    std::vector<uint8_t> out = whole_handshake();
    std::vector<uint8_t> stray(16);
    put_be32(stray.data(), NBD_SIMPLE_REPLY_MAGIC);
    out.insert(out.end(), stray.begin(), stray.end());
    send(p.server, out);
    auto r = client_handshake(p.client, "disk-y", 5s);
    CHECK_FALSE(r.export_info);
    CHECK_THAT(r.error, Catch::Contains("sent 16 bytes after its last handshake reply"));
}

TEST_CASE("client handshake refuses a server that closes right after ending the handshake") {
    Pair p;
    std::vector<uint8_t> out = whole_handshake();
    send(p.server, out);
    ::shutdown(p.server, SHUT_WR);
    auto r = client_handshake(p.client, "disk-y", 5s);
    CHECK_FALSE(r.export_info);
    CHECK_THAT(r.error, Catch::Contains("closed the connection right after the handshake"));
}
