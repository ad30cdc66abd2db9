#include "agent/lab/smtp_server.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <thread>

#include "agent/lab/line_buffer.hpp"
#include "agent/lab/smtp_session.hpp"
#include "agent/lab/spool_store.hpp"

namespace haspool::mail {

namespace {

bool send_lines(int fd, const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "\r\n";
    std::size_t off = 0;
    while (off < out.size()) {
        ssize_t n = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        off += static_cast<std::size_t>(n);
    }
    return true;
}

void serve_connection(int fd, const ServerOptions& o, SpoolStore& store) {
    timeval tv{o.idle_timeout_s, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    SmtpSession s(o.hostname, [&store](const Envelope& e, const std::string& d) { return store.store(e, d); },
                  o.max_message_bytes);
    LineBuffer lines(SmtpSession::kMaxTextLine);
    bool open = send_lines(fd, {s.greeting()});
    char buf[8192];
    while (open) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            send_lines(fd, {"421 4.4.2 " + o.hostname + " idle too long, closing connection"});
            break;
        }
        if (n <= 0) break;
        lines.append(std::string_view(buf, static_cast<std::size_t>(n)));
        for (;;) {
            LineBuffer::Next l = lines.next();
            if (l.kind == LineBuffer::Kind::none) break;
            SessionOutput out = l.kind == LineBuffer::Kind::line ? s.on_line(l.line) : s.on_line_too_long();
            if (!out.lines.empty() && !send_lines(fd, out.lines)) open = false;
            if (out.close) open = false;
            if (!open) break;
        }
    }
    ::close(fd);
}

}  // namespace

std::string run_smtp_server(const ServerOptions& o) {
    if (std::string e = SpoolStore::prepare(o.spool_dir); !e.empty()) return e;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    addrinfo* ai = nullptr;
    const std::string where = o.host + ":" + std::to_string(o.port);
    if (int rc = ::getaddrinfo(o.host.c_str(), std::to_string(o.port).c_str(), &hints, &ai); rc != 0)
        return "cannot use listen address " + where + ": " + ::gai_strerror(rc);
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(ai, ::freeaddrinfo);
    int ls = ::socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ls < 0) return std::string("socket: ") + std::strerror(errno);
    int one = 1;
    ::setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(ls, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(ls, 64) != 0) {
        std::string e = "cannot listen on " + where + ": " + std::strerror(errno);
        ::close(ls);
        return e;
    }
    std::cout << "listening " << where << std::endl;
    auto store = std::make_shared<SpoolStore>(o.spool_dir, o.hostname);
    for (;;) {
        int fd = ::accept4(ls, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE) {  // out of descriptors: let connections finish
                ::usleep(100000);
                continue;
            }
            std::string e = "accept on " + where + ": " + std::strerror(errno);
            ::close(ls);
            return e;
        }
        std::thread([fd, o, store] { serve_connection(fd, o, *store); }).detach();
    }
}

}  // namespace haspool::mail
