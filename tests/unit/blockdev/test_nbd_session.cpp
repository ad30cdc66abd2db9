// An NBD session over a socketpair, driven byte by byte: pipelined requests, replies matched by
// cookie, validation errors that keep the session, malformed frames, short reads, a client that
// disconnects mid-payload and one that stalls. Also the server handshake against our client.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <future>
#include <map>
#include <thread>

#include "blockdev/nbd_client_handshake.hpp"
#include "blockdev/nbd_codec.hpp"
#include "blockdev/nbd_server_handshake.hpp"
#include "blockdev/nbd_session.hpp"
#include "blockdev/socket_io.hpp"

using namespace haspool::nbd;
using namespace std::chrono_literals;

namespace {

constexpr uint64_t kSize = 1 << 20;

struct TempImage {
    std::string path;
    TempImage() {
        char tmpl[] = "/tmp/haspool-session-XXXXXX";
        int fd = ::mkstemp(tmpl);
        REQUIRE(fd >= 0);
        REQUIRE(::ftruncate(fd, kSize) == 0);
        ::close(fd);
        path = tmpl;
    }
    ~TempImage() { ::unlink(path.c_str()); }
};

struct Harness {
    TempImage img;
    std::unique_ptr<ExportDevice> dev;
    ServerCounters counters;
    int client = -1, server = -1;
    std::unique_ptr<Session> session;
    std::future<std::string> done;

    explicit Harness(bool structured = false, std::chrono::milliseconds stall = 5s) {
        auto o = ExportDevice::open(img.path, false);
        REQUIRE(o.device);
        dev = std::move(o.device);
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
        client = sv[0];
        server = sv[1];
        ExportLimits l;
        l.size = kSize;
        l.max_request = 1 << 16;
        l.transmission_flags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM |
                               NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_SEND_CACHE;
        Session::Params p;
        p.workers = 4;
        p.stall_timeout = stall;
        session = std::make_unique<Session>(server, *dev, l, NegotiatedSession{structured}, counters, p);
        done = std::async(std::launch::async, [this] { return session->run(); });
    }
    ~Harness() {
        session->shutdown();
        if (done.valid()) done.wait();
        ::close(client);
        ::close(server);
    }
    void send_bytes(const void* p, std::size_t n) { REQUIRE(write_all(client, p, n, std::nullopt) == 0); }
    void send_request(uint16_t type, uint64_t cookie, uint64_t offset, uint32_t length, uint16_t flags = 0,
                      uint32_t magic = NBD_REQUEST_MAGIC) {
        Request r{magic, flags, type, cookie, offset, length};
        uint8_t b[kRequestHeaderSize];
        encode_request(r, b);
        send_bytes(b, sizeof b);
    }
    SimpleReply read_simple() {
        uint8_t b[kSimpleReplySize];
        REQUIRE(read_exact(client, b, sizeof b, std::chrono::steady_clock::now() + 10s) == 0);
        auto r = parse_simple_reply(b);
        REQUIRE(r);
        return *r;
    }
    std::string wait_closed() {
        REQUIRE(done.wait_for(10s) == std::future_status::ready);
        return done.get();
    }
};

}  // namespace

TEST_CASE("session writes, flushes and reads back with simple replies") {
    Harness h;
    std::string data(4096, 'A');
    h.send_request(NBD_CMD_WRITE, 1, 8192, 4096, NBD_CMD_FLAG_FUA);
    h.send_bytes(data.data(), data.size());
    auto w = h.read_simple();
    CHECK(w.cookie == 1);
    CHECK(w.error == 0);
    h.send_request(NBD_CMD_FLUSH, 2, 0, 0);
    CHECK(h.read_simple().error == 0);
    h.send_request(NBD_CMD_READ, 3, 8192, 4096);
    auto r = h.read_simple();
    CHECK(r.cookie == 3);
    REQUIRE(r.error == 0);
    std::string back(4096, '\0');
    REQUIRE(read_exact(h.client, back.data(), back.size(), std::nullopt) == 0);
    CHECK(back == data);
    CHECK(h.counters.bytes_written == 4096);
    CHECK(h.counters.bytes_read == 4096);
}

TEST_CASE("session answers pipelined requests, each reply carrying its own cookie") {
    Harness h;
    for (uint64_t c = 100; c < 132; ++c) h.send_request(NBD_CMD_CACHE, c, (c - 100) * 4096, 4096);
    std::map<uint64_t, uint32_t> seen;
    for (int i = 0; i < 32; ++i) {
        auto r = h.read_simple();
        seen[r.cookie] = r.error;
    }
    CHECK(seen.size() == 32);
    CHECK(seen.begin()->first == 100);
    CHECK(seen.rbegin()->first == 131);
}

TEST_CASE("session rejects an out-of-range write with ENOSPC, consumes its payload and carries on") {
    Harness h;
    std::string data(512, 'x');
    h.send_request(NBD_CMD_WRITE, 7, kSize - 256, 512);
    h.send_bytes(data.data(), data.size());
    auto r = h.read_simple();
    CHECK(r.cookie == 7);
    CHECK(r.error == NBD_ENOSPC);
    h.send_request(NBD_CMD_FLUSH, 8, 0, 0);
    CHECK(h.read_simple().error == 0);
    CHECK(h.counters.rejected_requests == 1);
    CHECK(h.counters.bytes_written == 0);
}

