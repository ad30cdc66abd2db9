#pragma once
// The channel to the peer's daemon over the heartbeat link (docs/design.md §5). Out: heartbeats
// and requests, resent every interval until acknowledged, sealed by the PeerSession (boot id,
// sequence, stamps, echo, key). In: every datagram goes through the session's PeerGate; a peer
// claiming our own role is refused; refusals are counted by reason, the first of each reason
// logged (a warning; "unconfirmed", the start-up handshake, at info) and the rest at debug. An
// accepted datagram feeds the peer monitor (with the path's round trip); heartbeats and
// first-seen requests (acknowledged every time) are delivered as events. The peer's wall-clock
// offset is kept for status and logged once when it exceeds heartbeat.max_clock_skew_ms; it is
// never a reason to refuse anything (docs/agent.md "Clocks and replay protection"). This layer
// reads the clocks; the session and the gate only get them passed in. Nothing here decides.
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
#include "agent/peer/peer_session.hpp"
#include "config/config.hpp"

namespace haspool::agent {

class PeerChannel {
public:
    // What this node's messages say about it (role, state, lineage, mirror), asked for each one.
    using OwnStatus = std::function<PeerStatus()>;
    // event::HeartbeatReceived and event::PeerRequest.
    using EventSink = std::function<void(const Event&)>;
    // The peer asks for this node's report (query `id`, on `path`; with the disk's figures when
    // `with_disk`): the source answers through send_report(), at once or once it has read them.
    using ReportSource = std::function<void(uint64_t id, const std::string& path, bool with_disk)>;
    // The peer's report answering our query `id`.
    using ReportSink = std::function<void(uint64_t id, const std::string& payload)>;

    // Reads `cfg` (the daemon's one configuration) by reference: the heartbeat interval and the
    // paths; `self` names this node in it. `log_prefix` starts every log line ("standby beta: ").
    PeerChannel(boost::asio::io_context& io, const config::Config& cfg, const std::string& self, KeyRing keys,
                std::string log_prefix, OwnStatus own, EventSink sink);

    // Binds every path; the problems, one sentence each (empty when all are bound).
    std::vector<std::string> open();
    void close();
    void set_keys(KeyRing keys);

    // Every interval: a heartbeat on every path, then the requests due for (re)sending.
    void send_heartbeats(TimePoint now);
    // Queues a request for the peer (a pending one of the same kind is replaced).
    void request(MessageKind kind, TimePoint now);
    // Sends `kind` once on every path, now, without waiting for the acknowledgement (the daemon
    // stops right after); returns the paths it went out on.
    std::vector<std::string> tell_once(MessageKind kind, TimePoint now);
    // `haspool status` asking the peer's daemon itself (issue 15 item 1): a query on every path,
    // answered by a report on the path it arrived on, once, never resent (the asker waits a
    // bounded time and then shows the last heartbeat instead). Returns the query's id.
    uint64_t query(TimePoint now, bool with_disk = false);
    // The answer to the peer's query `id` (peer_report.hpp; at most kMaxReport bytes).
    void send_report(const std::string& path, uint64_t id, std::string payload);
    void set_report_source(ReportSource s) { report_source_ = std::move(s); }
    void set_report_sink(ReportSink s) { report_sink_ = std::move(s); }
    // The newest request served on our export: a sign of life of the primary (docs/design.md §3).
    void nbd_activity(TimePoint t);

    PeerFacts facts(TimePoint now) const { return monitor_.facts(now); }
    const std::string& peer_name() const { return peer_name_; }
    // The peer's last authenticated message; nullopt: never heard.
    const std::optional<PeerStatus>& peer() const { return peer_; }
    // Datagrams refused, by reason.
    const std::map<std::string, uint64_t>& dropped() const { return dropped_; }
    // The peer's wall clock minus ours, as its newest accepted datagram said (reported only).
    std::optional<Millis> peer_clock_offset() const { return clock_offset_; }
    // Which key signs and whether the peer holds the next one (status: the rotation's progress).
    const PeerGate& gate() const { return session_.gate(); }

private:
    std::vector<HeartbeatLink::Path> link_paths(const std::string& self) const;
    Message message(MessageType type) const;
    Message request_message(MessageKind kind, uint64_t id) const;
    void send(const std::string& path, const Message& m, TimePoint now);
    void on_datagram(const std::string& path, const uint8_t* data, size_t size);
    void note_clock(Millis offset);

    const config::Config& cfg_;
    std::string self_;
    std::string peer_name_;
    bool standby_;
    std::string prefix_;
    OwnStatus own_;
    EventSink sink_;
    PeerSession session_;
    PeerMonitor monitor_;
    HeartbeatLink link_;
    Outbox outbox_;
    Inbox inbox_;
    std::optional<TimePoint> last_nbd_;
    std::optional<Millis> clock_offset_;
    bool clock_warned_ = false;
    bool signing_next_ = false;  // as last logged  // the offset is beyond max_clock_skew and that was logged
    std::optional<PeerStatus> peer_;
    std::map<std::string, uint64_t> dropped_;
    ReportSource report_source_;
    ReportSink report_sink_;
    uint64_t last_query_ = 0;
};

}  // namespace haspool::agent
