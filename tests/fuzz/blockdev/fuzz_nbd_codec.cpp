// libFuzzer target for the NBD wire codec: every parser takes arbitrary bytes without crashing,
// validate_request's verdict is consistent with the bounds it claims to enforce, and request
// headers survive a parse/encode round trip.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "blockdev/nbd_codec.hpp"

using namespace haspool::nbd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::span<const uint8_t> in(data, size);
    if (auto r = parse_request(in)) {
        uint8_t back[kRequestHeaderSize];
        encode_request(*r, back);
        if (std::memcmp(back, data, kRequestHeaderSize) != 0) std::abort();
        // Limits drawn from the bytes after the header.
        ExportLimits l;
        if (size >= kRequestHeaderSize + 11) {
            l.size = get_be64(data + kRequestHeaderSize);
            l.read_only = data[kRequestHeaderSize + 8] & 1;
            l.transmission_flags = get_be16(data + kRequestHeaderSize + 9);
        } else {
            l.size = 1 << 20;
        }
        Validation v = validate_request(*r, l);
        if (v.ok()) {
            const bool ranged = r->type != NBD_CMD_FLUSH && r->type != NBD_CMD_DISC;
            if (r->magic != NBD_REQUEST_MAGIC) std::abort();
            if (ranged && (r->offset > UINT64_MAX - r->length || r->offset + r->length > l.size)) std::abort();
            const bool has_data = r->type == NBD_CMD_READ || r->type == NBD_CMD_WRITE || r->type == NBD_CMD_CACHE;
            if (has_data && r->length > l.max_request) std::abort();
            if (l.read_only && (r->type == NBD_CMD_WRITE || r->type == NBD_CMD_TRIM || r->type == NBD_CMD_WRITE_ZEROES))
                std::abort();
        }
        if (v.action == Validation::Action::reply_error && v.error == 0) std::abort();
    }
    (void)parse_simple_reply(in);
    (void)parse_structured_reply_header(in);
    (void)parse_option_header(in);
    (void)parse_option_reply_header(in);
    if (auto ir = parse_info_request(in)) {
        auto again = encode_info_request(*ir);
        if (again.size() != size || std::memcmp(again.data(), data, size) != 0) std::abort();
    }
    (void)parse_meta_context_request(in);
    return 0;
}
