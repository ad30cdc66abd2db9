// libFuzzer target for the whole server side of a connection: the input is everything a client
// sends (client flags, options, requests, payloads), fed through a socketpair into
// server_handshake and, if it admits the client, a Session with one worker over a 1 MiB file;
// everything the server answers is kept and then checked against what was asked.
//
// What must hold, besides no crash, no hang and an export whose size never changes:
//  - handshake: the greeting, then for each option replies carrying that option and ending in an
//    ACK or an error; NBD_INFO_EXPORT states the export's real size and flags; structured replies
//    and base:allocation are on exactly when the server acknowledged them;
//  - transmission: one reply per request, in order (one worker), with the request's cookie;
//    a reply that reports success was for a request inside the export; a read's data, an
//    NBD_REPLY_TYPE_OFFSET_DATA chunk and every block-status extent lie inside the export and
//    inside the request; a read returns what this conversation wrote there, and no extent
//    reports a hole where it wrote data;
//  - the server says nothing after the conversation ends (disconnect, bad frame, end of input).
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <thread>
#include <vector>

#include "blockdev/export_device.hpp"
#include "blockdev/nbd_codec.hpp"
#include "blockdev/nbd_server_handshake.hpp"
#include "blockdev/nbd_session.hpp"
#include "blockdev/socket_io.hpp"

using namespace haspool::nbd;

