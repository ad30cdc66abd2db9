// libFuzzer target for the primary's side of the NBD handshake, fed a server's bytes through the
// HandshakeStream seam (no socket, no thread: what a hostile or broken server can send).
//
// Input: flags u8 | the server's byte stream.
//   flags bit 0: require flush and FUA (the primary always does);
//   flags bits 4-7: how many writes succeed before the server is gone (15: all of them).
// Reads past the end of the stream fail as a closed socket does (EPIPE before the first byte of
// a read, ECONNRESET within it).
//
// What must hold: the handshake ends with an export or a sentence, never both; an export it
// accepts has a size, NBD_FLAG_HAS_FLAGS, flush and FUA when required and consistent block sizes
// (what the kernel is handed); the client only ever sends its flags, NBD_OPT_GO for "disk-y"
// asking for the block sizes, and NBD_OPT_EXPORT_NAME "disk-y" after it, never structured
// replies (the kernel speaks simple replies only).
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "../fuzz_input.hpp"
#include "blockdev/nbd_client_handshake.hpp"
#include "blockdev/nbd_codec.hpp"

using namespace haspool::nbd;

namespace {

const std::string kName = "disk-y";

void check(bool ok) {
    if (!ok) std::abort();
}

class ScriptedServer : public HandshakeStream {
public:
    ScriptedServer(std::span<const uint8_t> replies, unsigned writes_allowed)
        : replies_(replies), writes_left_(writes_allowed) {}

    int read(void* buf, std::size_t n) override {
        const std::size_t k = std::min(n, replies_.size() - pos_);
        std::memcpy(buf, replies_.data() + pos_, k);
        pos_ += k;
        if (k == n) return 0;
        return k == 0 ? EPIPE : ECONNRESET;
    }
    int write(const void* buf, std::size_t n) override {
        if (writes_left_ == 0) return EPIPE;
        if (writes_left_ != kUnlimited) --writes_left_;
        auto* p = static_cast<const uint8_t*>(buf);
        sent.insert(sent.end(), p, p + n);
        return 0;
    }

    static constexpr unsigned kUnlimited = 15;
    std::vector<uint8_t> sent;

private:
    std::span<const uint8_t> replies_;
    std::size_t pos_ = 0;
    unsigned writes_left_;
};

// One option the client sent; false when the bytes do not hold a whole one.
bool next_option(std::span<const uint8_t>& s, uint32_t& option, std::span<const uint8_t>& payload) {
    auto h = parse_option_header(s);
    if (!h || h->magic != IHAVEOPT || s.size() - kOptionHeaderSize < h->length) return false;
    option = h->option;
    payload = s.subspan(kOptionHeaderSize, h->length);
    s = s.subspan(kOptionHeaderSize + h->length);
    return true;
}

// Everything the client wrote is one of the few frames it may send, in order.
void check_sent(const std::vector<uint8_t>& sent) {
    std::span<const uint8_t> s(sent);
    if (s.empty()) return;
    check(s.size() >= 4);
    check((get_be32(s.data()) & ~uint32_t(NBD_FLAG_C_NO_ZEROES)) == NBD_FLAG_C_FIXED_NEWSTYLE);
    s = s.subspan(4);
    uint32_t option = 0;
    std::span<const uint8_t> payload;
    if (s.empty()) return;
    check(next_option(s, option, payload) && option == NBD_OPT_GO);
    auto ir = parse_info_request(payload);
    check(ir && ir->name == kName && ir->requests == std::vector<uint16_t>{NBD_INFO_BLOCK_SIZE});
    if (s.empty()) return;
    check(next_option(s, option, payload) && option == NBD_OPT_EXPORT_NAME);
    check(std::string(payload.begin(), payload.end()) == kName);
    check(s.empty());
}

bool pow2(uint32_t v) { return v && !(v & (v - 1)); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    haspool::fuzz::FuzzInput in(data, size);
    const uint8_t flags = in.u8();
    const bool require_flush_fua = flags & 1;
    ScriptedServer server(in.rest(), flags >> 4);
    HandshakeResult r = client_handshake(server, kName, require_flush_fua);
    check(r.export_info.has_value() != !r.error.empty());
    check_sent(server.sent);
    if (r.export_info) {
        const NegotiatedExport& e = *r.export_info;
        check(e.size > 0);
        check(e.transmission_flags & NBD_FLAG_HAS_FLAGS);
        if (require_flush_fua) check((e.transmission_flags & NBD_FLAG_SEND_FLUSH) && (e.transmission_flags & NBD_FLAG_SEND_FUA));
        check(pow2(e.min_block) && e.min_block <= 65536);
        check(pow2(e.preferred_block) && e.preferred_block >= e.min_block);
        check(e.max_block >= e.min_block);
    }
    return 0;
}
