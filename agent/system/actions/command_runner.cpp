#include "agent/system/actions/command_runner.hpp"

// Boost.Process (v1 API, Boost 1.74) does the fork/exec, the pipes and the SIGCHLD-driven exit
// notification; we add what it lacks: the child leads its own process group (so a timeout kills
// the command *and* whatever it started, by PID), a clean signal mask, bounded output tails and
// a deadline. Everything runs on one private io_context per command.
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/process.hpp>
#include <boost/process/extend.hpp>

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <memory>
#include <sstream>

namespace haspool::actions {

namespace bp = boost::process;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// After the SIGKILL that ends a timed-out command, how long we still wait for its pipes to
// close (a grandchild that left the process group with setsid() may hold them).
constexpr auto kAfterKillGrace = 2s;
// After the command exited, how long we still read output that its background children (which
// inherited stdout/stderr) may write; then we stop reading and leave them alone. A hook that
// starts a daemon in the background must not hold the step until the timeout.
constexpr auto kDrainAfterExit = 500ms;

constexpr const char* kPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bool needs_quotes(const std::string& w) {
    if (w.empty()) return true;
    for (char c : w)
        if (!(isalnum(static_cast<unsigned char>(c)) || std::string_view("-_./:=,+@%").find(c) != std::string_view::npos))
            return true;
    return false;
}

// Reads a pipe to its end, keeping only the last `limit` bytes.
class TailReader {
public:
    TailReader(asio::io_context& io, std::size_t limit) : pipe_(io), limit_(limit) {}
    bp::async_pipe& pipe() { return pipe_; }
    std::string& text() { return text_; }
    bool finished() const { return finished_; }

    void start(std::function<void()> on_end) {
        on_end_ = std::move(on_end);
        read_some();
    }
    void close() {
        boost::system::error_code ec;
        pipe_.close(ec);
    }

private:
    void read_some() {
        pipe_.async_read_some(asio::buffer(buf_), [this](const boost::system::error_code& ec, std::size_t n) {
            text_.append(buf_.data(), n);
            if (text_.size() > limit_) text_.erase(0, text_.size() - limit_);
            if (ec) {
                finished_ = true;
                on_end_();
                return;
            }
            read_some();
        });
    }

    bp::async_pipe pipe_;
    std::size_t limit_;
    std::array<char, 4096> buf_{};
    std::string text_;
    bool finished_ = false;
    std::function<void()> on_end_;
};

std::string resolve_executable(const std::string& name, const Environment& env) {
    if (name.find('/') != std::string::npos) return name;
    std::vector<boost::filesystem::path> dirs;
    auto it = env.find("PATH");
    std::stringstream ss(it == env.end() ? kPath : it->second);
    for (std::string d; std::getline(ss, d, ':');)
        if (!d.empty()) dirs.emplace_back(d);
    auto found = bp::search_path(name, dirs);
    return found.empty() ? std::string() : found.string();
}

}  // namespace

Environment base_environment() { return {{"PATH", kPath}, {"LC_ALL", "C"}}; }

std::string render_argv(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& w : argv) {
        if (!out.empty()) out += ' ';
        if (!needs_quotes(w)) {
            out += w;
            continue;
        }
        out += '\'';
        for (char c : w) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
        out += '\'';
    }
    return out;
}

std::string last_lines(const std::string& text, std::size_t max_lines) {
    std::vector<std::string> lines;
    std::stringstream ss(text);
    for (std::string l; std::getline(ss, l);) {
        while (!l.empty() && (l.back() == '\r' || l.back() == ' ' || l.back() == '\t')) l.pop_back();
        if (!l.empty()) lines.push_back(l);
    }
    std::string out;
    std::size_t first = lines.size() > max_lines ? lines.size() - max_lines : 0;
    for (std::size_t i = first; i < lines.size(); ++i) {
        if (!out.empty()) out += " | ";
        out += lines[i];
    }
    return out;
}

std::string CommandResult::describe() const {
    std::string s = "'" + render_argv(argv) + "'";
    switch (end) {
    case End::exited:
        s += " exited with status " + std::to_string(exit_status);
        break;
    case End::killed_by_signal:
        s += std::string(" was killed by signal ") + std::to_string(signal) + " (" + strsignal(signal) + ")";
        break;
    case End::timed_out:
        s += " timed out after " + std::to_string(timeout.count()) + " ms and was killed (SIGKILL to its process group)";
        if (still_running) s += ", but it had not exited 2 s later (uninterruptible sleep?)";
        break;
    case End::not_started:
        return s + " could not be started: " + start_error;
    }
    std::string err = last_lines(stderr_tail, 6), out = last_lines(stdout_tail, 6);
    if (!err.empty()) s += "; stderr: " + err;
    if (!out.empty()) s += "; stdout: " + out;
    if (err.empty() && out.empty()) s += "; no output";
    return s;
}

