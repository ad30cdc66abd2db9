#include "blockdev/nbd_codec.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace haspool::nbd {

uint16_t get_be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t get_be32(const uint8_t* p) {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}
uint64_t get_be64(const uint8_t* p) { return uint64_t(get_be32(p)) << 32 | get_be32(p + 4); }
void put_be16(uint8_t* p, uint16_t v) {
    p[0] = uint8_t(v >> 8);
    p[1] = uint8_t(v);
}
void put_be32(uint8_t* p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (24 - 8 * i));
}
void put_be64(uint8_t* p, uint64_t v) {
    put_be32(p, uint32_t(v >> 32));
    put_be32(p + 4, uint32_t(v));
}

std::optional<Request> parse_request(std::span<const uint8_t> b) {
    if (b.size() < kRequestHeaderSize) return std::nullopt;
    Request r;
    r.magic = get_be32(b.data());
    r.flags = get_be16(b.data() + 4);
    r.type = get_be16(b.data() + 6);
    r.cookie = get_be64(b.data() + 8);
    r.offset = get_be64(b.data() + 16);
    r.length = get_be32(b.data() + 24);
    return r;
}

void encode_request(const Request& r, uint8_t out[kRequestHeaderSize]) {
    put_be32(out, r.magic);
    put_be16(out + 4, r.flags);
    put_be16(out + 6, r.type);
    put_be64(out + 8, r.cookie);
    put_be64(out + 16, r.offset);
    put_be32(out + 24, r.length);
}

void encode_simple_reply(const SimpleReply& r, uint8_t out[kSimpleReplySize]) {
    put_be32(out, NBD_SIMPLE_REPLY_MAGIC);
    put_be32(out + 4, r.error);
    put_be64(out + 8, r.cookie);
}

std::optional<SimpleReply> parse_simple_reply(std::span<const uint8_t> b) {
    if (b.size() < kSimpleReplySize || get_be32(b.data()) != NBD_SIMPLE_REPLY_MAGIC) return std::nullopt;
    return SimpleReply{get_be32(b.data() + 4), get_be64(b.data() + 8)};
}

void encode_structured_reply_header(const StructuredReplyHeader& h, uint8_t out[kStructuredReplyHeaderSize]) {
    put_be32(out, NBD_STRUCTURED_REPLY_MAGIC);
    put_be16(out + 4, h.flags);
    put_be16(out + 6, h.type);
    put_be64(out + 8, h.cookie);
    put_be32(out + 16, h.length);
}

std::optional<StructuredReplyHeader> parse_structured_reply_header(std::span<const uint8_t> b) {
    if (b.size() < kStructuredReplyHeaderSize || get_be32(b.data()) != NBD_STRUCTURED_REPLY_MAGIC)
        return std::nullopt;
    return StructuredReplyHeader{get_be16(b.data() + 4), get_be16(b.data() + 6), get_be64(b.data() + 8),
                                 get_be32(b.data() + 16)};
}

namespace {

std::string hex(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%x", v);
    return buf;
}

Validation reject(uint32_t error, std::string reason) {
    return {Validation::Action::reply_error, error, std::move(reason)};
}

Validation drop(std::string reason) { return {Validation::Action::disconnect, NBD_EINVAL, std::move(reason)}; }

// Flags each command accepts. FUA is accepted (and honoured or harmless) on every command, as
// the spec asks servers to ignore it where it has no meaning.
uint16_t allowed_flags(uint16_t type, uint16_t transmission_flags) {
    uint16_t f = NBD_CMD_FLAG_FUA;
    if (type == NBD_CMD_WRITE_ZEROES) {
        f |= NBD_CMD_FLAG_NO_HOLE;
        if (transmission_flags & NBD_FLAG_SEND_FAST_ZERO) f |= NBD_CMD_FLAG_FAST_ZERO;
    }
    if (type == NBD_CMD_READ && (transmission_flags & NBD_FLAG_SEND_DF)) f |= NBD_CMD_FLAG_DF;
    if (type == NBD_CMD_BLOCK_STATUS) f |= NBD_CMD_FLAG_REQ_ONE;
    return f;
}

bool advertised(uint16_t type, uint16_t tf, bool block_status) {
    switch (type) {
        case NBD_CMD_READ:
        case NBD_CMD_WRITE:
        case NBD_CMD_DISC: return true;
        case NBD_CMD_FLUSH: return tf & NBD_FLAG_SEND_FLUSH;
        case NBD_CMD_TRIM: return tf & NBD_FLAG_SEND_TRIM;
        case NBD_CMD_CACHE: return tf & NBD_FLAG_SEND_CACHE;
        case NBD_CMD_WRITE_ZEROES: return tf & NBD_FLAG_SEND_WRITE_ZEROES;
        case NBD_CMD_BLOCK_STATUS: return block_status;  // only after SET_META_CONTEXT base:allocation
        default: return false;
    }
}

}  // namespace

