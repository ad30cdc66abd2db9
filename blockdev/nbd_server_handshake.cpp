#include "blockdev/nbd_server_handshake.hpp"

#include <cstring>
#include <vector>

#include "blockdev/nbd_codec.hpp"
#include "blockdev/tls_channel.hpp"

namespace haspool::nbd {

namespace {

std::string io_reason(const char* what, int err) {
    if (err == ETIMEDOUT) return std::string("handshake timed out ") + what;
    if (err == EPIPE || err == ECONNRESET) return std::string("client closed the connection ") + what;
    return std::string("socket error ") + what + ": " + std::strerror(err);
}

class Negotiation {
public:
    Negotiation(int fd, const ExportInfo& exp, const std::function<std::string()>& admit, Deadline d,
                const TlsContext* tls)
        : fd_(fd), exp_(exp), admit_(admit), deadline_(d), tls_(tls), ch_(std::make_unique<PlainChannel>(fd)) {}

    ServerHandshakeResult run() {
        uint8_t greet[18];
        put_be64(greet, NBDMAGIC);
        put_be64(greet + 8, IHAVEOPT);
        put_be16(greet + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
        if (int e = ch_->write_all(greet, sizeof greet, deadline_)) return fail(io_reason("sending the greeting", e));
        uint8_t cf[4];
        if (int e = ch_->read_exact(cf, 4, deadline_)) return fail(io_reason("before sending client flags", e));
        uint32_t cflags = get_be32(cf);
        if (!(cflags & NBD_FLAG_C_FIXED_NEWSTYLE)) return fail("client does not speak fixed newstyle negotiation");
        if (cflags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES))
            return fail("client sent unknown client flags " + std::to_string(cflags));
        no_zeroes_ = cflags & NBD_FLAG_C_NO_ZEROES;

        for (;;) {
            uint8_t h[kOptionHeaderSize];
            if (int e = ch_->read_exact(h, sizeof h, deadline_)) {
                if (tls_refusals_) return refused(io_reason("after being told TLS is required", e));
                return fail(io_reason("waiting for an option", e));
            }
            OptionHeader oh = *parse_option_header(h);
            if (oh.magic != IHAVEOPT) return fail("bad option magic from the client");
            if (oh.length > kMaxOptionLength)
                return fail("option " + std::to_string(oh.option) + " carries " + std::to_string(oh.length) +
                            " bytes, more than the limit " + std::to_string(kMaxOptionLength));
            payload_.resize(oh.length);
            if (oh.length)
                if (int e = ch_->read_exact(payload_.data(), oh.length, deadline_))
                    return fail(io_reason("reading an option payload", e));
            std::optional<ServerHandshakeResult> done =
                tls_ && !ch_->encrypted() ? before_tls(oh.option) : handle(oh.option);
            if (done) {
                if (done->session) done->channel = std::move(ch_);
                return std::move(*done);
            }
        }
    }

private:
    static ServerHandshakeResult fail(std::string why) { return {std::nullopt, std::move(why), nullptr}; }
    static ServerHandshakeResult refused(std::string why) { return {std::nullopt, std::move(why), nullptr, true}; }

    // nbd.tls: required, and no TLS yet: only STARTTLS and ABORT are served (the spec's
    // "FORCEDTLS" mode), so nothing about the export is told to a client without the key.
    std::optional<ServerHandshakeResult> before_tls(uint32_t option) {
        int e = 0;
        switch (option) {
            case NBD_OPT_STARTTLS: {
                if (!payload_.empty()) {
                    e = reply_error(option, NBD_REP_ERR_INVALID, "NBD_OPT_STARTTLS takes no data");
                    break;
                }
                if ((e = reply(option, NBD_REP_ACK))) break;
                std::string why;
                auto tls = TlsChannel::handshake(*tls_, fd_, deadline_, why);
                if (!tls) {
                    if (why.find("binder does not verify") != std::string::npos)
                        why = "TLS handshake failed: the client's key is not this cluster's (PSK binder does not verify)";
                    return refused(why);
                }
                ch_ = std::move(tls);
                session_ = {};  // the spec: whatever was negotiated before STARTTLS is forgotten
                return std::nullopt;
            }
            case NBD_OPT_ABORT:
                handle(option);
                return tls_refusals_ ? refused("client gave up after being told TLS is required (it never sent STARTTLS)")
                                     : fail("client aborted the negotiation");
            case NBD_OPT_EXPORT_NAME:  // no error reply exists for it: close
                return refused("client asked for the export without TLS, which this server requires");
            default:
                e = reply_error(option, NBD_REP_ERR_TLS_REQD, "TLS is required: send NBD_OPT_STARTTLS first");
                if (!e) ++tls_refusals_;
                if (tls_refusals_ > 16) return refused("client sent 16 options without STARTTLS, which this server requires");
                break;
        }
        if (e) return fail(io_reason("answering an option", e));
        return std::nullopt;
    }