CommandResult run_command(const CommandSpec& spec) {
    CommandResult r;
    r.argv = spec.argv;
    r.timeout = spec.timeout;
    if (spec.argv.empty()) {
        r.start_error = "empty command";
        return r;
    }
    Environment env = base_environment();
    for (const auto& [k, v] : spec.extra_env) env[k] = v;

    std::string exe = resolve_executable(spec.argv[0], env);
    if (exe.empty()) {
        r.start_error = "command not found in PATH=" + env["PATH"];
        return r;
    }
    bp::environment child_env;
    for (const auto& [k, v] : env) child_env[k] = v;
    std::vector<std::string> args(spec.argv.begin() + 1, spec.argv.end());

    asio::io_context io;
    TailReader out(io, spec.tail_bytes), err(io, spec.tail_bytes);
    asio::steady_timer deadline(io), tick(io), grace(io), drain(io);
    bool exited = false;
    bool unreaped = false;
    bool timed_out = false;

    auto maybe_finish = [&] {
        if (exited && out.finished() && err.finished()) {
            deadline.cancel();
            tick.cancel();
            grace.cancel();
            drain.cancel();
        }
    };

    const auto start = std::chrono::steady_clock::now();
    std::unique_ptr<bp::child> child;
    try {
        child = std::make_unique<bp::child>(
            bp::exe = exe, bp::args = args, bp::env = child_env, bp::std_in < bp::null,
            bp::std_out > out.pipe(), bp::std_err > err.pipe(), io,
            bp::on_exit = [&](int, const std::error_code&) {
                // The handler's argument is already decoded (exit status or signal number,
                // indistinguishable); the child object keeps the raw wait status.
                exited = true;
                if (!out.finished() || !err.finished()) {
                    drain.expires_after(kDrainAfterExit);
                    drain.async_wait([&](const boost::system::error_code& ec) {
                        if (ec) return;
                        out.close();
                        err.close();
                    });
                }
                maybe_finish();
            },
            bp::extend::on_exec_setup = [](auto&) {
                // Own process group, so a timeout can kill everything the command started;
                // a clean signal mask, whatever the agent's threads had blocked.
                ::setpgid(0, 0);
                sigset_t none;
                sigemptyset(&none);
                ::sigprocmask(SIG_SETMASK, &none, nullptr);
                // None of the agent's descriptors survive the exec (stdin/out/err are the pipes
                // set up for the command): a hook or notify command started while the standby
                // exports Y would otherwise hold the NBD listener and sessions open after
                // StopExport. CLOEXEC rather than close: Boost.Process still reports a failed
                // exec through its own descriptor.
                if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
                    for (int fd = 3; fd < 65536; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
            });
    } catch (const std::exception& e) {
        r.start_error = e.what();
        return r;
    }
    const pid_t pid = child->id();
    ::setpgid(pid, pid);  // the parent sets it too, so no kill can race the child's own setpgid

    out.start(maybe_finish);
    err.start(maybe_finish);

    deadline.expires_after(spec.timeout);
    deadline.async_wait([&](const boost::system::error_code& ec) {
        if (ec || exited) return;
        timed_out = true;
        ::kill(-pid, SIGKILL);
        tick.cancel();
        grace.expires_after(kAfterKillGrace);
        grace.async_wait([&](const boost::system::error_code& gec) {
            if (gec) return;
            out.close();
            err.close();
            if (!exited) {
                // Still not gone after SIGKILL: stuck in uninterruptible sleep (I/O on a dead
                // device, say). Do not hang with it; leave it behind and say so.
                unreaped = true;
                io.stop();
            }
        });
    });

    std::function<void()> schedule_tick = [&] {
        tick.expires_after(spec.tick_interval);
        tick.async_wait([&](const boost::system::error_code& ec) {
            if (ec || exited || timed_out) return;
            spec.on_tick();
            schedule_tick();
        });
    };
    if (spec.tick_interval.count() > 0 && spec.on_tick) schedule_tick();

    io.run();
    // The pipes are closed but the child may still be running (it closed its stdout): the
    // deadline above covers that too, since io.run() only returns once on_exit has fired.
    r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    r.stdout_tail = std::move(out.text());
    r.stderr_tail = std::move(err.text());
    if (unreaped) {
        child->detach();  // its destructor would otherwise wait for it
        r.end = CommandResult::End::timed_out;
        r.signal = SIGKILL;
        r.still_running = true;
        return r;
    }
    const int raw_status = child->native_exit_code();
    if (timed_out) {
        r.end = CommandResult::End::timed_out;
        r.signal = SIGKILL;
    } else if (WIFEXITED(raw_status)) {
        r.end = CommandResult::End::exited;
        r.exit_status = WEXITSTATUS(raw_status);
    } else if (WIFSIGNALED(raw_status)) {
        r.end = CommandResult::End::killed_by_signal;
        r.signal = WTERMSIG(raw_status);
    } else {
        r.end = CommandResult::End::not_started;
        r.start_error = "unexpected wait status " + std::to_string(raw_status);
    }
    return r;
}

}  // namespace haspool::actions
