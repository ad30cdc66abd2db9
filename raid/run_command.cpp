#include "run_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace haspool::raid {

namespace {

std::string tail_lines(const std::string& s, int lines) {
    size_t pos = s.size();
    while (pos > 0 && (s[pos - 1] == '\n' || s[pos - 1] == ' ')) --pos;
    size_t end = pos;
    for (int i = 0; i < lines && pos > 0; ++i) {
        size_t nl = s.rfind('\n', pos - 1);
        pos = nl == std::string::npos ? 0 : nl;
        if (nl == std::string::npos) break;
    }
    std::string t = s.substr(pos, end - pos);
    while (!t.empty() && t.front() == '\n') t.erase(t.begin());
    for (char& c : t)
        if (c == '\n') c = ' ';
    return t;
}

}  // namespace

std::string join_argv(const std::vector<std::string>& argv) {
    std::string s;
    for (const auto& a : argv) {
        if (!s.empty()) s += ' ';
        s += a;
    }
    return s;
}

std::string describe_failure(const std::vector<std::string>& argv, const CommandResult& r) {
    std::string s = "'" + join_argv(argv) + "' ";
    if (!r.error.empty())
        s += r.error;
    else
        s += "exited with status " + std::to_string(r.exit_status);
    std::string t = tail_lines(r.output, 3);
    if (!t.empty()) s += ": " + t;
    return s;
}

CommandResult ProcessRunner::run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
    CommandResult r;
    if (argv.empty()) {
        r.error = "was not given a program";
        return r;
    }
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        r.error = std::string("could not start: pipe: ") + std::strerror(errno);
        return r;
    }
    std::vector<char*> cargv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0) {
        r.error = std::string("could not start: fork: ") + std::strerror(errno);
        close(pipefd[0]);
        close(pipefd[1]);
        return r;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(pipefd[1], 1);
        dup2(pipefd[1], 2);
        execvp(cargv[0], cargv.data());
        dprintf(2, "cannot execute %s: %s\n", cargv[0], std::strerror(errno));
        _exit(127);
    }
    close(pipefd[1]);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    bool timed_out = false;
    char buf[4096];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        pollfd p{pipefd[0], POLLIN, 0};
        int n = poll(&p, 1, static_cast<int>(left.count()));
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) continue;
        ssize_t got = read(pipefd[0], buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        r.output.append(buf, static_cast<size_t>(got));
    }
    close(pipefd[0]);
    if (timed_out) kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) {
        r.error = "timed out after " + std::to_string(timeout.count()) + " ms and was killed";
    } else if (WIFEXITED(status)) {
        r.exit_status = WEXITSTATUS(status);
        if (r.exit_status == 127 && r.output.find("cannot execute") != std::string::npos)
            r.error = "could not be started";
    } else if (WIFSIGNALED(status)) {
        r.error = std::string("was killed by signal ") + strsignal(WTERMSIG(status));
    }
    return r;
}

}  // namespace haspool::raid
