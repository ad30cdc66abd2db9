#include "blockdev/tls_channel.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace haspool::nbd {

namespace {

constexpr unsigned char kAes128GcmSha256[] = {0x13, 0x01};

std::string openssl_reason() {
    std::string s;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!s.empty()) s += "; ";
        s += buf;
    }
    return s.empty() ? "no reason given by OpenSSL" : s;
}

// Waits for `events` on fd until the deadline: 0, ETIMEDOUT or errno.
int wait_fd(int fd, short events, Deadline deadline) {
    for (;;) {
        int ms = -1;
        if (deadline) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return ETIMEDOUT;
            ms = int(std::min<long long>(left.count() + 1, 1 << 30));
        }
        pollfd p{fd, events, 0};
        int r = ::poll(&p, 1, ms);
        if (r > 0) return 0;
        if (r == 0) return ETIMEDOUT;
        if (errno != EINTR) return errno;
    }
}

SSL_SESSION* psk_session(SSL* ssl, const TlsPsk& psk) {
    const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, kAes128GcmSha256);
    if (!cipher) return nullptr;
    SSL_SESSION* s = SSL_SESSION_new();
    if (!s) return nullptr;
    if (!SSL_SESSION_set1_master_key(s, psk.key.data(), psk.key.size()) || !SSL_SESSION_set_cipher(s, cipher) ||
        !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
        SSL_SESSION_free(s);
        return nullptr;
    }
    return s;
}

const TlsContext& context_of(SSL* ssl) { return *static_cast<TlsContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl))); }

}  // namespace

// The OpenSSL callbacks, befriended so they may note why a handshake was refused.
struct TlsCallbacks {
    static TlsChannel* channel(SSL* ssl) { return static_cast<TlsChannel*>(SSL_get_app_data(ssl)); }

    // Server: the client's offered identity must be this cluster's. An unknown identity gets no
    // session, so the handshake fails (there is no certificate to fall back on).
    static int find(SSL* ssl, const unsigned char* identity, size_t len, SSL_SESSION** sess) {
        const TlsContext& ctx = context_of(ssl);
        std::string offered(reinterpret_cast<const char*>(identity), len);
        *sess = nullptr;
        for (const TlsPsk& psk : ctx.keys())
            if (offered == psk.identity) {
                *sess = psk_session(ssl, psk);
                return *sess ? 1 : 0;
            }
        std::string shown = offered.substr(0, 64), known;
        for (char& c : shown)
            if (c < 0x20 || c > 0x7e) c = '?';
        for (const TlsPsk& psk : ctx.keys()) known += (known.empty() ? "'" : " or '") + psk.identity + "'";
        if (TlsChannel* ch = channel(ssl)) ch->refused_ = "client offered PSK identity '" + shown + "', not " + known;
        return 1;
    }

    // Client: offer the cluster's identity with its key, for a SHA-256 suite only.
    static int use(SSL* ssl, const EVP_MD* md, const unsigned char** id, size_t* idlen, SSL_SESSION** sess) {
        const TlsPsk& psk = context_of(ssl).psk();
        *sess = nullptr;
        SSL_SESSION* s = psk_session(ssl, psk);
        if (!s) return 0;
        if (md && md != SSL_CIPHER_get_handshake_digest(SSL_SESSION_get0_cipher(s))) {
            SSL_SESSION_free(s);
            return 1;  // the server chose a suite our key is not for
        }
        *id = reinterpret_cast<const unsigned char*>(psk.identity.data());
        *idlen = psk.identity.size();
        *sess = s;
        return 1;
    }

    // "CLIENT_TRAFFIC_SECRET_0 <client random> <secret>": the only lines kept.
    static void keylog(const SSL* ssl, const char* line) {
        auto* ch = static_cast<TlsChannel*>(SSL_get_app_data(ssl));
        if (!ch) return;
        std::string l(line);
        std::vector<uint8_t>* dst = nullptr;
        if (l.rfind("CLIENT_TRAFFIC_SECRET_0 ", 0) == 0) dst = &ch->secrets_.client;
        else if (l.rfind("SERVER_TRAFFIC_SECRET_0 ", 0) == 0) dst = &ch->secrets_.server;
        if (!dst) return;
        auto sp = l.rfind(' ');
        std::string hex = l.substr(sp + 1);
        dst->clear();
        for (std::size_t i = 0; i + 1 < hex.size(); i += 2) dst->push_back(uint8_t(std::stoul(hex.substr(i, 2), nullptr, 16)));
        OPENSSL_cleanse(l.data(), l.size());
        OPENSSL_cleanse(hex.data(), hex.size());
    }
};

