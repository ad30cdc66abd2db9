#pragma once
// Blocking socket reads and writes bounded by a deadline (poll before each system call), for the
// handshakes and the session's payload reads. Return 0 or an errno value (ETIMEDOUT when the
// deadline passed, ECONNRESET when the peer closed mid-frame, EPIPE when it closed before it).
#include <chrono>
#include <cstddef>
#include <optional>

namespace haspool::nbd {

using Deadline = std::optional<std::chrono::steady_clock::time_point>;  // nullopt: wait forever

// Reads exactly n bytes. A clean EOF before the first byte returns EPIPE; after it, ECONNRESET.
int read_exact(int fd, void* buf, std::size_t n, Deadline deadline);
// Writes all n bytes (MSG_NOSIGNAL).
int write_all(int fd, const void* buf, std::size_t n, Deadline deadline);

}  // namespace haspool::nbd

#include <sys/uio.h>

namespace haspool::nbd {
// Writes every byte of the iovec array (which it may modify) with sendmsg(MSG_NOSIGNAL).
int writev_all(int fd, iovec* iov, int iovcnt, Deadline deadline);
}  // namespace haspool::nbd
