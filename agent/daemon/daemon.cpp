#include "agent/daemon/daemon.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include <boost/asio.hpp>

#include <csignal>
#include <ctime>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "config/config_loader.hpp"
#include "agent/peer/heartbeat_codec.hpp"
#include "agent/daemon/heartbeat_link.hpp"
#include "config/host_check.hpp"
#include "agent/system/linux_system.hpp"
#include "agent/log/log.hpp"
#include "agent/core/md_transitions.hpp"
#include "agent/system/mirror_watch.hpp"
#include "agent/store/node_state.hpp"
#include "agent/peer/peer_monitor.hpp"
#include "agent/peer/peer_requests.hpp"
#include "agent/core/primary_machine.hpp"
#include "agent/store/raw_writes_mark.hpp"
#include "agent/log/sd_notify.hpp"
#include "agent/system/spool_export.hpp"
#include "agent/core/standby_machine.hpp"
#include "agent/system/step_runner.hpp"

namespace haspool::agent {

namespace asio = boost::asio;
using local_stream = asio::local::stream_protocol;

namespace {

uint64_t wall_ms() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch()).count());
}

std::string json_string(const std::string& s) {
    std::string o = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\', o += c;
        else if (static_cast<unsigned char>(c) < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", c);
            o += b;
        } else o += c;
    }
    return o + "\"";
}

// A decision of either machine, in the terms the daemon needs.
struct AnyDecision {
    std::string state;
    uint8_t wire = 0;
    std::vector<Step> steps;
    std::optional<TimePoint> wake_at;
    std::string reason;
    bool undo = false;
    bool warn = false;
};

template <class S>
AnyDecision any(const Decision<S>& d) {
    return {to_string(d.next), static_cast<uint8_t>(d.next), d.steps, d.wake_at, d.reason, d.undo_on_failure, d.warn};
}

class Daemon {
public:
    Daemon(const config::Config& cfg, const std::string& self, const DaemonOptions& opt, NodeState state, std::string key)
        : cfg_(cfg), self_name_(self), opt_(opt), standby_(cfg.find_node(self)->role == config::Role::standby),
          peer_name_(cfg.peer_of(*cfg.find_node(self)).name), role_(standby_ ? "standby" : "primary"), key_(key),
          gate_(cfg.cluster.name, peer_name_, key, cfg.heartbeat.max_clock_skew),
          monitor_(cfg.heartbeat.paths, 2 * cfg.heartbeat.interval, cfg.heartbeat.stable_after),
          link_(io_, cfg.heartbeat.port, link_paths(), [this](const std::string& p, const uint8_t* d, size_t n) { on_datagram(p, d, n); }),
          boot_(new_boot_id()) {
        const config::Node& me = *cfg.find_node(self);
        if (standby_)
            export_ = std::make_unique<SpoolExport>(cfg, me.spool_device, [this](const std::string& kind, const std::string& msg) {
                std::string line = prefix() + "NBD export: " + msg;
                if (kind == "refused" || kind == "accept-failed") log::warning(line, {{"EVENT", "nbd-" + kind}});
                else log::info(line, {{"EVENT", "nbd-" + kind}});
            });
        else
            watch_ = std::make_unique<MirrorWatch>(
                cfg.spool.md_device, cfg.nbd.device_index,
                [this](Event e) { asio::post(io_, [this, e = std::move(e)] { on_mirror_event(e); }); },
                [this](const std::optional<raid::MdSnapshot>& s) { asio::post(io_, [this, s] { md_ = s; }); });
        system_ = std::make_unique<LinuxSystem>(cfg, self, NodeStateStore(cfg.cluster.state_dir, self), standby_,
                                                [this](MessageKind k) { asio::post(io_, [this, k] { queue_request(k); }); },
                                                export_.get());
        system_->set_state(state);
        system_->set_announcer_context(io_);
        runner_ = std::make_unique<StepRunner>(*system_, [this](const Step& s, const StepResult& r, bool undo) {
            std::string what = prefix() + (undo ? "undo " : "step ") + to_string(s);
            if (!r.ok) {
                log::error(what + ": FAILED: " + r.error, {{"EVENT", undo ? "undo-failed" : "step-failed"}, {"STEP", name_of(s)}, {"REASON", r.error}});
                return;
            }
            log::notice(what + ": ok" + (r.note.empty() ? "" : " (" + r.note + ")"), {{"EVENT", undo ? "undo" : "step"}, {"STEP", name_of(s)}});
            // What a (re-)add will copy stays in `status` while md copies it.
            if (!undo && (std::holds_alternative<step::ReAddMember>(s) || std::holds_alternative<step::AddMemberFull>(s)))
                asio::post(io_, [this, n = r.note] { copy_plan_ = n; });
        }, [](const Step& s) {
            // A long fsck or mount must not make systemd kill a starting/reloading unit.
            if (const auto* f = std::get_if<step::Fsck>(&s)) notify::extend_timeout(f->timeout + Millis(10000));
        });
        if (standby_) {
            RawWritesMark::Loaded mark = RawWritesMark(cfg.cluster.state_dir).load();
            if (!mark.error.empty()) log::warning(prefix() + mark.error, {{"EVENT", "raw-writes-mark"}});
            else if (mark.marked)
                log::warning(prefix() + "Y was written outside md (" + mark.reason + "): heartbeats say raw-written until " +
                                 peer_name_ + " has rebuilt X in full from Y",
                             {{"EVENT", "raw-writes-mark"}});
            sm_ = std::make_unique<StandbyMachine>(cfg_, state.lineage, mark.marked);
        }
        else pm_ = std::make_unique<PrimaryMachine>(cfg_, state.lineage, PrimaryMachine::Options{opt.init, opt.force_solo, opt.force});
    }

