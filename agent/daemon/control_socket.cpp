#include "agent/daemon/control_socket.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <deque>
#include <cstdio>
#include <cstring>
#include <istream>
#include <memory>
#include <optional>

namespace haspool::agent {

namespace asio = boost::asio;
using local_stream = asio::local::stream_protocol;
using boost::system::error_code;

// One connection: do_read() with a deadline, on_read() hands the line over, do_write() with a
// deadline, then close. The deadline timer closes the socket, which ends the pending operation.
class ControlSocket::Exchange : public std::enable_shared_from_this<Exchange> {
public:
    Exchange(local_stream::socket s, ControlSocket& owner, const ControlAccess& access)
        : socket_(std::move(s)), deadline_(socket_.get_executor()), buf_(owner.limits_.max_line),
          handler_(owner.handler_), limits_(owner.limits_), notice_(owner.notice_), owner_(owner) {
        std::string why;
        if (auto who = peer_credentials(socket_.native_handle(), why)) {
            refusal_ = control_refusal(*who, access);
            caller_ = "uid " + std::to_string(who->uid) + " (pid " + std::to_string(who->pid) + ")";
        } else {
            refusal_ = "the caller's credentials cannot be read (" + why + ")";
            caller_ = "an unknown caller";
        }
    }

    void do_read() {
        arm(limits_.read_deadline);
        asio::async_read_until(socket_, buf_, '\n',
                               [self = shared_from_this()](error_code ec, size_t) { self->on_read(ec); });
    }

private:
    void arm(std::chrono::milliseconds d) {
        deadline_.expires_after(d);
        deadline_.async_wait([self = shared_from_this()](error_code ec) {
            // Cancelled, or re-armed for the next operation after this expiry was queued.
            if (ec || self->deadline_.expiry() > asio::steady_timer::clock_type::now()) return;
            error_code ignored;
            self->timed_out_ = true;
            self->socket_.close(ignored);
        });
    }

    void on_read(error_code ec) {
        deadline_.cancel();
        if (ec == asio::error::operation_aborted || !socket_.is_open()) {  // the deadline passed
            if (refusal_) refused("sent no command within the deadline");
            return;
        }
        if (refusal_) {
            // Never the handler, whatever the line; the bound on the read still held.
            std::string line;
            if (ec == asio::error::not_found) line = "a line longer than " + std::to_string(limits_.max_line) + " bytes";
            else if (!ec) {
                std::istream in(&buf_);
                std::getline(in, line);
                line = "command '" + printable(line) + "'";
            } else
                line = "no command";
            refused(line);
            do_write("refused: " + *refusal_ + "\n");
            return;
        }
        if (ec == asio::error::not_found) {  // the buffer is full and holds no newline
            do_write("error: control command longer than " + std::to_string(limits_.max_line) + " bytes\n");
            return;
        }
        // As before the deadline existed: a connection closed before its newline is answered as
        // the empty command.
        std::string line;
        if (!ec) {
            std::istream in(&buf_);
            std::getline(in, line);
        }
        if (owner_.deferrer_ &&
            owner_.deferrer_(line, [self = shared_from_this()](std::string answer) { self->do_write(std::move(answer)); }))
            return;
        if (owner_.opener_)
            if (std::optional<std::string> first = owner_.opener_(line)) {
                start_stream(std::move(*first));
                return;
            }
        do_write(handler_(line));
    }

    // ---- a stream (`events`): publish() feeds enqueue(); pump() writes one line at a time.
public:
    bool is_open() const { return socket_.is_open(); }

    void enqueue(const std::string& line) {
        if (!socket_.is_open()) return;
        if (queue_.size() >= limits_.max_queued) {
            if (notice_)
                notice_("control socket: closed the events stream of " + caller_ + ": " + std::to_string(queue_.size()) +
                            " lines were waiting, its reader does not keep up",
                        "control-stream-dropped");
            stop();
            return;
        }
        queue_.push_back(line);
        if (!writing_) pump();
    }

    void stop() {
        error_code ignored;
        deadline_.cancel();
        socket_.close(ignored);
        queue_.clear();
    }

private:
    void start_stream(std::string first) {
        owner_.streams_.push_back(weak_from_this());
        watch_reader();
        if (!first.empty()) queue_.push_back(std::move(first));
        pump();
    }

    // The reader has nothing more to say: anything it sends is dropped, and its close (or a
    // reset) ends the stream at once rather than at the next write.
    void watch_reader() {
        socket_.async_read_some(asio::buffer(sink_), [self = shared_from_this()](error_code ec, size_t) {
            if (ec) {
                self->stop();
                return;
            }
            self->watch_reader();
        });
    }

    void pump() {
        if (queue_.empty() || !socket_.is_open()) {
            writing_ = false;
            return;
        }
        writing_ = true;
        current_ = std::move(queue_.front());
        queue_.pop_front();
        arm(limits_.write_deadline);
        asio::async_write(socket_, asio::buffer(current_), [self = shared_from_this()](error_code ec, size_t) {
            self->deadline_.cancel();
            if (ec) {
                if (self->timed_out_ && self->notice_)
                    self->notice_("control socket: closed the events stream of " + self->caller_ + ": it stopped reading for " +
                                      std::to_string(self->limits_.write_deadline.count()) + " ms",
                                  "control-stream-dropped");
                self->stop();
                return;
            }
            self->pump();
        });
    }

