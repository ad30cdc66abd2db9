#pragma once
// Kernel TLS: the primary's half of an encrypted NBD link. The kernel's nbd driver cannot run a
// TLS handshake, but it sends and receives through whatever the socket carries. So the primary
// runs the handshake in userspace (tls_channel.hpp), installs the negotiated record keys into the
// socket (TCP_ULP "tls", then TLS_TX and TLS_RX), and only then hands the socket over netlink.
//
// The keys come from the TLS 1.3 application traffic secrets (RFC 8446 §7.3: key and iv by
// HKDF-Expand-Label), and both directions' record numbers start at 0: the handoff happens right
// after the handshake, before any application data, and the server sends no ticket or key
// update (tls_channel.hpp). The rest of the NBD negotiation (NBD_OPT_GO) then already runs over
// the kernel's TLS, which proves the installed keys before the kernel depends on them.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "blockdev/tls_channel.hpp"

namespace haspool::nbd {

struct RecordKeys {
    std::array<uint8_t, 16> key{};  // AES-128-GCM
    std::array<uint8_t, 12> iv{};
};

// For TLS_AES_128_GCM_SHA256; nullopt when the secret is not 32 bytes.
std::optional<RecordKeys> tls13_record_keys(const std::vector<uint8_t>& traffic_secret);

// Installs the client's keys for sending and the server's for receiving on `fd` (a client
// socket). "" or a sentence naming the failing setsockopt and errno (ENOENT on TCP_ULP: the
// kernel has no "tls" module loaded).
std::string install_ktls(int fd, const TrafficSecrets& secrets);

}  // namespace haspool::nbd