Validation validate_request(const Request& r, const ExportLimits& lim) {
    if (r.magic != NBD_REQUEST_MAGIC)
        return drop("bad request magic " + hex(r.magic));
    const bool has_payload = r.type == NBD_CMD_WRITE;
    // A WRITE longer than we will buffer cannot be skipped safely: the stream is lost.
    if (has_payload && r.length > lim.max_request)
        return drop("write of " + std::to_string(r.length) + " bytes exceeds the maximum request size " +
                    std::to_string(lim.max_request));
    if (!advertised(r.type, lim.transmission_flags, lim.block_status))
        return reject(NBD_EINVAL, std::string("unknown or unadvertised command ") + std::to_string(r.type));
    if (uint16_t bad = r.flags & ~allowed_flags(r.type, lim.transmission_flags))
        return reject(NBD_EINVAL, "unsupported flags " + hex(bad) + " on " +
                                      command_name(r.type));
    if (r.type == NBD_CMD_DISC || r.type == NBD_CMD_FLUSH) return {};
    if (lim.read_only && (r.type == NBD_CMD_WRITE || r.type == NBD_CMD_TRIM || r.type == NBD_CMD_WRITE_ZEROES))
        return reject(NBD_EPERM, std::string(command_name(r.type)) + " on a read-only export");
    if ((r.type == NBD_CMD_READ || r.type == NBD_CMD_CACHE) && r.length > lim.max_request)
        return reject(NBD_EINVAL, std::string(command_name(r.type)) + " of " + std::to_string(r.length) +
                                      " bytes exceeds the maximum request size " + std::to_string(lim.max_request));
    if (r.length == 0)
        return reject(NBD_EINVAL, std::string(command_name(r.type)) + " with length 0");
    auto where = [&] {  // built only on rejection: the hot path allocates nothing
        return "offset=" + std::to_string(r.offset) + " length=" + std::to_string(r.length) +
               " export size=" + std::to_string(lim.size);
    };
    if (r.offset > UINT64_MAX - r.length)
        return reject(NBD_EINVAL, "offset and length overflow: " + where());
    if (r.offset + r.length > lim.size) {
        const bool writes = r.type == NBD_CMD_WRITE || r.type == NBD_CMD_WRITE_ZEROES || r.type == NBD_CMD_TRIM;
        return reject(writes ? NBD_ENOSPC : NBD_EINVAL, "offset and length are out of range: " + where());
    }
    return {};
}

uint32_t errno_to_nbd_error(int err) {
    switch (err) {
        case 0: return 0;
        case EPERM:
        case EROFS:
        case EACCES: return NBD_EPERM;
        case EIO: return NBD_EIO;
        case ENOMEM: return NBD_ENOMEM;
        case EINVAL: return NBD_EINVAL;
        case ENOSPC:
        case EDQUOT:
        case EFBIG: return NBD_ENOSPC;
        case EOVERFLOW: return NBD_EOVERFLOW;
        case ENOTSUP: return NBD_ENOTSUP;  // == EOPNOTSUPP on Linux
        case ESHUTDOWN: return NBD_ESHUTDOWN;
        default: return NBD_EIO;
    }
}

const char* nbd_error_name(uint32_t e) {
    switch (e) {
        case 0: return "OK";
        case NBD_EPERM: return "EPERM";
        case NBD_EIO: return "EIO";
        case NBD_ENOMEM: return "ENOMEM";
        case NBD_EINVAL: return "EINVAL";
        case NBD_ENOSPC: return "ENOSPC";
        case NBD_EOVERFLOW: return "EOVERFLOW";
        case NBD_ENOTSUP: return "ENOTSUP";
        case NBD_ESHUTDOWN: return "ESHUTDOWN";
        default: return "E?";
    }
}

const char* command_name(uint16_t t) {
    switch (t) {
        case NBD_CMD_READ: return "NBD_CMD_READ";
        case NBD_CMD_WRITE: return "NBD_CMD_WRITE";
        case NBD_CMD_DISC: return "NBD_CMD_DISC";
        case NBD_CMD_FLUSH: return "NBD_CMD_FLUSH";
        case NBD_CMD_TRIM: return "NBD_CMD_TRIM";
        case NBD_CMD_CACHE: return "NBD_CMD_CACHE";
        case NBD_CMD_WRITE_ZEROES: return "NBD_CMD_WRITE_ZEROES";
        case NBD_CMD_BLOCK_STATUS: return "NBD_CMD_BLOCK_STATUS";
        case NBD_CMD_RESIZE: return "NBD_CMD_RESIZE";
        default: return "NBD_CMD_?";
    }
}

