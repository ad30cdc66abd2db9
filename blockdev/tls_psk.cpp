#include "blockdev/tls_psk.hpp"

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <cstring>
#include <sstream>

namespace haspool::nbd {

namespace {

constexpr const char* kSalt = "haspool nbd tls-psk";
constexpr const char* kInfo = "haspool nbd tls-psk v1 ";

int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::optional<TlsPsk> derive_tls_psk(const std::string& secret, const std::string& identity) {
    if (secret.empty() || identity.empty() || identity.find(':') != std::string::npos ||
        identity.find('\n') != std::string::npos)
        return std::nullopt;
    TlsPsk psk;
    psk.identity = identity;
    const std::string info = kInfo + identity;
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr);
    bool ok = ctx && EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) > 0 &&
              EVP_PKEY_CTX_set1_hkdf_salt(ctx, reinterpret_cast<const unsigned char*>(kSalt), int(std::strlen(kSalt))) > 0 &&
              EVP_PKEY_CTX_set1_hkdf_key(ctx, reinterpret_cast<const unsigned char*>(secret.data()), int(secret.size())) > 0 &&
              EVP_PKEY_CTX_add1_hkdf_info(ctx, reinterpret_cast<const unsigned char*>(info.data()), int(info.size())) > 0;
    std::size_t len = psk.key.size();
    ok = ok && EVP_PKEY_derive(ctx, psk.key.data(), &len) > 0 && len == psk.key.size();
    EVP_PKEY_CTX_free(ctx);
    if (!ok) return std::nullopt;
    return psk;
}

std::string psk_file_line(const TlsPsk& psk) {
    static const char* digits = "0123456789abcdef";
    std::string s = psk.identity + ":";
    for (uint8_t b : psk.key) {
        s += digits[b >> 4];
        s += digits[b & 15];
    }
    return s + "\n";
}

std::optional<TlsPsk> parse_psk_file(const std::string& content, const std::string& identity, std::string& why) {
    std::istringstream in(content);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        auto colon = line.find(':');
        if (colon == std::string::npos || colon == 0) {
            why = "line " + std::to_string(n) + " is not identity:hexkey";
            return std::nullopt;
        }
        std::string id = line.substr(0, colon), hex = line.substr(colon + 1);
        if (!identity.empty() && id != identity) continue;
        if (hex.size() != 64) {
            why = "line " + std::to_string(n) + ": the key of '" + id + "' is " + std::to_string(hex.size()) +
                  " hex digits; haspool's keys are 64 (32 bytes)";
            return std::nullopt;
        }
        TlsPsk psk;
        psk.identity = id;
        for (std::size_t i = 0; i < 32; ++i) {
            int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                why = "line " + std::to_string(n) + ": the key of '" + id + "' is not hexadecimal";
                return std::nullopt;
            }
            psk.key[i] = uint8_t(hi << 4 | lo);
        }
        return psk;
    }
    why = identity.empty() ? "no identity:hexkey line" : "no key for identity '" + identity + "'";
    return std::nullopt;
}

}  // namespace haspool::nbd
