#pragma once
// The channel to the peer's daemon over the heartbeat link (docs/design.md §5). Out: heartbeats
// (sequence, wall-clock timestamp, the echo of the peer's newest timestamp on that path) and
// requests, resent every interval until acknowledged. In: every datagram goes through the
// PeerGate; a peer claiming our own role is refused; refusals are counted by reason, the first
// of each reason logged as a warning and the rest at debug. An accepted datagram feeds the peer
// monitor (with the path's round trip); heartbeats and first-seen requests (acknowledged every
// time) are delivered as events. Nothing here decides.
#include <boost/asio/io_context.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/core/events.hpp"
#include "agent/daemon/heartbeat_link.hpp"
#include "agent/peer/heartbeat_codec.hpp"
#include "agent/peer/peer_monitor.hpp"
#include "agent/peer/peer_requests.hpp"
#include "config/config.hpp"

namespace haspool::agent {

class PeerChannel {
public:
    // What this node's messages say about it (role, state, lineage, mirror), asked for each one.
    using OwnStatus = std::function<PeerStatus()>;
    // event::HeartbeatReceived and event::PeerRequest.
    using EventSink = std::function<void(const Event&)>;

    // Reads `cfg` (the daemon's one configuration) by reference: the heartbeat interval and the
    // paths; `self` names this node in it. `log_prefix` starts every log line ("standby beta: ").
    PeerChannel(boost::asio::io_context& io, const config::Config& cfg, const std::string& self, std::string key,
                std::string log_prefix, OwnStatus own, EventSink sink);

    // Binds every path; the problems, one sentence each (empty when all are bound).
    std::vector<std::string> open();
    void close();
    void set_key(std::string key);

    // Every interval: a heartbeat on every path, then the requests due for (re)sending.
    void send_heartbeats(TimePoint now);
    // Queues a request for the peer (a pending one of the same kind is replaced).
    void request(MessageKind kind, TimePoint now);
    // The newest request served on our export: a sign of life of the primary (docs/design.md §3).
    void nbd_activity(TimePoint t);

    PeerFacts facts(TimePoint now) const { return monitor_.facts(now); }
    const std::string& peer_name() const { return peer_name_; }
    // The peer's last authenticated message; nullopt: never heard.
    const std::optional<PeerStatus>& peer() const { return peer_; }
    // Datagrams refused, by reason.
    const std::map<std::string, uint64_t>& dropped() const { return dropped_; }

private:
    std::vector<HeartbeatLink::Path> link_paths(const std::string& self) const;
    Message message(MessageType type, const std::string& path, TimePoint now);
    void send(const std::string& path, const Message& m) { link_.send(path, encode(m, key_)); }
    void on_datagram(const std::string& path, const uint8_t* data, size_t size);

    const config::Config& cfg_;
    std::string self_;
    std::string peer_name_;
    bool standby_;
    std::string key_;
    std::string prefix_;
    OwnStatus own_;
    EventSink sink_;
    PeerGate gate_;
    PeerMonitor monitor_;
    HeartbeatLink link_;
    Outbox outbox_;
    Inbox inbox_;
    BootId boot_;
    uint64_t sequence_ = 0;
    std::map<std::string, std::pair<uint64_t, TimePoint>> echo_;  // path -> peer's timestamp, when received
    std::optional<TimePoint> last_nbd_;
    std::optional<PeerStatus> peer_;
    std::map<std::string, uint64_t> dropped_;
};

}  // namespace haspool::agent
