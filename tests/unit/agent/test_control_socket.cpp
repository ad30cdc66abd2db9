// The control socket on a real unix socket in a temporary directory: one line in with a read
// deadline, the handler's answer out, close. A silent client loses its connection at the
// deadline while others are served; an over-long line is answered with an error. Who may
// connect is tested with real callers: forked children that drop to uid 65534 (nobody), with or
// without group 100 (users), so the kernel's SO_PEERCRED/SO_PEERGROUPS are what is judged.
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

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

// The socket served by an io_context on its own thread, with the notices it logged.
struct Served {
    test::TempDir dir;
    std::string path = (dir.path / "run" / "control.sock").string();
    boost::asio::io_context io;
    std::mutex mu;
    std::vector<std::pair<std::string, std::string>> notices;  // (event, sentence)
    int handled = 0;
    ControlSocket socket;
    std::thread thread;
    explicit Served(ControlSocket::Limits limits, const std::string& group = "",
                    const std::function<void(Served&)>& before_open = {})
        : socket(io, path,
                 [this](const std::string& line) {
                     std::lock_guard<std::mutex> l(mu);
                     ++handled;
                     return line == "status" ? "all well\n" : "error: unknown '" + line + "'\n";
                 },
                 limits, group, [this](const std::string& s, const char* event) {
                     std::lock_guard<std::mutex> l(mu);
                     notices.emplace_back(event, s);
                 }) {
        // The children below run as nobody, who must be able to walk to the socket.
        ::chmod(dir.path.c_str(), 0755);
        if (before_open) before_open(*this);
        REQUIRE(socket.open().empty());
        thread = std::thread([this] { io.run(); });
    }
    std::vector<std::pair<std::string, std::string>> logged() {
        std::lock_guard<std::mutex> l(mu);
        return notices;
    }
    int handler_calls() {
        std::lock_guard<std::mutex> l(mu);
        return handled;
    }
    ~Served() {
        boost::asio::post(io, [this] {
            socket.close();
            io.stop();
        });
        thread.join();
    }
};

