#include "agent/system/address/arp_probe.hpp"

#include "agent/system/address/packet_socket.hpp"

namespace haspool::actions {

ArpProbeOutcome probe_address(const std::string& interface, const Ipv4Cidr& address,
                              std::chrono::milliseconds timeout, unsigned probes) {
    ArpProbeOutcome out;
    auto sock = PacketSocket::open(interface, &out.error);
    if (!sock) return out;
    if (probes == 0) probes = 1;

    const auto start = std::chrono::steady_clock::now();
    const auto end = start + timeout;
    const auto frame = make_arp_probe(sock->mac(), address.address);
    for (unsigned i = 0; i < probes; ++i) {
        // Probe i goes out at start + i * timeout / probes; between probes we listen.
        if (!sock->send(frame, &out.error)) {
            out.verdict = ArpProbeOutcome::Verdict::error;
            return out;
        }
        ++out.probes_sent;
        const auto next = i + 1 < probes ? start + timeout * (i + 1) / probes : end;
        while (auto f = sock->receive_until(next, &out.error)) {
            bool probing = probes_for_address(*f, address.address, sock->mac());
            if (probing || claims_address(*f, address.address, sock->mac())) {
                out.verdict = ArpProbeOutcome::Verdict::in_use;
                out.holder_mac = format_mac(f->sender_mac);
                out.holder_was_probing = probing;
                return out;
            }
        }
        if (!out.error.empty()) return out;
    }
    out.verdict = ArpProbeOutcome::Verdict::free;
    return out;
}

ActionResult require_address_free(const std::string& interface, const Ipv4Cidr& address,
                                  std::chrono::milliseconds timeout) {
    auto r = probe_address(interface, address, timeout);
    switch (r.verdict) {
    case ArpProbeOutcome::Verdict::free:
        return ActionResult::done("no answer to " + std::to_string(r.probes_sent) + " ARP probes for " +
                                  address.address_text() + " on " + interface + " within " +
                                  std::to_string(timeout.count()) + " ms");
    case ArpProbeOutcome::Verdict::in_use:
        return ActionResult::failed("service address " + address.address_text() + " is in use: " + r.holder_mac +
                                    (r.holder_was_probing ? " is probing for it at the same time on "
                                                          : " answered the duplicate-address probe on ") +
                                    interface + "; refusing to take it");
    case ArpProbeOutcome::Verdict::error:
        break;
    }
    return ActionResult::failed("duplicate-address probe for " + address.address_text() + " failed: " + r.error);
}

}  // namespace haspool::actions