    // The standby at start: is Y in use on this node (restarted while it served)?
    std::optional<StandbyMachine::SpoolInUse> spool_in_use() const {
        const std::string& y = cfg_.find_node(self_name_)->spool_device;
        DeviceClaim claim = device_claim(y);
        if (!claim.error.empty())  // StartExport then fails with its own error, and is retried
            log::warning(prefix() + "at start: cannot tell whether " + y + " is in use: " + claim.error,
                         {{"EVENT", "spool-in-use"}, {"DEVICE", y}});
        if (claim.what.empty()) return std::nullopt;
        log::warning(prefix() + "at start: " + claim.what, {{"EVENT", "spool-in-use"}, {"DEVICE", y}});
        return StandbyMachine::SpoolInUse{claim.what, claim.by_loop};
    }

    int run() {
        for (const auto& p : link_.open()) problems_.push_back(p);
        open_control_socket();
        if (!problems_.empty()) {
            for (const auto& p : problems_) log::error(prefix() + p);
            return 1;
        }
        signals_.async_wait([this](auto ec, int sig) { on_signal(ec, sig); });
        if (watch_)
            if (std::string w = watch_->start(); !w.empty())
                log::warning(prefix() + w + "; a link blip will end in md failing the NBD leg instead of a reconnect",
                             {{"EVENT", "link-dead-unavailable"}});
        TimePoint now = Clock::now();
        since_ = now;
        apply(pm_ ? any(pm_->start(now)) : any(sm_->start(now, spool_in_use())), "started", now);
        tick();
        notify::ready(status_line());
        io_.run();
        pool_.join();
        if (watch_) watch_->stop();
        return 0;
    }

private:
    std::vector<HeartbeatLink::Path> link_paths() const {
        const config::Node& me = *cfg_.find_node(self_name_);
        const config::Node& peer = cfg_.peer_of(me);
        std::vector<HeartbeatLink::Path> v;
        for (const auto& p : cfg_.heartbeat.paths) v.push_back({p, me.addresses.at(p), peer.addresses.at(p)});
        return v;
    }

    std::string prefix() const { return role_ + " " + self_name_ + ": "; }

    Lineage lineage() const { return system_->state().lineage; }

