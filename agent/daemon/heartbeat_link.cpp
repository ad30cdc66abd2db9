#include "agent/daemon/heartbeat_link.hpp"

namespace haspool::agent {

namespace asio = boost::asio;
using asio::ip::udp;

HeartbeatLink::HeartbeatLink(asio::io_context& io, uint16_t port, std::vector<Path> paths, Receiver receiver)
    : io_(io), port_(port), receiver_(std::move(receiver)) {
    for (auto& p : paths) sockets_.push_back(std::make_unique<Socket>(io_, std::move(p)));
}

std::vector<std::string> HeartbeatLink::open() {
    std::vector<std::string> problems;
    for (auto& s : sockets_) {
        boost::system::error_code ec;
        auto local = asio::ip::make_address(s->path.local_address, ec);
        auto peer = ec ? asio::ip::address() : asio::ip::make_address(s->path.peer_address, ec);
        if (ec) {
            problems.push_back("path " + s->path.name + ": bad address: " + ec.message());
            continue;
        }
        udp::endpoint ep(local, port_);
        s->peer = udp::endpoint(peer, port_);
        s->socket.open(ep.protocol(), ec);
        if (!ec) s->socket.set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec) s->socket.bind(ep, ec);
        if (ec) {
            problems.push_back("path " + s->path.name + ": cannot bind UDP " + s->path.local_address + ":" +
                               std::to_string(port_) + ": " + ec.message());
            s->socket.close(ec);
            continue;
        }
        do_receive(*s);
    }
    return problems;
}

void HeartbeatLink::close() {
    for (auto& s : sockets_) {
        boost::system::error_code ec;
        s->socket.close(ec);
    }
}

void HeartbeatLink::do_receive(Socket& s) {
    s.socket.async_receive_from(asio::buffer(s.buf), s.from, [this, &s](boost::system::error_code ec, size_t n) {
        if (ec == asio::error::operation_aborted || !s.socket.is_open()) return;
        if (!ec) {
            // Only the peer's own address on this path may speak on it; the HMAC decides the rest.
            if (s.from.address() == s.peer.address()) receiver_(s.path.name, s.buf.data(), n);
            else ++foreign_;
        }
        do_receive(s);
    });
}

HeartbeatLink::Socket* HeartbeatLink::open_socket(const std::string& path) {
    for (auto& s : sockets_)
        if (s->path.name == path && s->socket.is_open()) return s.get();
    return nullptr;
}

void HeartbeatLink::note_send_error(const std::string& path, const boost::system::error_code& ec) {
    ++send_errors_;
    last_send_error_ = "path " + path + ": " + ec.message();
}

void HeartbeatLink::send(const std::string& path, std::vector<uint8_t> datagram) {
    Socket* s = open_socket(path);
    if (!s) return;
    auto data = std::make_shared<std::vector<uint8_t>>(std::move(datagram));
    s->socket.async_send_to(asio::buffer(*data), s->peer, [this, data, name = path](boost::system::error_code ec, size_t) {
        if (ec && ec != asio::error::operation_aborted) note_send_error(name, ec);
    });
}

bool HeartbeatLink::send_now(const std::string& path, const std::vector<uint8_t>& datagram) {
    Socket* s = open_socket(path);
    if (!s) return false;
    boost::system::error_code ec;
    s->socket.send_to(asio::buffer(datagram), s->peer, 0, ec);
    if (ec) note_send_error(path, ec);
    return !ec;
}

std::vector<std::string> HeartbeatLink::path_names() const {
    std::vector<std::string> v;
    for (const auto& s : sockets_) v.push_back(s->path.name);
    return v;
}

}  // namespace haspool::agent
