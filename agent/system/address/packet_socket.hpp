#pragma once
// An AF_PACKET socket bound to one interface for ARP frames (ETH_P_ARP): what arping uses,
// so probes and announcements leave exactly the configured interface, whatever the routes say.
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "agent/system/address/arp_frame.hpp"

namespace haspool::actions {

class PacketSocket {
public:
    // Opens the socket on `interface`; on failure returns nullopt with `error` (no such interface,
    // interface down, not an Ethernet interface, no CAP_NET_RAW).
    static std::optional<PacketSocket> open(const std::string& interface, std::string* error);

    PacketSocket(PacketSocket&& o) noexcept;
    PacketSocket& operator=(PacketSocket&& o) noexcept;
    PacketSocket(const PacketSocket&) = delete;
    PacketSocket& operator=(const PacketSocket&) = delete;
    ~PacketSocket();

    const std::string& interface() const { return interface_; }
    const MacAddress& mac() const { return mac_; }
    int fd() const { return fd_; }

    // Sends one frame; false with `error` on failure.
    bool send(const ArpFrame& frame, std::string* error);
    // Waits until `deadline` for an incoming ARP frame (our own outgoing frames are skipped).
    // nullopt on timeout; sets `error` (and returns nullopt) on a socket error.
    std::optional<ArpFrame> receive_until(std::chrono::steady_clock::time_point deadline, std::string* error);

private:
    PacketSocket(int fd, int ifindex, std::string interface, MacAddress mac)
        : fd_(fd), ifindex_(ifindex), interface_(std::move(interface)), mac_(mac) {}
    int fd_ = -1;
    int ifindex_ = 0;
    std::string interface_;
    MacAddress mac_{};
};

}  // namespace haspool::actions