    AnyDecision handle(const Event& e, TimePoint now) {
        return pm_ ? any(pm_->handle(e, now)) : any(sm_->handle(e, now));
    }

    void dispatch(const Event& e) {
        TimePoint now = Clock::now();
        apply(handle(e, now), name_of(e), now);
    }

    // One log line per decision; steps queued; the wake-up timer re-armed.
    void apply(const AnyDecision& d, const std::string& event, TimePoint now) {
        bool changed = d.state != state_;
        if (changed) {
            std::string from = state_.empty() ? "START" : state_;
            log::Level level = d.state == "SPLIT_BRAIN" ? log::Level::critical
                               : d.state == "HALTED"    ? log::Level::error
                               : d.warn                 ? log::Level::warning
                                                        : log::Level::notice;
            log::write(level, prefix() + from + " -> " + d.state + (d.reason.empty() ? "" : " (" + d.reason + ")"),
                       {{"EVENT", event}, {"FROM", from}, {"TO", d.state}, {"REASON", d.reason}});
            state_ = d.state;
            wire_state_ = d.wire;
            since_ = now;
            last_reason_ = d.reason;
            notify::status(status_line());
        } else if (!d.reason.empty()) {
            log::write(d.warn ? log::Level::warning : log::Level::notice, prefix() + d.state + ": " + d.reason,
                       {{"EVENT", event}, {"FROM", d.state}, {"TO", d.state}, {"REASON", d.reason}});
            last_reason_ = d.reason;
        }
        if (d.wake_at) arm_wake(*d.wake_at);
        else if (changed) wake_.cancel();
        if (!d.steps.empty()) {
            queue_.push_back({d.steps, d.undo, d.state, d.reason});
            run_next();
        }
    }

    void arm_wake(TimePoint at) {
        wake_.expires_at(at);
        wake_.async_wait([this](boost::system::error_code ec) {
            if (ec || stopping_) return;
            TimePoint now = Clock::now();
            if (paused_until_read(now)) {
                arm_wake(now + cfg_.heartbeat.interval);  // judge once the queued datagrams are read
                return;
            }
            dispatch(event::TimerFired{monitor_.facts(now)});
        });
    }

    // True when this process was just frozen (a stalled VM, SIGSTOP, a long swap-in): the tick is
    // overdue by several intervals. Timers and socket reads then become ready together, and a
    // timer handler run first would count the pause as the peer's silence although its
    // heartbeats already wait in our socket buffers. Silence is not judged until one interval
    // after such a resume, so the queued datagrams are read first.
    bool paused_until_read(TimePoint now) {
        const Millis interval = cfg_.heartbeat.interval;
        if (last_tick_ != TimePoint{} && now - last_tick_ > 3 * interval && now - resumed_at_ > interval) {
            resumed_at_ = now;
            log::info(prefix() + "this process was paused for " +
                          format_duration(std::chrono::duration_cast<Millis>(now - last_tick_)) +
                          "; judging the peer's silence only after the datagrams queued meanwhile are read",
                      {{"EVENT", "local-pause"}});
        }
        return now - resumed_at_ < interval;
    }

    struct Batch {
        std::vector<Step> steps;
        bool undo;
        std::string state;
        std::string reason;  // the decision's, told to hooks
    };

    void run_next() {
        if (running_ || queue_.empty() || stopping_) return;
        Batch b = std::move(queue_.front());
        queue_.pop_front();
        running_ = true;
        running_desc_ = b.state + ": " + std::to_string(b.steps.size()) + " step(s) from " + name_of(b.steps.front());
        log::notice(prefix() + "running " + std::to_string(b.steps.size()) + " step(s) for " + b.state + ":\n" + transcript(b.steps),
                    {{"EVENT", "steps"}});
        system_->set_hook_situation(b.state, b.reason);
        asio::post(pool_, [this, b = std::move(b)] {
            Event result = runner_->run(b.steps, b.undo);
            asio::post(io_, [this, result] { on_steps_done(result); });
        });
    }

