#include "blockdev/nbd_server.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sstream>
#include <thread>

#include <boost/asio/post.hpp>

namespace haspool::nbd {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct NbdServer::Conn {
    int fd = -1;
    asio::ip::address peer;
    bool attached = false;             // admitted to transmission (guarded by mu_)
    std::shared_ptr<Session> session;  // guarded by mu_
};

namespace {

asio::ip::address normalize(const asio::ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    return a;
}

}  // namespace

NbdServer::NbdServer(asio::io_context& io, std::unique_ptr<ExportDevice> device, Options options)
    : io_(io), device_(std::move(device)), opt_(std::move(options)), acceptor_(io) {
    uint16_t tf = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA | NBD_FLAG_CAN_MULTI_CONN |
                  NBD_FLAG_SEND_CACHE;
    if (device_->read_only())
        tf |= NBD_FLAG_READ_ONLY;
    else
        tf |= NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_SEND_FAST_ZERO;
    info_.name = opt_.name;
    info_.description = opt_.description.empty() ? "haspool export of " + device_->path() : opt_.description;
    info_.size = device_->size();
    info_.transmission_flags = tf;
    info_.max_block = opt_.max_request;
    limits_.size = device_->size();
    limits_.read_only = device_->read_only();
    limits_.max_request = opt_.max_request;
    limits_.transmission_flags = tf;
}

NbdServer::~NbdServer() { stop(); }

void NbdServer::event(const std::string& kind, const std::string& msg) {
    if (opt_.on_event) opt_.on_event(kind, msg);
}

std::string NbdServer::start() {
    boost::system::error_code ec;
    acceptor_.open(opt_.listen.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(opt_.listen, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        std::ostringstream where;
        where << opt_.listen;
        return "cannot listen on " + where.str() + ": " + ec.message();
    }
    do_accept();
    return {};
}

tcp::endpoint NbdServer::local_endpoint() const {
    boost::system::error_code ec;
    return acceptor_.local_endpoint(ec);
}

void NbdServer::do_accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket s) { on_accept(ec, std::move(s)); });
}

bool NbdServer::allowed(const asio::ip::address& a) const {
    if (opt_.allow.empty()) return a.is_loopback();
    for (const auto& x : opt_.allow)
        if (normalize(x) == a) return true;
    return false;
}

void NbdServer::on_accept(const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopped_) return;
    if (ec) {  // e.g. EMFILE: keep serving the sessions we have, try again
        event("accept-failed", "accept failed: " + ec.message());
        do_accept();
        return;
    }
    boost::system::error_code ignored;
    auto peer = normalize(socket.remote_endpoint(ignored).address());
    if (!engaged_) {
        counters_.rejected_connections.fetch_add(1, std::memory_order_relaxed);
        event("refused", "refused connection from " + peer.to_string() + ": export is disengaged");
    } else if (!allowed(peer)) {
        counters_.rejected_connections.fetch_add(1, std::memory_order_relaxed);
        event("refused", "refused connection from " + peer.to_string() + ": address not in the allow list");
    } else {
        socket.set_option(tcp::no_delay(true), ignored);
        auto c = std::make_shared<Conn>();
        c->peer = peer;
        c->fd = socket.release(ignored);
        int fl = ::fcntl(c->fd, F_GETFL);
        ::fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
        {
            std::lock_guard g(mu_);
            conns_.insert(c);
        }
        std::thread([this, c] { serve(c); }).detach();
    }
    do_accept();
}

std::string NbdServer::admit(const std::shared_ptr<Conn>& c) {
    std::lock_guard g(mu_);
    if (!engaged_ || stopped_) {
        counters_.rejected_connections.fetch_add(1, std::memory_order_relaxed);
        return "export is disengaged (the standby is taking over)";
    }
    if (!limits_.read_only)
        for (const auto& o : conns_)
            if (o != c && o->attached && o->peer != c->peer) {
                counters_.rejected_connections.fetch_add(1, std::memory_order_relaxed);
                return "export is attached to writer " + o->peer.to_string() + "; refusing a second writer from " +
                       c->peer.to_string();
            }
    c->attached = true;
    return {};
}

bool NbdServer::replace_tls(std::shared_ptr<const TlsContext> tls) {
    std::lock_guard g(mu_);
    if (!opt_.tls || !tls) return false;
    opt_.tls = std::move(tls);
    return true;
}

void NbdServer::serve(std::shared_ptr<Conn> c) {
    const std::string who = c->peer.to_string();
    std::shared_ptr<const TlsContext> tls;  // this connection's keys, whatever a reload does meanwhile
    {
        std::lock_guard g(mu_);
        tls = opt_.tls;
    }
    auto hs = server_handshake(c->fd, info_, [&] { return admit(c); },
                               std::chrono::steady_clock::now() + opt_.handshake_timeout, tls.get());
    std::string why;
    if (hs.session) {
        std::shared_ptr<Session> s;
        {
            std::lock_guard g(mu_);
            if (engaged_ && !stopped_) {
                s = std::make_shared<Session>(std::move(hs.channel), *device_, limits_, *hs.session, counters_,
                                              opt_.session);
                c->session = s;
            }
        }
        if (s) {
            counters_.sessions_started.fetch_add(1, std::memory_order_relaxed);
            event("opened", "session from " + who + " opened (" +
                                (hs.session->structured_replies ? "structured" : "simple") + " replies" +
                                (tls ? ", TLS" : "") + ")");
            why = s->run();
        } else {
            why = "export was disengaged during the handshake";
        }
        event("closed", "session from " + who + " closed: " + why);
    } else if (hs.tls_refused) {
        counters_.rejected_connections.fetch_add(1, std::memory_order_relaxed);
        event("refused", "refused connection from " + who + ": " + hs.reason);
    } else {
        event("handshake-failed", "handshake with " + who + " ended: " + hs.reason);
    }
    std::lock_guard g(mu_);
    ::close(c->fd);
    c->fd = -1;
    conns_.erase(c);
    all_closed_.notify_all();
}

void NbdServer::disengage() {
    std::lock_guard g(mu_);
    engaged_ = false;
    for (const auto& c : conns_) {
        if (c->session)
            c->session->shutdown();
        else if (c->fd >= 0)
            ::shutdown(c->fd, SHUT_RDWR);
    }
}

void NbdServer::reengage() { engaged_ = true; }

int NbdServer::open_sessions() const {
    std::lock_guard g(mu_);
    return int(conns_.size());
}

std::chrono::steady_clock::time_point NbdServer::last_activity() const {
    return std::chrono::steady_clock::time_point(
        std::chrono::nanoseconds(counters_.last_activity_ns.load(std::memory_order_relaxed)));
}

void NbdServer::stop() {
    if (stopped_.exchange(true)) return;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    disengage();
    std::unique_lock g(mu_);
    all_closed_.wait(g, [&] { return conns_.empty(); });
}

}  // namespace haspool::nbd
