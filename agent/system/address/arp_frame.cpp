#include "agent/system/address/arp_frame.hpp"

#include <algorithm>
#include <cstdio>

namespace haspool::actions {

namespace {

constexpr uint16_t kEthertypeArp = 0x0806;
constexpr uint16_t kEthertypeIpv4 = 0x0800;
constexpr uint16_t kHardwareEthernet = 1;

void put16(uint8_t* p, uint16_t v) {
    p[0] = uint8_t(v >> 8);
    p[1] = uint8_t(v);
}
uint16_t get16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }

template <std::size_t N>
uint8_t* put(uint8_t* p, const std::array<uint8_t, N>& a) {
    return std::copy(a.begin(), a.end(), p);
}
template <std::size_t N>
const uint8_t* get(const uint8_t* p, std::array<uint8_t, N>& a) {
    std::copy(p, p + N, a.begin());
    return p + N;
}

}  // namespace

std::array<uint8_t, kArpFrameSize> encode_arp_frame(const ArpFrame& f) {
    std::array<uint8_t, kArpFrameSize> b{};
    uint8_t* p = put(b.data(), f.destination);
    p = put(p, f.source);
    put16(p, kEthertypeArp);
    p += 2;
    put16(p, kHardwareEthernet);
    put16(p + 2, kEthertypeIpv4);
    p[4] = 6;
    p[5] = 4;
    put16(p + 6, f.operation);
    p += 8;
    p = put(p, f.sender_mac);
    p = put(p, f.sender_ip);
    p = put(p, f.target_mac);
    put(p, f.target_ip);
    return b;
}

std::optional<ArpFrame> decode_arp_frame(std::span<const uint8_t> bytes) {
    if (bytes.size() < kArpFrameSize) return std::nullopt;
    const uint8_t* p = bytes.data();
    if (get16(p + 12) != kEthertypeArp) return std::nullopt;
    const uint8_t* a = p + 14;
    if (get16(a) != kHardwareEthernet || get16(a + 2) != kEthertypeIpv4 || a[4] != 6 || a[5] != 4) return std::nullopt;
    ArpFrame f;
    get(p, f.destination);
    get(p + 6, f.source);
    f.operation = get16(a + 6);
    const uint8_t* q = a + 8;
    q = get(q, f.sender_mac);
    q = get(q, f.sender_ip);
    q = get(q, f.target_mac);
    get(q, f.target_ip);
    return f;
}

namespace {

// A broadcast ARP request from `our_mac`: probes and announcements differ only in the sender IP.
ArpFrame broadcast_request(const MacAddress& our_mac, const Ipv4Bytes& sender_ip, const Ipv4Bytes& target_ip) {
    ArpFrame f;
    f.destination = kBroadcastMac;
    f.source = our_mac;
    f.operation = kArpRequest;
    f.sender_mac = our_mac;
    f.sender_ip = sender_ip;
    f.target_mac = kZeroMac;
    f.target_ip = target_ip;
    return f;
}

}  // namespace

ArpFrame make_arp_probe(const MacAddress& our_mac, const Ipv4Bytes& ip) { return broadcast_request(our_mac, {0, 0, 0, 0}, ip); }

ArpFrame make_gratuitous_arp(const MacAddress& our_mac, const Ipv4Bytes& ip) { return broadcast_request(our_mac, ip, ip); }

bool claims_address(const ArpFrame& f, const Ipv4Bytes& ip, const MacAddress& our_mac) {
    return (f.operation == kArpReply || f.operation == kArpRequest) && f.sender_ip == ip && f.sender_mac != our_mac;
}

bool probes_for_address(const ArpFrame& f, const Ipv4Bytes& ip, const MacAddress& our_mac) {
    return f.operation == kArpRequest && f.sender_ip == Ipv4Bytes{0, 0, 0, 0} && f.target_ip == ip &&
           f.sender_mac != our_mac;
}

std::string format_mac(const MacAddress& m) {
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return buf;
}

}  // namespace haspool::actions