    // From the mirror watch: md changes and LINK_DEAD, one log line each, then the machine decides.
    void on_mirror_event(const Event& e) {
        if (stopping_) return;
        if (const auto* f = std::get_if<event::MdMemberFailed>(&e))
            log::warning(prefix() + "md reports " + f->dev + " faulty", {{"EVENT", "md-member-failed"}, {"DEVICE", f->dev}});
        else if (std::holds_alternative<event::ResyncFinished>(e))
            log::info(prefix() + cfg_.spool.md_device + " is clean: both legs in sync", {{"EVENT", "md-clean"}});
        else if (const auto* l = std::get_if<event::NbdLinkLost>(&e))
            log::warning(prefix() + l->why, {{"EVENT", "nbd-link-dead"}});
        dispatch(e);
    }

    void on_steps_done(const Event& result) {
        if (watch_) watch_->recheck();  // a resync may have finished while the plan still ran
        running_ = false;
        running_desc_.clear();
        if (pm_) pm_->lineage_changed(lineage());
        else sm_->lineage_changed(lineage());
        dispatch(result);
        run_next();
    }

    // Every interval: heartbeats and pending requests on every path, silence, watchdog.
    void tick() {
        if (stopping_) return;
        TimePoint now = Clock::now();
        for (const auto& p : cfg_.heartbeat.paths) link_.send(p, encode(message(MessageType::heartbeat, p, now), key()));
        for (auto [id, kind] : outbox_.due(now, cfg_.heartbeat.interval))
            for (const auto& p : cfg_.heartbeat.paths) {
                Message m = message(MessageType::request, p, now);
                m.kind = kind;
                m.request_id = id;
                link_.send(p, encode(m, key()));
            }
        // Requests on our export are a sign of life of the primary (DESIGN §3).
        if (export_)
            if (auto t = export_->last_activity(); t && (!last_nbd_ || *t > *last_nbd_)) {
                last_nbd_ = t;
                monitor_.nbd_activity(*t);
            }
        bool paused = paused_until_read(now);
        last_tick_ = now;
        PeerFacts f = monitor_.facts(now);
        if (f.paths_alive() == 0 && !paused) dispatch(event::PeerSilent{f});
        if (notify::watchdog_interval()) notify::watchdog();
        tick_.expires_after(cfg_.heartbeat.interval);
        tick_.async_wait([this](boost::system::error_code ec) {
            if (!ec) tick();
        });
    }

    const std::string& key() const { return key_; }

    Message message(MessageType type, const std::string& path, TimePoint now) {
        Message m;
        m.type = type;
        m.cluster = cfg_.cluster.name;
        m.sender = self_name_;
        m.boot_id = boot_;
        m.sequence = ++sequence_;
        m.timestamp_ms = wall_ms();
        m.status.primary = !standby_;
        m.status.state = wire_state_;
        m.status.lineage = lineage();
        m.status.md = mirror_health();
        if (md_ && !standby_) m.status.md_percent = sync_percent_of(*md_);
        if (auto it = echo_.find(path); it != echo_.end()) {
            m.echo_timestamp_ms = it->second.first;
            m.echo_hold_ms = static_cast<uint32_t>(std::chrono::duration_cast<Millis>(now - it->second.second).count());
        }
        return m;
    }

    // The machine's word, made worse (never better) by what md shows: MIRRORED while the initial
    // sync after --init still runs says "resyncing", so the standby knows Y is incomplete.
    MirrorHealth mirror_health() const {
        // The standby has no mirror of its own to report; it says whether Y was written outside md.
        if (!pm_) return sm_ && sm_->raw_written() ? MirrorHealth::raw_written : MirrorHealth::unknown;
        MirrorHealth h;
        switch (pm_->state()) {
            case PrimaryState::MIRRORED: h = MirrorHealth::in_sync; break;
            case PrimaryState::DEGRADED: return MirrorHealth::degraded;
            case PrimaryState::RESYNC: return MirrorHealth::resyncing;
            default: return MirrorHealth::unknown;
        }
        if (md_) {
            MirrorHealth seen = mirror_health_of(*md_);
            if (seen != MirrorHealth::in_sync) h = seen;
        }
        return h;
    }

