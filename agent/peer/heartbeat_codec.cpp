#include "agent/peer/heartbeat_codec.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace haspool::agent {

namespace {

constexpr uint8_t kMagic[4] = {'H', 'S', 'P', 'L'};
// magic, version, type, two empty names, boot id, seq, ts, role, state, gen, count, 3 health,
// kind, request id, hmac
constexpr size_t kMinSize = 4 + 1 + 1 + 1 + 1 + 16 + 8 + 8 + 1 + 1 + 8 + 1 + 3 + 1 + 8 + 8 + 4 + kHmacSize;

class Writer {
public:
    void u8(uint8_t v) { b_.push_back(v); }
    void u32(uint32_t v) {
        for (int i = 3; i >= 0; --i) b_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
    void u64(uint64_t v) {
        for (int i = 7; i >= 0; --i) b_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
    void bytes(const uint8_t* p, size_t n) { b_.insert(b_.end(), p, p + n); }
    void str(const std::string& s) {
        if (s.size() > 255) throw std::invalid_argument("name longer than 255 bytes: " + s);
        u8(static_cast<uint8_t>(s.size()));
        bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    }
    std::vector<uint8_t>& buf() { return b_; }

private:
    std::vector<uint8_t> b_;
};

class Reader {
public:
    Reader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
    bool u8(uint8_t& v) {
        if (n_ - off_ < 1) return false;
        v = p_[off_++];
        return true;
    }
    bool u32(uint32_t& v) {
        if (n_ - off_ < 4) return false;
        v = 0;
        for (int i = 0; i < 4; ++i) v = (v << 8) | p_[off_++];
        return true;
    }
    bool u64(uint64_t& v) {
        if (n_ - off_ < 8) return false;
        v = 0;
        for (int i = 0; i < 8; ++i) v = (v << 8) | p_[off_++];
        return true;
    }
    bool bytes(uint8_t* out, size_t k) {
        if (n_ - off_ < k) return false;
        std::copy(p_ + off_, p_ + off_ + k, out);
        off_ += k;
        return true;
    }
    bool str(std::string& s) {
        uint8_t len = 0;
        if (!u8(len) || n_ - off_ < len) return false;
        s.assign(reinterpret_cast<const char*>(p_ + off_), len);
        off_ += len;
        return true;
    }
    size_t left() const { return n_ - off_; }

private:
    const uint8_t* p_;
    size_t n_;
    size_t off_ = 0;
};

Decoded reject(Reject r, std::string detail) {
    Decoded d;
    d.reject = r;
    d.detail = std::move(detail);
    return d;
}

bool valid_state(bool primary, uint8_t s) { return primary ? (s >= 1 && s <= 10) : (s >= 21 && s <= 27); }

}  // namespace

const char* to_string(Reject r) {
    switch (r) {
        case Reject::truncated: return "truncated";
        case Reject::bad_magic: return "bad-magic";
        case Reject::wrong_version: return "wrong-version";
        case Reject::bad_hmac: return "bad-hmac";
        case Reject::malformed: return "malformed";
        case Reject::foreign_cluster: return "foreign-cluster";
        case Reject::unknown_node: return "unknown-node";
        case Reject::clock_skew: return "clock-skew";
        case Reject::replayed: return "replayed";
        case Reject::old_boot: return "old-boot";
    }
    return "?";
}

std::array<uint8_t, kHmacSize> hmac_sha256(std::string_view key, const uint8_t* data, size_t size) {
    std::array<uint8_t, kHmacSize> out{};
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data, size, out.data(), &len);
    return out;
}

std::vector<uint8_t> encode(const Message& m, std::string_view key) {
    Writer w;
    w.bytes(kMagic, 4);
    w.u8(kWireVersion);
    w.u8(static_cast<uint8_t>(m.type));
    w.str(m.cluster);
    w.str(m.sender);
    w.bytes(m.boot_id.data(), m.boot_id.size());
    w.u64(m.sequence);
    w.u64(m.timestamp_ms);
    w.u8(m.status.primary ? 0 : 1);
    w.u8(m.status.state);
    w.u64(m.status.lineage.current.value);
    size_t n = std::min(m.status.lineage.ancestors.size(), Lineage::kMaxAncestors);
    w.u8(static_cast<uint8_t>(n));
    for (size_t i = 0; i < n; ++i) w.u64(m.status.lineage.ancestors[i].value);
    w.u8(static_cast<uint8_t>(m.status.md));
    w.u8(m.status.md_percent);
    w.u8(static_cast<uint8_t>(m.status.nbd));
    w.u8(m.type == MessageType::heartbeat ? 0 : static_cast<uint8_t>(m.kind));
    w.u64(m.type == MessageType::heartbeat ? 0 : m.request_id);
    w.u64(m.echo_timestamp_ms);
    w.u32(m.echo_hold_ms);
    auto mac = hmac_sha256(key, w.buf().data(), w.buf().size());
    w.bytes(mac.data(), mac.size());
    return std::move(w.buf());
}

Decoded decode(const uint8_t* data, size_t size, std::string_view key) {
    if (size < kMinSize)
        return reject(Reject::truncated, std::to_string(size) + " bytes, at least " + std::to_string(kMinSize) + " needed");
    if (size > kMaxDatagram)
        return reject(Reject::malformed, std::to_string(size) + " bytes, at most " + std::to_string(kMaxDatagram) + " allowed");
    if (!std::equal(kMagic, kMagic + 4, data)) return reject(Reject::bad_magic, "not a haspool datagram");
    if (data[4] != kWireVersion)
        return reject(Reject::wrong_version, "version " + std::to_string(data[4]) + ", this build speaks " +
                                                 std::to_string(kWireVersion));
    // Authenticate before reading any field: nothing unauthenticated is interpreted.
    auto mac = hmac_sha256(key, data, size - kHmacSize);
    if (CRYPTO_memcmp(mac.data(), data + size - kHmacSize, kHmacSize) != 0)
        return reject(Reject::bad_hmac, "HMAC does not match (wrong key or altered datagram)");

    Reader r(data + 5, size - 5 - kHmacSize);
    Message m;
    uint8_t type = 0, role = 0, count = 0, md = 0, nbd = 0, kind = 0;
    if (!r.u8(type) || !r.str(m.cluster) || !r.str(m.sender) || !r.bytes(m.boot_id.data(), m.boot_id.size()) ||
        !r.u64(m.sequence) || !r.u64(m.timestamp_ms) || !r.u8(role) || !r.u8(m.status.state) ||
        !r.u64(m.status.lineage.current.value) || !r.u8(count))
        return reject(Reject::truncated, "a field runs past the end of the datagram");
    if (count > Lineage::kMaxAncestors)
        return reject(Reject::malformed, std::to_string(count) + " ancestors, at most " + std::to_string(Lineage::kMaxAncestors));
    for (uint8_t i = 0; i < count; ++i) {
        Generation g;
        if (!r.u64(g.value)) return reject(Reject::truncated, "the ancestor list runs past the end");
        m.status.lineage.ancestors.push_back(g);
    }
    if (!r.u8(md) || !r.u8(m.status.md_percent) || !r.u8(nbd) || !r.u8(kind) || !r.u64(m.request_id) ||
        !r.u64(m.echo_timestamp_ms) || !r.u32(m.echo_hold_ms))
        return reject(Reject::truncated, "the health fields run past the end");
    if (r.left() != 0) return reject(Reject::malformed, std::to_string(r.left()) + " unexpected bytes after the fields");
    if (type < 1 || type > 3) return reject(Reject::malformed, "unknown message type " + std::to_string(type));
    if (role > 1) return reject(Reject::malformed, "unknown role " + std::to_string(role));
    m.type = static_cast<MessageType>(type);
    m.status.primary = role == 0;
    if (!valid_state(m.status.primary, m.status.state))
        return reject(Reject::malformed, "state " + std::to_string(m.status.state) + " is not a state of the sender's role");
    // raw_written (4) is the standby's word only (types.hpp); from a primary it means nothing.
    if (md > (m.status.primary ? 3 : 4) || nbd > 2 || m.status.md_percent > 100)
        return reject(Reject::malformed, "health out of range (md " + std::to_string(md) + ", percent " +
                                             std::to_string(m.status.md_percent) + ", nbd " + std::to_string(nbd) + ")");
    m.status.md = static_cast<MirrorHealth>(md);
    m.status.nbd = static_cast<NbdHealth>(nbd);
    if (m.type == MessageType::heartbeat ? (kind != 0 || m.request_id != 0) : (kind < 1 || kind > kMaxMessageKind))
        return reject(Reject::malformed, "message kind " + std::to_string(kind) + " does not fit the message type");
    if (m.type != MessageType::heartbeat) m.kind = static_cast<MessageKind>(kind);
    Decoded d;
    d.message = std::move(m);
    return d;
}

PeerGate::PeerGate(std::string cluster, std::string peer_name, std::string key, Millis max_clock_skew)
    : cluster_(std::move(cluster)), peer_(std::move(peer_name)), key_(std::move(key)), skew_(max_clock_skew) {}

Decoded PeerGate::refuse(Decoded d) {
    ++rejected_[d.reject];
    d.message.reset();
    return d;
}

Decoded PeerGate::accept(const uint8_t* data, size_t size, uint64_t wall_now_ms) {
    Decoded d = decode(data, size, key_);
    if (!d.message) return refuse(std::move(d));
    const Message& m = *d.message;
    if (m.cluster != cluster_)
        return refuse(reject(Reject::foreign_cluster, "cluster '" + m.cluster + "', this is '" + cluster_ + "'"));
    if (m.sender != peer_)
        return refuse(reject(Reject::unknown_node, "sender '" + m.sender + "' is not the peer '" + peer_ + "'"));
    uint64_t diff = m.timestamp_ms > wall_now_ms ? m.timestamp_ms - wall_now_ms : wall_now_ms - m.timestamp_ms;
    if (diff > static_cast<uint64_t>(skew_.count()))
        return refuse(reject(Reject::clock_skew, std::string("timestamp ") + (m.timestamp_ms > wall_now_ms ? "ahead" : "behind") +
                                                     " by " + std::to_string(diff) + " ms, at most " +
                                                     std::to_string(skew_.count()) + " allowed"));
    if (boot_ && m.boot_id == *boot_) {
        if (m.sequence <= last_sequence_)
            return refuse(reject(Reject::replayed, "sequence " + std::to_string(m.sequence) + " after " +
                                                       std::to_string(last_sequence_) + " (replayed or reordered)"));
    } else {
        if (std::find(old_boots_.begin(), old_boots_.end(), m.boot_id) != old_boots_.end())
            return refuse(reject(Reject::old_boot, "boot id of an earlier run of " + peer_));
        if (boot_) {
            old_boots_.push_back(*boot_);
            if (old_boots_.size() > 8) old_boots_.erase(old_boots_.begin());
        }
        boot_ = m.boot_id;
    }
    last_sequence_ = m.sequence;
    ++accepted_;
    return d;
}

BootId new_boot_id() {
    BootId id{};
    if (RAND_bytes(id.data(), static_cast<int>(id.size())) != 1) throw std::runtime_error("RAND_bytes failed");
    return id;
}

}  // namespace haspool::agent
