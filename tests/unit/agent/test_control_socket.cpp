// The control socket on a real unix socket in a temporary directory: one line in with a read
// deadline, the handler's answer out, close. A silent client loses its connection at the
// deadline while others are served; an over-long line is answered with an error.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <thread>

#include "../temp_dir.hpp"
#include "agent/daemon/control_socket.hpp"

using namespace haspool;
using namespace haspool::agent;
using namespace std::chrono_literals;

namespace {

// A connected client with a receive timeout (so a broken test fails instead of hanging).
struct Client {
    int fd = -1;
    explicit Client(const std::string& path) {
        fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
        REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        timeval tv{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~Client() { ::close(fd); }
    void send(const std::string& s) { REQUIRE(::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size())); }
    // Everything until the daemon closes (or resets) the connection.
    std::string answer() {
        std::string out;
        char buf[1024];
        ssize_t n;
        while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
        return out;
    }
};

// The socket served by an io_context on its own thread.
struct Served {
    test::TempDir dir;
    std::string path = (dir.path / "run" / "control.sock").string();
    boost::asio::io_context io;
    ControlSocket socket;
    std::thread thread;
    explicit Served(ControlSocket::Limits limits)
        : socket(io, path, [](const std::string& line) { return line == "status" ? "all well\n" : "error: unknown '" + line + "'\n"; },
                 limits) {
        REQUIRE(socket.open().empty());
        thread = std::thread([this] { io.run(); });
    }
    ~Served() {
        boost::asio::post(io, [this] {
            socket.close();
            io.stop();
        });
        thread.join();
    }
};

ControlSocket::Limits quick() {
    ControlSocket::Limits l;
    l.read_deadline = 300ms;
    l.write_deadline = 300ms;
    l.max_line = 64;
    return l;
}

}  // namespace

TEST_CASE("control socket: one line in, the handler's answer out, mode 0600 in a 0700 directory") {
    Served s(quick());
    struct stat st{};
    REQUIRE(::stat(s.path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(::stat((s.dir.path / "run").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    Client c(s.path);
    c.send("status\n");
    CHECK(c.answer() == "all well\n");
    Client u(s.path);
    u.send("reboot\n");
    CHECK(u.answer() == "error: unknown 'reboot'\n");
}

TEST_CASE("control socket: a client that sends no newline is dropped at the deadline, others are served") {
    Served s(quick());
    auto start = std::chrono::steady_clock::now();
    Client silent(s.path);
    silent.send("sta");  // and nothing more
    Client other(s.path);
    other.send("status\n");
    CHECK(other.answer() == "all well\n");
    CHECK(silent.answer().empty());  // closed without an answer
    auto waited = std::chrono::steady_clock::now() - start;
    CHECK(waited >= 250ms);
    CHECK(waited < 3s);
    Client after(s.path);  // and the socket still serves
    after.send("status\n");
    CHECK(after.answer() == "all well\n");
}

TEST_CASE("control socket: a line longer than the cap gets an error answer") {
    Served s(quick());
    Client c(s.path);
    c.send(std::string(200, 'x'));
    CHECK(c.answer() == "error: control command longer than 64 bytes\n");
    Client after(s.path);
    after.send("status\n");
    CHECK(after.answer() == "all well\n");
}

TEST_CASE("control socket: close removes the socket file, open replaces a stale one") {
    test::TempDir dir;
    std::string path = (dir.path / "control.sock").string();
    dir.write("control.sock", "stale");
    boost::asio::io_context io;
    ControlSocket socket(io, path, [](const std::string&) { return std::string(); });
    REQUIRE(socket.open().empty());
    struct stat st{};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    socket.close();
    CHECK(::access(path.c_str(), F_OK) != 0);
}

TEST_CASE("control socket: a path it cannot bind is a sentence") {
    boost::asio::io_context io;
    ControlSocket socket(io, "/proc/haspool-no/control.sock", [](const std::string&) { return std::string(); });
    std::string problem = socket.open();
    CHECK(problem.rfind("cannot listen on the control socket /proc/haspool-no/control.sock: ", 0) == 0);
}