    void queue_request(MessageKind k) {
        uint64_t id = outbox_.add(k, Clock::now());
        log::notice(prefix() + "asking " + peer_name_ + ": " + to_string(k) + " (request " + std::to_string(id) +
                        ", resent every " + format_duration(cfg_.heartbeat.interval) + " until acknowledged)",
                    {{"EVENT", "request"}});
    }

    void on_datagram(const std::string& path, const uint8_t* data, size_t n) {
        TimePoint now = Clock::now();
        uint64_t wall = wall_ms();
        Decoded d = gate_.accept(data, n, wall);
        if (d.message && d.message->status.primary != standby_) {
            // The peer claims our own role: a misconfiguration, never acted on.
            d.message.reset();
            d.reject = Reject::malformed;
            d.detail = peer_name_ + " claims the role " + std::string(standby_ ? "standby" : "primary") + " too";
        }
        if (!d.message) {
            uint64_t count = ++dropped_[to_string(d.reject)];
            std::string line = prefix() + "dropped a datagram on path " + path + ": " + to_string(d.reject) + ": " + d.detail +
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
                log::debug(prefix() + "heartbeat from " + peer_name_ + " on " + path + ": " + m.status.state_name());
                dispatch(event::HeartbeatReceived{m.status, monitor_.facts(now)});
                break;
            case MessageType::request: {
                Message ack = message(MessageType::ack, path, now);
                ack.kind = m.kind;
                ack.request_id = m.request_id;
                link_.send(path, encode(ack, key()));
                if (inbox_.first_time(m.boot_id, m.request_id)) {
                    log::notice(prefix() + peer_name_ + " says: " + to_string(m.kind), {{"EVENT", "peer-request"}});
                    dispatch(event::PeerRequest{m.kind});
                }
                break;
            }
            case MessageType::ack:
                if (outbox_.acknowledged(m.request_id))
                    log::notice(prefix() + peer_name_ + " acknowledged " + to_string(m.kind), {{"EVENT", "peer-ack"}});
                break;
        }
    }

    // ---- control socket: one line in ("status", "status-json", "switchover", "failback",
    // "resolve discard=NODE"), text out.
    void open_control_socket() {
        const std::string& path = cfg_.cluster.control_socket;
        std::string dir = path.substr(0, path.rfind('/'));
        if (!dir.empty()) ::mkdir(dir.c_str(), 0700);
        ::unlink(path.c_str());
        boost::system::error_code ec;
        acceptor_.open(local_stream(), ec);
        if (!ec) acceptor_.bind(local_stream::endpoint(path), ec);
        if (!ec) ::chmod(path.c_str(), 0600);
        if (!ec) acceptor_.listen(4, ec);
        if (ec) {
            problems_.push_back("cannot listen on the control socket " + path + ": " + ec.message());
            return;
        }
        do_accept();
    }

    void do_accept() {
        acceptor_.async_accept([this](boost::system::error_code ec, local_stream::socket s) {
            if (ec) return;
            auto sock = std::make_shared<local_stream::socket>(std::move(s));
            auto buf = std::make_shared<asio::streambuf>(4096);
            asio::async_read_until(*sock, *buf, '\n', [this, sock, buf](boost::system::error_code ec2, size_t) {
                std::string line;
                if (!ec2) {
                    std::istream in(buf.get());
                    std::getline(in, line);
                }
                auto reply = std::make_shared<std::string>(control(line));
                asio::async_write(*sock, asio::buffer(*reply), [sock, reply](boost::system::error_code, size_t) {
                    boost::system::error_code ignored;
                    sock->shutdown(local_stream::socket::shutdown_both, ignored);
                });
            });
            do_accept();
        });
    }

