#pragma once
// An IPv4 address with its prefix length ("192.0.2.10/24"), as service.address is written.
// IPv6 service addresses would need unsolicited neighbour advertisements instead of ARP; they
// are refused here with a clear message rather than half-supported.
#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace haspool::actions {

struct Ipv4Cidr {
    std::array<uint8_t, 4> address{};  // network byte order
    unsigned prefix = 32;

    std::string address_text() const;  // "192.0.2.10"
    std::string text() const;          // "192.0.2.10/24"
    // Directed broadcast for prefixes up to /30 (as `ip addr add ... brd +`); nullopt for /31, /32.
    std::optional<std::array<uint8_t, 4>> broadcast() const;
    bool operator==(const Ipv4Cidr&) const = default;
};

// "192.0.2.10/24" or "192.0.2.10" (= /32). nullopt with `error` otherwise.
std::optional<Ipv4Cidr> parse_ipv4_cidr(const std::string& text, std::string* error = nullptr);

}  // namespace haspool::actions
