#include "agent/daemon/peer_channel.hpp"

#include <cstdio>

#include "agent/log/log.hpp"

namespace haspool::agent {

namespace {

std::string boot_text(const BootId& b) { return to_hex(b.data(), 4); }

std::string seconds(Millis m) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%+.1fs", static_cast<double>(m.count()) / 1000.0);
    return buf;
}

}  // namespace

PeerChannel::PeerChannel(boost::asio::io_context& io, const config::Config& cfg, const std::string& self, KeyRing keys,
                         std::string log_prefix, OwnStatus own, EventSink sink)
    : cfg_(cfg), self_(self), peer_name_(cfg.peer_of(*cfg.find_node(self)).name),
      standby_(cfg.find_node(self)->role == config::Role::standby), prefix_(std::move(log_prefix)),
      own_(std::move(own)), sink_(std::move(sink)),
      session_(cfg.cluster.name, self, peer_name_, std::move(keys), new_boot_id()),
      monitor_(cfg.heartbeat.paths, 2 * cfg.heartbeat.interval, cfg.heartbeat.stable_after),
      link_(io, cfg.heartbeat.port, link_paths(self),
            [this](const std::string& p, const uint8_t* d, size_t n) { on_datagram(p, d, n); }) {
    log::info(prefix_ + "this run's boot id is " + boot_text(session_.boot()) + "; signing with key " +
                  to_hex(key_id(session_.gate().signing_key()).data(), sizeof(KeyId)),
              {{"EVENT", "peer-run"}});
}

std::vector<HeartbeatLink::Path> PeerChannel::link_paths(const std::string& self) const {
    const config::Node& me = *cfg_.find_node(self);
    const config::Node& peer = cfg_.peer_of(me);
    std::vector<HeartbeatLink::Path> v;
    for (const auto& p : cfg_.heartbeat.paths) v.push_back({p, me.addresses.at(p), peer.addresses.at(p)});
    return v;
}

std::vector<std::string> PeerChannel::open() { return link_.open(); }

void PeerChannel::close() { link_.close(); }

void PeerChannel::set_keys(KeyRing keys) {
    session_.set_keys(std::move(keys));
    signing_next_ = session_.gate().signs_with_next();
    log::info(prefix_ + "keys: signing with key " + to_hex(key_id(session_.gate().signing_key()).data(), sizeof(KeyId)) +
                      (session_.gate().keys().next.empty()
                           ? std::string(", no next key")
                           : ", next key " + to_hex(key_id(session_.gate().keys().next).data(), sizeof(KeyId)) +
                                 " (signing with it once " + peer_name_ + " shows it holds it too)"),
                  {{"EVENT", "keys"}});
}

void PeerChannel::send(const std::string& path, const Message& m, TimePoint now) {
    link_.send(path, session_.seal(m, path, now, WallClock::now()));
}

void PeerChannel::send_heartbeats(TimePoint now) {
    for (const auto& p : cfg_.heartbeat.paths) send(p, message(MessageType::heartbeat), now);
    for (auto [id, kind] : outbox_.due(now, cfg_.heartbeat.interval))
        for (const auto& p : cfg_.heartbeat.paths) send(p, request_message(kind, id), now);
}

Message PeerChannel::request_message(MessageKind kind, uint64_t id) const {
    Message m = message(MessageType::request);
    m.kind = kind;
    m.request_id = id;
    return m;
}

void PeerChannel::request(MessageKind kind, TimePoint now) {
    uint64_t id = outbox_.add(kind, now);
    log::notice(prefix_ + "asking " + peer_name_ + ": " + to_string(kind) + " (request " + std::to_string(id) +
                    ", resent every " + format_duration(cfg_.heartbeat.interval) + " until acknowledged)",
                {{"EVENT", "request"}});
}

std::vector<std::string> PeerChannel::tell_once(MessageKind kind, TimePoint now) {
    Message m = request_message(kind, outbox_.add(kind, now));
    std::vector<std::string> sent;
    for (const auto& p : cfg_.heartbeat.paths)
        if (link_.send_now(p, session_.seal(m, p, now, WallClock::now()))) sent.push_back(p);
    return sent;
}

uint64_t PeerChannel::query(TimePoint now, bool with_disk) {
    Message m = message(MessageType::query);
    m.request_id = ++last_query_;
    m.with_disk = with_disk;
    for (const auto& p : cfg_.heartbeat.paths) send(p, m, now);
    return m.request_id;
}

void PeerChannel::send_report(const std::string& path, uint64_t id, std::string payload) {
    Message rep = message(MessageType::report);
    rep.request_id = id;
    rep.report = std::move(payload);
    send(path, rep, Clock::now());
}

void PeerChannel::nbd_activity(TimePoint t) {
    if (last_nbd_ && t <= *last_nbd_) return;
    last_nbd_ = t;
    monitor_.nbd_activity(t);
}

Message PeerChannel::message(MessageType type) const {
    Message m;
    m.type = type;
    m.status = own_();
    return m;
}