    std::string control(const std::string& line) {
        if (line == "status") return status_text();
        if (line == "status-json") return status_json();
        if (line == "switchover" || line == "failback") {
            std::string before = state_;
            auto cmd = line == "switchover" ? event::Command::switchover : event::Command::failback;
            TimePoint now = Clock::now();
            AnyDecision d = handle(event::OperatorCommand{cmd}, now);
            apply(d, "OperatorCommand", now);
            std::string what = d.reason.empty() ? "no change" : d.reason;
            return (d.state != before || !d.steps.empty() ? "ok: " : "refused: ") + self_name_ + " " + d.state + ": " + what + "\n";
        }
        if (line.rfind("resolve discard=", 0) == 0) {
            // The machine checks the node and its state; a resolve run here is passed on to the
            // peer by the decision's NotifyPeer step (discard-primary/-standby).
            std::string before = state_;
            TimePoint now = Clock::now();
            AnyDecision d = handle(event::ResolveRequested{line.substr(16)}, now);
            apply(d, "ResolveRequested", now);
            return (d.state != before || !d.steps.empty() ? "ok: " : "refused: ") + self_name_ + " " + d.state + ": " +
                   (d.reason.empty() ? "no change" : d.reason) + "\n";
        }
        return "error: unknown control command '" + line +
               "' (status, status-json, switchover, failback, resolve discard=NODE)\n";
    }

    std::string status_line() const {
        return role_ + " " + self_name_ + ": " + state_ + ", generation " + to_string(lineage().current);
    }

    std::string age(std::optional<TimePoint> t, TimePoint now) const {
        return t ? format_duration(std::chrono::duration_cast<Millis>(now - *t)) + " ago" : "never";
    }

    std::string status_text() const {
        TimePoint now = Clock::now();
        std::ostringstream o;
        NodeState st = system_->state();
        o << role_ << " " << self_name_ << ": " << state_ << " for "
          << format_duration(std::chrono::duration_cast<Millis>(now - since_)) << "\n";
        if (!last_reason_.empty()) o << "  last decision: " << last_reason_ << "\n";
        o << "  generation " << to_string(st.lineage.current);
        if (!st.history.empty()) o << " (" << st.history.back().reason << ")";
        o << "\n  steps: " << (running_ ? "running " + running_desc_ : "idle") << "\n";
        if (pm_) o << "  md " << cfg_.spool.md_device << ": " << md_text() << "\n";
        if (export_) o << "  export of Y: " << (export_->running() ? "running, " + std::to_string(export_->open_sessions()) + " session(s)" : "stopped") << "\n";
        o << "peer " << peer_name_ << ": ";
        if (peer_)
            o << peer_->state_name() << ", generation " << to_string(peer_->lineage.current) << ", md "
              << to_string(peer_->md) << ", nbd " << to_string(peer_->nbd) << "\n";
        else o << "never heard\n";
        PeerFacts f = monitor_.facts(now);
        for (const auto& p : f.paths) {
            o << "  path " << p.name << ": " << (p.stable ? "up" : p.alive ? "up (not yet stable)" : "down")
              << ", last heard " << age(p.last_seen, now);
            if (p.rtt) o << ", rtt " << p.rtt->count() << "ms";
            o << "\n";
        }
        if (!dropped_.empty()) {
            o << "  dropped datagrams:";
            for (const auto& [why, n] : dropped_) o << " " << why << "=" << n;
            o << "\n";
        }
        return o.str();
    }

    // "clean", "degraded (nbd0 faulty)", "recover 42%", "not running"
    std::string md_text() const {
        if (!md_) return "not running";
        std::string s = md_->degraded ? "degraded" : md_->sync_action == "idle" ? "clean" : md_->sync_action;
        if (md_->sync_action != "idle") {
            s += " " + std::to_string(sync_percent_of(*md_)) + "%";
            // md recovers a member only after our (re-)add; a resync (a new or unclean array) is not ours
            if (md_->sync_action == "recover" && !copy_plan_.empty()) s += ", " + copy_plan_;
        }
        std::string members;
        for (const auto& m : md_->members)
            members += (members.empty() ? "" : ", ") + m.block_device + " " + m.state.text;
        return s + (members.empty() ? "" : " (" + members + ")");
    }

