// NBD over TLS with the cluster's pre-shared key: the key derivation and the PSK file, the
// server's STARTTLS and its refusals (no TLS, wrong key, another cluster's identity), our client
// against it, and the record keys the primary hands to the kernel, checked by decrypting a
// record OpenSSL sent.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <cstring>
#include <future>

#include "blockdev/ktls.hpp"
#include "blockdev/nbd_client_handshake.hpp"
#include "blockdev/nbd_protocol.hpp"
#include "blockdev/nbd_server_handshake.hpp"
#include "blockdev/tls_channel.hpp"
#include "blockdev/tls_psk.hpp"

using namespace haspool::nbd;
using namespace std::chrono_literals;

namespace {

const std::string kSecret(32, 's');

std::unique_ptr<TlsContext> context(TlsContext::Side side, const std::string& secret, const std::string& identity) {
    auto psk = derive_tls_psk(secret, identity);
    REQUIRE(psk);
    std::string why;
    auto c = TlsContext::make(side, *psk, why);
    INFO(why);
    REQUIRE(c);
    return c;
}

struct Pair {
    int client = -1, server = -1;
    Pair() {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
        client = sv[0];
        server = sv[1];
    }
    ~Pair() {
        ::close(client);
        ::close(server);
    }
};

const ExportInfo kExport{"disk-y", "test", 1 << 20,
                         uint16_t(NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA), 1, 4096, 1 << 16};

struct Outcome {
    HandshakeResult client;
    ServerHandshakeResult server;
};

Outcome negotiate(const TlsContext* server_tls, const TlsContext* client_tls) {
    Pair p;
    std::function<std::string()> admit = [] { return std::string(); };
    auto srv = std::async(std::launch::async, [&] {
        auto r = server_handshake(p.server, kExport, admit, std::chrono::steady_clock::now() + 10s, server_tls);
        if (!r.session) ::shutdown(p.server, SHUT_RDWR);  // as the server does when it closes
        return r;
    });
    Outcome o;
    o.client = client_handshake(p.client, "disk-y", 10s, true, ClientTls{client_tls, false});
    ::shutdown(p.client, SHUT_RDWR);
    o.server = srv.get();
    return o;
}

}  // namespace

TEST_CASE("the TLS key is derived from the cluster secret, per cluster name") {
    auto a = derive_tls_psk(kSecret, "mail");
    auto b = derive_tls_psk(kSecret, "mail");
    auto other_name = derive_tls_psk(kSecret, "mail2");
    auto other_secret = derive_tls_psk(std::string(32, 't'), "mail");
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->key == b->key);
    CHECK(a->identity == "mail");
    CHECK(a->key != other_name->key);
    CHECK(a->key != other_secret->key);
    // The HMAC key of the heartbeats is not reused: the TLS key is not the secret's bytes.
    CHECK(std::memcmp(a->key.data(), kSecret.data(), 32) != 0);
    CHECK_FALSE(derive_tls_psk("", "mail"));
    CHECK_FALSE(derive_tls_psk(kSecret, "a:b"));  // ':' separates the PSK file's fields
    CHECK_FALSE(derive_tls_psk(kSecret, ""));
}

TEST_CASE("the PSK file line round-trips and bad files are explained") {
    auto psk = derive_tls_psk(kSecret, "mail");
    std::string line = psk_file_line(*psk);
    CHECK(line.size() == std::string("mail:").size() + 64 + 1);
    std::string why;
    auto back = parse_psk_file("# comment\nother:" + std::string(64, '0') + "\n" + line, "mail", why);
    REQUIRE(back);
    CHECK(back->key == psk->key);
    auto first = parse_psk_file(line, "", why);
    REQUIRE(first);
    CHECK(first->identity == "mail");
    CHECK_FALSE(parse_psk_file(line, "nobody", why));
    CHECK(why == "no key for identity 'nobody'");
    CHECK_FALSE(parse_psk_file("mail:abcd\n", "", why));
    CHECK(why.find("64") != std::string::npos);
    CHECK_FALSE(parse_psk_file("mail:" + std::string(64, 'z') + "\n", "", why));
    CHECK(why.find("not hexadecimal") != std::string::npos);
    CHECK_FALSE(parse_psk_file("no separator\n", "", why));
}

