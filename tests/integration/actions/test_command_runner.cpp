// The command runner's periodic tick (used to extend systemd's timeout during a long fsck):
// called while the command runs, and not once the command has ended.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "agent/system/actions/command_runner.hpp"

using namespace haspool::actions;
using namespace std::chrono_literals;

TEST_CASE("on_tick is called while a command runs") {
    CommandSpec cmd;
    cmd.argv = {"sleep", "1"};
    cmd.timeout = 10s;
    cmd.tick_interval = 100ms;
    int ticks = 0;
    cmd.on_tick = [&] { ++ticks; };
    auto r = run_command(cmd);
    CHECK(r.succeeded());
    CHECK(ticks >= 2);                           // 1 s at 100 ms: about 9, at least 2 even when loaded
    CHECK(ticks <= r.elapsed / 100ms + 1);       // never more often than the interval
}

TEST_CASE("no tick for a command that ends before the first interval") {
    CommandSpec cmd;
    cmd.argv = {"true"};
    cmd.tick_interval = 60s;
    int ticks = 0;
    cmd.on_tick = [&] { ++ticks; };
    CHECK(run_command(cmd).succeeded());
    CHECK(ticks == 0);
}

TEST_CASE("an empty argv is refused without running anything") {
    auto r = run_command(CommandSpec{});
    CHECK(r.end == CommandResult::End::not_started);
    CHECK(r.describe() == "'' could not be started: empty command");
}

// A command must not inherit the daemon's descriptors: a notify command or a hook started while
// the standby exported Y held the NBD listener (and sessions) open after StopExport (seen in
// integration_two_nodes: "the export still listens after StopExport").
TEST_CASE("a command inherits none of the caller's descriptors beyond stdin, stdout and stderr") {
    int sock = ::socket(AF_INET, SOCK_STREAM, 0);  // no SOCK_CLOEXEC, as Asio's may be
    REQUIRE(sock >= 3);
    int fds[2];
    REQUIRE(::pipe(fds) == 0);  // no O_CLOEXEC either
    CommandSpec cmd;
    cmd.argv = {"sh", "-c", "ls /proc/$$/fd; true"};  // sh stays (no exec of ls): its own descriptors
    auto r = run_command(cmd);
    REQUIRE(r.succeeded());
    INFO("descriptors of the command: " << r.stdout_tail);
    for (int fd : {sock, fds[0], fds[1]}) CHECK(("\n" + r.stdout_tail).find("\n" + std::to_string(fd) + "\n") == std::string::npos);
    ::close(sock);
    ::close(fds[0]);
    ::close(fds[1]);
}

