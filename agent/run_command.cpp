#include "run_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace haspool::agent {

namespace {

std::string quoted(const std::vector<std::string>& argv) {
    std::string s;
    for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
    return "'" + s + "'";
}

std::string tail(std::string out) {
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    if (out.size() > 400) out = "..." + out.substr(out.size() - 400);
    for (char& c : out)
        if (c == '\n') c = '|';
    return out.empty() ? "(no output)" : out;
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, Millis timeout) {
    if (argv.empty() || argv[0].empty() || argv[0][0] != '/')
        return {false, "command " + quoted(argv) + " must start with an absolute program path"};
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return {false, "pipe for " + quoted(argv) + ": " + std::strerror(errno)};
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return {false, "fork for " + quoted(argv) + ": " + std::strerror(errno)};
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, STDIN_FILENO);
        execv(args[0], args.data());
        dprintf(STDERR_FILENO, "exec: %s\n", std::strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    std::string out;
    auto deadline = Clock::now() + timeout;
    bool timed_out = false;
    for (;;) {
        auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        int rc = poll(&p, 1, static_cast<int>(left));
        if (rc < 0 && errno == EINTR) continue;
        if (rc <= 0) continue;
        char buf[4096];
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // EOF: the command closed its output (normally: exited)
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > 8192) out.erase(0, out.size() - 4096);
    }
    close(fds[0]);
    if (timed_out) kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out)
        return {false, quoted(argv) + " did not finish within " + format_duration(timeout) + " and was killed: " + tail(out)};
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {true, ""};
    if (WIFEXITED(status))
        return {false, quoted(argv) + " exited with status " + std::to_string(WEXITSTATUS(status)) + ": " + tail(out)};
    return {false, quoted(argv) + " was killed by signal " + std::to_string(WTERMSIG(status)) + ": " + tail(out)};
}

}  // namespace haspool::agent
