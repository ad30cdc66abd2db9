#include "agent/daemon/daemon.hpp"

#include <utility>  // before Asio: its awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>

#include <algorithm>
#include <csignal>
#include <ctime>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string_view>

#include "agent/control/control_protocol.hpp"
#include "agent/control/event_stream.hpp"
#include "agent/control/failback_preview.hpp"
#include "agent/control/health_check.hpp"
#include "agent/control/metrics_text.hpp"
#include "agent/control/peer_report.hpp"
#include "agent/core/md_transitions.hpp"
#include "agent/core/node_machine.hpp"
#include "agent/peer/pause_detector.hpp"
#include "agent/control/reload_decision.hpp"
#include "agent/control/status_report.hpp"
#include "agent/daemon/control_socket.hpp"
#include "agent/daemon/metrics_file.hpp"
#include "agent/daemon/peer_channel.hpp"
#include "agent/daemon/transition_notifier.hpp"
#include "agent/log/log.hpp"
#include "agent/log/message_ids.hpp"
#include "agent/log/sd_notify.hpp"
#include "agent/store/node_state.hpp"
#include "agent/store/persisted_mark.hpp"
#include "agent/system/linux_system.hpp"
#include "agent/system/mirror_watch.hpp"
#include "agent/system/nbd_tls_keys.hpp"
#include "agent/system/spool_export.hpp"
#include "agent/system/step_runner.hpp"
#include "config/config_loader.hpp"
#include "config/host_check.hpp"