TEST_CASE("with the same key, STARTTLS then NBD_OPT_GO succeed over TLS") {
    auto s = context(TlsContext::Side::server, kSecret, "mail");
    auto c = context(TlsContext::Side::client, kSecret, "mail");
    auto o = negotiate(s.get(), c.get());
    INFO(o.client.error << " / " << o.server.reason);
    REQUIRE(o.client.export_info);
    CHECK(o.client.encrypted);
    CHECK(o.client.export_info->size == 1u << 20);
    REQUIRE(o.server.session);
    REQUIRE(o.server.channel);
    CHECK(o.server.channel->encrypted());
}

TEST_CASE("a server that requires TLS tells a plain client so and gives it nothing") {
    auto s = context(TlsContext::Side::server, kSecret, "mail");
    auto o = negotiate(s.get(), nullptr);
    CHECK_FALSE(o.client.export_info);
    CHECK(o.client.error.find("NBD_REP_ERR_TLS_REQD") != std::string::npos);
    CHECK_FALSE(o.server.session);
    CHECK(o.server.tls_refused);
}

TEST_CASE("a client with the wrong key is refused, and the server says why") {
    auto s = context(TlsContext::Side::server, kSecret, "mail");
    auto c = context(TlsContext::Side::client, std::string(32, 'x'), "mail");
    auto o = negotiate(s.get(), c.get());
    CHECK_FALSE(o.client.export_info);
    CHECK(o.client.error.find("TLS handshake failed") != std::string::npos);
    CHECK_FALSE(o.server.session);
    CHECK(o.server.tls_refused);
    CHECK(o.server.reason == "TLS handshake failed: the client's key is not this cluster's (PSK binder does not verify)");
}

TEST_CASE("a client of another cluster is refused by its identity") {
    auto s = context(TlsContext::Side::server, kSecret, "mail");
    auto c = context(TlsContext::Side::client, kSecret, "web");
    auto o = negotiate(s.get(), c.get());
    CHECK_FALSE(o.client.export_info);
    CHECK(o.server.tls_refused);
    CHECK(o.server.reason == "TLS handshake failed: client offered PSK identity 'web', not 'mail'");
}

TEST_CASE("during a key rotation the server accepts either key, each by its identity") {
    auto cur = derive_tls_psk(kSecret, "mail/old");
    auto next = derive_tls_psk(std::string(32, 'n'), "mail/new");
    std::string why;
    auto s = TlsContext::make(TlsContext::Side::server, std::vector<TlsPsk>{*cur, *next}, why);
    REQUIRE(s);
    auto with_next = context(TlsContext::Side::client, std::string(32, 'n'), "mail/new");
    auto with_cur = context(TlsContext::Side::client, kSecret, "mail/old");
    auto third = context(TlsContext::Side::client, std::string(32, 'q'), "mail/third");
    CHECK(negotiate(s.get(), with_next.get()).client.export_info);
    CHECK(negotiate(s.get(), with_cur.get()).client.export_info);
    auto o = negotiate(s.get(), third.get());
    CHECK_FALSE(o.client.export_info);
    CHECK(o.server.reason == "TLS handshake failed: client offered PSK identity 'mail/third', not 'mail/old' or 'mail/new'");
}

TEST_CASE("a TLS client refuses a server without TLS rather than go on in plain text") {
    auto c = context(TlsContext::Side::client, kSecret, "mail");
    auto o = negotiate(nullptr, c.get());
    CHECK_FALSE(o.client.export_info);
    CHECK(o.client.error.find("refused NBD_OPT_STARTTLS with NBD_REP_ERR_UNSUP") != std::string::npos);
}

