#pragma once
// The primary's NBD leg (docs/design.md §4): connect to the standby's export over TCP, handshake
// with our client (nbd_client_handshake.hpp), and hand the socket(s) to the kernel
// (nbd_netlink.hpp); after a link blip, the same with NBD_CMD_RECONFIGURE; detach. Errors are
// sentences.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "blockdev/tls_psk.hpp"

namespace haspool::nbd {

struct AttachRequest {
    std::string host;                          // the standby's export address (numeric)
    uint16_t port = 10809;
    std::string export_name;
    std::optional<uint32_t> index;             // /dev/nbdN; nullopt: the kernel picks
    std::chrono::seconds io_timeout{20};       // NBD_ATTR_TIMEOUT (never 0)
    std::chrono::seconds dead_conn_timeout{3}; // NBD_ATTR_DEAD_CONN_TIMEOUT
    unsigned connections = 1;                  // sockets handed over (multi-conn needs the flag)
    std::optional<uint64_t> block_size;        // default: the export's preferred size, clamped
    // The whole connect phase: first TCP connects across a fresh link can take seconds, so
    // connects are retried with a short per-attempt timeout until this passes.
    std::chrono::milliseconds connect_timeout{30000};
    std::chrono::milliseconds handshake_timeout{10000};
    // nbd.tls: required: NBD_OPT_STARTTLS with these keys, tried in order (a rotation offers the
    // next secret's key first, then the current one), each on a fresh connection; the negotiated
    // record keys go into the socket (kTLS, blockdev/ktls.hpp) before the kernel takes it, so the
    // driver's I/O is encrypted. Required with no key, or no key accepted: the attach fails.
    bool tls_required = false;
    std::vector<TlsPsk> tls_keys;
};

struct AttachResult {
    std::optional<uint32_t> index;
    uint64_t size_bytes = 0;
    uint16_t transmission_flags = 0;
    std::string error;
};

// Connects, handshakes (requiring FLUSH and FUA) and NBD_CMD_CONNECTs.
AttachResult attach(const AttachRequest& r);

// Connects and handshakes r.connections fresh sockets and hands them to /dev/nbd<index> with
// NBD_CMD_RECONFIGURE. Refuses an export whose size differs from the device's.
std::string reconnect(uint32_t index, const AttachRequest& r);

// "ADDR:PORT/NAME": the NBD_ATTR_BACKEND_IDENTIFIER attach gives the device (shown in
// /sys/block/nbdN/backend); reconnect must present the same one, so the kernel itself refuses
// to splice a different export into a running device.
std::string backend_identifier(const AttachRequest& r);

// NBD_CMD_DISCONNECT.
std::string detach(uint32_t index);

// Parses "ADDR:PORT" ("[v6]:PORT" too) into host and port; error sentence on failure.
std::string parse_host_port(const std::string& s, std::string& host, uint16_t& port);

}  // namespace haspool::nbd