namespace haspool::agent {

namespace asio = boost::asio;

namespace {

bool is_standby(const config::Config& cfg, const std::string& self) {
    return cfg.find_node(self)->role == config::Role::standby;
}

// "standby beta: ", the start of every log line.
std::string log_prefix(const config::Config& cfg, const std::string& self) {
    return std::string(is_standby(cfg, self) ? "standby " : "primary ") + self + ": ";
}

// A persisted mark at start: whether it is set, said once when it is (or cannot be read, which
// counts as set): "HEAD (REASON): TAIL".
bool mark_at_start(const PersistedMark& m, const std::string& prefix, const char* event, const std::string& head,
                   const std::string& tail) {
    PersistedMark::Loaded l = m.load();
    if (!l.error.empty()) log::warning(prefix + l.error, {{"EVENT", event}});
    else if (l.marked) log::warning(prefix + head + " (" + l.reason + "): " + tail, {{"EVENT", event}});
    return l.marked;
}

// This node's machine. The standby's starts from the persisted raw-writes mark, the primary's
// from the x-lost mark.
NodeMachine make_machine(const config::Config& cfg, const std::string& self, const Lineage& lineage, const DaemonOptions& opt) {
    const std::string prefix = log_prefix(cfg, self), peer = cfg.peer_of(*cfg.find_node(self)).name;
    if (!is_standby(cfg, self)) {
        bool lost = mark_at_start(PersistedMark::x_lost(cfg.cluster.state_dir), prefix, "x-lost-mark", "X is marked lost",
                                  "serving only from " + peer + "'s Y until 'haspool replace-disk' rebuilds X");
        return NodeMachine::primary(cfg, lineage, PrimaryMachine::Options{opt.init, opt.force_solo, opt.force, lost});
    }
    bool raw = mark_at_start(PersistedMark::raw_writes(cfg.cluster.state_dir), prefix, "raw-writes-mark",
                             "Y was written outside md",
                             "heartbeats say raw-written until " + peer + " has rebuilt X in full from Y");
    return NodeMachine::standby(cfg, lineage, raw);
}

// The standby at start: is Y in use on this node (restarted while it served)?
std::optional<StandbyMachine::SpoolInUse> spool_in_use(const std::string& prefix, const std::string& y) {
    DeviceClaim claim = device_claim(y);
    if (!claim.error.empty())  // StartExport then fails with its own error, and is retried
        log::warning(prefix + "at start: cannot tell whether " + y + " is in use: " + claim.error,
                     {{"EVENT", "spool-in-use"}, {"DEVICE", y}});
    if (claim.what.empty()) return std::nullopt;
    log::warning(prefix + "at start: " + claim.what, {{"EVENT", "spool-in-use"}, {"DEVICE", y}});
    return StandbyMachine::SpoolInUse{claim.what, claim.by_loop};
}

// The wall clock for `haspool events` lines (Unix ms): for people reading them, never for ordering.
UnixMillis unix_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// One line per step and undo step, ok (with what it found or did) or FAILED with the reason.
void log_step(const std::string& prefix, const Step& s, const StepResult& r, bool undo) {
    std::string what = prefix + (undo ? "undo " : "step ") + to_string(s);
    if (!r.ok)
        log::error(what + ": FAILED: " + r.error,
                   {{"EVENT", undo ? "undo-failed" : "step-failed"}, {"STEP", name_of(s)}, {"REASON", r.error},
                    {"DURATION_MS", std::to_string(r.elapsed.count())}});
    else
        log::notice(what + ": ok" + (r.note.empty() ? "" : " (" + r.note + ")"),
                    {{"EVENT", undo ? "undo" : "step"}, {"STEP", name_of(s)}, {"DURATION_MS", std::to_string(r.elapsed.count())}});
}

// The standby's export of Y, its sessions logged.
std::unique_ptr<SpoolExport> make_spool_export(const std::string& prefix) {
    return std::make_unique<SpoolExport>([prefix](const std::string& kind, const std::string& msg) {
        std::string line = prefix + "NBD export: " + msg;
        if (kind == "refused" || kind == "accept-failed") log::warning(line, {{"EVENT", "nbd-" + kind}});
        else log::info(line, {{"EVENT", "nbd-" + kind}});
    });
}

// Before every step: a long fsck must not make systemd kill a starting/reloading unit.
void extend_start_timeout(const Step& s) {
    if (const auto* f = std::get_if<step::Fsck>(&s)) notify::extend_timeout(f->timeout + Millis(10000));
}

// A transition's log level: SPLIT_BRAIN critical, HALTED error, a degraded choice a warning.
log::Level transition_level(const NodeDecision& d) {
    return d.state == "SPLIT_BRAIN" ? log::Level::critical
           : d.state == "HALTED"    ? log::Level::error
           : d.warn                 ? log::Level::warning
                                    : log::Level::notice;
}

// The daemon: the wiring between the io_context (timers, signals, the peer channel, the control
// socket), this node's machine, and the System that runs its steps on one worker thread.
class Daemon {
public:
    Daemon(const config::Config& cfg, const std::string& self, const DaemonOptions& opt, NodeState state, KeyRing keys)
        : cfg_(cfg), self_name_(self), opt_(opt), prefix_(log_prefix(cfg, self)),
          machine_(make_machine(cfg_, self, state.lineage, opt)),
          peer_(io_, cfg_, self, std::move(keys), prefix_, [this] { return own_status(); },
                [this](const Event& e) { dispatch(e); }),
          control_(io_, cfg_.cluster.control_socket, [this](const std::string& line) { return control(line); },
                   ControlSocket::Limits{}, cfg_.cluster.control_group,
                   [this](const std::string& s, const char* event) { log::warning(prefix_ + s, {{"EVENT", event}}); }) {
        if (machine_.standby()) export_ = make_spool_export(prefix_);
        else
            watch_ = std::make_unique<MirrorWatch>(
                cfg_.spool.md_device, cfg_.nbd.device_index,
                [this](Event e) { asio::post(io_, [this, e = std::move(e)] { on_mirror_event(e); }); },
                [this](const std::optional<raid::MdSnapshot>& s) {
                    asio::post(io_, [this, s] {
                        md_ = s;
                        // the failback preview's time estimate: md's own speed, the last it measured
                        if (s && s->sync_speed_kib && *s->sync_speed_kib > 0) last_sync_bps_ = *s->sync_speed_kib * 1024;
                    });
                });
        system_ = std::make_unique<LinuxSystem>(NodeStateStore(cfg_.cluster.state_dir, self), PersistedMark::raw_writes(cfg_.cluster.state_dir),
                                                machine_.standby(),
                                                [this](MessageKind k) { asio::post(io_, [this, k] { peer_.request(k, Clock::now()); }); },
                                                export_.get());
        system_->set_state(state);
        system_->set_announcer_context(io_);
        runner_ = std::make_unique<StepRunner>(*system_, [this](const Step& s, const StepResult& r, bool undo) {
            log_step(prefix_, s, r, undo);
            asio::post(io_, [this, l = step_event(self_name_, unix_now(), name_of(s), to_string(s), undo, r.ok,
                                                  r.ok ? r.note : r.error, r.elapsed.count())] { control_.publish(l); });
            // What a (re-)add will copy stays in `status` while md copies it.
            if (r.ok && !undo && (std::holds_alternative<step::ReAddMember>(s) || std::holds_alternative<step::AddMemberFull>(s)))
                asio::post(io_, [this, n = r.note] { copy_plan_ = n; });
        }, extend_start_timeout);
    }

