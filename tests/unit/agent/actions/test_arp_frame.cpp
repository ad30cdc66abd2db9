// ARP frames: the exact bytes of a probe and an announcement, and decoding what peers send.
#include <catch2/catch.hpp>

#include <vector>

#include "agent/system/address/arp_frame.hpp"
#include "agent/system/address/ipv4_address.hpp"

using namespace haspool::actions;

namespace {
const MacAddress kOurs{0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};
const Ipv4Bytes kVip{192, 0, 2, 10};
}  // namespace

TEST_CASE("a duplicate-address probe has sender IP 0.0.0.0 and asks for the VIP, broadcast") {
    auto b = encode_arp_frame(make_arp_probe(kOurs, kVip));
    const std::vector<uint8_t> want = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 0x08, 0x06,  // Ethernet
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,                                      // ARP request
        0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 0, 0, 0, 0,                                      // sender
        0, 0, 0, 0, 0, 0, 192, 0, 2, 10};                                                    // target
    CHECK(std::vector<uint8_t>(b.begin(), b.end()) == want);
}

TEST_CASE("a gratuitous ARP announces the VIP as both sender and target IP") {
    auto f = make_gratuitous_arp(kOurs, kVip);
    CHECK(f.destination == kBroadcastMac);
    CHECK(f.operation == kArpRequest);
    CHECK(f.sender_mac == kOurs);
    CHECK(f.sender_ip == kVip);
    CHECK(f.target_ip == kVip);
    CHECK(f.target_mac == kZeroMac);
}

TEST_CASE("frames round-trip, padding is ignored, non-ARP and short frames are rejected") {
    ArpFrame f = make_gratuitous_arp(kOurs, kVip);
    f.operation = kArpReply;
    auto b = encode_arp_frame(f);
    std::vector<uint8_t> padded(b.begin(), b.end());
    padded.resize(60, 0);
    auto d = decode_arp_frame(padded);
    REQUIRE(d);
    CHECK(*d == f);
    CHECK_FALSE(decode_arp_frame(std::span<const uint8_t>(b.data(), 41)));
    auto ip = b;
    ip[12] = 0x08;
    ip[13] = 0x00;  // IPv4 ethertype
    CHECK_FALSE(decode_arp_frame(ip));
    auto bad_plen = b;
    bad_plen[19] = 16;
    CHECK_FALSE(decode_arp_frame(bad_plen));
}

TEST_CASE("a frame claims the VIP when another MAC sends from it, not our own or a probe") {
    const MacAddress other{0x02, 0, 0, 0, 0, 0x99};
    ArpFrame reply;
    reply.operation = kArpReply;
    reply.sender_mac = other;
    reply.sender_ip = kVip;
    CHECK(claims_address(reply, kVip, kOurs));
    CHECK_FALSE(claims_address(reply, kVip, other));
    CHECK_FALSE(claims_address(reply, {192, 0, 2, 11}, kOurs));
    CHECK_FALSE(claims_address(make_arp_probe(other, kVip), kVip, kOurs));  // sender 0.0.0.0
    CHECK(format_mac(other) == "02:00:00:00:00:99");
}

TEST_CASE("another host's probe for the VIP is a conflict, our own probe and other targets are not") {
    const MacAddress other{0x02, 0, 0, 0, 0, 0x99};
    CHECK(probes_for_address(make_arp_probe(other, kVip), kVip, kOurs));
    CHECK_FALSE(probes_for_address(make_arp_probe(kOurs, kVip), kVip, kOurs));
    CHECK_FALSE(probes_for_address(make_arp_probe(other, {192, 0, 2, 11}), kVip, kOurs));
    CHECK_FALSE(probes_for_address(make_gratuitous_arp(other, kVip), kVip, kOurs));  // that one claims it
}

TEST_CASE("service addresses parse as IPv4 CIDR with broadcast, IPv6 and junk are refused") {
    std::string err;
    auto a = parse_ipv4_cidr("192.0.2.10/24", &err);
    REQUIRE(a);
    CHECK(a->address == kVip);
    CHECK(a->prefix == 24);
    CHECK(a->text() == "192.0.2.10/24");
    REQUIRE(a->broadcast());
    CHECK(*a->broadcast() == Ipv4Bytes{192, 0, 2, 255});
    auto host = parse_ipv4_cidr("192.0.2.10");
    REQUIRE(host);
    CHECK(host->prefix == 32);
    CHECK_FALSE(host->broadcast());
    CHECK_FALSE(parse_ipv4_cidr("2001:db8::1/64", &err));
    CHECK(err.find("IPv6") != std::string::npos);
    CHECK_FALSE(parse_ipv4_cidr("192.0.2.10/33", &err));
    CHECK(err.find("prefix") != std::string::npos);
    CHECK_FALSE(parse_ipv4_cidr("192.0.2/24", &err));
    CHECK_FALSE(parse_ipv4_cidr("192.0.2.10/", &err));
}
