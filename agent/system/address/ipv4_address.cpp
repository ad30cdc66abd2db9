#include "agent/system/address/ipv4_address.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace haspool::actions {

std::string Ipv4Cidr::address_text() const {
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, address.data(), buf, sizeof buf);
    return buf;
}

std::string Ipv4Cidr::text() const { return address_text() + "/" + std::to_string(prefix); }

std::optional<std::array<uint8_t, 4>> Ipv4Cidr::broadcast() const {
    if (prefix > 30) return std::nullopt;
    uint32_t a = (uint32_t(address[0]) << 24) | (uint32_t(address[1]) << 16) | (uint32_t(address[2]) << 8) | address[3];
    uint32_t host = prefix == 0 ? 0xffffffffu : (0xffffffffu >> prefix);
    uint32_t b = a | host;
    return std::array<uint8_t, 4>{uint8_t(b >> 24), uint8_t(b >> 16), uint8_t(b >> 8), uint8_t(b)};
}

std::optional<Ipv4Cidr> parse_ipv4_cidr(const std::string& text, std::string* error) {
    auto fail = [&](const std::string& why) -> std::optional<Ipv4Cidr> {
        if (error) *error = "'" + text + "' " + why;
        return std::nullopt;
    };
    Ipv4Cidr c;
    auto slash = text.find('/');
    std::string addr = text.substr(0, slash);
    if (addr.find(':') != std::string::npos)
        return fail("is an IPv6 address; only IPv4 service addresses are supported (ARP)");
    if (::inet_pton(AF_INET, addr.c_str(), c.address.data()) != 1) return fail("is not an IPv4 address");
    if (slash != std::string::npos) {
        std::string p = text.substr(slash + 1);
        auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), c.prefix);
        if (p.empty() || ec != std::errc() || ptr != p.data() + p.size() || c.prefix > 32)
            return fail("has an invalid prefix length (expected /0../32)");
    }
    return c;
}

}  // namespace haspool::actions