    std::string status_json() const {
        TimePoint now = Clock::now();
        NodeState st = system_->state();
        PeerFacts f = monitor_.facts(now);
        std::ostringstream o;
        auto ms_ago = [&](std::optional<TimePoint> t) {
            return t ? std::to_string(std::chrono::duration_cast<Millis>(now - *t).count()) : std::string("null");
        };
        o << "{\"node\":" << json_string(self_name_) << ",\"role\":" << json_string(role_)
          << ",\"state\":" << json_string(state_)
          << ",\"state_for_ms\":" << std::chrono::duration_cast<Millis>(now - since_).count()
          << ",\"last_decision\":" << json_string(last_reason_)
          << ",\"generation\":" << json_string(to_string(st.lineage.current))
          << ",\"steps_running\":" << (running_ ? json_string(running_desc_) : "null");
        if (pm_) o << ",\"md\":" << json_string(md_text());
        if (export_) o << ",\"export_running\":" << (export_->running() ? "true" : "false");
        o << ",\"peer\":{\"node\":" << json_string(peer_name_);
        if (peer_)
            o << ",\"state\":" << json_string(peer_->state_name()) << ",\"generation\":" << json_string(to_string(peer_->lineage.current))
              << ",\"md\":" << json_string(to_string(peer_->md)) << ",\"nbd\":" << json_string(to_string(peer_->nbd));
        o << ",\"paths\":[";
        for (size_t i = 0; i < f.paths.size(); ++i) {
            const auto& p = f.paths[i];
            o << (i ? "," : "") << "{\"name\":" << json_string(p.name) << ",\"alive\":" << (p.alive ? "true" : "false")
              << ",\"stable\":" << (p.stable ? "true" : "false") << ",\"last_heard_ms_ago\":" << ms_ago(p.last_seen)
              << ",\"rtt_ms\":" << (p.rtt ? std::to_string(p.rtt->count()) : "null") << "}";
        }
        o << "]},\"dropped\":{";
        bool first = true;
        for (const auto& [why, n] : dropped_) {
            o << (first ? "" : ",") << json_string(why) << ":" << n;
            first = false;
        }
        o << "}}\n";
        return o.str();
    }