// The peer's wall clock is reported, never judged: a step on either node changes this number
// and one log line, nothing else (docs/agent.md "Clocks and replay protection").
void PeerChannel::note_clock(Millis offset) {
    clock_offset_ = offset;
    bool beyond = std::chrono::abs(offset) > cfg_.heartbeat.max_clock_skew;
    if (beyond == clock_warned_) return;
    clock_warned_ = beyond;
    if (beyond)
        log::warning(prefix_ + peer_name_ + "'s wall clock differs from this node's by " + seconds(offset) +
                         " (more than heartbeat.max_clock_skew_ms, " + format_duration(cfg_.heartbeat.max_clock_skew) +
                         "): reported only, heartbeats and takeovers do not depend on it; check NTP on both nodes",
                     {{"EVENT", "peer-clock"}});
    else
        log::notice(prefix_ + peer_name_ + "'s wall clock is back within " + format_duration(cfg_.heartbeat.max_clock_skew) +
                        " of this node's (" + seconds(offset) + ")",
                    {{"EVENT", "peer-clock"}});
}

void PeerChannel::on_datagram(const std::string& path, const uint8_t* data, size_t size) {
    TimePoint now = Clock::now();
    PeerSession::Arrival a = session_.open(path, data, size, now, WallClock::now());
    Decoded& d = a.decoded;
    if (d.message && d.message->status.primary != standby_) {
        // The peer claims our own role: a misconfiguration, never acted on.
        d.message.reset();
        d.reject = Reject::malformed;
        d.detail = peer_name_ + " claims the role " + std::string(standby_ ? "standby" : "primary") + " too";
    }
    if (!d.message) {
        uint64_t count = ++dropped_[to_string(d.reject)];
        std::string line = prefix_ + "dropped a datagram on path " + path + ": " + to_string(d.reject) + ": " + d.detail +
                           " (" + std::to_string(count) + " so far)";
        // The handshake after either node starts is expected: said once, at info.
        if (count == 1 && d.reject == Reject::unconfirmed) log::info(line, {{"EVENT", "datagram-dropped"}, {"REASON", to_string(d.reject)}});
        else if (count == 1) log::warning(line, {{"EVENT", "datagram-dropped"}, {"REASON", to_string(d.reject)}});
        else log::debug(line);
        return;
    }
    const Message& m = *d.message;
    if (d.new_run)
        log::info(prefix_ + "hearing " + peer_name_ + "'s run " + boot_text(m.boot_id) + " on path " + path +
                      " (it echoes this run's boot id)",
                  {{"EVENT", "peer-run"}});
    if (a.clock_offset) note_clock(*a.clock_offset);
    if (session_.gate().signs_with_next() != signing_next_) {
        signing_next_ = session_.gate().signs_with_next();
        log::notice(prefix_ + (signing_next_ ? "signing with the next key now: " + peer_name_ + " holds it too"
                                             : "signing with the current key again: " + peer_name_ + " no longer holds the next one"),
                    {{"EVENT", "keys"}});
    }
    monitor_.heartbeat(path, now, a.rtt);
    // A reordered datagram (a slower path's) proves the peer alive on its path, but what it
    // says is older than what the peer said since: the machine only ever sees the newest status.
    if (d.newest || !peer_) peer_ = m.status;
    switch (m.type) {
        case MessageType::heartbeat:
            log::debug(prefix_ + "heartbeat from " + peer_name_ + " on " + path + ": " + m.status.state_name() +
                       (d.newest ? "" : " (overtaken by a newer one)"));
            sink_(event::HeartbeatReceived{*peer_, monitor_.facts(now)});
            break;
        case MessageType::request: {
            Message ack = message(MessageType::ack);
            ack.kind = m.kind;
            ack.request_id = m.request_id;
            send(path, ack, now);
            if (inbox_.first_time(m.boot_id, m.request_id)) {
                log::notice(prefix_ + peer_name_ + " says: " + to_string(m.kind), {{"EVENT", "peer-request"}});
                sink_(event::PeerRequest{m.kind});
            }
            break;
        }
        case MessageType::ack:
            if (outbox_.acknowledged(m.request_id))
                log::notice(prefix_ + peer_name_ + " acknowledged " + to_string(m.kind), {{"EVENT", "peer-ack"}});
            break;
        case MessageType::query: {
            // Answered on each path it arrives on: the asker takes the first and drops the rest.
            log::debug(prefix_ + peer_name_ + " asks for this node's status on " + path + (m.with_disk ? ", with the disk's figures" : ""));
            if (report_source_) report_source_(m.request_id, path, m.with_disk);
            break;
        }
        case MessageType::report:
            log::debug(prefix_ + peer_name_ + " answered status query " + std::to_string(m.request_id) + " on " + path +
                       " (" + std::to_string(m.report.size()) + " bytes)");
            if (report_sink_) report_sink_(m.request_id, m.report);
            break;
    }
}

}  // namespace haspool::agent