    int run() {
        std::vector<std::string> problems = peer_.open();
        control_.set_stream_opener([this](const std::string& line) -> std::optional<std::string> {
            ControlRequest q = parse_control_line(line);
            if (q.kind != ControlRequest::Kind::events) return std::nullopt;
            return q.events_now ? status_event(status_report(), unix_now()) : std::string();
        });
        control_.set_deferrer([this](const std::string& line, ControlSocket::Answer answer) {
            return ask_peer_then_answer(line, std::move(answer));
        });
        peer_.set_report_source([this](uint64_t id, const std::string& path, bool with_disk) {
            report_to_peer(id, path, with_disk);
        });
        peer_.set_report_sink([this](uint64_t id, const std::string& payload) { on_peer_report(id, payload); });
        if (std::string p = control_.open(); !p.empty()) problems.push_back(p);
        if (!problems.empty()) {
            for (const auto& p : problems) log::error(prefix_ + p);
            return 1;
        }
        signals_.add(SIGUSR1);
        signals_.async_wait([this](auto ec, int sig) { on_signal(ec, sig); });
        if (watch_)
            if (std::string w = watch_->start(); !w.empty())
                log::warning(prefix_ + w + "; a link blip will end in md failing the NBD leg instead of a reconnect",
                             {{"EVENT", "link-dead-unavailable"}});
        std::optional<StandbyMachine::SpoolInUse> in_use;
        if (export_) in_use = spool_in_use(prefix_, cfg_.find_node(self_name_)->spool_device);
        TimePoint now = Clock::now();
        since_ = now;
        apply(machine_.start(now, in_use), "started", now);
        tick();
        notify::ready(status_line());
        io_.run();
        pool_.join();
        probe_.join();
        if (watch_) watch_->stop();
        metrics_.stop();  // a clean stop: the file goes, node_exporter stops reporting this node
        return 0;
    }

private:
    // The peer's own report awaited (ask_peer): by `status`, and by `plan failback` (with Y's bitmap).
    struct Query {
        uint64_t id;
        TimePoint sent;
    };
    struct PendingQuery {
        using Waiter = std::function<void(const std::optional<std::string>& payload, Millis took)>;
        explicit PendingQuery(asio::io_context& io) : timer(io) {}
        std::optional<Query> query;
        std::vector<Waiter> waiting;
        asio::steady_timer timer;
    };
    struct Batch {
        std::vector<Step> steps;
        bool undo;
        std::string state;
        std::string reason;  // the decision's, told to hooks
    };

    Lineage lineage() const { return system_->state().lineage; }

    void dispatch(const Event& e) {
        TimePoint now = Clock::now();
        apply(machine_.handle(e, now), name_of(e), now);
    }

    // One log line per decision; steps queued; the wake-up timer re-armed.
    void apply(const NodeDecision& d, const std::string& event, TimePoint now) {
        bool changed = d.state != state_;
        if (changed) {
            std::string from = state_.empty() ? "START" : state_;
            std::vector<log::Field> fields = {{"EVENT", event}, {"FROM", from}, {"TO", d.state}, {"REASON", d.reason},
                                              {"NODE", self_name_}};
            if (const char* id = log::message_id_for_state(d.state)) fields.push_back({"MESSAGE_ID", id});
            log::write(transition_level(d), prefix_ + from + " -> " + d.state + (d.reason.empty() ? "" : " (" + d.reason + ")"),
                       std::move(fields));
            if (!state_.empty()) last_stay_[state_] = std::chrono::duration_cast<Millis>(now - since_);
            ++entered_[d.state];
            transitions_.push_back({now, from, d.state, d.reason, event});
            if (transitions_.size() > kTransitionsKept) transitions_.pop_front();
            state_ = d.state;
            wire_state_ = d.wire;
            since_ = now;
            last_reason_ = d.reason;
            notify::status(status_line());
            control_.publish(transition_event(self_name_, unix_now(), from, d.state, d.reason, event,
                                              to_string(system_->state().lineage.current)));
            if (!cfg_.hooks.notify.empty())
                notifier_.notify({cfg_.hooks.notify, cfg_.hooks.timeout,
                                  {{"HASPOOL_EVENT", "transition"}, {"HASPOOL_NODE", self_name_},
                                   {"HASPOOL_ROLE", machine_.role()}, {"HASPOOL_PEER", peer_.peer_name()},
                                   {"HASPOOL_FROM", from}, {"HASPOOL_STATE", d.state}, {"HASPOOL_REASON", d.reason},
                                   {"HASPOOL_GENERATION", to_string(system_->state().lineage.current)},
                                   {"HASPOOL_TRIGGER", event}, {"HASPOOL_TIME", std::to_string(std::time(nullptr))}}});
        } else if (!d.reason.empty()) {
            log::write(d.warn ? log::Level::warning : log::Level::notice, prefix_ + d.state + ": " + d.reason,
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
            if (paused(now)) {
                arm_wake(now + cfg_.heartbeat.interval);  // judge once the queued datagrams are read
                return;
            }
            dispatch(event::TimerFired{peer_.facts(now)});
        });
    }