TEST_CASE("session with structured replies sends READ data and errors as chunks") {
    Harness h(true);
    h.send_request(NBD_CMD_READ, 9, 0, 16);
    uint8_t hdr[kStructuredReplyHeaderSize + 8 + 16];
    REQUIRE(read_exact(h.client, hdr, sizeof hdr, std::nullopt) == 0);
    auto s = parse_structured_reply_header(hdr);
    REQUIRE(s);
    CHECK(s->type == NBD_REPLY_TYPE_OFFSET_DATA);
    CHECK(s->flags == NBD_REPLY_FLAG_DONE);
    CHECK(s->cookie == 9);
    CHECK(s->length == 24);
    h.send_request(NBD_CMD_READ, 10, kSize, 16);
    uint8_t eh[kStructuredReplyHeaderSize + 6];
    REQUIRE(read_exact(h.client, eh, sizeof eh, std::nullopt) == 0);
    auto e = parse_structured_reply_header(eh);
    REQUIRE(e);
    CHECK(e->type == NBD_REPLY_TYPE_ERROR);
    CHECK(get_be32(eh + kStructuredReplyHeaderSize) == NBD_EINVAL);
    std::string msg(get_be16(eh + kStructuredReplyHeaderSize + 4), '\0');
    REQUIRE(read_exact(h.client, msg.data(), msg.size(), std::nullopt) == 0);
    CHECK_THAT(msg, Catch::Contains("out of range"));
}

TEST_CASE("session reassembles a request header that arrives in pieces") {
    Harness h;
    Request r{NBD_REQUEST_MAGIC, 0, NBD_CMD_FLUSH, 77, 0, 0};
    uint8_t b[kRequestHeaderSize];
    encode_request(r, b);
    for (std::size_t i = 0; i < sizeof b; i += 5) h.send_bytes(b + i, std::min<std::size_t>(5, sizeof b - i));
    CHECK(h.read_simple().cookie == 77);
}

TEST_CASE("session closes on a bad request magic") {
    Harness h;
    h.send_request(NBD_CMD_READ, 1, 0, 512, 0, 0x12345678);
    CHECK_THAT(h.wait_closed(), Catch::Contains("bad request magic 0x12345678"));
}

TEST_CASE("session closes on an oversize write without reading its payload") {
    Harness h;
    h.send_request(NBD_CMD_WRITE, 1, 0, (1 << 16) + 1);
    CHECK_THAT(h.wait_closed(), Catch::Contains("exceeds the maximum request size"));
}

TEST_CASE("session ends cleanly when the client disconnects mid-payload") {
    Harness h;
    h.send_request(NBD_CMD_WRITE, 1, 0, 4096);
    std::string half(2048, 'B');
    h.send_bytes(half.data(), half.size());
    ::shutdown(h.client, SHUT_WR);
    CHECK(h.wait_closed() == "client disconnected in the middle of a write payload");
    CHECK(h.counters.bytes_written == 0);
}

TEST_CASE("session times out a client that stalls mid-request") {
    Harness h(false, 50ms);
    uint8_t b[kRequestHeaderSize];
    encode_request({NBD_REQUEST_MAGIC, 0, NBD_CMD_READ, 1, 0, 512}, b);
    h.send_bytes(b, 10);
    CHECK(h.wait_closed() == "client stalled in the middle of a request header");
}

TEST_CASE("session drains on NBD_CMD_DISC") {
    Harness h;
    h.send_request(NBD_CMD_DISC, 1, 0, 0);
    CHECK(h.wait_closed() == "client sent NBD_CMD_DISC");
}

TEST_CASE("server handshake and our client agree, unknown options get NBD_REP_ERR_UNSUP") {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    ExportInfo exp{"disk-y", "test", 1 << 20,
                   uint16_t(NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA), 1, 4096, 1 << 16};
    std::function<std::string()> admit = [] { return std::string(); };
    auto srv = std::async(std::launch::async, [&] {
        return server_handshake(sv[1], exp, admit, std::chrono::steady_clock::now() + 10s);
    });
    auto r = client_handshake(sv[0], "disk-y", 10s);
    auto s = srv.get();
    INFO(r.error);
    REQUIRE(r.export_info);
    CHECK(r.export_info->size == 1u << 20);
    CHECK(r.export_info->max_block == 1u << 16);
    REQUIRE(s.session);
    CHECK_FALSE(s.session->structured_replies);
    ::close(sv[0]);
    ::close(sv[1]);

    // A raw client: option 42 is unknown, then NBD_OPT_ABORT.
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    auto srv2 = std::async(std::launch::async, [&] {
        return server_handshake(sv[1], exp, admit, std::chrono::steady_clock::now() + 10s);
    });
    uint8_t greet[18];
    REQUIRE(read_exact(sv[0], greet, 18, std::nullopt) == 0);
    uint8_t buf[4 + kOptionHeaderSize];
    put_be32(buf, NBD_FLAG_C_FIXED_NEWSTYLE);
    encode_option_header({IHAVEOPT, 42, 0}, buf + 4);
    REQUIRE(write_all(sv[0], buf, sizeof buf, std::nullopt) == 0);
    uint8_t rh[kOptionReplyHeaderSize];
    REQUIRE(read_exact(sv[0], rh, sizeof rh, std::nullopt) == 0);
    auto h = parse_option_reply_header(rh);
    CHECK(h->option == 42);
    CHECK(h->type == NBD_REP_ERR_UNSUP);
    std::vector<uint8_t> msg(h->length);
    REQUIRE(read_exact(sv[0], msg.data(), msg.size(), std::nullopt) == 0);
    encode_option_header({IHAVEOPT, NBD_OPT_ABORT, 0}, buf);
    REQUIRE(write_all(sv[0], buf, kOptionHeaderSize, std::nullopt) == 0);
    auto s2 = srv2.get();
    CHECK_FALSE(s2.session);
    CHECK(s2.reason == "client aborted the negotiation");
    ::close(sv[0]);
    ::close(sv[1]);
}
