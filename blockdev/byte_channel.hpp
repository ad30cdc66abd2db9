#pragma once
// The byte stream an NBD connection speaks over once it is accepted: the socket itself, or TLS
// on that socket after NBD_OPT_STARTTLS (blockdev/tls_channel.hpp). The handshake and the
// session read and write through this, so neither knows which.
//
// Every call is safe from several threads at once as long as one thread reads and one writes at
// a time (the session's read and write locks guarantee that). Return values follow socket_io.hpp:
// 0 or an errno value; EPIPE for a clean EOF before the first byte, ECONNRESET after it.
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>

#include "blockdev/socket_io.hpp"

namespace haspool::nbd {

class ByteChannel {
public:
    virtual ~ByteChannel() = default;
    // Up to n bytes without waiting: the count, 0 at EOF, or -errno (-EAGAIN: nothing ready).
    virtual ssize_t read_some(void* buf, std::size_t n) = 0;
    // Returns when read_some has something to report (data, EOF or an error), or at the deadline.
    virtual int wait_readable(Deadline deadline) = 0;
    // Writes every byte of the iovec array (which it may modify).
    virtual int writev_all(iovec* iov, int iovcnt, Deadline deadline) = 0;
    // Wakes every waiter: shutdown(2) on the socket (SHUT_RD or SHUT_RDWR).
    virtual void shutdown(int how) = 0;
    virtual bool encrypted() const = 0;

    int read_exact(void* buf, std::size_t n, Deadline deadline);
    int write_all(const void* buf, std::size_t n, Deadline deadline);
};

// The connected socket as it is. Does not own the descriptor.
class PlainChannel : public ByteChannel {
public:
    explicit PlainChannel(int fd) : fd_(fd) {}
    ssize_t read_some(void* buf, std::size_t n) override;
    int wait_readable(Deadline deadline) override;
    int writev_all(iovec* iov, int iovcnt, Deadline deadline) override;
    void shutdown(int how) override;
    bool encrypted() const override { return false; }

private:
    int fd_;
};

}  // namespace haspool::nbd