std::unique_ptr<TlsContext> TlsContext::make(Side side, std::vector<TlsPsk> keys, std::string& why) {
    if (keys.empty()) {
        why = "no TLS key";
        return nullptr;
    }
    ERR_clear_error();
    SSL_CTX* ctx = SSL_CTX_new(side == Side::server ? TLS_server_method() : TLS_client_method());
    if (!ctx) {
        why = "cannot create a TLS context: " + openssl_reason();
        return nullptr;
    }
    bool ok = SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) && SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) &&
              SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256");
    if (!ok) {
        why = "cannot configure TLS 1.3 with TLS_AES_128_GCM_SHA256: " + openssl_reason();
        SSL_CTX_free(ctx);
        return nullptr;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_clear_mode(ctx, SSL_MODE_AUTO_RETRY);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    std::unique_ptr<TlsContext> c(new TlsContext(side, std::move(keys), ctx));
    SSL_CTX_set_app_data(ctx, c.get());
    if (side == Side::server) {
        SSL_CTX_set_num_tickets(ctx, 0);
        SSL_CTX_set_psk_find_session_callback(ctx, &TlsCallbacks::find);
    } else {
        SSL_CTX_set_psk_use_session_callback(ctx, &TlsCallbacks::use);
        // No trust store is configured, so a server that answers with a certificate instead of
        // accepting the key fails verification rather than being talked to unauthenticated.
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
        SSL_CTX_set_keylog_callback(ctx, &TlsCallbacks::keylog);
    }
    return c;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

std::unique_ptr<TlsChannel> TlsChannel::handshake(const TlsContext& ctx, int fd, Deadline deadline, std::string& why) {
    ERR_clear_error();
    SSL* ssl = SSL_new(ctx.native());
    if (!ssl) {
        why = "cannot start a TLS session: " + openssl_reason();
        return nullptr;
    }
    std::unique_ptr<TlsChannel> ch(new TlsChannel(fd, ssl));
    SSL_set_app_data(ssl, ch.get());
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (!SSL_set_fd(ssl, fd)) {
        why = "cannot attach TLS to the socket: " + openssl_reason();
        return nullptr;
    }
    const bool server = ctx.side() == TlsContext::Side::server;
    for (;;) {
        ERR_clear_error();
        int r = server ? SSL_accept(ssl) : SSL_connect(ssl);
        if (r == 1) break;
        int e = SSL_get_error(ssl, r);
        int w = 0;
        if (e == SSL_ERROR_WANT_READ) w = wait_fd(fd, POLLIN, deadline);
        else if (e == SSL_ERROR_WANT_WRITE) w = wait_fd(fd, POLLOUT, deadline);
        else {
            std::string reason = ch->refused_;
            if (reason.empty())
                reason = e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN
                             ? (errno ? std::string("socket error: ") + std::strerror(errno) : "peer closed the connection")
                             : openssl_reason();
            why = "TLS handshake failed: " + reason;
            return nullptr;
        }
        if (w) {
            why = w == ETIMEDOUT ? "TLS handshake timed out" : std::string("TLS handshake: ") + std::strerror(w);
            return nullptr;
        }
    }
    if (SSL_version(ssl) != TLS1_3_VERSION || !SSL_session_reused(ssl)) {
        why = "TLS handshake ended without the pre-shared key";  // cannot happen with no certificate
        return nullptr;
    }
    return ch;
}

TlsChannel::~TlsChannel() {
    SSL_free(ssl_);
    for (auto* v : {&secrets_.client, &secrets_.server}) OPENSSL_cleanse(v->data(), v->size());
}

ssize_t TlsChannel::read_some(void* buf, std::size_t n) {
    std::lock_guard g(mu_);
    ERR_clear_error();
    errno = 0;
    std::size_t got = 0;
    int r = SSL_read_ex(ssl_, buf, n, &got);
    if (r == 1) return ssize_t(got);
    switch (SSL_get_error(ssl_, r)) {
        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE: return -EAGAIN;
        case SSL_ERROR_ZERO_RETURN: return 0;
        case SSL_ERROR_SYSCALL: return errno ? -errno : 0;
        default:
            error_ = openssl_reason();
            return -EPROTO;
    }
}

int TlsChannel::wait_readable(Deadline deadline) {
    {
        std::lock_guard g(mu_);
        if (SSL_has_pending(ssl_)) return 0;
    }
    return wait_fd(fd_, POLLIN, deadline);
}

bool TlsChannel::has_pending() const {
    std::lock_guard g(mu_);
    return SSL_has_pending(ssl_);
}

int TlsChannel::write_one(const uint8_t* p, std::size_t n, Deadline deadline) {
    std::size_t sent = 0;
    while (sent < n) {
        int e;
        {
            std::lock_guard g(mu_);
            ERR_clear_error();
            errno = 0;
            std::size_t w = 0;
            int r = SSL_write_ex(ssl_, p + sent, n - sent, &w);
            if (r == 1) {
                sent += w;
                continue;
            }
            e = SSL_get_error(ssl_, r);
            if (e == SSL_ERROR_SYSCALL) return errno ? errno : EPIPE;
            if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) {
                error_ = openssl_reason();
                return EPROTO;
            }
        }
        if (int w = wait_fd(fd_, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) return w;
    }
    return 0;
}

// Small pieces (a reply header and its error message) go out as one record; a read's data goes
// straight from its buffer.
int TlsChannel::writev_all(iovec* iov, int iovcnt, Deadline deadline) {
    std::size_t total = 0;
    for (int i = 0; i < iovcnt; ++i) total += iov[i].iov_len;
    if (iovcnt > 1 && total <= 4096) {
        uint8_t joined[4096];
        std::size_t at = 0;
        for (int i = 0; i < iovcnt; ++i) {
            std::memcpy(joined + at, iov[i].iov_base, iov[i].iov_len);
            at += iov[i].iov_len;
        }
        return write_one(joined, at, deadline);
    }
    for (int i = 0; i < iovcnt; ++i)
        if (int e = write_one(static_cast<const uint8_t*>(iov[i].iov_base), iov[i].iov_len, deadline)) return e;
    return 0;
}

void TlsChannel::shutdown(int how) { ::shutdown(fd_, how); }

std::string TlsChannel::last_error() const {
    std::lock_guard g(mu_);
    return error_;
}

}  // namespace haspool::nbd
