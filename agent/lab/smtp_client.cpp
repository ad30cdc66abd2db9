#include "agent/lab/smtp_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "agent/lab/line_buffer.hpp"
#include "agent/lab/smtp_reply.hpp"

namespace haspool::mail {

namespace {

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point deadline) {
    auto d = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return d < 0 ? 0 : static_cast<int>(d);
}

class Conn {
  public:
    explicit Conn(int fd) : fd_(fd) {}
    ~Conn() { ::close(fd_); }
    Conn(const Conn&) = delete;
    Conn& operator=(const Conn&) = delete;

    // Writes everything within the timeout; error text or "".
    std::string send(const std::string& s, std::chrono::milliseconds timeout) {
        auto deadline = Clock::now() + timeout;
        std::size_t off = 0;
        while (off < s.size()) {
            ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                off += static_cast<std::size_t>(n);
                continue;
            }
            if (n < 0 && errno != EAGAIN && errno != EINTR) return std::string("send: ") + std::strerror(errno);
            pollfd p{fd_, POLLOUT, 0};
            if (::poll(&p, 1, ms_left(deadline)) == 0) return "send: timed out";
        }
        return "";
    }

    // Reads one whole (possibly multi-line) reply; its code, and its last line's text.
    std::string reply(std::chrono::milliseconds timeout, int& code, std::string& text) {
        auto deadline = Clock::now() + timeout;
        for (;;) {
            LineBuffer::Next l = lines_.next();
            if (l.kind == LineBuffer::Kind::too_long) return "reply line too long";
            if (l.kind == LineBuffer::Kind::line) {
                ReplyLine r = parse_reply_line(l.line);
                if (!r.ok) return "malformed reply '" + l.line.substr(0, 80) + "'";
                if (r.last) {
                    code = r.code;
                    text = std::to_string(r.code) + " " + r.text;
                    return "";
                }
                continue;
            }
            pollfd p{fd_, POLLIN, 0};
            int pr = ::poll(&p, 1, ms_left(deadline));
            if (pr == 0) return "no reply within " + std::to_string(timeout.count()) + " ms";
            if (pr < 0 && errno != EINTR) return std::string("poll: ") + std::strerror(errno);
            char buf[4096];
            ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0) return "connection closed by the server";
            if (n < 0 && errno != EAGAIN && errno != EINTR) return std::string("recv: ") + std::strerror(errno);
            if (n > 0) lines_.append(std::string_view(buf, static_cast<std::size_t>(n)));
        }
    }

  private:
    int fd_;
    LineBuffer lines_{4096};
};

// Non-blocking connect bounded by the timeout; the fd or -1 with `error` set.
int connect_to(const SendRequest& r, std::string& error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    addrinfo* ai = nullptr;
    if (int rc = ::getaddrinfo(r.host.c_str(), std::to_string(r.port).c_str(), &hints, &ai); rc != 0) {
        error = "bad address " + r.host + ": " + ::gai_strerror(rc);
        return -1;
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(ai, ::freeaddrinfo);
    int fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        error = std::string("socket: ") + std::strerror(errno);
        return -1;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
        error = std::string("connect: ") + std::strerror(errno);
        ::close(fd);
        return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    int pr = ::poll(&p, 1, static_cast<int>(r.connect_timeout.count()));
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (pr == 0) {
        error = "connect: no answer within " + std::to_string(r.connect_timeout.count()) + " ms";
    } else if (pr < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) {
        error = std::string("connect: ") + std::strerror(errno);
    } else if (soerr != 0) {
        error = std::string("connect: ") + std::strerror(soerr);
    }
    if (!error.empty()) {
        ::close(fd);
        return -1;
    }
    return fd;
}

}  // namespace

SendResult smtp_send(const SendRequest& r) {
    SendResult res;
    res.stage = "connect";
    int fd = connect_to(r, res.detail);
    if (fd < 0) return res;
    Conn c(fd);
    int code = 0;
    // Each exchange: send (unless empty), read the reply, require `want`.
    auto step = [&](const char* stage, const std::string& line, int want) {
        res.stage = stage;
        if (!line.empty())
            if (std::string e = c.send(line, r.io_timeout); !e.empty()) {
                res.detail = e;
                return false;
            }
        if (std::string e = c.reply(r.io_timeout, code, res.detail); !e.empty()) {
            res.detail = e;
            return false;
        }
        return code == want;
    };
    if (!step("greeting", "", 220)) return res;
    if (!step("EHLO", "EHLO " + r.helo + "\r\n", 250)) return res;
    if (!step("MAIL", "MAIL FROM:<" + r.from + ">\r\n", 250)) return res;
    if (!step("RCPT", "RCPT TO:<" + r.to + ">\r\n", 250)) return res;
    if (!step("DATA", "DATA\r\n", 354)) return res;
    if (!step("message", dot_stuff(r.body), 250)) return res;
    res.accepted = true;
    std::string accepted_reply = res.detail;
    step("QUIT", "QUIT\r\n", 221);  // the message is the server's already; QUIT's fate does not matter
    res.stage = "message";
    res.detail = accepted_reply;
    return res;
}

}  // namespace haspool::mail
