#pragma once
// The server side of the fixed-newstyle handshake: greeting, client flags, then options until
// the client picks the export (NBD_OPT_GO / NBD_OPT_EXPORT_NAME), aborts, or misbehaves.
// Blocking I/O on the connected socket, bounded by one deadline for the whole negotiation.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "blockdev/byte_channel.hpp"
#include "blockdev/socket_io.hpp"

namespace haspool::nbd {

struct ExportInfo {
    std::string name;         // "" (the default export) is accepted as well
    std::string description;
    uint64_t size = 0;
    uint16_t transmission_flags = 0;
    uint32_t min_block = 1, preferred_block = 4096, max_block = 32 * 1024 * 1024;
};

struct NegotiatedSession {
    bool structured_replies = false;
    bool base_allocation = false;  // NBD_CMD_BLOCK_STATUS allowed (needs structured replies)
};

struct ServerHandshakeResult {
    std::optional<NegotiatedSession> session;  // set: enter transmission
    std::string reason;                        // why not (client aborted, bad frame, timeout, refused)
    std::unique_ptr<ByteChannel> channel;      // with `session`: the socket, or TLS on it after STARTTLS
    bool tls_refused = false;                  // ended for want of TLS or of the key (a refusal, not noise)
};

class TlsContext;

// admit() is asked when the client selects the export; it returns "" to admit the session or a
// sentence saying why not (sent to the client as NBD_REP_ERR_POLICY where the protocol allows).
// With `tls` (a server context), TLS is required: every option but NBD_OPT_STARTTLS and
// NBD_OPT_ABORT is answered NBD_REP_ERR_TLS_REQD until the TLS handshake succeeded, and a
// failed handshake ends the connection. Without it, NBD_OPT_STARTTLS is answered
// NBD_REP_ERR_UNSUP.
ServerHandshakeResult server_handshake(int fd, const ExportInfo& exp, const std::function<std::string()>& admit,
                                       Deadline deadline, const TlsContext* tls = nullptr);

}  // namespace haspool::nbd