std::optional<OptionHeader> parse_option_header(std::span<const uint8_t> b) {
    if (b.size() < kOptionHeaderSize) return std::nullopt;
    return OptionHeader{get_be64(b.data()), get_be32(b.data() + 8), get_be32(b.data() + 12)};
}

void encode_option_header(const OptionHeader& h, uint8_t out[kOptionHeaderSize]) {
    put_be64(out, h.magic);
    put_be32(out + 8, h.option);
    put_be32(out + 12, h.length);
}

std::optional<OptionReplyHeader> parse_option_reply_header(std::span<const uint8_t> b) {
    if (b.size() < kOptionReplyHeaderSize) return std::nullopt;
    return OptionReplyHeader{get_be64(b.data()), get_be32(b.data() + 8), get_be32(b.data() + 12),
                             get_be32(b.data() + 16)};
}

void append_option_reply(std::vector<uint8_t>& out, uint32_t option, uint32_t type, std::span<const uint8_t> payload) {
    std::size_t at = out.size();
    out.resize(at + kOptionReplyHeaderSize + payload.size());
    put_be64(&out[at], NBD_REP_MAGIC);
    put_be32(&out[at + 8], option);
    put_be32(&out[at + 12], type);
    put_be32(&out[at + 16], uint32_t(payload.size()));
    if (!payload.empty()) std::memcpy(&out[at + kOptionReplyHeaderSize], payload.data(), payload.size());
}

std::optional<InfoRequest> parse_info_request(std::span<const uint8_t> p) {
    if (p.size() < 6) return std::nullopt;
    uint32_t name_len = get_be32(p.data());
    if (name_len > kMaxStringLength || p.size() < 4ull + name_len + 2) return std::nullopt;
    InfoRequest r;
    r.name.assign(reinterpret_cast<const char*>(p.data() + 4), name_len);
    const uint8_t* q = p.data() + 4 + name_len;
    uint16_t n = get_be16(q);
    if (p.size() != 4ull + name_len + 2 + 2ull * n) return std::nullopt;
    for (uint16_t i = 0; i < n; ++i) r.requests.push_back(get_be16(q + 2 + 2 * i));
    return r;
}

std::vector<uint8_t> encode_info_request(const InfoRequest& r) {
    std::vector<uint8_t> out(4 + r.name.size() + 2 + 2 * r.requests.size());
    put_be32(out.data(), uint32_t(r.name.size()));
    std::memcpy(out.data() + 4, r.name.data(), r.name.size());
    uint8_t* q = out.data() + 4 + r.name.size();
    put_be16(q, uint16_t(r.requests.size()));
    for (std::size_t i = 0; i < r.requests.size(); ++i) put_be16(q + 2 + 2 * i, r.requests[i]);
    return out;
}

std::vector<uint8_t> encode_info_export(uint64_t size, uint16_t tf) {
    std::vector<uint8_t> out(12);
    put_be16(out.data(), NBD_INFO_EXPORT);
    put_be64(out.data() + 2, size);
    put_be16(out.data() + 10, tf);
    return out;
}

std::vector<uint8_t> encode_info_block_size(uint32_t min_block, uint32_t preferred, uint32_t max_block) {
    std::vector<uint8_t> out(14);
    put_be16(out.data(), NBD_INFO_BLOCK_SIZE);
    put_be32(out.data() + 2, min_block);
    put_be32(out.data() + 6, preferred);
    put_be32(out.data() + 10, max_block);
    return out;
}

std::vector<uint8_t> encode_info_string(uint16_t info_type, std::string_view s) {
    std::vector<uint8_t> out(2 + s.size());
    put_be16(out.data(), info_type);
    std::memcpy(out.data() + 2, s.data(), s.size());
    return out;
}

std::optional<MetaContextRequest> parse_meta_context_request(std::span<const uint8_t> p) {
    if (p.size() < 8) return std::nullopt;
    uint32_t name_len = get_be32(p.data());
    if (name_len > kMaxStringLength || p.size() < 8ull + name_len) return std::nullopt;
    MetaContextRequest r;
    r.export_name.assign(reinterpret_cast<const char*>(p.data() + 4), name_len);
    std::size_t at = 4 + name_len;
    uint32_t n = get_be32(p.data() + at);
    at += 4;
    for (uint32_t i = 0; i < n; ++i) {
        if (p.size() - at < 4) return std::nullopt;
        uint32_t len = get_be32(p.data() + at);
        at += 4;
        if (len > kMaxStringLength || p.size() - at < len) return std::nullopt;
        r.queries.emplace_back(reinterpret_cast<const char*>(p.data() + at), len);
        at += len;
    }
    if (at != p.size()) return std::nullopt;
    return r;
}

}  // namespace haspool::nbd
