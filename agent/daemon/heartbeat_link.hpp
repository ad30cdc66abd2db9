#pragma once
// The heartbeat paths: one UDP socket per configured path, bound to this node's address on it
// (heartbeat.port), sending to the peer's address on the same path and receiving from it.
// Handlers never throw; errors come back as sentences. Authentication is the caller's (PeerGate).
#include <utility>

#include <boost/asio.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace haspool::agent {

class HeartbeatLink {
public:
    struct Path {
        std::string name;
        std::string local_address;
        std::string peer_address;
    };
    // (path name, datagram bytes) for every datagram that arrives from the peer's address.
    using Receiver = std::function<void(const std::string& path, const uint8_t* data, size_t size)>;

    HeartbeatLink(boost::asio::io_context& io, uint16_t port, std::vector<Path> paths, Receiver receiver);

    // Binds every path; returns the problems (one sentence each), empty when all are bound.
    std::vector<std::string> open();
    void close();
    // Sends on one path (send errors are counted and returned on the next call's sentence).
    void send(const std::string& path, std::vector<uint8_t> datagram);
    // Sends on one path now, synchronously (the daemon's last words, when no loop runs after);
    // false with the error counted when the socket refuses.
    bool send_now(const std::string& path, const std::vector<uint8_t>& datagram);
    std::vector<std::string> path_names() const;
    // Datagrams from addresses other than the peer's on that path (dropped, counted).
    uint64_t foreign_senders() const { return foreign_; }
    uint64_t send_errors() const { return send_errors_; }
    const std::string& last_send_error() const { return last_send_error_; }

private:
    struct Socket {
        Path path;
        boost::asio::ip::udp::socket socket;
        boost::asio::ip::udp::endpoint peer;
        boost::asio::ip::udp::endpoint from;
        std::array<uint8_t, 2048> buf{};
        explicit Socket(boost::asio::io_context& io, Path p) : path(std::move(p)), socket(io) {}
    };
    void do_receive(Socket& s);
    // The open socket of `path`, or null (unknown path, or closed).
    Socket* open_socket(const std::string& path);
    void note_send_error(const std::string& path, const boost::system::error_code& ec);

    boost::asio::io_context& io_;
    uint16_t port_;
    std::vector<std::unique_ptr<Socket>> sockets_;
    Receiver receiver_;
    uint64_t foreign_ = 0;
    uint64_t send_errors_ = 0;
    std::string last_send_error_;
};

}  // namespace haspool::agent
