#pragma once
// The NBD link's TLS keys under nbd.tls: required (docs/security.md): one pre-shared key per
// cluster secret this node holds, derived from it (blockdev/tls_psk.hpp), so the operator
// distributes nothing beyond the secret files the heartbeats already use.
//
// The identity is "<cluster.name>/<key id>", the key id being the one heartbeats carry
// (agent/peer/heartbeat_codec.hpp: a keyed hash that names the secret without revealing it).
// During a secret rotation both nodes therefore name the same key the same way whichever of
// them reloaded first: the server accepts either identity, the client tries `next` first and
// falls back to `current` (a new connection each), and each side can log which key was used.
#include <string>
#include <vector>

#include "blockdev/tls_psk.hpp"
#include "config/config.hpp"

namespace haspool::agent {

// `current`, then `next` when non-empty; empty (with `why`) when a key cannot be derived
// (an empty secret, or a cluster name holding ':', which the PSK file format reserves).
std::vector<nbd::TlsPsk> nbd_tls_keys(const std::string& cluster, const std::string& current,
                                      const std::string& next, std::string& why);

// The same keys as the configuration carries them (config::Nbd::tls_keys), in the order a
// client tries them: `next` first during a rotation, then `current`. nbd.tls: off gives none.
// Empty with `why` as above.
std::vector<config::NbdTlsKey> nbd_tls_link_keys(const config::Config& c, const std::string& current,
                                                 const std::string& next, std::string& why);

// The configuration's keys as the NBD code takes them (blockdev/tls_psk.hpp), order kept.
std::vector<nbd::TlsPsk> tls_psks(const std::vector<config::NbdTlsKey>& keys);

}  // namespace haspool::agent
