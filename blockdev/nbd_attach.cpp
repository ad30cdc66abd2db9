#include "blockdev/nbd_attach.hpp"


#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <algorithm>
#include <memory>
#include <thread>
#include <vector>

#include "blockdev/nbd_client_handshake.hpp"
#include "blockdev/nbd_netlink.hpp"
#include "blockdev/nbd_protocol.hpp"
#include "blockdev/tls_channel.hpp"

namespace haspool::nbd {

namespace {

using Clock = std::chrono::steady_clock;

struct Fd {
    int fd = -1;
    Fd() = default;
    explicit Fd(int f) : fd(f) {}
    Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
    Fd& operator=(Fd&& o) noexcept {
        std::swap(fd, o.fd);
        return *this;
    }
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

// One non-blocking connect attempt bounded by `limit`; returns a blocking socket or -1 + error.
Fd connect_once(const sockaddr_storage& sa, socklen_t len, std::chrono::milliseconds limit, std::string& error) {
    Fd s(::socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (s.fd < 0) {
        error = std::string("socket: ") + std::strerror(errno);
        return Fd();
    }
    if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&sa), len) != 0) {
        if (errno != EINPROGRESS) {
            error = std::strerror(errno);
            return Fd();
        }
        pollfd p{s.fd, POLLOUT, 0};
        int n = ::poll(&p, 1, static_cast<int>(limit.count()));
        if (n <= 0) {
            error = n == 0 ? "no answer within " + std::to_string(limit.count()) + " ms" : std::strerror(errno);
            return Fd();
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr != 0) {
            error = std::strerror(soerr);
            return Fd();
        }
    }
    int flags = fcntl(s.fd, F_GETFL);
    fcntl(s.fd, F_SETFL, flags & ~O_NONBLOCK);
    int one = 1;
    setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return s;
}

// Connects with retries (a fresh virtual or real link may drop the first SYNs).
Fd connect_retrying(const AttachRequest& r, std::string& error) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    if (int rc = getaddrinfo(r.host.c_str(), std::to_string(r.port).c_str(), &hints, &res); rc != 0) {
        error = "invalid export address '" + r.host + "': " + gai_strerror(rc);
        return Fd();
    }
    sockaddr_storage sa{};
    socklen_t len = static_cast<socklen_t>(res->ai_addrlen);
    std::memcpy(&sa, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    const auto deadline = Clock::now() + r.connect_timeout;
    std::string last;
    int attempts = 0;
    for (;;) {
        ++attempts;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        Fd s = connect_once(sa, len, std::min(left, std::chrono::milliseconds(1000)), last);
        if (s.fd >= 0) return s;
        if (Clock::now() + std::chrono::milliseconds(200) >= deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    error = "cannot connect to " + r.host + ":" + std::to_string(r.port) + " within " +
            std::to_string(r.connect_timeout.count()) + " ms (" + std::to_string(attempts) + " attempts, last: " + last + ")";
    return Fd();
}

struct Session {
    std::vector<Fd> sockets;
    NegotiatedExport info{};
    std::string error;
};

Session open_sessions(const AttachRequest& r) {
    Session s;
    if (r.connections == 0 || r.connections > 16) {
        s.error = "connections must be 1..16";
        return s;
    }
    // One client context per key, in the order they are tried; none for plain NBD.
    std::vector<std::unique_ptr<TlsContext>> contexts;
    if (r.tls_required) {
        if (r.tls_keys.empty()) {
            s.error = "nbd.tls is required and no TLS key was given (none derived from the cluster secret)";
            return s;
        }
        for (const auto& k : r.tls_keys) {
            std::string why;
            auto c = TlsContext::make(TlsContext::Side::client, k, why);
            if (!c) {
                s.error = "TLS key '" + k.identity + "': " + why;
                return s;
            }
            contexts.push_back(std::move(c));
        }
    }
    const std::string peer = r.host + ":" + std::to_string(r.port);
    for (unsigned i = 0; i < r.connections; ++i) {
        Fd fd;
        HandshakeResult h;
        std::string errors;  // one clause per key refused, so the operator sees which identity failed
        const size_t tries = contexts.empty() ? 1 : contexts.size();
        for (size_t k = 0; k < tries; ++k) {
            std::string e;
            fd = connect_retrying(r, e);
            if (fd.fd < 0) {
                s.error = e;
                return s;
            }
            ClientTls tls;
            if (!contexts.empty()) tls = ClientTls{contexts[k].get(), true};
            h = client_handshake(fd.fd, r.export_name, r.handshake_timeout, true, tls);
            if (h.export_info) {
                // The key that worked goes first for the other connections of this session.
                if (k != 0) std::rotate(contexts.begin(), contexts.begin() + static_cast<long>(k), contexts.end());
                break;
            }
            errors += (errors.empty() ? "" : "; ") +
                      (contexts.empty() ? h.error : "with key '" + contexts[k]->psk().identity + "': " + h.error);
            fd = Fd();
        }
        if (!h.export_info) {
            s.error = "handshake with " + peer + " for export '" + r.export_name + "' failed: " + errors;
            return s;
        }
        if (i == 0) {
            s.info = *h.export_info;
            if (r.connections > 1 && !(s.info.transmission_flags & NBD_FLAG_CAN_MULTI_CONN)) {
                s.error = "the export does not allow multiple connections (no NBD_FLAG_CAN_MULTI_CONN)";
                return s;
            }
        } else if (h.export_info->size != s.info.size) {
            s.error = "the export changed size between connections";
            return s;
        }
        s.sockets.push_back(std::move(fd));
    }
    return s;
}

uint64_t pick_block_size(const AttachRequest& r, const NegotiatedExport& e) {
    if (r.block_size) return *r.block_size;
    uint64_t bs = e.preferred_block ? e.preferred_block : 4096;
    if (e.min_block > bs) bs = e.min_block;
    if (bs < 512) bs = 512;
    if (bs > 4096) bs = 4096;
    while (e.size % bs != 0 && bs > 512) bs /= 2;
    return bs;
}

}  // namespace

std::string backend_identifier(const AttachRequest& r) {
    return r.host + ":" + std::to_string(r.port) + "/" + r.export_name;
}

std::string parse_host_port(const std::string& s, std::string& host, uint16_t& port) {
    size_t colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == s.size())
        return "'" + s + "' is not ADDR:PORT";
    host = s.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    const std::string p = s.substr(colon + 1);
    char* end = nullptr;
    unsigned long v = std::strtoul(p.c_str(), &end, 10);
    if (*end != '\0' || v == 0 || v > 65535) return "'" + p + "' is not a port number";
    port = static_cast<uint16_t>(v);
    return {};
}

AttachResult attach(const AttachRequest& r) {
    AttachResult out;
    Session s = open_sessions(r);
    if (!s.error.empty()) {
        out.error = s.error;
        return out;
    }
    KernelConnectRequest k;
    k.index = r.index;
    k.size_bytes = s.info.size;
    k.block_size_bytes = pick_block_size(r, s.info);
    k.server_flags = s.info.transmission_flags;
    k.io_timeout = r.io_timeout;
    k.dead_conn_timeout = r.dead_conn_timeout;
    k.backend_identifier = backend_identifier(r);
    for (const auto& fd : s.sockets) k.socket_fds.push_back(fd.fd);
    KernelConnectResult kr = kernel_connect(k);
    if (!kr.error.empty()) {
        out.error = kr.error;
        return out;
    }
    out.index = kr.index;
    out.size_bytes = s.info.size;
    out.transmission_flags = s.info.transmission_flags;
    return out;  // our fds close here; the kernel holds its own references
}

std::string reconnect(uint32_t index, const AttachRequest& r) {
    const std::string dev = "/dev/nbd" + std::to_string(index);
    Session s = open_sessions(r);
    if (!s.error.empty()) return "reconnecting " + dev + ": " + s.error;
    std::ifstream f("/sys/block/nbd" + std::to_string(index) + "/size");
    uint64_t sectors = 0;
    if (f >> sectors && sectors * 512 != s.info.size)
        return "reconnecting " + dev + ": the export is " + std::to_string(s.info.size) + " bytes, the device " +
               std::to_string(sectors * 512);
    std::vector<int> fds;
    for (const auto& fd : s.sockets) fds.push_back(fd.fd);
    return kernel_reconfigure(index, backend_identifier(r), fds);
}


std::string detach(uint32_t index) { return kernel_disconnect(index); }

}  // namespace haspool::nbd
