#pragma once
// The service address (VIP) on the service interface, through rtnetlink (libnl-route): the
// kernel's own answer to "is it there?", no parsing of `ip` output.
//
// ensure_address_present() and its undo ensure_address_absent() are idempotent. Neither probes
// nor announces: the takeover runs require_address_free() (arp_probe.hpp) before and a
// GarpAnnouncer (gratuitous_arp.hpp) after, as separate steps.
#include <optional>
#include <string>

#include "agent/system/actions/action_result.hpp"
#include "agent/system/address/ipv4_address.hpp"

namespace haspool::actions {

struct AddressState {
    bool present = false;          // the address is on the interface
    unsigned present_prefix = 0;   // with this prefix length
};

// Looks the address up on `interface`; nullopt with `error` when the interface does not exist or
// netlink fails.
std::optional<AddressState> query_address(const std::string& interface, const Ipv4Cidr& address, std::string* error);

// Adds address/prefix (with its broadcast, as `ip addr add ... brd +`) unless it is already there.
// Refuses when the address is there with another prefix length (someone else configured it).
ActionResult ensure_address_present(const std::string& interface, const Ipv4Cidr& address);

// Removes the address if it is there (the undo of ensure_address_present).
ActionResult ensure_address_absent(const std::string& interface, const Ipv4Cidr& address);

}  // namespace haspool::actions
