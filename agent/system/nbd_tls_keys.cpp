#include "agent/system/nbd_tls_keys.hpp"

#include "agent/peer/heartbeat_codec.hpp"

namespace haspool::agent {

std::vector<nbd::TlsPsk> nbd_tls_keys(const std::string& cluster, const std::string& current,
                                      const std::string& next, std::string& why) {
    std::vector<nbd::TlsPsk> keys;
    for (const std::string* secret : {&current, &next}) {
        if (secret == &next && next.empty()) break;
        KeyId id = key_id(*secret);
        std::string identity = cluster + "/" + to_hex(id.data(), id.size());
        auto psk = nbd::derive_tls_psk(*secret, identity);
        if (!psk) {
            why = "cannot derive the NBD TLS key for identity '" + identity + "'" +
                  (secret->empty() ? ": the secret is empty" : ": the cluster name may not hold ':'");
            return {};
        }
        keys.push_back(std::move(*psk));
    }
    return keys;
}

std::vector<nbd::TlsPsk> tls_psks(const std::vector<config::NbdTlsKey>& keys) {
    std::vector<nbd::TlsPsk> out;
    for (const auto& k : keys) out.push_back({k.identity, k.key});
    return out;
}

std::vector<config::NbdTlsKey> nbd_tls_link_keys(const config::Config& c, const std::string& current,
                                                 const std::string& next, std::string& why) {
    if (c.nbd.tls != config::NbdTls::required) return {};
    std::vector<config::NbdTlsKey> out;
    auto keys = nbd_tls_keys(c.cluster.name, current, next, why);
    for (auto it = keys.rbegin(); it != keys.rend(); ++it) out.push_back({it->identity, it->key});
    return out;
}

}  // namespace haspool::agent
