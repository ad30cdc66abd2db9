#include "blockdev/nbd_session.hpp"

#include <sys/socket.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

namespace haspool::nbd {

// One worker's reusable, page-aligned I/O buffer (page alignment keeps the door open for
// O_DIRECT and lets the kernel copy whole pages).
struct Session::Buffer {
    void* data = nullptr;
    std::size_t capacity = 0;
    ~Buffer() { std::free(data); }
    bool reserve(std::size_t n) {
        if (n <= capacity) return true;
        std::size_t want = (n + 65535) & ~std::size_t(65535);
        void* p = std::aligned_alloc(4096, want);
        if (!p) return false;
        std::free(data);
        data = p;
        capacity = want;
        return true;
    }
};

Session::Session(int fd, ExportDevice& dev, ExportLimits limits, NegotiatedSession neg, ServerCounters& counters,
                 Params p)
    : Session(std::make_unique<PlainChannel>(fd), dev, limits, neg, counters, p) {}

Session::Session(std::unique_ptr<ByteChannel> channel, ExportDevice& dev, ExportLimits limits, NegotiatedSession neg,
                 ServerCounters& counters, Params p)
    : ch_(std::move(channel)), dev_(dev), limits_(limits), neg_(neg), counters_(counters), params_(p) {
    if (params_.workers == 0) params_.workers = 1;
    rbuf_.resize(64 * 1024);
    limits_.block_status = neg_.base_allocation && neg_.structured_replies;
}

// Reads n bytes of the request stream into dst, read-ahead buffer first. Between requests the
// wait for the first byte is unbounded (an idle client is fine); everything after it must arrive
// within the stall timeout. Returns 0, EPIPE (clean EOF between requests), ECONNRESET (EOF
// mid-request), ETIMEDOUT, or errno.
int Session::read_stream(uint8_t* dst, std::size_t n, bool between_requests) {
    std::size_t done = 0;
    Deadline deadline;
    while (done < n) {
        if (std::size_t avail = rend_ - rpos_) {
            std::size_t k = std::min(avail, n - done);
            std::memcpy(dst + done, rbuf_.data() + rpos_, k);
            rpos_ += k;
            done += k;
            continue;
        }
        rpos_ = rend_ = 0;
        const bool idle = between_requests && done == 0;
        if (!idle && !deadline) deadline = std::chrono::steady_clock::now() + params_.stall_timeout;
        if (n - done >= rbuf_.size()) {  // a big payload goes straight to its destination
            int e = ch_->read_exact(dst + done, n - done, deadline);
            return e == EPIPE ? ECONNRESET : e;
        }
        ssize_t r = ch_->read_some(rbuf_.data(), rbuf_.size());
        if (r > 0) {
            rend_ = std::size_t(r);
            continue;
        }
        if (r == 0) return idle ? EPIPE : ECONNRESET;
        if (r != -EAGAIN) return int(-r);
        if (int e = ch_->wait_readable(deadline)) return e;
    }
    return 0;
}

void Session::close_with(std::string why) {
    {
        std::lock_guard g(why_mu_);
        if (why_.empty()) why_ = std::move(why);
    }
    closing_ = true;
    ch_->shutdown(SHUT_RDWR);
}

void Session::shutdown() { close_with("server closed the session"); }

std::string Session::run() {
    std::vector<std::unique_ptr<Buffer>> buffers;
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < params_.workers; ++i) buffers.push_back(std::make_unique<Buffer>());
    for (unsigned i = 1; i < params_.workers; ++i) threads.emplace_back([this, b = buffers[i].get()] { worker(*b); });
    worker(*buffers[0]);
    for (auto& t : threads) t.join();
    std::lock_guard g(why_mu_);
    return why_.empty() ? "client disconnected" : why_;
}

void Session::worker(Buffer& buf) {
    for (;;) {
        Request r;
        Validation v;
        {
            std::unique_lock lock(read_mu_);
            if (closing_) return;
            uint8_t hdr[kRequestHeaderSize];
            if (int e = read_stream(hdr, sizeof hdr, true)) {
                close_with(e == EPIPE        ? "client disconnected"
                           : e == ETIMEDOUT  ? "client stalled in the middle of a request header"
                           : e == ECONNRESET ? "client disconnected in the middle of a request header"
                                             : std::string("socket error: ") + std::strerror(e));
                return;
            }
            auto now = std::chrono::steady_clock::now().time_since_epoch();
            counters_.last_activity_ns.store(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count(),
                                             std::memory_order_relaxed);
            r = *parse_request(hdr);
            v = validate_request(r, limits_);
            if (v.action == Validation::Action::disconnect) {
                counters_.rejected_requests.fetch_add(1, std::memory_order_relaxed);
                close_with("malformed request: " + v.reason);
                return;
            }
            if (uint32_t n = request_payload_length(r)) {
                if (!buf.reserve(n)) {
                    close_with("out of memory for a " + std::to_string(n) + "-byte write");
                    return;
                }
                if (int e = read_stream(static_cast<uint8_t*>(buf.data), n, false)) {
                    close_with(e == ETIMEDOUT ? "client stalled in the middle of a write payload"
                                              : "client disconnected in the middle of a write payload");
                    return;
                }
            }
            if (r.type == NBD_CMD_DISC) {
                // Finish what is in flight, read nothing more.
                closing_ = true;
                ch_->shutdown(SHUT_RD);
                std::lock_guard g(why_mu_);
                if (why_.empty()) why_ = "client sent NBD_CMD_DISC";
                return;
            }
        }
        counters_.requests.fetch_add(1, std::memory_order_relaxed);
        if (!v.ok()) {
            counters_.rejected_requests.fetch_add(1, std::memory_order_relaxed);
            send_reply(r, v.error, nullptr, v.reason);
            continue;
        }
        if (r.type == NBD_CMD_BLOCK_STATUS) {
            if (uint32_t err = block_status(r, buf)) send_reply(r, err, nullptr, "NBD_CMD_BLOCK_STATUS failed");
            continue;
        }
        uint32_t err = execute(r, buf);
        if (err) counters_.io_errors.fetch_add(1, std::memory_order_relaxed);
        send_reply(r, err, r.type == NBD_CMD_READ && !err ? buf.data : nullptr,
                   err ? std::string(command_name(r.type)) + " failed" : std::string());
    }
}

