#pragma once
// Kernel NBD control over the "nbd" generic-netlink family (include/uapi/linux/nbd-netlink.h,
// drivers/block/nbd.c): hand handshaken sockets to /dev/nbdN, replace a dead socket after a link
// blip, disconnect, query, and listen for NBD_CMD_LINK_DEAD on the "nbd_mc_group" multicast
// group. Needs CAP_SYS_ADMIN and the nbd module. Every call returns its error as a sentence
// (empty = success); nothing here logs.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace haspool::nbd {

// NBD_CMD_CONNECT's attributes. The sockets must already have completed the handshake (transmission
// phase, simple replies only); the kernel takes its own reference, the caller may close its fds.
struct KernelConnectRequest {
    std::optional<uint32_t> index;             // /dev/nbdN; nullopt lets the kernel pick a free one
    uint64_t size_bytes = 0;                   // NBD_ATTR_SIZE_BYTES (from the handshake)
    uint64_t block_size_bytes = 4096;          // NBD_ATTR_BLOCK_SIZE_BYTES: power of two, 512..4096
    uint64_t server_flags = 0;                 // NBD_ATTR_SERVER_FLAGS: the transmission flags
    std::chrono::seconds io_timeout{0};        // NBD_ATTR_TIMEOUT: must be > 0 (docs/design.md §7)
    std::chrono::seconds dead_conn_timeout{0}; // NBD_ATTR_DEAD_CONN_TIMEOUT: wait for a reconnect
    std::string backend_identifier;            // NBD_ATTR_BACKEND_IDENTIFIER (shown in sysfs)
    std::vector<int> socket_fds;               // NBD_ATTR_SOCKETS / NBD_SOCK_ITEM / NBD_SOCK_FD
};

struct KernelConnectResult {
    std::optional<uint32_t> index;  // the device the kernel configured
    std::string error;
};

// Checks a request before it reaches the kernel; returns the first problem as a sentence.
std::string validate(const KernelConnectRequest& request);

// NBD_CMD_CONNECT.
KernelConnectResult kernel_connect(const KernelConnectRequest& request);

// NBD_CMD_RECONFIGURE: hands fresh sockets to /dev/nbd<index>. The kernel only replaces socket
// slots it has marked dead, and when none is dead it drops the socket and still answers success
// (drivers/block/nbd.c turns ENOSPC into 0): call it after NBD_CMD_LINK_DEAD or an I/O timeout,
// within the dead-connection timeout. A device connected with a backend identifier must be
// given the same one (else the kernel says EINVAL, "must specify backend"). Timeouts are changed
// only when given.
std::string kernel_reconfigure(uint32_t index, const std::string& backend_identifier,
                               const std::vector<int>& socket_fds,
                               std::optional<std::chrono::seconds> io_timeout = std::nullopt,
                               std::optional<std::chrono::seconds> dead_conn_timeout = std::nullopt);

// NBD_CMD_DISCONNECT: the kernel shuts the sockets and releases the device once unused.
std::string kernel_disconnect(uint32_t index);

struct KernelDeviceStatus {
    uint32_t index = 0;
    bool connected = false;  // the driver's view: configured with a socket. Not a liveness signal.
};

struct KernelStatusResult {
    std::vector<KernelDeviceStatus> devices;
    std::string error;
};

// NBD_CMD_STATUS for one device, or for all of them.
KernelStatusResult kernel_status(std::optional<uint32_t> index = std::nullopt);

// A subscription to the nbd multicast group. fd() is pollable (POLLIN); read_link_dead() drains
// the pending notifications and returns the indexes of devices that lost a socket.
class LinkDeadWatch {
public:
    struct OpenResult;
    static OpenResult open();
    ~LinkDeadWatch();
    LinkDeadWatch(const LinkDeadWatch&) = delete;
    LinkDeadWatch& operator=(const LinkDeadWatch&) = delete;

    int fd() const;
    struct ReadResult {
        std::vector<uint32_t> dead_indexes;
        std::string error;
    };
    ReadResult read_link_dead();

    struct Impl;

private:
    explicit LinkDeadWatch(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

struct LinkDeadWatch::OpenResult {
    std::unique_ptr<LinkDeadWatch> watch;
    std::string error;
};

}  // namespace haspool::nbd
