#pragma once
// haspool's NBD server: the standby's export of disk Y to the primary.
//
// Embeddable: the agent owns the io_context; start() binds and accepts on it, disengage() closes
// every session and refuses new connections (the first takeover step), reengage() undoes that,
// stop() ends everything. Each admitted connection gets its own session threads (nbd_session.hpp);
// the io_context thread only accepts. counters() and last_activity() are the agent's "NBD session
// traffic = sign of life" and its rejection statistics.
// Threads: call start() and stop() on the io_context's thread (or while it is not running);
// disengage(), reengage(), counters() and last_activity() are safe from any thread. Keep the
// server alive until the io_context has run its pending handlers (stop() cancels the accept).
//
// One writer: a writable export is attached to one peer *address* at a time. The kernel's
// multi-connection client (and nbdcopy) open several sockets from the same host, so every
// connection from the attached writer's address is admitted; a connection from any other allowed
// address is refused with NBD_REP_ERR_POLICY until the writer's last session has closed.
// Read-only exports admit every allowed peer.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "blockdev/export_device.hpp"
#include "blockdev/nbd_session.hpp"

namespace haspool::nbd {

class TlsContext;

class NbdServer {
public:
    struct Options {
        std::string name = "haspool";             // export name ("" is accepted as the default export)
        std::string description;
        boost::asio::ip::tcp::endpoint listen;
        std::vector<boost::asio::ip::address> allow;  // empty: loopback peers only
        Session::Params session;
        std::chrono::milliseconds handshake_timeout{10000};
        uint32_t max_request = 32u * 1024 * 1024;
        // Set: TLS with this server context is required (nbd.tls: required); null: plain NBD.
        std::shared_ptr<const TlsContext> tls;
        // Told about connections and sessions ("refused", "opened", "closed"), for the caller to
        // log; called from the io_context or session threads.
        std::function<void(const std::string& event, const std::string& message)> on_event;
    };

    NbdServer(boost::asio::io_context& io, std::unique_ptr<ExportDevice> device, Options options);
    ~NbdServer();

    // Binds, listens and starts accepting; returns an error sentence or "".
    std::string start();
    boost::asio::ip::tcp::endpoint local_endpoint() const;
    void disengage();
    void reengage();
    bool engaged() const { return engaged_; }
    // Closes the listener and every session and waits for their threads.
    void stop();
    // A TLS server's keys after a secret rotation (the daemon's reload): handshakes from now on
    // use `tls`; sessions already open keep the keys they were established with. Refused (false)
    // on a plain server or with null: TLS on or off is a restart, never a swap.
    bool replace_tls(std::shared_ptr<const TlsContext> tls);

    const ServerCounters& counters() const { return counters_; }
    std::chrono::steady_clock::time_point last_activity() const;
    int open_sessions() const;
    uint16_t transmission_flags() const { return info_.transmission_flags; }

private:
    struct Conn;
    void do_accept();
    void on_accept(const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket);
    void serve(std::shared_ptr<Conn> c);
    std::string admit(const std::shared_ptr<Conn>& c);
    bool allowed(const boost::asio::ip::address& a) const;
    void event(const std::string& kind, const std::string& msg);

    boost::asio::io_context& io_;
    std::unique_ptr<ExportDevice> device_;
    Options opt_;
    ExportInfo info_;
    ExportLimits limits_;
    boost::asio::ip::tcp::acceptor acceptor_;
    ServerCounters counters_;
    std::atomic<bool> engaged_{true};
    std::atomic<bool> stopped_{false};

    mutable std::mutex mu_;
    std::condition_variable all_closed_;
    std::set<std::shared_ptr<Conn>> conns_;
};

}  // namespace haspool::nbd
