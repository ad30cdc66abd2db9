// NbdServer on 127.0.0.1 with an ephemeral port: sessions through our own client handshake,
// disengage closes them and refuses new ones, reengage undoes it, counters move.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "../loopback.hpp"
#include "blockdev/nbd_client_handshake.hpp"
#include "blockdev/nbd_codec.hpp"
#include "blockdev/nbd_server.hpp"
#include "blockdev/socket_io.hpp"

using namespace haspool::nbd;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

int connect_to(uint16_t port) {
    int fd = haspool::test::loopback_connect(port);
    REQUIRE(fd >= 0);
    return fd;
}

struct Running {
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    std::unique_ptr<NbdServer> server;
    std::thread thread;
    std::string path;

    Running() {
        char tmpl[] = "/tmp/haspool-server-XXXXXX";
        int fd = ::mkstemp(tmpl);
        REQUIRE(::ftruncate(fd, 1 << 20) == 0);
        ::close(fd);
        path = tmpl;
        auto dev = ExportDevice::open(path, false);
        REQUIRE(dev.device);
        NbdServer::Options o;
        o.name = "disk-y";
        o.listen = asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0);
        server = std::make_unique<NbdServer>(io, std::move(dev.device), o);
        REQUIRE(server->start() == "");
        thread = std::thread([this] { io.run(); });
    }
    ~Running() {
        std::promise<void> stopped;
        asio::post(io, [&] {
            server->stop();
            stopped.set_value();
        });
        stopped.get_future().wait();
        work.reset();
        io.stop();
        thread.join();
        ::unlink(path.c_str());
    }
    uint16_t port() { return server->local_endpoint().port(); }
};

// True when the peer closed `fd` (EOF) within a generous bound.
bool closed_by_peer(int fd) {
    uint8_t b;
    return read_exact(fd, &b, 1, std::chrono::steady_clock::now() + 10s) != 0;
}

}  // namespace

TEST_CASE("server admits our client, disengage closes the session and refuses new ones, reengage undoes it") {
    Running r;
    int a = connect_to(r.port());
    auto h = client_handshake(a, "disk-y", 10s);
    INFO(h.error);
    REQUIRE(h.export_info);
    CHECK(h.export_info->size == 1u << 20);
    CHECK((h.export_info->transmission_flags & NBD_FLAG_CAN_MULTI_CONN));
    // One flush round trip proves the session is live and counts as activity.
    uint8_t req[kRequestHeaderSize];
    encode_request({NBD_REQUEST_MAGIC, 0, NBD_CMD_FLUSH, 5, 0, 0}, req);
    REQUIRE(write_all(a, req, sizeof req, std::nullopt) == 0);
    uint8_t rep[kSimpleReplySize];
    REQUIRE(read_exact(a, rep, sizeof rep, std::chrono::steady_clock::now() + 10s) == 0);
    CHECK(parse_simple_reply(rep)->cookie == 5);
    CHECK(r.server->counters().requests == 1);
    CHECK(r.server->last_activity().time_since_epoch().count() > 0);

    r.server->disengage();
    CHECK(closed_by_peer(a));
    ::close(a);
    int b = connect_to(r.port());
    CHECK(closed_by_peer(b));  // accepted and closed at once
    ::close(b);
    CHECK(r.server->counters().rejected_connections >= 1);

    r.server->reengage();
    int c = connect_to(r.port());
    auto h2 = client_handshake(c, "disk-y", 10s);
    INFO(h2.error);
    CHECK(h2.export_info);
    ::close(c);
}