// A caller that is not root: a forked child drops to uid 65534 with primary group `gid` and the
// supplementary `groups`, connects, sends `line` and reads the answer to the end. Returns the
// answer, or "connect: REASON" when the filesystem keeps it out. Only raw system calls in the
// child (the parent has threads).
std::string ask_as(const std::string& path, gid_t gid, const std::vector<gid_t>& groups, const std::string& line) {
    REQUIRE(::geteuid() == 0);  // the suite runs as root (it needs loop devices and namespaces anyway)
    int out[2];
    REQUIRE(::pipe(out) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(out[0]);
        auto say = [&](const std::string& s) { (void)!::write(out[1], s.data(), s.size()); };
        if (::setgroups(groups.size(), groups.data()) != 0 || ::setresgid(gid, gid, gid) != 0 ||
            ::setresuid(65534, 65534, 65534) != 0) {
            say("cannot drop privileges");
            ::_exit(1);
        }
        int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            say(std::string("connect: ") + std::strerror(errno));
            ::_exit(0);
        }
        timeval tv{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (!line.empty()) (void)!::write(fd, line.data(), line.size());
        char buf[1024];
        ssize_t n;
        while ((n = ::read(fd, buf, sizeof buf)) > 0) (void)!::write(out[1], buf, static_cast<size_t>(n));
        ::_exit(0);
    }
    ::close(out[1]);
    std::string answer;
    char buf[1024];
    ssize_t n;
    while ((n = ::read(out[0], buf, sizeof buf)) > 0) answer.append(buf, static_cast<size_t>(n));
    ::close(out[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    return answer;
}

constexpr gid_t kNogroup = 65534;
constexpr gid_t kUsers = 100;

ControlSocket::Limits quick() {
    ControlSocket::Limits l;
    l.read_deadline = 300ms;
    l.write_deadline = 300ms;
    l.max_line = 64;
    return l;
}

// Served's before_open for a socket whose directory exists already with `mode` (the operator's
// or tmpfiles.d's), which open() leaves as it is.
std::function<void(Served&)> existing_directory(mode_t mode) {
    return [mode](Served& s) {
        std::filesystem::create_directories(s.dir.path / "run");
        ::chmod((s.dir.path / "run").c_str(), mode);
    };
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

TEST_CASE("control access: root always, a member of the group by its primary or a supplementary group") {
    ControlAccess root_only;
    ControlAccess users{"users", kUsers};
    CHECK_FALSE(control_refusal({1, 0, 0, {}}, root_only));
    CHECK_FALSE(control_refusal({1, 0, 0, {}}, users));
    CHECK(control_refusal({1, 1000, 1000, {kUsers}}, root_only) ==
          "uid 1000 is not root (cluster.control_group is not set: root only)");
    CHECK_FALSE(control_refusal({1, 1000, kUsers, {}}, users));
    CHECK_FALSE(control_refusal({1, 1000, 1000, {27, kUsers}}, users));
    CHECK(control_refusal({1, 1000, 1000, {27}}, users) == "uid 1000 is neither root nor in group users");

    std::string why;
    auto resolved = resolve_control_access("users", why);
    REQUIRE(resolved);
    CHECK(resolved->gid == kUsers);
    CHECK_FALSE(resolve_control_access("haspool-no-such-group", why));
    CHECK(why == "cluster.control_group 'haspool-no-such-group' is not a group on this host; create it "
                 "(groupadd --system haspool-no-such-group) or remove the setting");
}

TEST_CASE("control socket, root only: nobody is kept out by the mode, and by its credentials when the mode lets it in") {
    Served s(quick());
    CHECK(ask_as(s.path, kNogroup, {kUsers}, "status\n") == "connect: Permission denied");
    // The second fence: a socket made world-writable (a mistake, or the moment before chmod).
    ::chmod((s.dir.path / "run").c_str(), 0755);
    ::chmod(s.path.c_str(), 0666);
    CHECK(ask_as(s.path, kNogroup, {kUsers}, "switchover\n") ==
          "refused: uid 65534 is not root (cluster.control_group is not set: root only)\n");
    CHECK(s.handler_calls() == 0);
    auto logged = s.logged();
    REQUIRE(logged.size() == 1);
    CHECK(logged[0].first == "control-refused");
    CHECK(logged[0].second.find("control socket: refused uid 65534 (pid ") == 0);
    CHECK(logged[0].second.find("), command 'switchover': uid 65534 is not root") != std::string::npos);
    Client root(s.path);  // root is served as before
    root.send("status\n");
    CHECK(root.answer() == "all well\n");
}

TEST_CASE("control socket, cluster.control_group: 0660 root:GROUP in a 0750 directory, members served, others refused") {
    Served s(quick(), "users");
    struct stat st{};
    REQUIRE(::stat(s.path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0660);
    CHECK(st.st_gid == kUsers);
    REQUIRE(::stat((s.dir.path / "run").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0750);
    CHECK(st.st_gid == kUsers);

    CHECK(ask_as(s.path, kNogroup, {kUsers}, "status\n") == "all well\n");  // supplementary
    CHECK(ask_as(s.path, kUsers, {}, "status\n") == "all well\n");          // primary
    CHECK(ask_as(s.path, kNogroup, {}, "status\n") == "connect: Permission denied");
    CHECK(s.handler_calls() == 2);

    ::chmod((s.dir.path / "run").c_str(), 0755);
    ::chmod(s.path.c_str(), 0666);
    CHECK(ask_as(s.path, kNogroup, {}, "resolve discard=alpha\n") ==
          "refused: uid 65534 is neither root nor in group users\n");
    CHECK(s.handler_calls() == 2);
    auto logged = s.logged();
    REQUIRE(logged.size() == 1);
    CHECK(logged[0].second.find("command 'resolve discard=alpha': uid 65534 is neither root nor in group users") !=
          std::string::npos);
}

TEST_CASE("control socket: a refused caller is held to the same deadline and bound, each refusal logged once") {
    Served s(quick(), "users", existing_directory(0755));  // an existing directory keeps its mode
    struct stat st{};
    REQUIRE(::stat((s.dir.path / "run").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0755);
    ::chmod(s.path.c_str(), 0666);

    auto start = std::chrono::steady_clock::now();
    CHECK(ask_as(s.path, kNogroup, {}, "sta").empty());  // no newline: dropped at the deadline, no answer
    CHECK(std::chrono::steady_clock::now() - start < 3s);
    CHECK(ask_as(s.path, kNogroup, {}, std::string(200, 'x')) ==
          "refused: uid 65534 is neither root nor in group users\n");
    CHECK(s.handler_calls() == 0);
    auto logged = s.logged();
    REQUIRE(logged.size() == 2);
    CHECK(logged[0].second.find("sent no command within the deadline: uid 65534") != std::string::npos);
    CHECK(logged[1].second.find("a line longer than 64 bytes: uid 65534") != std::string::npos);
}

TEST_CASE("control socket: an existing directory that keeps the group out is left as it is, and said") {
    Served s(quick(), "users", existing_directory(0700));
    struct stat st{};
    REQUIRE(::stat((s.dir.path / "run").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    auto logged = s.logged();
    REQUIRE(logged.size() == 1);
    CHECK(logged[0].first == "control-directory");
    CHECK(logged[0].second.find("(mode 0700, gid 0) keeps group users from reaching the socket; it is left as it is") !=
          std::string::npos);
    CHECK(ask_as(s.path, kNogroup, {kUsers}, "status\n") == "connect: Permission denied");
}

TEST_CASE("control socket: a group this host lacks keeps the socket closed") {
    test::TempDir dir;
    std::string path = (dir.path / "control.sock").string();
    boost::asio::io_context io;
    ControlSocket socket(io, path, [](const std::string&) { return std::string(); }, {}, "haspool-no-such-group", {});
    CHECK(socket.open() == "cannot open the control socket " + path +
                               ": cluster.control_group 'haspool-no-such-group' is not a group on this host; create it "
                               "(groupadd --system haspool-no-such-group) or remove the setting");
    CHECK(::access(path.c_str(), F_OK) != 0);
}

namespace {

// `events` opens a stream whose first text is "hello\n"; anything else goes to the handler.
void stream_opener(Served& s) {
    s.socket.set_stream_opener([](const std::string& line) -> std::optional<std::string> {
        if (line == "events") return std::string("hello\n");
        return std::nullopt;
    });
}

// Runs `f` on the socket's io thread and waits for it (publish() and streams() live there).
template <typename F>
auto on_io(Served& s, F f) {
    std::promise<decltype(f())> done;
    auto result = done.get_future();
    boost::asio::post(s.io, [&] { done.set_value(f()); });
    return result.get();
}

// Reads until `want` lines arrived (or the 5 s receive timeout, or the end).
std::string read_lines(Client& c, size_t want) {
    std::string out;
    char buf[1024];
    while (static_cast<size_t>(std::count(out.begin(), out.end(), '\n')) < want) {
        ssize_t n = ::read(c.fd, buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

}  // namespace

TEST_CASE("control socket streams: the first text, then every published line in order, to every reader") {
    Served s(quick(), "", stream_opener);
    Client a(s.path), b(s.path);
    a.send("events\n");
    b.send("events\n");
    CHECK(read_lines(a, 1) == "hello\n");
    CHECK(read_lines(b, 1) == "hello\n");
    REQUIRE(on_io(s, [&] { return s.socket.streams(); }) == 2);
    on_io(s, [&] {
        for (int i = 1; i <= 3; ++i) s.socket.publish("event " + std::to_string(i) + "\n");
        return 0;
    });
    CHECK(read_lines(a, 3) == "event 1\nevent 2\nevent 3\n");
    CHECK(read_lines(b, 3) == "event 1\nevent 2\nevent 3\n");
    Client plain(s.path);  // other lines still get one answer
    plain.send("status\n");
    CHECK(plain.answer() == "all well\n");
    CHECK(s.handler_calls() == 1);

    // A reader that closes is gone at once (its read sees the end), not at the next write.
    ::shutdown(a.fd, SHUT_RDWR);
    for (int i = 0; i < 50 && on_io(s, [&] { return s.socket.streams(); }) != 1; ++i) std::this_thread::sleep_for(20ms);
    CHECK(on_io(s, [&] { return s.socket.streams(); }) == 1);
    on_io(s, [&] {
        s.socket.publish("event 4\n");
        return 0;
    });
    CHECK(read_lines(b, 1) == "event 4\n");
    CHECK(s.logged().empty());
}

TEST_CASE("control socket streams: a reader that falls behind is closed and said once, the daemon never waits") {
    ControlSocket::Limits l = quick();
    l.max_queued = 16;
    Served s(l, "", stream_opener);
    Client slow(s.path);
    slow.send("events\n");
    CHECK(read_lines(slow, 1) == "hello\n");
    // 64 KiB lines, all queued in one go on the io thread: the socket buffer takes a few, the
    // queue overflows long before the reader reads anything.
    std::string big(65535, 'x');
    big += '\n';
    size_t open_after = on_io(s, [&] {
        for (int i = 0; i < 200; ++i) s.socket.publish(big);
        return s.socket.streams();
    });
    CHECK(open_after == 0);
    auto logged = s.logged();
    REQUIRE(logged.size() == 1);
    CHECK(logged[0].first == "control-stream-dropped");
    CHECK(logged[0].second.find("control socket: closed the events stream of uid 0 (pid ") == 0);
    CHECK(logged[0].second.find("16 lines were waiting, its reader does not keep up") != std::string::npos);
    Client after(s.path);  // the socket goes on serving
    after.send("status\n");
    CHECK(after.answer() == "all well\n");
}

TEST_CASE("control socket streams: a caller who is not admitted cannot open one") {
    Served s(quick(), "users", stream_opener);
    ::chmod((s.dir.path / "run").c_str(), 0755);
    ::chmod(s.path.c_str(), 0666);
    CHECK(ask_as(s.path, kNogroup, {}, "events\n") == "refused: uid 65534 is neither root nor in group users\n");
    CHECK(ask_as(s.path, kNogroup, {kUsers}, "").empty());  // a member sends nothing: dropped at the deadline
    CHECK(on_io(s, [&] { return s.socket.streams(); }) == 0);
}