    // Every interval: heartbeats and pending requests on every path, silence, watchdog.
    void tick() {
        if (stopping_) return;
        TimePoint now = Clock::now();
        peer_.send_heartbeats(now);
        if (export_) {  // requests on our export are a sign of life of the primary (docs/design.md §3)
            if (auto t = export_->last_activity()) peer_.nbd_activity(*t);
            // Y answering I/O errors (docs/faults.md, loss of Y): the machine hears each new count.
            if (uint64_t n = export_->io_errors(); n > y_errors_seen_) {
                if (y_errors_seen_ == 0)  // the first; the machine's decision says the rest once
                    log::error(prefix_ + "the export of " + cfg_.standby().spool_device + " answered " + std::to_string(n) +
                               " request(s) with an I/O error",
                               {{"EVENT", "y-io-error"}, {"DEVICE", cfg_.standby().spool_device},
                                {"NODE", self_name_}, {"MESSAGE_ID", log::kMessageYFailed}});
                y_errors_seen_ = n;
                dispatch(event::YFailed{std::to_string(n) + " request(s) on " + cfg_.standby().spool_device +
                                        " answered with an I/O error by the disk (the export's count)"});
            }
        }
        bool hold = paused(now);
        pause_.ticked(now);
        PeerFacts f = peer_.facts(now);
        publish_path_changes(f);
        if (f.paths_alive() == 0 && !hold) dispatch(event::PeerSilent{f});
        if (notify::watchdog_interval()) notify::watchdog();
        // metrics.textfile: written by its own thread; an empty path (unset by a reload) removes it.
        const std::string& textfile = cfg_.metrics.textfile;
        metrics_.publish(textfile, textfile.empty() ? std::string() : render_metrics(status_report()));
        tick_.expires_after(cfg_.heartbeat.interval);
        tick_.async_wait([this](boost::system::error_code ec) {
            if (!ec) tick();
        });
    }

    // `haspool events`: a line for each heartbeat path whose alive/stable changed since the last
    // tick (the first tick reports every path).
    void publish_path_changes(const PeerFacts& f) {
        for (const auto& p : f.paths) {
            auto [it, first] = paths_seen_.try_emplace(p.name, std::make_pair(p.alive, p.stable));
            if (!first && it->second == std::make_pair(p.alive, p.stable)) continue;
            it->second = {p.alive, p.stable};
            control_.publish(path_event(self_name_, unix_now(), p.name, p.alive, p.stable));
        }
    }

    // True while the peer's silence must not be judged: this process was just frozen
    // (pause_detector.hpp); the pause is logged once.
    bool paused(TimePoint now) {
        PauseDetector::Verdict v = pause_.judge(now, cfg_.heartbeat.interval);
        if (v.resumed_after)
            log::info(prefix_ + "this process was paused for " + format_duration(*v.resumed_after) +
                          "; judging the peer's silence only after the datagrams queued meanwhile are read",
                      {{"EVENT", "local-pause"}});
        return v.hold;
    }

    // What our heartbeats say about this node.
    PeerStatus own_status() const {
        PeerStatus s;
        s.primary = !machine_.standby();
        s.state = wire_state_;
        s.lineage = lineage();
        s.md = machine_.mirror_health(md_);
        if (md_) s.md_percent = sync_percent_of(*md_);
        return s;
    }

    void run_next() {
        if (running_ || queue_.empty() || stopping_) return;
        Batch b = std::move(queue_.front());
        queue_.pop_front();
        running_ = true;
        running_desc_ = b.state + ": " + std::to_string(b.steps.size()) + " step(s) from " + name_of(b.steps.front());
        log::notice(prefix_ + "running " + std::to_string(b.steps.size()) + " step(s) for " + b.state + ":\n" + transcript(b.steps),
                    {{"EVENT", "steps"}});
        system_->set_hook_situation(b.state, b.reason);
        asio::post(pool_, [this, b = std::move(b)] {
            Event result = runner_->run(b.steps, b.undo);
            asio::post(io_, [this, result] { on_steps_done(result); });
        });
    }

    void on_steps_done(const Event& result) {
        if (watch_) watch_->recheck();  // a resync may have finished while the plan still ran
        running_ = false;
        running_desc_.clear();
        machine_.lineage_changed(lineage());
        dispatch(result);
        run_next();
    }