TEST_CASE("the record keys handed to the kernel decrypt what OpenSSL sent, in both directions") {
    auto s = context(TlsContext::Side::server, kSecret, "mail");
    auto c = context(TlsContext::Side::client, kSecret, "mail");
    Pair p;
    std::string why_s, why_c;
    auto srv = std::async(std::launch::async, [&] { return TlsChannel::handshake(*s, p.server, std::chrono::steady_clock::now() + 10s, why_s); });
    auto cli = TlsChannel::handshake(*c, p.client, std::chrono::steady_clock::now() + 10s, why_c);
    auto sch = srv.get();
    INFO(why_c << " / " << why_s);
    REQUIRE(cli);
    REQUIRE(sch);
    REQUIRE(cli->secrets().complete());
    CHECK_FALSE(cli->has_pending());

    // One record each way, read raw off the other end and opened with our derived keys at
    // record number 0, as the kernel will.
    auto open_record = [](int fd, const std::vector<uint8_t>& secret) {
        uint8_t hdr[5];
        REQUIRE(::recv(fd, hdr, 5, MSG_WAITALL) == 5);
        CHECK(hdr[0] == 0x17);  // application_data
        std::size_t len = std::size_t(hdr[3]) << 8 | hdr[4];
        std::vector<uint8_t> body(len);
        REQUIRE(::recv(fd, body.data(), len, MSG_WAITALL) == ssize_t(len));
        auto k = tls13_record_keys(secret);
        REQUIRE(k);
        EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
        std::vector<uint8_t> out(len);
        int n = 0, m = 0;
        REQUIRE(EVP_DecryptInit_ex(ctx, EVP_aes_128_gcm(), nullptr, k->key.data(), k->iv.data()) == 1);  // seq 0: iv as is
        REQUIRE(EVP_DecryptUpdate(ctx, nullptr, &n, hdr, 5) == 1);
        REQUIRE(EVP_DecryptUpdate(ctx, out.data(), &n, body.data(), int(len - 16)) == 1);
        REQUIRE(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, body.data() + len - 16) == 1);
        bool ok = EVP_DecryptFinal_ex(ctx, out.data() + n, &m) == 1;
        EVP_CIPHER_CTX_free(ctx);
        REQUIRE(ok);
        out.resize(std::size_t(n + m));
        return out;
    };
    const std::string marker = "haspool-marker";
    REQUIRE(sch->write_all(marker.data(), marker.size(), std::nullopt) == 0);
    auto from_server = open_record(p.client, cli->secrets().server);
    CHECK(std::string(from_server.begin(), from_server.end()) == marker + "\x17");  // inner content type
    REQUIRE(cli->write_all(marker.data(), marker.size(), std::nullopt) == 0);
    auto from_client = open_record(p.server, cli->secrets().client);
    CHECK(std::string(from_client.begin(), from_client.end()) == marker + "\x17");
}

TEST_CASE("installing kernel TLS names the failing step") {
    int l = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(l, 1) == 0);
    socklen_t al = sizeof a;
    REQUIRE(::getsockname(l, reinterpret_cast<sockaddr*>(&a), &al) == 0);
    int c = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    CHECK(install_ktls(c, TrafficSecrets{}) == "the TLS handshake left no traffic secrets to hand to the kernel");
    TrafficSecrets t{std::vector<uint8_t>(32, 1), std::vector<uint8_t>(32, 2)};
    std::string why = install_ktls(c, t);
    // Where the kernel has a TLS layer this succeeds; where not, the sentence says what to load.
    if (!why.empty()) CHECK(why.find("setsockopt(") == 0);
    if (why.find("ENOENT") != std::string::npos || why.find("No such file") != std::string::npos)
        CHECK(why.find("modprobe tls") != std::string::npos);
    ::close(c);
    ::close(l);
}
