#include "blockdev/nbd_client_handshake.hpp"

#include <sys/socket.h>

#include <cstring>

#include <fcntl.h>

#include "blockdev/ktls.hpp"
#include "blockdev/nbd_codec.hpp"
#include "blockdev/socket_io.hpp"
#include "blockdev/tls_channel.hpp"

namespace haspool::nbd {

namespace {

// Option replies larger than this are not something a sane server sends to a client that asked
// for one export's info.
constexpr uint32_t kMaxReplyPayload = 64 * 1024;

std::string io_error(const char* what, int err) {
    if (err == ETIMEDOUT) return std::string("timed out ") + what;
    if (err == EPIPE || err == ECONNRESET) return std::string("server closed the connection ") + what;
    return std::string("socket error ") + what + ": " + std::strerror(err);
}

std::string rep_error_name(uint32_t t) {
    switch (t) {
        case NBD_REP_ERR_UNSUP: return "NBD_REP_ERR_UNSUP";
        case NBD_REP_ERR_POLICY: return "NBD_REP_ERR_POLICY";
        case NBD_REP_ERR_INVALID: return "NBD_REP_ERR_INVALID";
        case NBD_REP_ERR_PLATFORM: return "NBD_REP_ERR_PLATFORM";
        case NBD_REP_ERR_TLS_REQD: return "NBD_REP_ERR_TLS_REQD";
        case NBD_REP_ERR_UNKNOWN: return "NBD_REP_ERR_UNKNOWN";
        case NBD_REP_ERR_SHUTDOWN: return "NBD_REP_ERR_SHUTDOWN";
        case NBD_REP_ERR_BLOCK_SIZE_REQD: return "NBD_REP_ERR_BLOCK_SIZE_REQD";
        case NBD_REP_ERR_TOO_BIG: return "NBD_REP_ERR_TOO_BIG";
        default: return "error reply " + std::to_string(t);
    }
}

// The socket as a HandshakeStream: every read and write bounded by one deadline.
class SocketStream : public HandshakeStream {
public:
    SocketStream(int fd, Deadline deadline) : fd_(fd), deadline_(deadline) {}
    int read(void* buf, std::size_t n) override { return read_exact(fd_, buf, n, deadline_); }
    int write(const void* buf, std::size_t n) override { return write_all(fd_, buf, n, deadline_); }

private:
    int fd_;
    Deadline deadline_;
};

// A TLS channel as a HandshakeStream, for a negotiation that stays in userspace (probes, tests).
class ChannelStream : public HandshakeStream {
public:
    ChannelStream(ByteChannel& ch, Deadline deadline) : ch_(ch), deadline_(deadline) {}
    int read(void* buf, std::size_t n) override { return ch_.read_exact(buf, n, deadline_); }
    int write(const void* buf, std::size_t n) override { return ch_.write_all(buf, n, deadline_); }

private:
    ByteChannel& ch_;
    Deadline deadline_;
};

struct Exchange {
    HandshakeStream* stream;
    std::string name;
    bool no_zeroes = false;

    int read(void* buf, std::size_t n) { return stream->read(buf, n); }
    int write(const void* buf, std::size_t n) { return stream->write(buf, n); }

