#include "blockdev/byte_channel.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace haspool::nbd {

int ByteChannel::read_exact(void* buf, std::size_t n, Deadline deadline) {
    auto* p = static_cast<char*>(buf);
    std::size_t got = 0;
    while (got < n) {
        ssize_t r = read_some(p + got, n - got);
        if (r > 0) {
            got += std::size_t(r);
            continue;
        }
        if (r == 0) return got == 0 ? EPIPE : ECONNRESET;
        if (r != -EAGAIN) return int(-r);
        if (int e = wait_readable(deadline)) return e;
    }
    return 0;
}

int ByteChannel::write_all(const void* buf, std::size_t n, Deadline deadline) {
    iovec iov{const_cast<void*>(buf), n};
    return writev_all(&iov, 1, deadline);
}

ssize_t PlainChannel::read_some(void* buf, std::size_t n) {
    for (;;) {
        ssize_t r = ::recv(fd_, buf, n, MSG_DONTWAIT);
        if (r >= 0) return r;
        if (errno == EINTR) continue;
        if (errno == EWOULDBLOCK) return -EAGAIN;
        return -errno;
    }
}

int PlainChannel::wait_readable(Deadline deadline) { return nbd::wait_readable(fd_, deadline); }

int PlainChannel::writev_all(iovec* iov, int iovcnt, Deadline deadline) {
    return nbd::writev_all(fd_, iov, iovcnt, deadline);
}

void PlainChannel::shutdown(int how) { ::shutdown(fd_, how); }

}  // namespace haspool::nbd