    // ---- signals
    void on_signal(boost::system::error_code ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
            reload();
            signals_.async_wait([this](auto e, int s) { on_signal(e, s); });
            return;
        }
        stopping_ = true;
        if (watch_) watch_->stop();
        log::notice(prefix() + "stopping on signal " + std::to_string(sig) + " in state " + state_ +
                        " (nothing is undone: the service stays as it is)",
                    {{"EVENT", "stopping"}});
        notify::stopping(status_line());
        link_.close();
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        ::unlink(cfg_.cluster.control_socket.c_str());
        tick_.cancel();
        wake_.cancel();
        io_.stop();
    }

    void reload() {
        notify::reloading();
        config::LoadResult r = config::load_file(opt_.config_file);
        std::string why;
        if (!r.config) {
            why = std::to_string(r.errors.size()) + " problem(s), first: " + (r.errors.empty() ? "" : r.errors[0].to_string());
        } else {
            const config::Config& n = *r.config;
            const config::Node* me = n.find_node(self_name_);
            if (!me || me->role != cfg_.find_node(self_name_)->role) why = "this node's name or role changed";
            else if (n.cluster.name != cfg_.cluster.name) why = "cluster.name changed";
            else if (n.heartbeat.paths != cfg_.heartbeat.paths || n.heartbeat.port != cfg_.heartbeat.port ||
                     me->addresses != cfg_.find_node(self_name_)->addresses ||
                     n.peer_of(*me).addresses != cfg_.peer_of(*cfg_.find_node(self_name_)).addresses ||
                     n.cluster.control_socket != cfg_.cluster.control_socket || n.cluster.state_dir != cfg_.cluster.state_dir)
                why = "addresses, paths, port, state_dir or control_socket changed (a restart applies those)";
        }
        config::Secret secret;
        if (why.empty()) {
            secret = config::read_secret(r.config->cluster.secret_file);
            if (!secret.error.empty()) why = secret.error;
        }
        if (!why.empty()) {
            log::error(prefix() + "reload refused, keeping the running configuration: " + why, {{"EVENT", "reload-refused"}});
        } else {
            cfg_ = *r.config;  // the machines and plans read cfg_ by reference
            key_ = secret.key;
            gate_.set_key(key_);
            log::notice(prefix() + "reloaded " + opt_.config_file, {{"EVENT", "reloaded"}});
        }
        notify::ready(status_line());
    }

    config::Config cfg_;
    std::string self_name_;
    DaemonOptions opt_;
    bool standby_;
    std::string peer_name_;
    std::string role_;
    std::string key_;
    asio::io_context io_;
    asio::thread_pool pool_{1};
    asio::signal_set signals_{io_, SIGTERM, SIGINT, SIGHUP};
    asio::steady_timer tick_{io_};
    asio::steady_timer wake_{io_};
    local_stream::acceptor acceptor_{io_};
    PeerGate gate_;
    PeerMonitor monitor_;
    HeartbeatLink link_;
    Outbox outbox_;
    Inbox inbox_;
    BootId boot_;
    uint64_t sequence_ = 0;
    std::unique_ptr<SpoolExport> export_;    // standby: the export of Y
    std::unique_ptr<MirrorWatch> watch_;     // primary: md and LINK_DEAD
    std::optional<raid::MdSnapshot> md_;     // primary: the array as last seen
    std::string copy_plan_;                  // primary: what the last (re-)add said md will copy
    std::optional<TimePoint> last_nbd_;      // standby: newest request on the export
    TimePoint last_tick_{};                  // when tick() last ran (local pause detection)
    TimePoint resumed_at_{};                 // the last resume after a local pause
    std::unique_ptr<LinuxSystem> system_;
    std::unique_ptr<StepRunner> runner_;
    std::unique_ptr<PrimaryMachine> pm_;
    std::unique_ptr<StandbyMachine> sm_;
    std::deque<Batch> queue_;
    bool running_ = false;
    bool stopping_ = false;
    std::string running_desc_;
    std::string state_;
    uint8_t wire_state_ = 0;
    TimePoint since_{};
    std::string last_reason_;
    std::optional<PeerStatus> peer_;
    std::map<std::string, std::pair<uint64_t, TimePoint>> echo_;
    std::map<std::string, uint64_t> dropped_;
    std::vector<std::string> problems_;
};

}  // namespace

int run_daemon(const config::Config& cfg, const std::string& self_name, const DaemonOptions& opt) {
    const config::Node* self = cfg.find_node(self_name);
    bool standby = self->role == config::Role::standby;
    std::string who = std::string(standby ? "standby " : "primary ") + self_name + ": ";
    NodeStateStore store(cfg.cluster.state_dir, self_name);
    if (opt.init) {
        if (std::string e = store.initialise(standby, std::time(nullptr)); !e.empty()) {
            log::error(who + "--init refused: " + e);
            return 2;
        }
        log::notice(who + "initialised " + store.path());
    }
    NodeStateStore::Loaded loaded = store.load();
    if (!loaded.state) {
        log::error(who + "refusing to start: " + loaded.error, {{"EVENT", "state-unusable"}});
        return 1;
    }
    config::Secret secret = config::read_secret(cfg.cluster.secret_file);
    if (!secret.error.empty()) {
        log::error(who + "refusing to start: " + secret.error);
        return 2;
    }
    if (opt.force_solo) log::warning(who + "--force-solo: X will be served without hearing the standby");
    Daemon d(cfg, self_name, opt, *loaded.state, secret.key);
    return d.run();
}

}  // namespace haspool::agent
