#pragma once
// Ethernet ARP frames (RFC 826) as values: built and parsed without any socket, so the duplicate
// address probe (RFC 5227, `arping -D`) and the gratuitous ARP announcement are unit-tested here.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace haspool::actions {

using MacAddress = std::array<uint8_t, 6>;
using Ipv4Bytes = std::array<uint8_t, 4>;

inline constexpr MacAddress kBroadcastMac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
inline constexpr MacAddress kZeroMac{};
inline constexpr std::size_t kArpFrameSize = 42;  // 14 Ethernet + 28 ARP (the NIC pads to 60)

inline constexpr uint16_t kArpRequest = 1;
inline constexpr uint16_t kArpReply = 2;

struct ArpFrame {
    MacAddress destination{};  // Ethernet header
    MacAddress source{};
    uint16_t operation = kArpRequest;
    MacAddress sender_mac{};
    Ipv4Bytes sender_ip{};
    MacAddress target_mac{};
    Ipv4Bytes target_ip{};
    bool operator==(const ArpFrame&) const = default;
};

std::array<uint8_t, kArpFrameSize> encode_arp_frame(const ArpFrame& f);

// nullopt unless `bytes` is an Ethernet/IPv4 ARP frame (ethertype 0x0806, htype 1, ptype 0x0800,
// hlen 6, plen 4); trailing padding is ignored.
std::optional<ArpFrame> decode_arp_frame(std::span<const uint8_t> bytes);

// Duplicate-address probe (RFC 5227 §2.1.1): a broadcast request "who has `ip`?" with sender IP
// 0.0.0.0, so no neighbour cache learns anything from it.
ArpFrame make_arp_probe(const MacAddress& our_mac, const Ipv4Bytes& ip);

// Gratuitous ARP announcement (RFC 5227 §2.3): a broadcast request with sender IP = target IP =
// `ip` from `our_mac`, which makes neighbours update an existing entry for `ip` to our MAC.
ArpFrame make_gratuitous_arp(const MacAddress& our_mac, const Ipv4Bytes& ip);

// True when `f` shows another host using `ip`: a reply or request whose sender IP is `ip`, from a
// MAC that is not ours.
bool claims_address(const ArpFrame& f, const Ipv4Bytes& ip, const MacAddress& our_mac);

// True when `f` is another host's probe for `ip` (sender IP 0.0.0.0, target `ip`, not our MAC):
// RFC 5227 §2.1.1 treats that as a conflict too — two hosts trying to take the address at once.
bool probes_for_address(const ArpFrame& f, const Ipv4Bytes& ip, const MacAddress& our_mac);

std::string format_mac(const MacAddress& m);  // "02:00:5e:10:00:01"

}  // namespace haspool::actions
