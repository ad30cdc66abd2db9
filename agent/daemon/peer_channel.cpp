#include "agent/daemon/peer_channel.hpp"

#include "agent/log/log.hpp"

namespace haspool::agent {

namespace {

uint64_t wall_ms() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch()).count());
}

}  // namespace

PeerChannel::PeerChannel(boost::asio::io_context& io, const config::Config& cfg, const std::string& self, std::string key,
                         std::string log_prefix, OwnStatus own, EventSink sink)
    : cfg_(cfg), self_(self), peer_name_(cfg.peer_of(*cfg.find_node(self)).name),
      standby_(cfg.find_node(self)->role == config::Role::standby), key_(key), prefix_(std::move(log_prefix)),
      own_(std::move(own)), sink_(std::move(sink)), gate_(cfg.cluster.name, peer_name_, key, cfg.heartbeat.max_clock_skew),
      monitor_(cfg.heartbeat.paths, 2 * cfg.heartbeat.interval, cfg.heartbeat.stable_after),
      link_(io, cfg.heartbeat.port, link_paths(self),
            [this](const std::string& p, const uint8_t* d, size_t n) { on_datagram(p, d, n); }),
      boot_(new_boot_id()) {}

std::vector<HeartbeatLink::Path> PeerChannel::link_paths(const std::string& self) const {
    const config::Node& me = *cfg_.find_node(self);
    const config::Node& peer = cfg_.peer_of(me);
    std::vector<HeartbeatLink::Path> v;
    for (const auto& p : cfg_.heartbeat.paths) v.push_back({p, me.addresses.at(p), peer.addresses.at(p)});
    return v;
}

std::vector<std::string> PeerChannel::open() { return link_.open(); }

void PeerChannel::close() { link_.close(); }

void PeerChannel::set_key(std::string key) {
    key_ = key;
    gate_.set_key(std::move(key));
}

void PeerChannel::send_heartbeats(TimePoint now) {
    for (const auto& p : cfg_.heartbeat.paths) send(p, message(MessageType::heartbeat, p, now));
    for (auto [id, kind] : outbox_.due(now, cfg_.heartbeat.interval))
        for (const auto& p : cfg_.heartbeat.paths) {
            Message m = message(MessageType::request, p, now);
            m.kind = kind;
            m.request_id = id;
            send(p, m);
        }
}

void PeerChannel::request(MessageKind kind, TimePoint now) {
    uint64_t id = outbox_.add(kind, now);
    log::notice(prefix_ + "asking " + peer_name_ + ": " + to_string(kind) + " (request " + std::to_string(id) +
                    ", resent every " + format_duration(cfg_.heartbeat.interval) + " until acknowledged)",
                {{"EVENT", "request"}});
}

void PeerChannel::nbd_activity(TimePoint t) {
    if (last_nbd_ && t <= *last_nbd_) return;
    last_nbd_ = t;
    monitor_.nbd_activity(t);
}

Message PeerChannel::message(MessageType type, const std::string& path, TimePoint now) {
    Message m;
    m.type = type;
    m.cluster = cfg_.cluster.name;
    m.sender = self_;
    m.boot_id = boot_;
    m.sequence = ++sequence_;
    m.timestamp_ms = wall_ms();
    m.status = own_();
    if (auto it = echo_.find(path); it != echo_.end()) {
        m.echo_timestamp_ms = it->second.first;
        m.echo_hold_ms = static_cast<uint32_t>(std::chrono::duration_cast<Millis>(now - it->second.second).count());
    }
    return m;
}

void PeerChannel::on_datagram(const std::string& path, const uint8_t* data, size_t size) {
    TimePoint now = Clock::now();
    uint64_t wall = wall_ms();
    Decoded d = gate_.accept(data, size, wall);
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
        if (count == 1) log::warning(line, {{"EVENT", "datagram-dropped"}, {"REASON", to_string(d.reject)}});
        else log::debug(line);
        return;
    }
    const Message& m = *d.message;
    std::optional<Millis> rtt;
    if (m.echo_timestamp_ms && wall >= m.echo_timestamp_ms + m.echo_hold_ms)
        rtt = Millis(wall - m.echo_timestamp_ms - m.echo_hold_ms);
    echo_[path] = {m.timestamp_ms, now};
    monitor_.heartbeat(path, now, rtt);
    peer_ = m.status;
    switch (m.type) {
        case MessageType::heartbeat:
            log::debug(prefix_ + "heartbeat from " + peer_name_ + " on " + path + ": " + m.status.state_name());
            sink_(event::HeartbeatReceived{m.status, monitor_.facts(now)});
            break;
        case MessageType::request: {
            Message ack = message(MessageType::ack, path, now);
            ack.kind = m.kind;
            ack.request_id = m.request_id;
            send(path, ack);
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
    }
}

}  // namespace haspool::agent
