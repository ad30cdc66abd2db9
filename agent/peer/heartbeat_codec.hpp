#pragma once
// The peer protocol: versioned binary datagrams between the two agents (docs/design.md §5), each
// authenticated with HMAC-SHA256 over the whole datagram (shared key from cluster.secret_file).
//
// Layout, all integers big-endian:
//   "HSPL" | version u8 (=1) | type u8 (1 heartbeat, 2 request, 3 ack)
//   | cluster: len u8 + bytes | sender node: len u8 + bytes | boot id: 16 bytes | sequence u64
//   | timestamp u64 (ms since the Unix epoch, sender's wall clock)
//   | role u8 (0 primary, 1 standby) | state u8 | generation u64
//   | ancestors: count u8 (<= 8) + u64 each, newest first
//   | md health u8 (0..3; 4 = raw-written, from the standby only, see types.hpp) | md percent u8
//   | NBD health u8
//   | message kind u8 (0 in heartbeats) | request id u64 (0 in heartbeats)
//   | echo timestamp u64 | echo hold u32 (ms): the newest timestamp received from the peer on
//     this path and how long ago it arrived, so the peer measures the path's round trip
//   | HMAC-SHA256 of everything before it (32 bytes)
// decode() checks magic, version and the HMAC before reading any field; PeerGate adds the
// cluster/node/clock-skew/replay checks. Every rejection has a reason that is counted.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/types.hpp"

namespace haspool::agent {

inline constexpr uint8_t kWireVersion = 1;
inline constexpr size_t kHmacSize = 32;
inline constexpr size_t kMaxDatagram = 512;

enum class MessageType : uint8_t { heartbeat = 1, request = 2, ack = 3 };
using BootId = std::array<uint8_t, 16>;

struct Message {
    MessageType type = MessageType::heartbeat;
    std::string cluster;
    std::string sender;
    BootId boot_id{};
    uint64_t sequence = 0;
    uint64_t timestamp_ms = 0;
    PeerStatus status;
    MessageKind kind = MessageKind::handed_back;  // requests and acks only
    uint64_t request_id = 0;                      // requests and acks only
    uint64_t echo_timestamp_ms = 0;               // 0: nothing to echo yet
    uint32_t echo_hold_ms = 0;
};

enum class Reject {
    truncated, bad_magic, wrong_version, bad_hmac, malformed, foreign_cluster, unknown_node,
    clock_skew, replayed, old_boot,
};
const char* to_string(Reject r);

struct Decoded {
    std::optional<Message> message;
    Reject reject = Reject::malformed;  // meaningful when !message
    std::string detail;                 // a sentence with numbers
};

std::vector<uint8_t> encode(const Message& m, std::string_view key);
Decoded decode(const uint8_t* data, size_t size, std::string_view key);

// HMAC-SHA256(key, data) and its constant-time check.
std::array<uint8_t, kHmacSize> hmac_sha256(std::string_view key, const uint8_t* data, size_t size);

// Accepts only authenticated datagrams from the one peer of this cluster, fresh in time and
// not seen before: per boot id a strictly increasing sequence; an earlier boot id is refused;
// timestamps must lie within max_clock_skew of our wall clock. Counts every rejection.
class PeerGate {
public:
    PeerGate(std::string cluster, std::string peer_name, std::string key, Millis max_clock_skew);

    Decoded accept(const uint8_t* data, size_t size, uint64_t wall_now_ms);

    const std::map<Reject, uint64_t>& rejected() const { return rejected_; }
    uint64_t accepted() const { return accepted_; }
    void set_key(std::string key) { key_ = std::move(key); }

private:
    Decoded refuse(Decoded d);

    std::string cluster_, peer_, key_;
    Millis skew_;
    std::optional<BootId> boot_;
    uint64_t last_sequence_ = 0;
    std::vector<BootId> old_boots_;  // bounded: the last few boot ids seen before the current one
    std::map<Reject, uint64_t> rejected_;
    uint64_t accepted_ = 0;
};

// A fresh random boot id (each daemon start).
BootId new_boot_id();

}  // namespace haspool::agent
