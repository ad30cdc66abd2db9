// sd_notify messages must arrive on the datagram socket named by NOTIFY_SOCKET.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "agent/log/sd_notify.hpp"

namespace {

struct NotifySocket {
    int fd = -1;
    std::string path;
    NotifySocket() {
        char tmpl[] = "/tmp/haspool-notify-XXXXXX";
        path = std::string(mkdtemp(tmpl)) + "/notify";
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        path.copy(sa.sun_path, sizeof sa.sun_path - 1);
        REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
        timeval tv{2, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setenv("NOTIFY_SOCKET", path.c_str(), 1);
    }
    ~NotifySocket() {
        unsetenv("NOTIFY_SOCKET");
        close(fd);
        unlink(path.c_str());
        rmdir(path.substr(0, path.rfind('/')).c_str());
    }
    std::string receive() {
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("<nothing>");
    }
};

}  // namespace

TEST_CASE("notify verbs send the sd_notify protocol lines") {
    NotifySocket s;
    REQUIRE(haspool::notify::enabled());
    haspool::notify::ready("mirrored");
    CHECK(s.receive() == "READY=1\nSTATUS=mirrored");
    haspool::notify::status("resync 42%");
    CHECK(s.receive() == "STATUS=resync 42%");
    haspool::notify::stopping();
    CHECK(s.receive() == "STOPPING=1");
    haspool::notify::watchdog();
    CHECK(s.receive() == "WATCHDOG=1");
    haspool::notify::extend_timeout(std::chrono::seconds(30));
    CHECK(s.receive() == "EXTEND_TIMEOUT_USEC=30000000");
}

TEST_CASE("without NOTIFY_SOCKET the verbs do nothing") {
    unsetenv("NOTIFY_SOCKET");
    CHECK_FALSE(haspool::notify::enabled());
    haspool::notify::ready("x");  // must not crash or block
}

TEST_CASE("the watchdog interval is half of WATCHDOG_USEC") {
    setenv("WATCHDOG_USEC", "10000000", 1);
    setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
    auto iv = haspool::notify::watchdog_interval();
    REQUIRE(iv.has_value());
    CHECK(*iv == std::chrono::seconds(5));
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    CHECK_FALSE(haspool::notify::watchdog_interval().has_value());
}