uint32_t Session::execute(const Request& r, Buffer& buf) {
    const bool fua = r.flags & NBD_CMD_FLAG_FUA;
    int e = 0;
    switch (r.type) {
        case NBD_CMD_READ:
            if (!buf.reserve(r.length)) return NBD_ENOMEM;
            e = dev_.read(buf.data, r.length, r.offset);
            if (!e) counters_.bytes_read.fetch_add(r.length, std::memory_order_relaxed);
            break;
        case NBD_CMD_WRITE:
            e = dev_.write(buf.data, r.length, r.offset, fua);
            if (!e) counters_.bytes_written.fetch_add(r.length, std::memory_order_relaxed);
            break;
        case NBD_CMD_FLUSH: e = dev_.flush(); break;
        case NBD_CMD_TRIM: e = dev_.trim(r.offset, r.length, fua); break;
        case NBD_CMD_WRITE_ZEROES:
            e = dev_.write_zeroes(r.offset, r.length, !(r.flags & NBD_CMD_FLAG_NO_HOLE),
                                  r.flags & NBD_CMD_FLAG_FAST_ZERO, fua);
            break;
        case NBD_CMD_CACHE: e = dev_.cache(r.offset, r.length); break;
        default: e = EINVAL; break;  // validate_request lets nothing else through
    }
    return errno_to_nbd_error(e);
}

// Answers with one NBD_REPLY_TYPE_BLOCK_STATUS chunk for base:allocation, descriptors built in
// the worker's buffer; returns an NBD error instead when the map cannot be read.
uint32_t Session::block_status(const Request& r, Buffer& buf) {
    constexpr std::size_t kMaxDescriptors = 1024;
    const std::size_t max = (r.flags & NBD_CMD_FLAG_REQ_ONE) ? 1 : kMaxDescriptors;
    if (!buf.reserve(kStructuredReplyHeaderSize + 4 + 8 * kMaxDescriptors)) return NBD_ENOMEM;
    auto* out = static_cast<uint8_t*>(buf.data);
    std::size_t n = 0;
    int e = dev_.extents(r.offset, r.length, [&](uint32_t len, bool hole) {
        uint8_t* d = out + kStructuredReplyHeaderSize + 4 + 8 * n;
        put_be32(d, len);
        put_be32(d + 4, hole ? (NBD_STATE_HOLE | NBD_STATE_ZERO) : 0);
        return ++n < max;
    });
    if (e) return errno_to_nbd_error(e);
    const uint32_t payload = uint32_t(4 + 8 * n);
    encode_structured_reply_header({NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_BLOCK_STATUS, r.cookie, payload}, out);
    put_be32(out + kStructuredReplyHeaderSize, kBaseAllocationId);
    iovec iov{out, kStructuredReplyHeaderSize + payload};
    int w;
    {
        std::lock_guard lock(write_mu_);
        w = ch_->writev_all(&iov, 1, std::chrono::steady_clock::now() + params_.stall_timeout);
    }
    if (w) close_with(std::string("cannot send a reply: ") + std::strerror(w));
    return 0;
}

void Session::send_reply(const Request& r, uint32_t error, const void* data, const std::string& reason) {
    uint8_t hdr[kStructuredReplyHeaderSize + 8];
    uint8_t err_payload[6];
    iovec iov[3];
    int n = 0;
    if (neg_.structured_replies && (r.type == NBD_CMD_READ || r.type == NBD_CMD_BLOCK_STATUS)) {
        if (error == 0 && r.type == NBD_CMD_READ) {
            encode_structured_reply_header({NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_DATA, r.cookie, 8 + r.length}, hdr);
            put_be64(hdr + kStructuredReplyHeaderSize, r.offset);
            iov[n++] = {hdr, sizeof hdr};
            iov[n++] = {const_cast<void*>(data), r.length};
        } else {
            uint16_t msg_len = uint16_t(std::min<std::size_t>(reason.size(), 4096));
            encode_structured_reply_header({NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, r.cookie, 6u + msg_len}, hdr);
            put_be32(err_payload, error);
            put_be16(err_payload + 4, msg_len);
            iov[n++] = {hdr, kStructuredReplyHeaderSize};
            iov[n++] = {err_payload, sizeof err_payload};
            if (msg_len) iov[n++] = {const_cast<char*>(reason.data()), msg_len};
        }
    } else {
        // Simple replies (also allowed for non-READ commands when structured replies are on).
        encode_simple_reply({error, r.cookie}, hdr);
        iov[n++] = {hdr, kSimpleReplySize};
        if (error == 0 && r.type == NBD_CMD_READ) iov[n++] = {const_cast<void*>(data), r.length};
    }
    int e;
    {
        std::lock_guard lock(write_mu_);
        e = ch_->writev_all(iov, n, std::chrono::steady_clock::now() + params_.stall_timeout);
    }
    if (e)
        close_with(e == ETIMEDOUT ? "client stopped reading replies" : std::string("cannot send a reply: ") +
                                                                           std::strerror(e));
}

}  // namespace haspool::nbd