namespace {

constexpr uint64_t kSize = 1 << 20;
constexpr uint32_t kMaxRequest = 1 << 20;
constexpr uint16_t kFlags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM |
                            NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_SEND_CACHE | NBD_FLAG_SEND_FAST_ZERO |
                            NBD_FLAG_CAN_MULTI_CONN;
const ExportInfo kExport{"fuzz", "fuzz export", kSize, kFlags, 1, 4096, kMaxRequest};

void check(bool ok) {
    if (!ok) std::abort();
}

ExportDevice& device() {
    static std::unique_ptr<ExportDevice> dev = [] {
        // In memory where there is a tmpfs: FLUSH and FUA would otherwise wait for the disk.
        char shm[] = "/dev/shm/haspool-fuzz-export-XXXXXX", tmp[] = "/tmp/haspool-fuzz-export-XXXXXX";
        char* tmpl = ::access("/dev/shm", W_OK) == 0 ? shm : tmp;
        int fd = ::mkstemp(tmpl);
        if (fd < 0 || ::ftruncate(fd, kSize) != 0) std::abort();
        ::close(fd);
        auto o = ExportDevice::open(tmpl, false);
        ::unlink(tmpl);  // the open fd keeps it alive
        if (!o.device) std::abort();
        return std::move(o.device);
    }();
    return *dev;
}

// What this conversation wrote: a byte is known while its generation is the current one (the
// file outlives each input; reset() forgets everything at once).
class Shadow {
public:
    Shadow() : value_(kSize), gen_(kSize) {}
    void reset() { ++current_; }
    void set(uint64_t off, std::span<const uint8_t> data) {
        for (std::size_t i = 0; i < data.size(); ++i) value_[off + i] = data[i], gen_[off + i] = current_;
    }
    void zero(uint64_t off, uint64_t len) {
        for (uint64_t i = off; i < off + len; ++i) value_[i] = 0, gen_[i] = current_;
    }
    void forget(uint64_t off, uint64_t len) {
        for (uint64_t i = off; i < off + len; ++i) gen_[i] = 0;
    }
    bool matches(uint64_t off, std::span<const uint8_t> data) const {
        for (std::size_t i = 0; i < data.size(); ++i)
            if (gen_[off + i] == current_ && value_[off + i] != data[i]) return false;
        return true;
    }
    bool holds_data(uint64_t off, uint64_t len) const {
        for (uint64_t i = off; i < off + len; ++i)
            if (gen_[i] == current_ && value_[i] != 0) return true;
        return false;
    }

private:
    std::vector<uint8_t> value_;
    std::vector<uint32_t> gen_;
    uint32_t current_ = 1;
};

struct Cursor {
    std::span<const uint8_t> s;
    std::size_t pos = 0;
    // The next n bytes, or false when fewer are left.
    bool take(std::size_t n, std::span<const uint8_t>& out) {
        if (s.size() - pos < n) return false;
        out = s.subspan(pos, n);
        pos += n;
        return true;
    }
    bool done() const { return pos == s.size(); }
};

// The conversation is over: the server must not have said anything more.
void ended(const Cursor& out) { check(out.done()); }

bool inside(uint64_t offset, uint64_t length) { return offset <= kSize && length <= kSize - offset; }

void check_transmission(Cursor& in, Cursor& out, NegotiatedSession neg) {
    static Shadow shadow;
    shadow.reset();
    ExportLimits limits{kSize, false, kMaxRequest, kFlags, neg.structured_replies && neg.base_allocation};
    for (;;) {
        std::span<const uint8_t> h, payload;
        if (!in.take(kRequestHeaderSize, h)) return ended(out);
        const Request r = *parse_request(h);
        const Validation v = validate_request(r, limits);  // framing only: where the stream goes on
        if (v.action == Validation::Action::disconnect) return ended(out);
        if (!in.take(request_payload_length(r), payload)) return ended(out);
        if (r.type == NBD_CMD_DISC) return ended(out);

        uint32_t error = 0;
        std::span<const uint8_t> b, data;
        if (neg.structured_replies && (r.type == NBD_CMD_READ || r.type == NBD_CMD_BLOCK_STATUS)) {
            check(out.take(kStructuredReplyHeaderSize, b));
            auto sh = parse_structured_reply_header(b);
            check(sh && sh->cookie == r.cookie && sh->flags == NBD_REPLY_FLAG_DONE);
            if (sh->type == NBD_REPLY_TYPE_OFFSET_DATA) {
                check(r.type == NBD_CMD_READ && sh->length == 8 + uint64_t(r.length));
                check(out.take(8, b) && get_be64(b.data()) == r.offset);
                check(inside(r.offset, r.length));
                check(out.take(r.length, data));
            } else if (sh->type == NBD_REPLY_TYPE_BLOCK_STATUS) {
                check(r.type == NBD_CMD_BLOCK_STATUS && sh->length >= 12 && (sh->length - 4) % 8 == 0);
                check(out.take(sh->length, b) && get_be32(b.data()) == kBaseAllocationId);
                const std::size_t n = (sh->length - 4) / 8;
                if (r.flags & NBD_CMD_FLAG_REQ_ONE) check(n == 1);
                uint64_t at = r.offset;
                for (std::size_t i = 0; i < n; ++i) {
                    const uint32_t len = get_be32(b.data() + 4 + 8 * i), st = get_be32(b.data() + 8 + 8 * i);
                    check(len > 0 && (st & ~(NBD_STATE_HOLE | NBD_STATE_ZERO)) == 0);
                    check(inside(at, len) && at + len <= r.offset + r.length);
                    if (st & NBD_STATE_HOLE) check(!shadow.holds_data(at, len));
                    at += len;
                }
            } else {
                check(sh->type == NBD_REPLY_TYPE_ERROR && sh->length >= 6);
                check(out.take(sh->length, b));
                error = get_be32(b.data());
                check(error != 0 && 6u + get_be16(b.data() + 4) == sh->length);
            }
        } else {
            check(out.take(kSimpleReplySize, b));
            auto sr = parse_simple_reply(b);
            check(sr && sr->cookie == r.cookie);
            error = sr->error;
            if (!error && r.type == NBD_CMD_READ) check(inside(r.offset, r.length) && out.take(r.length, data));
            if (r.type == NBD_CMD_BLOCK_STATUS) check(error != 0);  // only ever in a structured reply
        }

        // Success only inside the export and only for what validation let through.
        if (!error) {
            check(v.ok());
            if (r.type != NBD_CMD_FLUSH) check(r.length > 0 && inside(r.offset, r.length));
        } else if (!v.ok()) {
            check(error == v.error);
        }
        if (!data.empty()) check(shadow.matches(r.offset, data));
        if (!v.ok()) continue;
        switch (r.type) {  // what the export now holds, as far as this conversation knows
            case NBD_CMD_WRITE:
                error ? shadow.forget(r.offset, r.length) : shadow.set(r.offset, payload);
                break;
            case NBD_CMD_WRITE_ZEROES:
                error ? shadow.forget(r.offset, r.length) : shadow.zero(r.offset, r.length);
                break;
            case NBD_CMD_TRIM: shadow.forget(r.offset, r.length); break;  // advisory: contents unspecified
            default: break;
        }
    }
}

// Replays the client's side of the handshake against the server's answers.
void check_conversation(std::span<const uint8_t> input, std::span<const uint8_t> output) {
    Cursor in{input}, out{output};
    std::span<const uint8_t> b, payload;
    check(out.take(18, b) && get_be64(b.data()) == NBDMAGIC && get_be64(b.data() + 8) == IHAVEOPT &&
          get_be16(b.data() + 16) == (NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES));
    if (!in.take(4, b)) return ended(out);
    const uint32_t cflags = get_be32(b.data());
    if (!(cflags & NBD_FLAG_C_FIXED_NEWSTYLE) || (cflags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)))
        return ended(out);
    const bool no_zeroes = cflags & NBD_FLAG_C_NO_ZEROES;
    NegotiatedSession neg;
    for (;;) {
        if (!in.take(kOptionHeaderSize, b)) return ended(out);
        const OptionHeader oh = *parse_option_header(b);
        if (oh.magic != IHAVEOPT || oh.length > kMaxOptionLength || !in.take(oh.length, payload)) return ended(out);
        if (oh.option == NBD_OPT_EXPORT_NAME) {
            if (out.done()) return;  // an unknown name: the server just closes
            check(out.take(no_zeroes ? 10 : 134, b) && get_be64(b.data()) == kSize && get_be16(b.data() + 8) == kFlags);
            for (std::size_t i = 10; i < b.size(); ++i) check(b[i] == 0);
            return check_transmission(in, out, neg);
        }
        bool context = false;
        for (;;) {  // this option's replies, up to its ACK or error
            check(out.take(kOptionReplyHeaderSize, b));
            const OptionReplyHeader rh = *parse_option_reply_header(b);
            check(rh.magic == NBD_REP_MAGIC && rh.option == oh.option && out.take(rh.length, b));
            if (rh.type == NBD_REP_INFO) {
                check((oh.option == NBD_OPT_INFO || oh.option == NBD_OPT_GO) && b.size() >= 2);
                const uint16_t it = get_be16(b.data());
                if (it == NBD_INFO_EXPORT)
                    check(b.size() == 12 && get_be64(b.data() + 2) == kSize && get_be16(b.data() + 10) == kFlags);
                else if (it == NBD_INFO_BLOCK_SIZE)
                    check(b.size() == 14 && get_be32(b.data() + 2) == kExport.min_block &&
                          get_be32(b.data() + 6) == kExport.preferred_block && get_be32(b.data() + 10) == kExport.max_block);
                else
                    check(it == NBD_INFO_NAME || it == NBD_INFO_DESCRIPTION);
            } else if (rh.type == NBD_REP_META_CONTEXT) {
                check(oh.option == NBD_OPT_LIST_META_CONTEXT || oh.option == NBD_OPT_SET_META_CONTEXT);
                check(b.size() == 4 + kBaseAllocation.size() && get_be32(b.data()) == kBaseAllocationId);
                context = true;
            } else if (rh.type == NBD_REP_SERVER) {
                check(oh.option == NBD_OPT_LIST);
            } else if (rh.type == NBD_REP_ACK) {
                check(b.empty());
                if (oh.option == NBD_OPT_GO) return check_transmission(in, out, neg);
                if (oh.option == NBD_OPT_ABORT) return ended(out);
                if (oh.option == NBD_OPT_STRUCTURED_REPLY) {
                    check(!neg.structured_replies);
                    neg.structured_replies = true;
                } else if (oh.option == NBD_OPT_SET_META_CONTEXT) {
                    check(neg.structured_replies);
                    neg.base_allocation = context;
                } else {
                    check(oh.option == NBD_OPT_INFO || oh.option == NBD_OPT_LIST || oh.option == NBD_OPT_LIST_META_CONTEXT);
                }
                break;
            } else {
                // An error: negotiation goes on (admission never refuses here, so no POLICY).
                check((rh.type & NBD_REP_FLAG_ERROR) && rh.type != NBD_REP_ERR_POLICY);
                break;
            }
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ExportDevice& dev = device();
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) std::abort();
    // The client: send the input, then EOF; keep whatever the server answers.
    std::vector<uint8_t> answers;
    std::thread client([&] {
        write_all(sv[0], data, size, std::nullopt);
        ::shutdown(sv[0], SHUT_WR);
        uint8_t buf[65536];
        for (;;) {
            ssize_t n = ::recv(sv[0], buf, sizeof buf, 0);
            if (n <= 0) break;
            answers.insert(answers.end(), buf, buf + n);
        }
    });
    std::function<std::string()> admit = [] { return std::string(); };
    auto hs = server_handshake(sv[1], kExport, admit, std::chrono::steady_clock::now() + std::chrono::seconds(5));
    if (hs.session) {
        ServerCounters counters;
        ExportLimits l{kSize, false, kMaxRequest, kFlags};
        Session s(sv[1], dev, l, *hs.session, counters, Session::Params{1, std::chrono::milliseconds(2000)});
        s.run();
    }
    ::shutdown(sv[1], SHUT_RDWR);
    client.join();
    ::close(sv[0]);
    ::close(sv[1]);
    check(dev.size() == kSize);
    check_conversation({data, size}, answers);
    return 0;
}
