#pragma once
// The NBD client side of the fixed-newstyle handshake, for the primary: it negotiates an export
// over a connected socket and then hands the socket to the kernel (which speaks simple replies
// only, so structured replies are never requested).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace haspool::nbd {

struct NegotiatedExport {
    uint64_t size;
    uint16_t transmission_flags;
    uint32_t min_block = 1, preferred_block = 4096, max_block = 32 * 1024 * 1024;
};

struct HandshakeResult {
    std::optional<NegotiatedExport> export_info;
    std::string error;  // a sentence with context when export_info is empty
    bool encrypted = false;  // negotiated over TLS
};

class TlsContext;

// nbd.tls: required. `context` is a client context (blockdev/tls_channel.hpp); null: plain NBD.
// `kernel`: install the TLS keys into the socket right after the TLS handshake (blockdev/ktls.hpp)
// and finish the negotiation through them, for a socket the kernel takes next; false: finish it
// over userspace TLS and leave the socket unusable for anything else (probes and tests).
struct ClientTls {
    const TlsContext* context = nullptr;
    bool kernel = true;
};

// Fixed-newstyle handshake over an already-connected blocking socket `fd`, using NBD_OPT_GO
// (falling back to NBD_OPT_EXPORT_NAME only if the server answers NBD_REP_ERR_UNSUP), NO
// structured replies, requesting NBD_INFO_BLOCK_SIZE. `timeout` bounds the whole exchange. When
// require_flush_fua is true, an export lacking SEND_FLUSH or SEND_FUA is refused
// (docs/design.md §7).
// With tls.context, NBD_OPT_STARTTLS comes first and a server that refuses it is refused.
HandshakeResult client_handshake(int fd, const std::string& export_name, std::chrono::milliseconds timeout,
                                 bool require_flush_fua = true, const ClientTls& tls = {});

// The byte stream the handshake speaks over. The socket above is one (reads and writes bounded by
// the deadline, see socket_io.hpp); the fuzz target feeds a server's bytes from a buffer
// (tests/fuzz/blockdev/fuzz_nbd_client.cpp), the way Beast's parsers take buffers. Both return 0
// or an errno value with socket_io.hpp's meaning: EPIPE when the server closed before the first
// byte of a read, ECONNRESET when it closed in the middle, ETIMEDOUT past the deadline.
class HandshakeStream {
public:
    virtual ~HandshakeStream() = default;
    virtual int read(void* buf, std::size_t n) = 0;
    virtual int write(const void* buf, std::size_t n) = 0;
};

// The same handshake over any stream; the deadline is the stream's.
HandshakeResult client_handshake(HandshakeStream& stream, const std::string& export_name,
                                 bool require_flush_fua = true);

}  // namespace haspool::nbd
