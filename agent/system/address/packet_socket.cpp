#include "agent/system/address/packet_socket.hpp"

#include <arpa/inet.h>
#include <net/if_arp.h>
#include <netpacket/packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace haspool::actions {

std::optional<PacketSocket> PacketSocket::open(const std::string& interface, std::string* error) {
    auto fail = [&](const std::string& why) -> std::optional<PacketSocket> {
        if (error) *error = "interface '" + interface + "': " + why;
        return std::nullopt;
    };
    if (interface.empty() || interface.size() >= IFNAMSIZ) return fail("invalid interface name");
    int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP));
    if (fd < 0) return fail(std::string("cannot open AF_PACKET socket: ") + std::strerror(errno));

    ifreq ifr{};
    interface.copy(ifr.ifr_name, IFNAMSIZ - 1);
    auto ioctl_or_fail = [&](unsigned long req, const char* what) {
        if (::ioctl(fd, req, &ifr) == 0) return true;
        int e = errno;
        ::close(fd);
        if (error) *error = "interface '" + interface + "': " + what + ": " + std::strerror(e);
        return false;
    };
    if (!ioctl_or_fail(SIOCGIFINDEX, "no such interface")) return std::nullopt;
    int ifindex = ifr.ifr_ifindex;
    if (!ioctl_or_fail(SIOCGIFFLAGS, "cannot read flags")) return std::nullopt;
    if (!(ifr.ifr_flags & IFF_UP)) {
        ::close(fd);
        return fail("interface is down");
    }
    if (!ioctl_or_fail(SIOCGIFHWADDR, "cannot read hardware address")) return std::nullopt;
    if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
        ::close(fd);
        return fail("not an Ethernet interface (ARP needs one)");
    }
    MacAddress mac{};
    std::memcpy(mac.data(), ifr.ifr_hwaddr.sa_data, mac.size());

    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ARP);
    sll.sll_ifindex = ifindex;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
        int e = errno;
        ::close(fd);
        return fail(std::string("cannot bind AF_PACKET socket: ") + std::strerror(e));
    }
    return PacketSocket(fd, ifindex, interface, mac);
}

PacketSocket::PacketSocket(PacketSocket&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), ifindex_(o.ifindex_), interface_(std::move(o.interface_)), mac_(o.mac_) {}

PacketSocket& PacketSocket::operator=(PacketSocket&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(o.fd_, -1);
        ifindex_ = o.ifindex_;
        interface_ = std::move(o.interface_);
        mac_ = o.mac_;
    }
    return *this;
}

PacketSocket::~PacketSocket() {
    if (fd_ >= 0) ::close(fd_);
}

bool PacketSocket::send(const ArpFrame& frame, std::string* error) {
    auto bytes = encode_arp_frame(frame);
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_protocol = htons(ETH_P_ARP);
    to.sll_ifindex = ifindex_;
    to.sll_halen = 6;
    std::memcpy(to.sll_addr, frame.destination.data(), 6);
    ssize_t n = ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    if (n == static_cast<ssize_t>(bytes.size())) return true;
    if (error) *error = "interface '" + interface_ + "': sending ARP failed: " + (n < 0 ? std::strerror(errno) : "short write");
    return false;
}

std::optional<ArpFrame> PacketSocket::receive_until(std::chrono::steady_clock::time_point deadline, std::string* error) {
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        pollfd p{fd_, POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            if (error) *error = std::string("poll: ") + std::strerror(errno);
            return std::nullopt;
        }
        if (r == 0) return std::nullopt;
        uint8_t buf[256];
        sockaddr_ll from{};
        socklen_t len = sizeof from;
        ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            if (error) *error = std::string("recvfrom: ") + std::strerror(errno);
            return std::nullopt;
        }
        if (from.sll_pkttype == PACKET_OUTGOING) continue;
        if (auto f = decode_arp_frame({buf, static_cast<std::size_t>(n)})) return f;
    }
}

}  // namespace haspool::actions
