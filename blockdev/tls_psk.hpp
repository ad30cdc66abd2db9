#pragma once
// The pre-shared key that authenticates and encrypts the NBD link (nbd.tls: required).
//
// Both nodes already hold the cluster secret (cluster.secret_file), so the TLS key is derived
// from it rather than distributed separately: HKDF-SHA256 with a fixed salt and a label naming
// its one use, so the heartbeat's HMAC key and the TLS key are never the same bytes, and knowing
// one tells nothing about the other. The PSK identity is the cluster's name: a client from
// another cluster that shares the network offers an identity the server does not know.
//
// Other people's clients (nbdinfo, nbdcopy, qemu-img, nbd-client) read GnuTLS's PSK file format,
// one "identity:hexkey" line; psk_file_line() writes it (`haspool tls-psk`).
#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace haspool::nbd {

struct TlsPsk {
    std::string identity;
    std::array<uint8_t, 32> key{};
    bool operator==(const TlsPsk&) const = default;
};

// HKDF-SHA256(secret, salt "haspool nbd tls-psk", info "haspool nbd tls-psk v1 " + identity).
// The identity goes into the derivation so two clusters sharing one secret file still get
// different keys. Empty `secret` or an identity with ':' (the PSK file's separator): nullopt.
std::optional<TlsPsk> derive_tls_psk(const std::string& secret, const std::string& identity);

// "identity:hexkey\n", GnuTLS's psktool format.
std::string psk_file_line(const TlsPsk& psk);

// Parses such a file's content: the first line whose identity is `identity` (or, when that is
// empty, the first line). nullopt with `why` when none fits or the key is not 64 hex digits.
std::optional<TlsPsk> parse_psk_file(const std::string& content, const std::string& identity, std::string& why);

}  // namespace haspool::nbd