    // From the mirror watch: md changes and LINK_DEAD, one log line each, then the machine decides.
    void on_mirror_event(const Event& e) {
        if (stopping_) return;
        if (const auto* f = std::get_if<event::MdMemberFailed>(&e)) {
            log::warning(prefix_ + "md reports " + f->dev + " faulty", {{"EVENT", "md-member-failed"}, {"DEVICE", f->dev}});
            control_.publish(md_event(self_name_, unix_now(), "md-member-failed", f->dev));
        } else if (std::holds_alternative<event::ResyncFinished>(e)) {
            log::info(prefix_ + cfg_.spool.md_device + " is clean: both legs in sync", {{"EVENT", "md-clean"}});
            control_.publish(md_event(self_name_, unix_now(), "md-clean", cfg_.spool.md_device));
        } else if (const auto* l = std::get_if<event::NbdLinkLost>(&e)) {
            log::warning(prefix_ + l->why, {{"EVENT", "nbd-link-dead"}});
            control_.publish(md_event(self_name_, unix_now(), "nbd-link-dead", l->why));
        }
        dispatch(e);
    }

    // ---- the control socket's lines (control_protocol.hpp)
    std::string control(const std::string& line) {
        ControlRequest q = parse_control_line(line);
        switch (q.kind) {
            case ControlRequest::Kind::status: return render_text(status_report());
            case ControlRequest::Kind::status_json: return render_json(status_report());
            case ControlRequest::Kind::status_check: return health_check(status_report()).line;
            case ControlRequest::Kind::operator_command: return operate(event::OperatorCommand{q.command});
            case ControlRequest::Kind::resolve:
                // The machine checks the node and its state; a resolve run here is passed on to
                // the peer by the decision's NotifyPeer step (discard-primary/-standby).
                return operate(event::ResolveRequested{q.discard});
            case ControlRequest::Kind::events: break;  // the stream opener takes these lines
            case ControlRequest::Kind::preview_failback: break;  // the deferrer takes these lines
            case ControlRequest::Kind::unknown: break;
        }
        return unknown_command_reply(line);
    }

    // `status` and `status-json` ask the peer's daemon itself over the peer channel (issue 15
    // item 1) and answer once it replies or the wait is over; one query serves every caller
    // waiting meanwhile. Nothing is asked when no path to the peer is alive. The wait is bounded
    // (ControlSocket leaves that to us): twice the heartbeat interval, within 0.2-1.5 s.
    bool ask_peer_then_answer(const std::string& line, ControlSocket::Answer answer) {
        ControlRequest q = parse_control_line(line);
        if (q.kind == ControlRequest::Kind::preview_failback) {
            preview_failback_then_answer(std::move(answer));
            return true;
        }
        if (q.kind != ControlRequest::Kind::status && q.kind != ControlRequest::Kind::status_json) return false;
        const bool json = q.kind == ControlRequest::Kind::status_json;
        TimePoint now = Clock::now();
        if (peer_.facts(now).paths_alive() == 0) {
            StatusReport r = status_report();
            r.peer_unanswered = "not asked: no heartbeat path to it is alive";
            answer(json ? render_json(r) : render_text(r));
            return true;
        }
        const Millis wait = std::clamp<Millis>(2 * cfg_.heartbeat.interval, Millis(200), Millis(1500));
        ask_peer(status_query_, false, wait, [this, json, answer = std::move(answer), wait](const std::optional<std::string>& payload, Millis took) {
            StatusReport r = status_report();
            if (payload) r.peer_answer = StatusReport::PeerAnswer{*payload, took};
            else r.peer_unanswered = "did not answer over the peer channel within " + format_duration(wait) +
                                     "; what it last said in a heartbeat is above";
            answer(json ? render_json(r) : render_text(r));
        });
        return true;
    }

    // A query to the peer's daemon in flight and everyone waiting for its report: a second
    // caller meanwhile waits for the same answer. Each gets the payload, or nullopt once `wait`
    // has passed (ControlSocket leaves bounding the wait to us).
    void ask_peer(PendingQuery& q, bool with_disk, Millis wait, PendingQuery::Waiter w) {
        q.waiting.push_back(std::move(w));
        if (q.query) return;
        TimePoint now = Clock::now();
        q.query = Query{peer_.query(now, with_disk), now};
        q.timer.expires_after(wait);
        q.timer.async_wait([this, &q](boost::system::error_code ec) {
            if (!ec && q.query) settle(q, std::nullopt);
        });
    }

    void settle(PendingQuery& q, const std::optional<std::string>& payload) {
        const Millis took = std::chrono::duration_cast<Millis>(Clock::now() - q.query->sent);
        q.query.reset();
        q.timer.cancel();
        for (auto& w : std::exchange(q.waiting, {})) w(payload, took);
    }

