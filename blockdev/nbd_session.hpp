#pragma once
// One NBD connection in the transmission phase.
//
// Threading (the model nbdkit calls "parallel"): `workers` threads share the socket. A worker
// takes the read lock, reads one request (header, and a WRITE's payload into its own buffer),
// validates it, releases the read lock so the next worker can read the next request, performs the
// I/O, and sends its reply under the write lock. So several requests are in flight per
// connection, replies go out in completion order (each carries its cookie), the socket is never
// blocked behind disk I/O, and each worker reuses one buffer (no allocation per request).
// Reads go through a small read-ahead buffer so pipelined headers cost one recv between them.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "blockdev/byte_channel.hpp"
#include "blockdev/export_device.hpp"
#include "blockdev/nbd_codec.hpp"
#include "blockdev/nbd_server_handshake.hpp"

namespace haspool::nbd {

// Shared by all sessions of one server; plain atomics so the agent can read them at any time.
struct ServerCounters {
    std::atomic<uint64_t> requests{0};
    std::atomic<uint64_t> bytes_read{0};
    std::atomic<uint64_t> bytes_written{0};
    std::atomic<uint64_t> io_errors{0};            // replies carrying an error from the storage
    std::atomic<uint64_t> rejected_requests{0};    // refused by validate_request
    std::atomic<uint64_t> rejected_connections{0}; // not allowed, disengaged, second writer
    std::atomic<uint64_t> sessions_started{0};
    std::atomic<int64_t> last_activity_ns{0};      // steady_clock of the last request received
};

class Session {
public:
    struct Params {
        unsigned workers = 8;
        std::chrono::milliseconds stall_timeout{30000};  // a request must arrive whole within this
    };
    // Over the plain socket `fd` (not owned), or over the channel the handshake left (TLS).
    Session(int fd, ExportDevice& dev, ExportLimits limits, NegotiatedSession neg, ServerCounters& counters, Params p);
    Session(std::unique_ptr<ByteChannel> channel, ExportDevice& dev, ExportLimits limits, NegotiatedSession neg,
            ServerCounters& counters, Params p);
    // Runs until the client disconnects, a frame is malformed, a client stalls or shutdown() is
    // called; returns why. Does not close the fd.
    std::string run();
    // Wakes every worker (safe from any thread).
    void shutdown();

private:
    struct Buffer;
    void worker(Buffer& buf);
    uint32_t execute(const Request& r, Buffer& buf);
    uint32_t block_status(const Request& r, Buffer& buf);
    void send_reply(const Request& r, uint32_t error, const void* data, const std::string& reason);
    void close_with(std::string why);
    int read_stream(uint8_t* dst, std::size_t n, bool between_requests);

    std::unique_ptr<ByteChannel> ch_;
    ExportDevice& dev_;
    ExportLimits limits_;
    NegotiatedSession neg_;
    ServerCounters& counters_;
    Params params_;
    std::mutex read_mu_, write_mu_, why_mu_;
    // Read-ahead: one recv often brings several pipelined request headers (guarded by read_mu_).
    std::vector<uint8_t> rbuf_;
    std::size_t rpos_ = 0, rend_ = 0;
    std::atomic<bool> closing_{false};
    std::string why_;
};

}  // namespace haspool::nbd
