#include "blockdev/ktls.hpp"

#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <cerrno>
#include <cstring>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

namespace haspool::nbd {

namespace {

// RFC 8446 §7.1 HKDF-Expand-Label(secret, label, "", length) with SHA-256.
bool expand_label(const std::vector<uint8_t>& secret, const std::string& label, uint8_t* out, std::size_t len) {
    std::string full = "tls13 " + label;
    std::vector<uint8_t> info;
    info.push_back(uint8_t(len >> 8));
    info.push_back(uint8_t(len));
    info.push_back(uint8_t(full.size()));
    info.insert(info.end(), full.begin(), full.end());
    info.push_back(0);  // empty context
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr);
    std::size_t n = len;
    bool ok = ctx && EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_CTX_set_hkdf_mode(ctx, EVP_PKEY_HKDEF_MODE_EXPAND_ONLY) > 0 &&
              EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) > 0 &&
              EVP_PKEY_CTX_set1_hkdf_key(ctx, secret.data(), int(secret.size())) > 0 &&
              EVP_PKEY_CTX_add1_hkdf_info(ctx, info.data(), int(info.size())) > 0 && EVP_PKEY_derive(ctx, out, &n) > 0 &&
              n == len;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

std::string install(int fd, int direction, const RecordKeys& k) {
    tls12_crypto_info_aes_gcm_128 ci{};
    ci.info.version = TLS_1_3_VERSION;
    ci.info.cipher_type = TLS_CIPHER_AES_GCM_128;
    std::memcpy(ci.salt, k.iv.data(), 4);      // the first 4 bytes of the iv: the fixed part
    std::memcpy(ci.iv, k.iv.data() + 4, 8);    // the rest, XORed with the record number per record
    std::memcpy(ci.key, k.key.data(), 16);
    std::memset(ci.rec_seq, 0, sizeof ci.rec_seq);  // record number 0: no application data yet
    int r = ::setsockopt(fd, SOL_TLS, direction, &ci, sizeof ci);
    int e = errno;
    OPENSSL_cleanse(&ci, sizeof ci);
    if (r == 0) return {};
    return std::string("setsockopt(SOL_TLS, ") + (direction == TLS_TX ? "TLS_TX" : "TLS_RX") + ") failed: " +
           std::strerror(e);
}

}  // namespace

std::optional<RecordKeys> tls13_record_keys(const std::vector<uint8_t>& traffic_secret) {
    if (traffic_secret.size() != 32) return std::nullopt;
    RecordKeys k;
    if (!expand_label(traffic_secret, "key", k.key.data(), k.key.size()) ||
        !expand_label(traffic_secret, "iv", k.iv.data(), k.iv.size()))
        return std::nullopt;
    return k;
}

std::string install_ktls(int fd, const TrafficSecrets& secrets) {
    if (!secrets.complete()) return "the TLS handshake left no traffic secrets to hand to the kernel";
    auto tx = tls13_record_keys(secrets.client), rx = tls13_record_keys(secrets.server);
    if (!tx || !rx) return "cannot derive the TLS record keys from the traffic secrets";
    if (::setsockopt(fd, SOL_TCP, TCP_ULP, "tls", sizeof "tls") != 0) {
        int e = errno;
        return std::string("setsockopt(TCP_ULP, \"tls\") failed: ") + std::strerror(e) +
               (e == ENOENT ? " (the kernel has no TLS layer: load the tls module, `modprobe tls`)" : "");
    }
    std::string why = install(fd, TLS_TX, *tx);
    if (why.empty()) why = install(fd, TLS_RX, *rx);
    OPENSSL_cleanse(tx->key.data(), tx->key.size());
    OPENSSL_cleanse(rx->key.data(), rx->key.size());
    return why;
}

}  // namespace haspool::nbd
