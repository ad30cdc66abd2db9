#pragma once
// The peer protocol: versioned binary datagrams between the two agents (docs/design.md §5), each
// authenticated with HMAC-SHA256 over the whole datagram (shared key from cluster.secret_file,
// or cluster.secret_file_next during a rotation).
//
// Layout of version 2, all integers big-endian:
//   "HSPL" | version u8 (=2) | key id: 8 bytes, of the key that signed (key_id())
//   | type u8 (1 heartbeat, 2 request, 3 ack)
//   | cluster: len u8 + bytes | sender node: len u8 + bytes
//   | boot id: 16 bytes, random at each start of the sender | sequence u64 (per boot id, from 1)
//   | stamp u64: the sender's monotonic clock in ms (never 0) | wall u64: the sender's wall clock
//     in ms since the Unix epoch, reported only
//   | peer boot: 16 bytes, the receiver's boot id as the sender last heard it (zeros: none yet)
//   | echo stamp u64 | echo hold u32 (ms): the newest stamp of that boot the sender heard on
//     this path and how long ago it arrived (0: none), so the receiver measures the round trip
//     and orders the sender's runs on its own clock
//   | next key id: 8 bytes, the sender's cluster.secret_file_next (zeros: none)
//   | role u8 (0 primary, 1 standby) | state u8 | generation u64
//   | ancestors: count u8 (<= 8) + u64 each, newest first
//   | md health u8 (0..3; 4 = raw-written, from the standby only, see types.hpp) | md percent u8
//   | NBD health u8
//   | message kind u8 (0 in heartbeats and reports; a query's 0, or 1 asking for the figures of
//     the sender's disk too: `plan failback`) | request id u64 (0 in heartbeats;
//     a query's own id, which its report repeats)
//   | reports only: length u16 + that many bytes of the sender's status report (JSON, UTF-8,
//     at most kMaxReport bytes: agent/control/peer_report.hpp)
//   | HMAC-SHA256 of everything before it (32 bytes)
// Types 4 and 5 are `haspool status` asking the peer's daemon itself (a query) and its answer (a
// report); a heartbeat stays under 512 bytes, and a report keeps the datagram within one
// Ethernet frame (kMaxDatagram), so nothing here relies on IP fragmentation.
// decode() checks magic, version, key id and the HMAC before reading any field; PeerGate
// (peer_gate.hpp) adds the cluster/node/freshness/replay checks. Every rejection has a reason
// that is counted. Version 1 (wall-clock timestamps, one strictly increasing sequence) is
// refused as old-version: docs/agent.md "Clocks and replay protection" says why it changed.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/types.hpp"

namespace haspool::agent {

inline constexpr uint8_t kWireVersion = 2;
inline constexpr size_t kHmacSize = 32;
inline constexpr size_t kMaxDatagram = 1400;
inline constexpr size_t kMaxReport = 1000;

enum class MessageType : uint8_t { heartbeat = 1, request = 2, ack = 3, query = 4, report = 5 };
using BootId = std::array<uint8_t, 16>;
using KeyId = std::array<uint8_t, 8>;

// The keys this node holds. It accepts a datagram signed with either; which one it signs with
// is PeerGate::signing_key() (docs/agent.md "Rotating the shared secret").
struct KeyRing {
    std::string current;  // cluster.secret_file
    std::string next;     // cluster.secret_file_next; empty: none
};
// Names a key on the wire without revealing it: the first 8 bytes of HMAC-SHA256(key, a label).
KeyId key_id(std::string_view key);
// "1f2e3d4c5b6a7988", for logs and status.
std::string to_hex(const uint8_t* data, size_t size);

struct Message {
    MessageType type = MessageType::heartbeat;
    std::string cluster;
    std::string sender;
    BootId boot_id{};
    uint64_t sequence = 0;
    uint64_t stamp_ms = 0;        // the sender's monotonic clock
    uint64_t wall_ms = 0;         // the sender's wall clock: reported, never judged
    BootId peer_boot{};           // zeros: the sender has not heard the receiver yet
    uint64_t echo_stamp_ms = 0;   // 0: nothing to echo yet
    uint32_t echo_hold_ms = 0;
    KeyId key_id{};               // set by encode(): the id of the key it signs with
    KeyId next_key_id{};          // zeros: the sender holds no next key
    PeerStatus status;
    MessageKind kind = MessageKind::handed_back;  // requests and acks only
    uint64_t request_id = 0;                      // requests, acks, queries and reports
    std::string report;                           // reports only: the sender's status (JSON)
    bool with_disk = false;                       // queries only: the report should carry the disk's figures
};

enum class Reject {
    truncated, bad_magic, old_version, wrong_version, unknown_key, bad_hmac, malformed, foreign_cluster,
    unknown_node, unconfirmed, replayed, too_old, old_boot,
};
const char* to_string(Reject r);

struct Decoded {
    std::optional<Message> message;  // set when accepted
    Reject reject = Reject::malformed;  // meaningful when !message
    std::string detail;                 // a sentence with numbers
    // PeerGate: the first datagram accepted from this run of the peer (its start, or ours).
    bool new_run = false;
    // PeerGate: accepted, and newer than every datagram accepted before from this run. A
    // reordered one (a slower path's) is a sign of life, but its status is older than what
    // the peer said since: only the newest status counts.
    bool newest = false;
    // PeerGate: an authenticated datagram whose stamp the reply should echo (the accepted ones,
    // and an unconfirmed one from the run this node echoes while it has confirmed none).
    struct Echo {
        BootId boot;
        uint64_t stamp_ms;
    };
    std::optional<Echo> echo;
};

// Signs `m` with `key` (its id goes in the header; m.key_id is ignored).
std::vector<uint8_t> encode(const Message& m, std::string_view key);
// Authenticates with whichever key of `keys` the header's key id names, then parses.
Decoded decode(const uint8_t* data, size_t size, const KeyRing& keys);

// HMAC-SHA256(key, data) and its constant-time check.
std::array<uint8_t, kHmacSize> hmac_sha256(std::string_view key, const uint8_t* data, size_t size);

}  // namespace haspool::agent