    int send_option(uint32_t option, const std::vector<uint8_t>& payload) {
        std::vector<uint8_t> buf(kOptionHeaderSize + payload.size());
        encode_option_header({IHAVEOPT, option, uint32_t(payload.size())}, buf.data());
        if (!payload.empty()) std::memcpy(buf.data() + kOptionHeaderSize, payload.data(), payload.size());
        return write(buf.data(), buf.size());
    }
};

HandshakeResult fail(std::string why) { return {std::nullopt, std::move(why)}; }

HandshakeResult check_flags(NegotiatedExport e, const std::string& name, bool require_flush_fua) {
    if (!(e.transmission_flags & NBD_FLAG_HAS_FLAGS))
        return fail("export '" + name + "' sent transmission flags without NBD_FLAG_HAS_FLAGS");
    if (require_flush_fua &&
        (!(e.transmission_flags & NBD_FLAG_SEND_FLUSH) || !(e.transmission_flags & NBD_FLAG_SEND_FUA)))
        return fail("export '" + name + "' does not offer " +
                    std::string(!(e.transmission_flags & NBD_FLAG_SEND_FLUSH) ? "NBD_FLAG_SEND_FLUSH" : "NBD_FLAG_SEND_FUA") +
                    ": writes acknowledged by the standby could sit in its page cache, refusing to mirror onto it "
                    "(enable flush and FUA on the server)");
    if (e.size == 0) return fail("export '" + name + "' has size 0");
    return {e, {}};
}

// NBD_OPT_EXPORT_NAME: the old way; no error replies, the server just closes on a bad name.
HandshakeResult export_name_fallback(Exchange& x, bool require_flush_fua) {
    if (int e = x.send_option(NBD_OPT_EXPORT_NAME, std::vector<uint8_t>(x.name.begin(), x.name.end())))
        return fail(io_error("sending NBD_OPT_EXPORT_NAME", e));
    uint8_t buf[10 + 124];
    std::size_t n = x.no_zeroes ? 10 : sizeof buf;
    if (int e = x.read(buf, n))
        return fail(io_error(("waiting for export '" + x.name + "' after NBD_OPT_EXPORT_NAME (unknown export?)").c_str(), e));
    NegotiatedExport ex{get_be64(buf), get_be16(buf + 8)};
    return check_flags(ex, x.name, require_flush_fua);
}

std::string greet(Exchange& x);
std::string starttls(Exchange& x);
HandshakeResult go(Exchange& x, bool require_flush_fua);

}  // namespace

HandshakeResult client_handshake(int fd, const std::string& export_name, std::chrono::milliseconds timeout,
                                 bool require_flush_fua, const ClientTls& tls) {
    const Deadline deadline = std::chrono::steady_clock::now() + timeout;
    SocketStream s(fd, deadline);
    HandshakeResult r;
    if (!tls.context) {
        r = client_handshake(s, export_name, require_flush_fua);
    } else {
        Exchange x{&s, export_name};
        if (std::string why = greet(x); !why.empty()) return fail(why);
        if (std::string why = starttls(x); !why.empty()) return fail(why);
        std::string why;
        auto ch = TlsChannel::handshake(*tls.context, fd, deadline, why);
        if (!ch) return fail(why);
        ChannelStream cs(*ch, deadline);
        if (tls.kernel) {
            // From here on the socket itself speaks TLS: NBD_OPT_GO below goes through the
            // kernel's TLS layer with the keys the kernel will use, so a wrong key fails here.
            if (ch->has_pending())
                return fail("NBD server sent data right after the TLS handshake: not handing this connection to the kernel");
            if (std::string e = install_ktls(fd, ch->secrets()); !e.empty())
                return fail("cannot hand the TLS session to the kernel: " + e);
        } else {
            x.stream = &cs;
        }
        r = go(x, require_flush_fua);
        r.encrypted = true;
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        if (!r.export_info || !tls.kernel) return r;
    }
    if (!r.export_info) return r;
    // The socket goes to the kernel next, which reads every byte as a reply to its requests: a
    // server that already sent more, or already closed, gets no kernel device (a later stray byte
    // is the kernel's to refuse; this catches what came with the handshake).
    uint8_t peek[512];
    ssize_t n = ::recv(fd, peek, sizeof peek, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0)
        return fail("NBD server sent " + std::to_string(n) + (std::size_t(n) == sizeof peek ? " or more" : "") +
                    " bytes after its last handshake reply, before any request: not handing this connection to the kernel");
    if (n == 0) return fail("NBD server closed the connection right after the handshake");
    return r;
}

namespace {

// The greeting and the client flags; "" or why not.
std::string greet(Exchange& x) {
    if (x.name.size() > kMaxStringLength)
        return "export name is " + std::to_string(x.name.size()) + " bytes, the limit is " +
               std::to_string(kMaxStringLength);
    uint8_t greeting[18];
    if (int e = x.read(greeting, sizeof greeting)) return io_error("waiting for the NBD greeting", e);
    if (get_be64(greeting) != NBDMAGIC) return "peer is not an NBD server (no NBDMAGIC in its greeting)";
    if (get_be64(greeting + 8) != IHAVEOPT)
        return "NBD server speaks the old-style protocol; only fixed newstyle is supported";
    uint16_t hflags = get_be16(greeting + 16);
    if (!(hflags & NBD_FLAG_FIXED_NEWSTYLE)) return "NBD server does not offer fixed newstyle negotiation";
    x.no_zeroes = hflags & NBD_FLAG_NO_ZEROES;
    uint8_t cflags[4];
    put_be32(cflags, NBD_FLAG_C_FIXED_NEWSTYLE | (x.no_zeroes ? NBD_FLAG_C_NO_ZEROES : 0));
    if (int e = x.write(cflags, sizeof cflags)) return io_error("sending client flags", e);
    return {};
}

// NBD_OPT_STARTTLS and its NBD_REP_ACK (the TLS handshake itself is the caller's); "" or why not.
std::string starttls(Exchange& x) {
    if (int e = x.send_option(NBD_OPT_STARTTLS, {})) return io_error("sending NBD_OPT_STARTTLS", e);
    uint8_t hdr[kOptionReplyHeaderSize];
    if (int e = x.read(hdr, sizeof hdr)) return io_error("waiting for the NBD_OPT_STARTTLS reply", e);
    OptionReplyHeader h = *parse_option_reply_header(hdr);
    if (h.magic != NBD_REP_MAGIC) return "bad option reply magic from the NBD server";
    if (h.option != NBD_OPT_STARTTLS)
        return "NBD server answered option " + std::to_string(h.option) + " to NBD_OPT_STARTTLS";
    if (h.length > kMaxReplyPayload) return "NBD server sent a " + std::to_string(h.length) + "-byte option reply";
    std::vector<uint8_t> payload(h.length);
    if (h.length)
        if (int e = x.read(payload.data(), h.length)) return io_error("reading the NBD_OPT_STARTTLS reply", e);
    if (h.type == NBD_REP_ACK && h.length == 0) return {};
    if (h.type & NBD_REP_FLAG_ERROR) {
        std::string msg(payload.begin(), payload.end());
        return "NBD server refused NBD_OPT_STARTTLS with " + rep_error_name(h.type) + (msg.empty() ? "" : ": " + msg) +
               " (nbd.tls must be the same on both nodes)";
    }
    return "NBD server sent reply type " + std::to_string(h.type) + " to NBD_OPT_STARTTLS";
}

HandshakeResult go(Exchange& x, bool require_flush_fua) {
    const std::string& export_name = x.name;
    if (int e = x.send_option(NBD_OPT_GO, encode_info_request({export_name, {NBD_INFO_BLOCK_SIZE}})))
        return fail(io_error("sending NBD_OPT_GO", e));

    std::optional<NegotiatedExport> ex;
    NegotiatedExport sizes{0, 0};
    bool have_sizes = false;
    std::vector<uint8_t> payload;
    for (;;) {
        uint8_t hdr[kOptionReplyHeaderSize];
        if (int e = x.read(hdr, sizeof hdr)) return fail(io_error("waiting for the NBD_OPT_GO reply", e));
        OptionReplyHeader h = *parse_option_reply_header(hdr);
        if (h.magic != NBD_REP_MAGIC) return fail("bad option reply magic from the NBD server");
        if (h.option != NBD_OPT_GO)
            return fail("NBD server answered option " + std::to_string(h.option) + " to NBD_OPT_GO");
        if (h.length > kMaxReplyPayload)
            return fail("NBD server sent a " + std::to_string(h.length) + "-byte option reply, limit " +
                        std::to_string(kMaxReplyPayload));
        payload.resize(h.length);
        if (h.length)
            if (int e = x.read(payload.data(), h.length))
                return fail(io_error("reading the NBD_OPT_GO reply", e));
        if (h.type == NBD_REP_ACK) break;
        if (h.type == NBD_REP_INFO) {
            if (payload.size() < 2) return fail("NBD server sent an NBD_REP_INFO shorter than its type");
            uint16_t it = get_be16(payload.data());
            if (it == NBD_INFO_EXPORT) {
                if (payload.size() != 12) return fail("NBD server sent a malformed NBD_INFO_EXPORT");
                ex = NegotiatedExport{get_be64(payload.data() + 2), get_be16(payload.data() + 10)};
            } else if (it == NBD_INFO_BLOCK_SIZE) {
                if (payload.size() != 14) return fail("NBD server sent a malformed NBD_INFO_BLOCK_SIZE");
                sizes.min_block = get_be32(payload.data() + 2);
                sizes.preferred_block = get_be32(payload.data() + 6);
                sizes.max_block = get_be32(payload.data() + 10);
                have_sizes = true;
            }  // other info types (name, description) are informational
            continue;
        }
        if (h.type == NBD_REP_ERR_UNSUP) return export_name_fallback(x, require_flush_fua);
        if (h.type & NBD_REP_FLAG_ERROR) {
            std::string msg(payload.begin(), payload.end());
            return fail("NBD server refused export '" + export_name + "' with " + rep_error_name(h.type) +
                        (msg.empty() ? "" : ": " + msg));
        }
        return fail("NBD server sent unexpected reply type " + std::to_string(h.type) + " to NBD_OPT_GO");
    }
    if (!ex) return fail("NBD server acknowledged NBD_OPT_GO without sending NBD_INFO_EXPORT");
    if (have_sizes) {
        auto pow2 = [](uint32_t v) { return v && !(v & (v - 1)); };
        if (!pow2(sizes.min_block) || sizes.min_block > 65536 || !pow2(sizes.preferred_block) ||
            sizes.preferred_block < sizes.min_block || sizes.max_block < sizes.min_block)
            return fail("NBD server sent inconsistent block sizes: min=" + std::to_string(sizes.min_block) +
                        " preferred=" + std::to_string(sizes.preferred_block) + " max=" + std::to_string(sizes.max_block));
        ex->min_block = sizes.min_block;
        ex->preferred_block = sizes.preferred_block;
        ex->max_block = sizes.max_block;
    }
    return check_flags(*ex, export_name, require_flush_fua);
}

}  // namespace

HandshakeResult client_handshake(HandshakeStream& stream, const std::string& export_name, bool require_flush_fua) {
    Exchange x{&stream, export_name};
    if (std::string why = greet(x); !why.empty()) return fail(why);
    return go(x, require_flush_fua);
}

}  // namespace haspool::nbd