    // One warning per refused connection, with what it asked for.
    void refused(const std::string& asked) {
        if (notice_) notice_("control socket: refused " + caller_ + ", " + asked + ": " + *refusal_, "control-refused");
    }

    // A caller's line as it may appear in the log: printable ASCII, at most 64 characters.
    static std::string printable(const std::string& s) {
        std::string out;
        for (char c : s.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
        return s.size() > 64 ? out + "..." : out;
    }

    void do_write(std::string reply) {
        reply_ = std::move(reply);
        arm(limits_.write_deadline);
        asio::async_write(socket_, asio::buffer(reply_), [self = shared_from_this()](error_code, size_t) {
            self->deadline_.cancel();
            error_code ignored;
            self->socket_.shutdown(local_stream::socket::shutdown_both, ignored);
            self->socket_.close(ignored);
        });
    }

    local_stream::socket socket_;
    asio::steady_timer deadline_;
    asio::streambuf buf_;
    Handler handler_;
    Limits limits_;
    Notice notice_;
    ControlSocket& owner_;
    std::deque<std::string> queue_;  // a stream's lines waiting
    std::string current_;            // the line being written
    bool writing_ = false;
    bool timed_out_ = false;  // the deadline closed the socket
    std::array<char, 256> sink_{};
    std::optional<std::string> refusal_;  // nullopt: admitted
    std::string caller_;
    std::string reply_;
};

ControlSocket::ControlSocket(asio::io_context& io, std::string path, Handler handler, Limits limits, std::string group,
                             Notice notice)
    : io_(io), path_(std::move(path)), handler_(std::move(handler)), limits_(limits), group_(std::move(group)),
      notice_(std::move(notice)), acceptor_(io) {}

namespace {

std::string octal(mode_t m) {
    char b[8];
    std::snprintf(b, sizeof b, "%04o", static_cast<unsigned>(m & 07777));
    return b;
}

std::string errno_sentence(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

std::string ControlSocket::open() {
    std::string why;
    auto access = resolve_control_access(group_, why);
    if (!access) return "cannot open the control socket " + path_ + ": " + why;
    access_ = *access;
    const bool grouped = !access_.group.empty();

    std::string dir = path_.substr(0, path_.rfind('/'));
    if (!dir.empty()) {
        const mode_t mode = grouped ? 0750 : 0700;
        if (::mkdir(dir.c_str(), mode) == 0) {
            // mkdir's mode passed through the umask; say it exactly.
            if (::chmod(dir.c_str(), mode) != 0 || (grouped && ::chown(dir.c_str(), static_cast<uid_t>(-1), access_.gid) != 0))
                return "cannot set up the control socket's directory " + errno_sentence(dir);
        } else if (struct stat st{}; grouped && ::stat(dir.c_str(), &st) == 0) {
            // An existing directory is the operator's (or tmpfiles.d's): keep its mode, but say when
            // it keeps the group out, which members would otherwise meet as "permission denied".
            bool reachable = (st.st_mode & S_IXOTH) || (st.st_gid == access_.gid && (st.st_mode & S_IXGRP));
            if (!reachable && notice_)
                notice_("control socket: the directory " + dir + " (mode " + octal(st.st_mode) + ", gid " +
                            std::to_string(st.st_gid) + ") keeps group " + access_.group +
                            " from reaching the socket; it is left as it is (chgrp " + access_.group + " " + dir +
                            "; chmod 0750 " + dir + " lets the group in)",
                        "control-directory");
        }
    }
    ::unlink(path_.c_str());
    error_code ec;
    acceptor_.open(local_stream(), ec);
    if (!ec) acceptor_.bind(local_stream::endpoint(path_), ec);
    if (ec) return "cannot listen on the control socket " + path_ + ": " + ec.message();
    if (::chmod(path_.c_str(), grouped ? 0660 : 0600) != 0 ||
        (grouped && ::chown(path_.c_str(), static_cast<uid_t>(-1), access_.gid) != 0)) {
        std::string problem = "cannot set the control socket's mode or group: " + errno_sentence(path_);
        close();
        return problem;
    }
    acceptor_.listen(4, ec);
    if (ec) return "cannot listen on the control socket " + path_ + ": " + ec.message();
    do_accept();
    return {};
}

void ControlSocket::close() {
    error_code ignored;
    acceptor_.close(ignored);
    for (auto& w : streams_)
        if (auto s = w.lock()) s->stop();
    streams_.clear();
    ::unlink(path_.c_str());
}

void ControlSocket::publish(const std::string& line) {
    std::vector<std::weak_ptr<Exchange>> open;
    // enqueue() may close a stream; the list is rebuilt from the ones still open
    for (auto& w : streams_)
        if (auto s = w.lock(); s && s->is_open()) {
            s->enqueue(line);
            if (s->is_open()) open.push_back(s);
        }
    streams_ = std::move(open);
}

size_t ControlSocket::streams() {
    size_t n = 0;
    for (auto& w : streams_)
        if (auto s = w.lock(); s && s->is_open()) ++n;
    return n;
}

void ControlSocket::do_accept() {
    acceptor_.async_accept([this](error_code ec, local_stream::socket s) {
        if (ec) return;
        std::make_shared<Exchange>(std::move(s), *this, access_)->do_read();
        do_accept();
    });
}

}  // namespace haspool::agent