    bool name_matches(const std::string& n) const { return n.empty() || n == exp_.name; }

    int reply(uint32_t option, uint32_t type, std::span<const uint8_t> payload = {}) {
        out_.clear();
        append_option_reply(out_, option, type, payload);
        return ch_->write_all(out_.data(), out_.size(), deadline_);
    }
    int reply_error(uint32_t option, uint32_t type, const std::string& msg) {
        return reply(option, type, std::span(reinterpret_cast<const uint8_t*>(msg.data()), msg.size()));
    }

    // nullopt: carry on negotiating.
    std::optional<ServerHandshakeResult> handle(uint32_t option) {
        int e = 0;
        switch (option) {
            case NBD_OPT_EXPORT_NAME: {
                std::string name(payload_.begin(), payload_.end());
                if (!name_matches(name)) return fail("client asked for unknown export '" + name + "'");
                if (std::string why = admit_(); !why.empty()) return fail(why);
                uint8_t buf[10 + 124] = {};
                put_be64(buf, exp_.size);
                put_be16(buf + 8, exp_.transmission_flags);
                if ((e = ch_->write_all(buf, no_zeroes_ ? 10 : sizeof buf, deadline_)))
                    return fail(io_reason("sending the export", e));
                return ServerHandshakeResult{session_, {}, nullptr};
            }
            case NBD_OPT_INFO:
            case NBD_OPT_GO: return info_or_go(option);
            case NBD_OPT_LIST: {
                if (!payload_.empty()) {
                    e = reply_error(option, NBD_REP_ERR_INVALID, "NBD_OPT_LIST takes no data");
                    break;
                }
                std::vector<uint8_t> p(4 + exp_.name.size() + exp_.description.size());
                put_be32(p.data(), uint32_t(exp_.name.size()));
                std::memcpy(p.data() + 4, exp_.name.data(), exp_.name.size());
                std::memcpy(p.data() + 4 + exp_.name.size(), exp_.description.data(), exp_.description.size());
                if (!(e = reply(option, NBD_REP_SERVER, p))) e = reply(option, NBD_REP_ACK);
                break;
            }
            case NBD_OPT_ABORT:
                reply(option, NBD_REP_ACK);  // best effort: the client may already be gone
                return fail("client aborted the negotiation");
            case NBD_OPT_STRUCTURED_REPLY:
                if (session_.structured_replies) {
                    e = reply_error(option, NBD_REP_ERR_INVALID, "structured replies are already on");
                } else if (!payload_.empty()) {
                    e = reply_error(option, NBD_REP_ERR_INVALID, "NBD_OPT_STRUCTURED_REPLY takes no data");
                } else {
                    session_.structured_replies = true;
                    e = reply(option, NBD_REP_ACK);
                }
                break;
            case NBD_OPT_LIST_META_CONTEXT:
            case NBD_OPT_SET_META_CONTEXT: return meta_context(option);
            case NBD_OPT_STARTTLS:
                e = tls_ ? reply_error(option, NBD_REP_ERR_INVALID, "TLS is already on")
                         : reply_error(option, NBD_REP_ERR_UNSUP, "TLS is not configured on this server (nbd.tls: off)");
                break;
            default:
                e = reply_error(option, NBD_REP_ERR_UNSUP, "option " + std::to_string(option) + " is not supported");
                break;
        }
        if (e) return fail(io_reason("answering an option", e));
        return std::nullopt;
    }

