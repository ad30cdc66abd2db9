#include "agent/peer/heartbeat_codec.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

namespace haspool::agent {

namespace {

constexpr uint8_t kMagic[4] = {'H', 'S', 'P', 'L'};
constexpr size_t kKeyIdOffset = 5;
// magic, version, key id, type, two empty names, boot id, seq, stamp, wall, peer boot, echo
// stamp, echo hold, next key id, role, state, gen, count, 3 health, kind, request id, hmac
constexpr size_t kMinSize = 4 + 1 + 8 + 1 + 1 + 1 + 16 + 8 + 8 + 8 + 16 + 8 + 4 + 8 + 1 + 1 + 8 + 1 + 3 + 1 + 8 + kHmacSize;
constexpr char kKeyIdLabel[] = "haspool peer key id";

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
    void u16(uint16_t v) {
        b_.push_back(static_cast<uint8_t>(v >> 8));
        b_.push_back(static_cast<uint8_t>(v));
    }
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
    bool u16(uint16_t& v) {
        if (n_ - off_ < 2) return false;
        v = static_cast<uint16_t>((p_[off_] << 8) | p_[off_ + 1]);
        off_ += 2;
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

bool valid_state(bool primary, uint8_t s) { return primary ? (s >= 1 && s <= 11) : (s >= 21 && s <= 27); }

}  // namespace

const char* to_string(Reject r) {
    switch (r) {
        case Reject::truncated: return "truncated";
        case Reject::bad_magic: return "bad-magic";
        case Reject::old_version: return "old-version";
        case Reject::wrong_version: return "wrong-version";
        case Reject::unknown_key: return "unknown-key";
        case Reject::bad_hmac: return "bad-hmac";
        case Reject::malformed: return "malformed";
        case Reject::foreign_cluster: return "foreign-cluster";
        case Reject::unknown_node: return "unknown-node";
        case Reject::unconfirmed: return "unconfirmed";
        case Reject::replayed: return "replayed";
        case Reject::too_old: return "too-old";
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

KeyId key_id(std::string_view key) {
    auto mac = hmac_sha256(key, reinterpret_cast<const uint8_t*>(kKeyIdLabel), sizeof kKeyIdLabel - 1);
    KeyId id{};
    std::copy(mac.begin(), mac.begin() + id.size(), id.begin());
    return id;
}

std::string to_hex(const uint8_t* data, size_t size) {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < size; ++i) {
        s += digits[data[i] >> 4];
        s += digits[data[i] & 0xf];
    }
    return s;
}

std::vector<uint8_t> encode(const Message& m, std::string_view key) {
    Writer w;
    w.bytes(kMagic, 4);
    w.u8(kWireVersion);
    KeyId id = key_id(key);
    w.bytes(id.data(), id.size());
    w.u8(static_cast<uint8_t>(m.type));
    w.str(m.cluster);
    w.str(m.sender);
    w.bytes(m.boot_id.data(), m.boot_id.size());
    w.u64(m.sequence);
    w.u64(m.stamp_ms);
    w.u64(m.wall_ms);
    w.bytes(m.peer_boot.data(), m.peer_boot.size());
    w.u64(m.echo_stamp_ms);
    w.u32(m.echo_hold_ms);
    w.bytes(m.next_key_id.data(), m.next_key_id.size());
    w.u8(m.status.primary ? 0 : 1);
    w.u8(m.status.state);
    w.u64(m.status.lineage.current.value);
    size_t n = std::min(m.status.lineage.ancestors.size(), Lineage::kMaxAncestors);
    w.u8(static_cast<uint8_t>(n));
    for (size_t i = 0; i < n; ++i) w.u64(m.status.lineage.ancestors[i].value);
    w.u8(static_cast<uint8_t>(m.status.md));
    w.u8(m.status.md_percent);
    w.u8(static_cast<uint8_t>(m.status.nbd));
    const bool has_kind = m.type == MessageType::request || m.type == MessageType::ack;
    w.u8(has_kind ? static_cast<uint8_t>(m.kind) : m.type == MessageType::query && m.with_disk ? 1 : 0);
    w.u64(m.type == MessageType::heartbeat ? 0 : m.request_id);
    if (m.type == MessageType::report) {
        if (m.report.size() > kMaxReport)
            throw std::invalid_argument("status report of " + std::to_string(m.report.size()) + " bytes, at most " +
                                        std::to_string(kMaxReport));
        w.u16(static_cast<uint16_t>(m.report.size()));
        w.bytes(reinterpret_cast<const uint8_t*>(m.report.data()), m.report.size());
    }
    auto mac = hmac_sha256(key, w.buf().data(), w.buf().size());
    w.bytes(mac.data(), mac.size());
    return std::move(w.buf());
}

Decoded decode(const uint8_t* data, size_t size, const KeyRing& keys) {
    // Magic and version first: a version 1 datagram is shorter than version 2's minimum, and
    // must still be told apart from a truncated one.
    if (size < 5) return reject(Reject::truncated, std::to_string(size) + " bytes, at least " + std::to_string(kMinSize) + " needed");
    if (!std::equal(kMagic, kMagic + 4, data)) return reject(Reject::bad_magic, "not a haspool datagram");
    if (data[4] != kWireVersion && data[4] >= 1 && data[4] < kWireVersion)
        return reject(Reject::old_version, "version " + std::to_string(data[4]) + " from an older haspool (this build speaks " +
                                               std::to_string(kWireVersion) +
                                               " only): run the same haspool version on both nodes, upgrading the standby first");
    if (data[4] != kWireVersion)
        return reject(Reject::wrong_version, "version " + std::to_string(data[4]) + ", this build speaks " +
                                                 std::to_string(kWireVersion));
    if (size < kMinSize)
        return reject(Reject::truncated, std::to_string(size) + " bytes, at least " + std::to_string(kMinSize) + " needed");
    if (size > kMaxDatagram)
        return reject(Reject::malformed, std::to_string(size) + " bytes, at most " + std::to_string(kMaxDatagram) + " allowed");
    // The key id picks the key; the HMAC then covers it with everything else. Nothing
    // unauthenticated is interpreted beyond that choice.
    KeyId id{};
    std::copy(data + kKeyIdOffset, data + kKeyIdOffset + id.size(), id.begin());
    std::string_view key;
    if (id == key_id(keys.current)) key = keys.current;
    else if (!keys.next.empty() && id == key_id(keys.next)) key = keys.next;
    else
        return reject(Reject::unknown_key, "signed with key " + to_hex(id.data(), id.size()) +
                                               ", which is neither secret_file's " + to_hex(key_id(keys.current).data(), id.size()) +
                                               (keys.next.empty() ? std::string(" (no secret_file_next)")
                                                                  : " nor secret_file_next's " + to_hex(key_id(keys.next).data(), id.size())));
    auto mac = hmac_sha256(key, data, size - kHmacSize);
    if (CRYPTO_memcmp(mac.data(), data + size - kHmacSize, kHmacSize) != 0)
        return reject(Reject::bad_hmac, "HMAC does not match under key " + to_hex(id.data(), id.size()) + " (altered or forged datagram)");

    Reader r(data + kKeyIdOffset + id.size(), size - kKeyIdOffset - id.size() - kHmacSize);
    Message m;
    m.key_id = id;
    uint8_t type = 0, role = 0, count = 0, md = 0, nbd = 0, kind = 0;
    if (!r.u8(type) || !r.str(m.cluster) || !r.str(m.sender) || !r.bytes(m.boot_id.data(), m.boot_id.size()) ||
        !r.u64(m.sequence) || !r.u64(m.stamp_ms) || !r.u64(m.wall_ms) || !r.bytes(m.peer_boot.data(), m.peer_boot.size()) ||
        !r.u64(m.echo_stamp_ms) || !r.u32(m.echo_hold_ms) || !r.bytes(m.next_key_id.data(), m.next_key_id.size()) ||
        !r.u8(role) || !r.u8(m.status.state) || !r.u64(m.status.lineage.current.value) || !r.u8(count))
        return reject(Reject::truncated, "a field runs past the end of the datagram");
    if (count > Lineage::kMaxAncestors)
        return reject(Reject::malformed, std::to_string(count) + " ancestors, at most " + std::to_string(Lineage::kMaxAncestors));
    for (uint8_t i = 0; i < count; ++i) {
        Generation g;
        if (!r.u64(g.value)) return reject(Reject::truncated, "the ancestor list runs past the end");
        m.status.lineage.ancestors.push_back(g);
    }
    if (!r.u8(md) || !r.u8(m.status.md_percent) || !r.u8(nbd) || !r.u8(kind) || !r.u64(m.request_id))
        return reject(Reject::truncated, "the health fields run past the end");
    if (type < 1 || type > 5) return reject(Reject::malformed, "unknown message type " + std::to_string(type));
    if (type == static_cast<uint8_t>(MessageType::report)) {
        uint16_t len = 0;
        if (!r.u16(len) || r.left() < len) return reject(Reject::truncated, "the status report runs past the end");
        if (len > kMaxReport)
            return reject(Reject::malformed, "a status report of " + std::to_string(len) + " bytes, at most " +
                                                 std::to_string(kMaxReport));
        m.report.resize(len);
        r.bytes(reinterpret_cast<uint8_t*>(m.report.data()), len);
    }
    if (r.left() != 0) return reject(Reject::malformed, std::to_string(r.left()) + " unexpected bytes after the fields");
    if (role > 1) return reject(Reject::malformed, "unknown role " + std::to_string(role));
    if (m.sequence == 0) return reject(Reject::malformed, "sequence 0 (a run counts from 1)");
    if (m.stamp_ms == 0) return reject(Reject::malformed, "stamp 0 (a sender's stamp is never 0)");
    m.type = static_cast<MessageType>(type);
    m.status.primary = role == 0;
    if (!valid_state(m.status.primary, m.status.state))
        return reject(Reject::malformed, "state " + std::to_string(m.status.state) + " is not a state of the sender's role");
    // raw_written (4) and y_failed (6) are the standby's words only, x_lost (5) the primary's (types.hpp).
    const bool md_ok = m.status.primary ? (md <= 3 || md == 5) : (md <= 4 || md == 6);
    if (!md_ok || nbd > 2 || m.status.md_percent > 100)
        return reject(Reject::malformed, "health out of range (md " + std::to_string(md) + ", percent " +
                                             std::to_string(m.status.md_percent) + ", nbd " + std::to_string(nbd) + ")");
    m.status.md = static_cast<MirrorHealth>(md);
    m.status.nbd = static_cast<NbdHealth>(nbd);
    const bool kind_fits = m.type == MessageType::heartbeat ? (kind == 0 && m.request_id == 0)
                           : m.type == MessageType::query  ? (kind <= 1 && m.request_id != 0)
                           : m.type == MessageType::report ? (kind == 0 && m.request_id != 0)
                               : (kind >= 1 && kind <= kMaxMessageKind);
    if (!kind_fits) return reject(Reject::malformed, "message kind " + std::to_string(kind) + " does not fit the message type");
    if (m.type == MessageType::request || m.type == MessageType::ack) m.kind = static_cast<MessageKind>(kind);
    m.with_disk = m.type == MessageType::query && kind == 1;
    Decoded d;
    d.message = std::move(m);
    return d;
}

}  // namespace haspool::agent
