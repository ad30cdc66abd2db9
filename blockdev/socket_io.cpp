#include "blockdev/socket_io.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace haspool::nbd {

namespace {

// Waits until fd is ready for `events`; 0 when ready, ETIMEDOUT or errno otherwise.
int wait_ready(int fd, short events, Deadline deadline) {
    for (;;) {
        int ms = -1;
        if (deadline) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return ETIMEDOUT;
            ms = int(std::min<long long>(left.count() + 1, 1 << 30));
        }
        pollfd p{fd, events, 0};
        int r = ::poll(&p, 1, ms);
        if (r > 0) return 0;  // readable, writable, or an error the next call reports
        if (r == 0) return ETIMEDOUT;
        if (errno != EINTR) return errno;
    }
}

}  // namespace

int wait_readable(int fd, Deadline deadline) { return wait_ready(fd, POLLIN, deadline); }

int read_exact(int fd, void* buf, std::size_t n, Deadline deadline) {
    auto* p = static_cast<char*>(buf);
    std::size_t got = 0;
    while (got < n) {
        ssize_t r = ::recv(fd, p + got, n - got, MSG_DONTWAIT);
        if (r > 0) {
            got += std::size_t(r);
            continue;
        }
        if (r == 0) return got == 0 ? EPIPE : ECONNRESET;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return errno;
        if (int e = wait_ready(fd, POLLIN, deadline)) return e;
    }
    return 0;
}

int write_all(int fd, const void* buf, std::size_t n, Deadline deadline) {
    auto* p = static_cast<const char*>(buf);
    std::size_t sent = 0;
    while (sent < n) {
        ssize_t r = ::send(fd, p + sent, n - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r >= 0) {
            sent += std::size_t(r);
            continue;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return errno;
        if (int e = wait_ready(fd, POLLOUT, deadline)) return e;
    }
    return 0;
}

}  // namespace haspool::nbd

namespace haspool::nbd {

int writev_all(int fd, iovec* iov, int iovcnt, Deadline deadline) {
    while (iovcnt > 0) {
        msghdr m{};
        m.msg_iov = iov;
        m.msg_iovlen = std::size_t(iovcnt);
        ssize_t r = ::sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) return errno;
            if (int e = wait_ready(fd, POLLOUT, deadline)) return e;
            continue;
        }
        auto n = std::size_t(r);
        while (iovcnt > 0 && n >= iov->iov_len) {
            n -= iov->iov_len;
            ++iov;
            --iovcnt;
        }
        if (iovcnt > 0) {
            iov->iov_base = static_cast<char*>(iov->iov_base) + n;
            iov->iov_len -= n;
        }
    }
    return 0;
}

}  // namespace haspool::nbd