    // The peer asks for our report; with the disk's figures, its bitmap is read first, off the
    // loop (mdadm --examine-bitmap), and the report sent when that is done.
    void report_to_peer(uint64_t id, const std::string& path, bool with_disk) {
        if (!with_disk) {
            peer_.send_report(path, id, peer_report_payload(status_report(), kMaxReport));
            return;
        }
        asio::post(probe_, [this, id, path, dev = cfg_.find_node(self_name_)->spool_device] {
            raid::BitmapSummaryResult b = system_->examine_bitmap(dev);
            asio::post(io_, [this, id, path, b] {
                if (stopping_) return;
                StatusReport r = status_report();
                r.disk_bitmap = disk_bitmap_of(b);
                peer_.send_report(path, id, peer_report_payload(r, kMaxReport));
            });
        });
    }

    static StatusReport::DiskBitmap disk_bitmap_of(const raid::BitmapSummaryResult& b) {
        StatusReport::DiskBitmap d;
        if (!b.summary) d.error = b.error.empty() ? "no bitmap" : b.error;
        else d = {b.summary->dirty, b.summary->bits, b.summary->chunk_bytes, {}};
        return d;
    }

    // `haspool plan failback` on the primary (issue 15 item 7): the machine's plan as it stands,
    // X's bitmap read here (off the loop), then the standby asked for Y's, with a 5 s bound (its
    // mdadm runs first); answered with render_failback_preview, or "refused: ..." when no
    // failback can run.
    void preview_failback_then_answer(ControlSocket::Answer answer) {
        const PrimaryMachine* m = machine_.primary_machine();
        if (!m) {
            answer("refused: the failback preview runs on the primary, " + cfg_.primary().name + "\n");
            return;
        }
        FailbackPreviewFacts f;
        f.primary = cfg_.primary().name;
        f.standby = cfg_.standby().name;
        f.plan = preview_failback(cfg_, *m);
        if (!f.plan.why_not.empty()) {
            answer("refused: " + render_failback_preview(f));
            return;
        }
        f.speed_bytes_per_second = last_sync_bps_;
        if (auto it = last_stay_.find("FAILBACK"); it != last_stay_.end()) f.last_failback = it->second;
        const bool read_x = f.plan.full_copy.empty();
        asio::post(probe_, [this, f, read_x, answer, x = cfg_.primary().spool_device]() mutable {
            std::optional<raid::BitmapSummaryResult> b;
            if (read_x) b = system_->examine_bitmap(x);
            asio::post(io_, [this, f, b, answer]() mutable {
                if (stopping_) return;
                if (b) {
                    StatusReport::DiskBitmap d = disk_bitmap_of(*b);
                    f.x = BitmapFigures{d.dirty, d.chunks, d.chunk_bytes, d.error};
                }
                TimePoint now = Clock::now();
                if (peer_.facts(now).paths_alive() == 0) {
                    answer(render_failback_preview(f));
                    return;
                }
                // the standby runs mdadm before it answers: a longer bound than status's
                ask_peer(preview_query_, true, Millis(5000),
                         [f, answer = std::move(answer)](const std::optional<std::string>& payload, Millis) mutable {
                             nlohmann::ordered_json o = payload ? peer_report_json(*payload) : nlohmann::ordered_json();
                             if (o.is_object()) {
                                 if (auto b = o.find("disk_bitmap"); b != o.end())
                                     f.y = BitmapFigures{b->value("dirty_chunks", uint64_t(0)), b->value("chunks", uint64_t(0)),
                                                         b->value("chunk_bytes", uint64_t(0)), b->value("error", std::string())};
                                 if (auto h = o.find("last_handback_ms"); h != o.end()) f.last_handback = Millis(h->get<int64_t>());
                             }
                             answer(render_failback_preview(f));
                         });
            });
        });
    }

    void on_peer_report(uint64_t id, const std::string& payload) {
        // a late answer, or another path's copy of one already settled, finds nobody waiting
        for (PendingQuery* q : {&status_query_, &preview_query_})
            if (q->query && id == q->query->id) return settle(*q, payload);
    }

    std::string operate(const Event& e) {
        std::string before = state_;
        TimePoint now = Clock::now();
        NodeDecision d = machine_.handle(e, now);
        apply(d, name_of(e), now);
        return command_reply(self_name_, before, d);
    }

