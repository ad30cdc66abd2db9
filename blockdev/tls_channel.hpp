#pragma once
// TLS 1.3 with a pre-shared key over an NBD connection's socket, after NBD_OPT_STARTTLS
// (OpenSSL). The server side carries the standby's sessions in userspace; the client side (the
// primary) only runs the handshake and keeps the traffic secrets, which blockdev/ktls.hpp
// installs into the socket before the kernel gets it.
//
// Choices that matter for that handoff and for safety:
// - TLS 1.3 only, one suite: TLS_AES_128_GCM_SHA256, which every TLS library and the kernel's
//   TLS layer (TLS_CIPHER_AES_GCM_128) implement.
// - PSK only (psk_dhe_ke preferred by the clients we know, so the link has forward secrecy); no
//   certificate exists, so a client that does not hold the key cannot complete a handshake.
// - No session tickets and no key updates from the server: the kernel's receive path cannot
//   process a post-handshake handshake record, so nothing but application data may follow.
// - An EOF without close_notify is an ordinary EOF: NBD frames its own messages, so truncation
//   cannot be mistaken for a complete reply, and the kernel never sends close_notify.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "blockdev/byte_channel.hpp"
#include "blockdev/tls_psk.hpp"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace haspool::nbd {

class TlsContext {
public:
    enum class Side { server, client };
    // nullptr with `why` when OpenSSL refuses the configuration. A server accepts any of `keys`
    // by its identity (a key rotation holds two); a client offers the first.
    static std::unique_ptr<TlsContext> make(Side side, std::vector<TlsPsk> keys, std::string& why);
    static std::unique_ptr<TlsContext> make(Side side, TlsPsk psk, std::string& why) {
        return make(side, std::vector<TlsPsk>{std::move(psk)}, why);
    }
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    Side side() const { return side_; }
    const TlsPsk& psk() const { return keys_.front(); }
    const std::vector<TlsPsk>& keys() const { return keys_; }
    SSL_CTX* native() const { return ctx_; }

private:
    TlsContext(Side side, std::vector<TlsPsk> keys, SSL_CTX* ctx) : side_(side), keys_(std::move(keys)), ctx_(ctx) {}
    Side side_;
    std::vector<TlsPsk> keys_;  // never empty
    SSL_CTX* ctx_;
};

// The application traffic secrets of a finished handshake (client side only), for kTLS.
struct TrafficSecrets {
    std::vector<uint8_t> client, server;  // CLIENT_/SERVER_TRAFFIC_SECRET_0
    bool complete() const { return !client.empty() && !server.empty(); }
};

class TlsChannel : public ByteChannel {
public:
    // Runs the handshake on the connected socket `fd` (made non-blocking; not owned) within the
    // deadline. nullptr with `why` (the peer's identity or OpenSSL's reason) when it fails.
    static std::unique_ptr<TlsChannel> handshake(const TlsContext& ctx, int fd, Deadline deadline, std::string& why);
    ~TlsChannel() override;

    ssize_t read_some(void* buf, std::size_t n) override;
    int wait_readable(Deadline deadline) override;
    int writev_all(iovec* iov, int iovcnt, Deadline deadline) override;
    void shutdown(int how) override;
    bool encrypted() const override { return true; }

    // The reason of the last -EPROTO from read_some or writev_all.
    std::string last_error() const;
    // Empty unless this is a client channel whose handshake finished.
    const TrafficSecrets& secrets() const { return secrets_; }
    // Bytes OpenSSL has read from the socket but not handed out (must be 0 before a kTLS handoff).
    bool has_pending() const;

private:
    TlsChannel(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
    int write_one(const uint8_t* p, std::size_t n, Deadline deadline);
    friend struct TlsCallbacks;

    int fd_;
    SSL* ssl_;
    mutable std::mutex mu_;  // one OpenSSL call at a time on ssl_
    std::string error_;      // guarded by mu_
    std::string refused_;    // set by the PSK callbacks during the handshake
    TrafficSecrets secrets_;
};

}  // namespace haspool::nbd