    // base:allocation is the only context: LIST answers it for no query, "base:" or itself; SET
    // selects it (structured replies first), replacing any earlier selection.
    std::optional<ServerHandshakeResult> meta_context(uint32_t option) {
        int e = 0;
        auto m = parse_meta_context_request(payload_);
        const bool set = option == NBD_OPT_SET_META_CONTEXT;
        if (!m) {
            e = reply_error(option, NBD_REP_ERR_INVALID, "malformed meta context request");
        } else if (set && !session_.structured_replies) {
            e = reply_error(option, NBD_REP_ERR_INVALID, "NBD_OPT_SET_META_CONTEXT needs structured replies first");
        } else if (!name_matches(m->export_name)) {
            e = reply_error(option, NBD_REP_ERR_UNKNOWN, "no export named '" + m->export_name + "'");
        } else {
            bool selected = false;
            if (!set && m->queries.empty()) selected = true;
            for (const auto& q : m->queries)
                if (q == kBaseAllocation || (!set && q == "base:")) selected = true;
            if (set) session_.base_allocation = selected;
            out_.clear();
            if (selected) {
                std::vector<uint8_t> p(4 + kBaseAllocation.size());
                put_be32(p.data(), kBaseAllocationId);
                std::memcpy(p.data() + 4, kBaseAllocation.data(), kBaseAllocation.size());
                append_option_reply(out_, option, NBD_REP_META_CONTEXT, p);
            }
            append_option_reply(out_, option, NBD_REP_ACK, {});
            e = ch_->write_all(out_.data(), out_.size(), deadline_);
        }
        if (e) return fail(io_reason("answering an option", e));
        return std::nullopt;
    }

    std::optional<ServerHandshakeResult> info_or_go(uint32_t option) {
        int e = 0;
        auto ir = parse_info_request(payload_);
        if (!ir) {
            e = reply_error(option, NBD_REP_ERR_INVALID, "malformed NBD_OPT_INFO/NBD_OPT_GO data");
        } else if (!name_matches(ir->name)) {
            e = reply_error(option, NBD_REP_ERR_UNKNOWN, "no export named '" + ir->name + "'");
        } else {
            std::string why = option == NBD_OPT_GO ? admit_() : std::string();
            if (!why.empty()) {
                reply_error(option, NBD_REP_ERR_POLICY, why);
                return fail(why);
            }
            bool name = false, desc = false, block = false;
            for (uint16_t r : ir->requests) {
                name |= r == NBD_INFO_NAME;
                desc |= r == NBD_INFO_DESCRIPTION;
                block |= r == NBD_INFO_BLOCK_SIZE;
            }
            out_.clear();
            append_option_reply(out_, option, NBD_REP_INFO, encode_info_export(exp_.size, exp_.transmission_flags));
            if (block)
                append_option_reply(out_, option, NBD_REP_INFO,
                                    encode_info_block_size(exp_.min_block, exp_.preferred_block, exp_.max_block));
            if (name) append_option_reply(out_, option, NBD_REP_INFO, encode_info_string(NBD_INFO_NAME, exp_.name));
            if (desc && !exp_.description.empty())
                append_option_reply(out_, option, NBD_REP_INFO, encode_info_string(NBD_INFO_DESCRIPTION, exp_.description));
            append_option_reply(out_, option, NBD_REP_ACK, {});
            e = ch_->write_all(out_.data(), out_.size(), deadline_);
            if (!e && option == NBD_OPT_GO) return ServerHandshakeResult{session_, {}, nullptr};
        }
        if (e) return fail(io_reason("answering an option", e));
        return std::nullopt;
    }

    int fd_;
    const ExportInfo& exp_;
    const std::function<std::string()>& admit_;
    Deadline deadline_;
    const TlsContext* tls_;  // non-null: TLS required
    std::unique_ptr<ByteChannel> ch_;
    int tls_refusals_ = 0;
    bool no_zeroes_ = false;
    NegotiatedSession session_;
    std::vector<uint8_t> payload_, out_;
};

}  // namespace

ServerHandshakeResult server_handshake(int fd, const ExportInfo& exp, const std::function<std::string()>& admit,
                                       Deadline deadline, const TlsContext* tls) {
    return Negotiation(fd, exp, admit, deadline, tls).run();
}

}  // namespace haspool::nbd
