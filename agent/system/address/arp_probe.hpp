#pragma once
// Duplicate-address detection for the service address before we take it (docs/design.md §3 rule 1):
// ARP probes with sender IP 0.0.0.0 on the service interface, as `arping -D` sends them.
// Anyone answering within the timeout holds the address: the takeover must not proceed. Another
// host probing for the same address at the same time is a conflict too (RFC 5227 §2.1.1).
#include <chrono>
#include <string>

#include "agent/system/actions/action_result.hpp"
#include "agent/system/address/ipv4_address.hpp"

namespace haspool::actions {

struct ArpProbeOutcome {
    enum class Verdict { free, in_use, error };
    Verdict verdict = Verdict::error;
    std::string holder_mac;  // in_use: who answered (or probed for the address at the same time)
    bool holder_was_probing = false;  // in_use: the other host was probing, not answering
    std::string error;       // error: why we could not probe (interface down, no CAP_NET_RAW)
    unsigned probes_sent = 0;
};

// Sends `probes` probes spread over `timeout` (the first at once) and listens until `timeout`
// for a host claiming `address`. Probing an address this host already holds on `interface`
// reports free (our own stack does not answer our own probe): check presence first.
ArpProbeOutcome probe_address(const std::string& interface, const Ipv4Cidr& address,
                              std::chrono::milliseconds timeout, unsigned probes = 3);

// probe_address() as a takeover step: done when free; failed when in use (naming the MAC that
// answered) or when probing failed.
ActionResult require_address_free(const std::string& interface, const Ipv4Cidr& address,
                                  std::chrono::milliseconds timeout);

}  // namespace haspool::actions