    StatusReport status_report() const {
        StatusReport r;
        NodeState st = system_->state();
        r.role = machine_.role();
        r.node = self_name_;
        r.state = state_;
        r.since = since_;
        r.last_decision = last_reason_;
        r.generation = st.lineage.current;
        if (!st.history.empty()) r.generation_reason = st.history.back().reason;
        if (running_) r.steps_running = running_desc_;
        r.disk_problem = machine_.disk_problem();
        r.entered = entered_;
        r.last_stay = last_stay_;
        r.transitions.assign(transitions_.begin(), transitions_.end());
        r.data = machine_.mirror_health(md_);
        if (watch_) r.mirror = StatusReport::Mirror{cfg_.spool.md_device, md_, copy_plan_};
        if (export_) {
            SpoolExport::Counters c = export_->counters();
            r.spool_export = StatusReport::Export{export_->running(), export_->open_sessions(),
                                                  {c.requests, c.bytes_read, c.bytes_written, c.io_errors,
                                                   c.rejected_requests, c.rejected_connections, c.sessions_started}};
        }
        r.peer_node = peer_.peer_name();
        r.peer = peer_.peer();
        r.now = Clock::now();
        r.facts = peer_.facts(r.now);
        r.dropped = peer_.dropped();
        r.accepted = peer_.gate().accepted();
        r.peer_clock_offset = peer_.peer_clock_offset();
        r.keys = StatusReport::Keys{!peer_.gate().keys().next.empty(), peer_.gate().signs_with_next(),
                                    peer_.gate().peer_holds_next()};
        return r;
    }

    std::string status_line() const {
        return std::string(machine_.role()) + " " + self_name_ + ": " + state_ + ", generation " + to_string(lineage().current);
    }

    // ---- signals

    // SIGUSR1: debug lines on, and the next SIGUSR1 back to the level the daemon started with
    // (a running daemon's verbosity, without a restart or a reload).
    void toggle_debug() {
        if (log::min_level() != log::Level::debug) {
            level_before_debug_ = log::min_level();
            log::set_min_level(log::Level::debug);
            log::notice(prefix_ + "log level debug (SIGUSR1; another SIGUSR1 returns to " +
                            log::level_name(level_before_debug_) + ")",
                        {{"EVENT", "log-level"}, {"LEVEL", "debug"}});
        } else {
            log::Level back = level_before_debug_ == log::Level::debug ? log::Level::info : level_before_debug_;
            log::set_min_level(back);
            log::notice(prefix_ + "log level " + log::level_name(back) + " (SIGUSR1)",
                        {{"EVENT", "log-level"}, {"LEVEL", log::level_name(back)}});
        }
    }
    void on_signal(boost::system::error_code ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
            reload();
            signals_.async_wait([this](auto e, int s) { on_signal(e, s); });
            return;
        }
        if (sig == SIGUSR1) {
            toggle_debug();
            signals_.async_wait([this](auto e, int s) { on_signal(e, s); });
            return;
        }
        stopping_ = true;
        if (watch_) watch_->stop();
        log::notice(prefix_ + "stopping on signal " + std::to_string(sig) + " in state " + state_ +
                        " (nothing is undone: the service stays as it is)",
                    {{"EVENT", "stopping"}});
        notify::stopping(status_line());
        announce_restart();
        peer_.close();
        control_.close();
        tick_.cancel();
        wake_.cancel();
        io_.stop();
    }

    // A primary whose node keeps the service tells the standby, once, that its silence is a daemon
    // restart, not a dead node (MessageKind::daemon_restarting; StandbyMachine holds the takeover
    // back for kDaemonRestartHold). Lost datagrams only bring back the old behaviour: a takeover
    // after dead_after that the address probe refuses while this node holds the address.
    void announce_restart() {
        static const std::set<std::string> serving = {"CONNECTING", "MIRRORED", "DEGRADED", "RESYNC", "FAILBACK"};
        if (std::string_view(machine_.role()) != "primary" || !serving.count(state_)) return;
        auto paths = peer_.tell_once(MessageKind::daemon_restarting, Clock::now());
        std::string on;
        for (const auto& p : paths) on += (on.empty() ? "" : ", ") + p;
        log::notice(prefix_ + "told " + peer_.peer_name() + " that this daemon restarts and the service stays (" +
                        (on.empty() ? std::string("no path took it") : "on " + on) + ")",
                    {{"EVENT", "restart-announced"}});
    }

