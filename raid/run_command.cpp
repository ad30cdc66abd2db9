#include "run_command.hpp"

#include <cstring>

#include "command_runner.hpp"

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
    // One process runner for the whole project (agent/actions/command_runner: Boost.Process,
    // clean environment, process-group kill on timeout); this adapts it to the seam md control
    // is tested through.
    CommandResult r;
    if (argv.empty()) {
        r.error = "was not given a program";
        return r;
    }
    actions::CommandSpec spec;
    spec.argv = argv;
    spec.timeout = timeout;
    spec.tail_bytes = 1 << 20;  // parsers read whole outputs (mdadm -X, --detail)
    actions::CommandResult a = actions::run_command(spec);
    r.output = a.stdout_tail + a.stderr_tail;
    switch (a.end) {
        case actions::CommandResult::End::exited:
            r.exit_status = a.exit_status;
            break;
        case actions::CommandResult::End::not_started:
            r.error = "could not be started: " + a.start_error;
            break;
        case actions::CommandResult::End::timed_out:
            r.error = "timed out after " + std::to_string(timeout.count()) + " ms and was killed";
            break;
        case actions::CommandResult::End::killed_by_signal:
            r.error = std::string("was killed by signal ") + strsignal(a.signal);
            break;
    }
    return r;
}

}  // namespace haspool::raid