    // SIGHUP: a valid file that reload_decision accepts replaces the running configuration.
    void reload() {
        notify::reloading();
        config::LoadResult r = config::load_file(opt_.config_file);
        std::string why;
        if (!r.config)
            why = std::to_string(r.errors.size()) + " problem(s), first: " + (r.errors.empty() ? "" : r.errors[0].to_string());
        else if (ReloadDecision d = decide_reload(cfg_, *r.config, self_name_); !d.accepted)
            why = d.reason;
        config::Secrets secrets;
        if (why.empty()) {
            secrets = config::read_secrets(r.config->cluster);
            if (!secrets.error.empty()) why = secrets.field + ": " + secrets.error;
        }
        if (why.empty()) {
            std::string e;
            r.config->nbd.tls_keys = nbd_tls_link_keys(*r.config, secrets.current, secrets.next, e);
            if (!e.empty()) why = "nbd.tls: " + e;
        }
        if (!why.empty()) {
            log::error(prefix_ + "reload refused, keeping the running configuration: " + why, {{"EVENT", "reload-refused"}});
        } else {
            // One configuration: the machines, their plans and the peer channel read cfg_ by
            // reference, so every decision from now on is planned from the new file. Steps carry
            // their whole instruction (argv, devices, timeouts), so what runs after a reload is
            // what the machine planned from the new configuration; a batch already queued runs
            // as it was planned.
            // The keys too: a rotation (docs/agent.md "Rotating the shared secret") is a reload
            // on each node in turn.
            cfg_ = *r.config;
            peer_.set_keys(KeyRing{secrets.current, secrets.next});
            // The export's TLS keys as the heartbeats' (a rotation): new handshakes take the
            // reloaded keys, the primary's open session keeps its own.
            if (export_) {
                if (std::string e = export_->replace_tls_keys(tls_psks(cfg_.nbd.tls_keys)); !e.empty())
                    log::error(prefix_ + "reload: the export keeps its TLS keys: " + e, {{"EVENT", "reload-tls-keys"}});
            }
            log::notice(prefix_ + "reloaded " + opt_.config_file, {{"EVENT", "reloaded"}});
        }
        notify::ready(status_line());
    }

    config::Config cfg_;  // the one configuration; SIGHUP replaces it in place
    std::string self_name_;
    DaemonOptions opt_;
    std::string prefix_;
    asio::io_context io_;
    asio::thread_pool pool_{1};
    asio::signal_set signals_{io_, SIGTERM, SIGINT, SIGHUP};  // and SIGUSR1 (run())
    log::Level level_before_debug_ = log::Level::info;  // where SIGUSR1 returns to
    asio::steady_timer tick_{io_};
    asio::steady_timer wake_{io_};
    NodeMachine machine_;
    PeerChannel peer_;
    ControlSocket control_;
    PauseDetector pause_;
    std::unique_ptr<SpoolExport> export_;    // standby: the export of Y
    uint64_t y_errors_seen_ = 0;             // the export's I/O error count last dispatched
    std::unique_ptr<MirrorWatch> watch_;     // primary: md and LINK_DEAD
    std::optional<raid::MdSnapshot> md_;     // primary: the array as last seen
    std::map<std::string, std::pair<bool, bool>> paths_seen_;  // events: each path's (alive, stable)
    std::string copy_plan_;                  // primary: what the last (re-)add said md will copy
    std::unique_ptr<LinuxSystem> system_;
    std::unique_ptr<StepRunner> runner_;
    std::deque<Batch> queue_;
    bool running_ = false;
    bool stopping_ = false;
    std::string running_desc_;
    std::string state_;
    uint8_t wire_state_ = 0;
    TimePoint since_{};
    std::string last_reason_;
    std::map<std::string, uint64_t> entered_;  // per state: entries since start (metrics)
    std::map<std::string, Millis> last_stay_;  // per state: the last stay, once left (metrics)
    std::deque<StatusReport::Transition> transitions_;  // the last kTransitionsKept, for status
    PendingQuery status_query_{io_};
    PendingQuery preview_query_{io_};
    std::optional<uint64_t> last_sync_bps_;  // primary: md's last measured resync speed
    // Reads that may take a while (mdadm --examine-bitmap) run here, never on the loop or
    // beside the steps' worker. Declared after system_, so it stops before system_ goes.
    asio::thread_pool probe_{1};
    // Last: destroyed first, so their workers stop before anything they might log through goes.
    MetricsFile metrics_{prefix_};
    TransitionNotifier notifier_{prefix_};
};

}  // namespace

int run_daemon(const config::Config& cfg, const std::string& self_name, const DaemonOptions& opt) {
    bool standby = is_standby(cfg, self_name);
    std::string who = log_prefix(cfg, self_name);
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
    config::Secrets secrets = config::read_secrets(cfg.cluster);
    if (!secrets.error.empty()) {
        log::error(who + "refusing to start: " + secrets.field + ": " + secrets.error);
        return 2;
    }
    // The NBD link's keys ride in the running configuration, where Plans reads them (config.hpp).
    config::Config running = cfg;
    std::string tls_error;
    running.nbd.tls_keys = nbd_tls_link_keys(cfg, secrets.current, secrets.next, tls_error);
    if (!tls_error.empty()) {
        log::error(who + "refusing to start: nbd.tls: " + tls_error);
        return 2;
    }
    if (opt.force_solo) log::warning(who + "--force-solo: X will be served without hearing the standby");
    Daemon d(running, self_name, opt, *loaded.state, KeyRing{secrets.current, secrets.next});
    return d.run();
}

}  // namespace haspool::agent
