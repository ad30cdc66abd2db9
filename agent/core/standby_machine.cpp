#include "agent/core/standby_machine.hpp"

#include "agent/core/resolve.hpp"

namespace haspool::agent {

namespace {

// States in which the primary has the spool mounted and writes. CONNECTING and FAILBACK are not
// counted: both need this node's export, which a takeover stopped, so they fail on their own.
bool primary_serves(const PeerStatus& p) {
    return p.says(PrimaryState::MIRRORED) || p.says(PrimaryState::DEGRADED) || p.says(PrimaryState::RESYNC) ||
           p.says(PrimaryState::DISKLESS);
}

std::string path_names(const PeerFacts& f, bool stable) {
    std::string s;
    for (const auto& p : f.paths)
        if (stable ? p.stable : p.alive) s += (s.empty() ? "" : ", ") + p.name;
    return s;
}

// The states in which a plan's outcome is still awaited: leaving them releases the plan (its
// outcome, when it comes, decides nothing). An export, adoption or clearing of the mark is
// awaited while the standby watches the primary, silent or not.
bool awaited_in(StandbyPlan p, StandbyState s) {
    switch (p) {
        case StandbyPlan::export_y:
        case StandbyPlan::adopt:
        case StandbyPlan::clear_raw: return s == StandbyState::EXPORTING || s == StandbyState::SUSPECT;
        case StandbyPlan::takeover:
        case StandbyPlan::takeover_raw: return s == StandbyState::TAKEOVER;
        case StandbyPlan::resume: return s == StandbyState::TAKEOVER || s == StandbyState::HANDBACK;
        case StandbyPlan::handback: return s == StandbyState::HANDBACK;
        case StandbyPlan::resolve: return s == StandbyState::SPLIT_BRAIN;
        case StandbyPlan::none:
        case StandbyPlan::pass_on: return false;
    }
    return false;
}

}  // namespace

const char* to_string(StandbyPlan p) {
    switch (p) {
        case StandbyPlan::none: return "none";
        case StandbyPlan::export_y: return "export_y";
        case StandbyPlan::adopt: return "adopt";
        case StandbyPlan::clear_raw: return "clear_raw";
        case StandbyPlan::takeover: return "takeover";
        case StandbyPlan::takeover_raw: return "takeover_raw";
        case StandbyPlan::resume: return "resume";
        case StandbyPlan::handback: return "handback";
        case StandbyPlan::resolve: return "resolve";
        case StandbyPlan::pass_on: return "pass_on";
    }
    return "?";
}

std::string to_string(const StandbyPhase& p) {
    std::string s = to_string(p.state);
    if (p.running != StandbyPlan::none) s += std::string(" running ") + to_string(p.running);
    if (p.failback_held) s += " (automatic failback held)";
    return s;
}

StandbyMachine::StandbyMachine(const config::Config& c, Lineage lineage, bool raw_written)
    : c_(c), plans_(c), peer_name_(c.primary().name), lineage_(std::move(lineage)), raw_written_(raw_written) {}

StandbyMachine::Decision StandbyMachine::stay(std::string reason, std::optional<TimePoint> wake) {
    return Decision{state_, {}, wake, std::move(reason)};
}

StandbyMachine::Decision StandbyMachine::go(StandbyState next, std::string reason, std::vector<Step> steps,
                                            Plan plan, bool undo, std::optional<TimePoint> wake) {
    if (!awaited_in(queue_.awaited(), next)) queue_.release();
    state_ = next;
    last_refusal_.clear();
    if (!steps.empty()) queue_.queued(plan, plan != Plan::pass_on && plan != Plan::none);
    return Decision{next, std::move(steps), wake, std::move(reason), undo};
}

StandbyMachine::Decision StandbyMachine::run(std::vector<Step> steps, Plan plan, std::string reason) {
    queue_.queued(plan, plan != Plan::pass_on && plan != Plan::none);
    return Decision{state_, std::move(steps), std::nullopt, std::move(reason)};
}

StandbyMachine::Decision StandbyMachine::start(TimePoint, const std::optional<SpoolInUse>& in_use) {
    if (in_use) {
        // This node still serves (or was taking over or handing back): the only safe continuation
        // is to serve on. The peer cannot be serving from Y (it is not exported), and the VIP is
        // probed before it is added. Every step is idempotent against what is already in place.
        serving_raw_ = in_use->raw;
        raw_takeover_ran_ = in_use->raw;
        std::vector<Step> steps = plans_.restart_resume(in_use->raw, !raw_written_);
        if (in_use->raw) raw_written_ = true;
        state_ = StandbyState::TAKEOVER;
        return run(std::move(steps), Plan::resume,
                   "started while Y is in use on this node (" + in_use->what + "): resuming the service from it " +
                       "instead of exporting Y, generation " + to_string(lineage_.current));
    }
    state_ = StandbyState::EXPORTING;
    return run(plans_.export_y(), Plan::export_y, "exporting Y to " + peer_name_ + ", generation " + to_string(lineage_.current));
}

std::optional<StandbyMachine::Decision> StandbyMachine::note_peer(const PeerStatus& p) {
    peer_ = p;
    resolve_.heard(p.lineage);
    // docs/design.md §7: B must not take over from an outdated Y.
    if (p.says(PrimaryState::DEGRADED) || p.md == MirrorHealth::degraded)
        outdated_ = peer_name_ + "'s last heartbeat said DEGRADED (it wrote without Y)";
    else if (p.says(PrimaryState::RESYNC) || p.md == MirrorHealth::resyncing)
        outdated_ = peer_name_ + "'s last heartbeat said RESYNC (Y is half-copied, " + std::to_string(p.md_percent) + "%)";
    // DISKLESS: md failed the primary's X and every write since went to Y alone (docs/faults.md,
    // loss of X): Y is the only current copy, and a takeover from it loses nothing.
    else if (p.says(PrimaryState::MIRRORED) || p.says(PrimaryState::DISKLESS))
        outdated_.clear();
    if (state_ == StandbyState::SPLIT_BRAIN || state_ == StandbyState::HALTED) return std::nullopt;
    // A resolve kept Y: until the primary reports its discard, its old generation and state are
    // the split brain being settled, not a new one.
    if (resolve_.awaiting_peer_discard(peer_)) return std::nullopt;
    Comparison cmp = compare(lineage_, p.lineage);
    const StandbyState from = state_;
    std::optional<Decision> split;
    if (cmp == Comparison::diverged)
        split = go(StandbyState::SPLIT_BRAIN,
                   "generations diverged: mine " + to_string(lineage_.current) + ", " + peer_name_ + "'s " +
                       to_string(p.lineage.current) + " (" + to_string(cmp) +
                       "); nothing automatic happens: run 'haspool resolve --discard NODE'");
    // During TAKEOVER the plan's probe and fence decide; once ACTIVE, a serving primary is a
    // second writer.
    else if (state_ == StandbyState::ACTIVE && primary_serves(p))
        split = go(StandbyState::SPLIT_BRAIN, peer_name_ + " says " + p.state_name() + " while this node is " +
                                                  to_string(state_) + ": both may have written; nothing automatic happens: run 'haspool resolve --discard NODE'");
    if (split) resolve_.split(from);
    return split;
}

// SPLIT_BRAIN (docs/design.md §3 rule 2, docs/agent.md "Split brain and resolve"): the operator named the
// side whose data loses. Discarding Y: release everything, persist a blank lineage, export Y
// again; the primary adds it in full (never a re-add). Keeping Y: serve on when ACTIVE, else
// export Y; the primary discards X and fails back from Y, adding X in full. A resolve run here is
// passed on to the peer first (NotifyPeer), so the peer follows even when a later local step fails.
StandbyMachine::Decision StandbyMachine::on_resolve(const std::string& discard, bool from_peer) {
    std::string refusal;
    auto order = resolve_.accept(c_, plans_, config::Role::standby, discard, from_peer, peer_name_, to_string(state_),
                                 state_ == StandbyState::SPLIT_BRAIN, queue_.awaited() == Plan::resolve,
                                 static_cast<unsigned>(queue_.size()), lineage_, peer_, refusal);
    if (!order) return refuse(refusal);
    const std::string& what = order->check.what;
    const std::string& mine = order->mine;
    const std::string& theirs = order->theirs;
    auto resolving = [&](std::vector<Step> plan, StandbyState next, std::string done, std::string reason) {
        last_refusal_.clear();
        return run(resolve_.run(*order, std::move(plan), next, std::move(done)), Plan::resolve, std::move(reason));
    };
    if (order->discard_self)
        return resolving(plans_.discard(c_.standby(), lineage_.current, raw_mapped()), StandbyState::EXPORTING,
                         "discarded this node's data (generation " + mine + "): exporting Y blank; " + peer_name_ +
                             " adds it in full",
                         what + ": discarding this node's data (generation " + mine + ", " + peer_name_ + " keeps " +
                             theirs + "): stopping the service, releasing the array");
    resolve_.keep(peer_);
    std::string keep = what + ": keeping this node's data (generation " + mine + "), " + peer_name_ + " discards " + theirs;
    const StandbyState from = resolve_.split_from();
    switch (from) {
        case StandbyState::ACTIVE:
            return go(StandbyState::ACTIVE, keep + "; serving on from Y until the failback", std::move(order->steps),
                      Plan::pass_on);
        case StandbyState::TAKEOVER:
        case StandbyState::HANDBACK: {
            return resolving(plans_.release_and_export(raw_mapped()), StandbyState::EXPORTING,
                             "released what the interrupted " + std::string(to_string(from)) + " had taken; exporting Y; " +
                                 peer_name_ + " fails back from it",
                             keep + "; releasing what the interrupted " + to_string(from) + " had taken, then exporting Y");
        }
        default: {
            std::vector<Step> steps = std::move(order->steps);
            for (auto& st : plans_.export_y()) steps.push_back(std::move(st));
            return go(StandbyState::EXPORTING, keep + "; exporting Y: " + peer_name_ + " fails back from it", std::move(steps),
                      Plan::export_y);
        }
    }
}

// SPLIT_BRAIN, the resolve plan's outcome.
StandbyMachine::Decision StandbyMachine::resolve_result(const event::StepFailed* f, TimePoint now) {
    const StandbyState next = resolve_.next();
    if (!f) {
        if (next == StandbyState::EXPORTING) export_up_ = true;
        return go(next, resolve_.done());
    }
    if (next == StandbyState::EXPORTING && std::holds_alternative<step::StartExport>(f->step)) {
        // Everything else is done; an export that fails is retried as always (B serves nothing).
        go(StandbyState::EXPORTING, resolve_.done());
        Decision d = export_result(Plan::export_y, f, now);
        d.reason = resolve_.done() + "; " + d.reason;
        return d;
    }
    return go(StandbyState::HALTED, "resolve failed at " + name_of(f->step) + ": " + f->why +
                                        "; the operator decides (haspool status), then restarts the daemon");
}

std::optional<StandbyMachine::Refusal> StandbyMachine::takeover_refusal(const PeerFacts& f, TimePoint now) const {
    const Millis dead = c_.heartbeat.dead_after;
    if (!f.ever_heard())
        return Refusal{"never heard " + peer_name_ + " since this daemon started: cannot tell whether Y is current", {}};
    if (f.paths_alive() > 0)
        return Refusal{"heartbeats arrive on " + path_names(f, false), {}};
    if (auto s = f.heartbeat_silent_for(now); s && *s < dead)
        return Refusal{"no heartbeat on " + std::to_string(f.paths_total()) + "/" + std::to_string(f.paths_total()) +
                           " paths for " + format_duration(*s) + " (dead after " + format_duration(dead) + ")",
                       *f.last_heartbeat + dead};
    if (auto s = f.nbd_silent_for(now); s && *s < dead)
        return Refusal{"the NBD session from " + peer_name_ + " was active " + format_duration(*s) + " ago",
                       *f.last_nbd_activity + dead};
    // A daemon restart on the primary leaves its node serving (docs/agent.md "A daemon restarted
    // while its node serves"): taking over then would meet the address still held (the probe
    // refuses, and this node halts) or, without the probe, make two writers.
    if (restart_hold_until_ && now < *restart_hold_until_)
        return Refusal{peer_name_ + "'s daemon is restarting and its node keeps the service (daemon-restarting); "
                           "no takeover on its silence before " + format_duration(std::chrono::duration_cast<Millis>(*restart_hold_until_ - now)) + " from now",
                       *restart_hold_until_};
    if (!y_failed_.empty()) return Refusal{"Y failed: " + y_failed_, {}};
    if (!outdated_.empty()) return Refusal{"Y is outdated: " + outdated_, {}};
    // Y holds the data of our generation; a newer one on the primary means writes Y never saw
    // (a blank Y never held the spool at all).
    if (peer_ && compare(lineage_, peer_->lineage) == Comparison::peer_newer)
        return Refusal{"Y is outdated: " + peer_name_ + "'s generation " + to_string(peer_->lineage.current) +
                           " is newer than this node's " + to_string(lineage_.current),
                       {}};
    if (peer_ && peer_->says(PrimaryState::SPLIT_BRAIN))
        return Refusal{peer_name_ + " last reported SPLIT_BRAIN", {}};
    return std::nullopt;
}

StandbyMachine::Decision StandbyMachine::takeover_now(bool planned, std::string reason) {
    return go(StandbyState::TAKEOVER, std::move(reason), plans_.takeover(planned), Plan::takeover, true);
}

StandbyMachine::Decision StandbyMachine::consider_takeover(const PeerFacts& f, TimePoint now) {
    auto refusal = takeover_refusal(f, now);
    if (!refusal) {
        auto s = f.silent_for(now);
        return takeover_now(false, "taking over: " + peer_name_ + " silent on " + std::to_string(f.paths_total()) + "/" +
                                       std::to_string(f.paths_total()) + " paths and NBD for " +
                                       format_duration(s.value_or(Millis(0))) + " (dead after " +
                                       format_duration(c_.heartbeat.dead_after) + ")");
    }
    if (refusal->wait_until) return stay({}, refusal->wait_until);
    // A lasting refusal is logged once, not on every tick.
    std::string why = "no takeover: " + refusal->why;
    if (why == last_refusal_) return stay();
    last_refusal_ = why;
    return stay(why);
}

std::optional<StandbyMachine::Decision> StandbyMachine::clear_raw_mark(const PeerStatus& p) {
    // MIRRORED + in sync at our generation happens only after a failback took our lineage, and
    // after a raw takeover that failback adopts it only once X is being added in full (Plans::
    // failback); in sync means the full copy finished. Until then the mark stays.
    if (!raw_written_ || queue_.awaited() != Plan::none) return std::nullopt;
    if (!p.says(PrimaryState::MIRRORED) || p.md != MirrorHealth::in_sync || compare(lineage_, p.lineage) != Comparison::same)
        return std::nullopt;
    return run(plans_.clear_raw_writes(lineage_.current), Plan::clear_raw);
}

// EXPORTING/SUSPECT: the outcome of an export, an adoption or the clearing of the mark.
StandbyMachine::Decision StandbyMachine::export_result(Plan plan, const event::StepFailed* f, TimePoint now) {
    if (plan == Plan::clear_raw) {
        if (!f) {
            raw_written_ = false;
            return stay("cleared the raw-writes mark: " + peer_name_ + " rebuilt X in full from Y");
        }
        return stay("cannot clear the raw-writes mark: " + f->why + "; retrying on the next heartbeat (the mark "
                    "only makes a later failback copy in full)");
    }
    if (!f) {
        if (plan == Plan::export_y) {
            export_up_ = true;
            export_retry_ = Millis(0);
            last_export_error_.clear();
            return stay("exporting Y to " + peer_name_);
        }
        return stay("adopted " + peer_name_ + "'s generation " + to_string(lineage_.current) + " (Y is in sync)");
    }
    if (plan == Plan::export_y) {
        export_up_ = false;
        // Not a safety problem (B serves nothing); the primary cannot mirror until it works.
        // Retried with a doubling delay (up to a minute); the same failure is logged once.
        export_retry_ = export_retry_.count() ? std::min(2 * export_retry_, Millis(60000)) : 2 * c_.heartbeat.dead_after;
        export_retry_at_ = now + export_retry_;
        std::string why = "cannot export Y: " + name_of(f->step) + " failed: " + f->why;
        bool again = why == last_export_error_;
        last_export_error_ = why;
        return stay(again ? std::string() : why + "; retrying in " + format_duration(export_retry_) + ", backing off",
                    export_retry_at_);
    }
    return stay("cannot adopt " + peer_name_ + "'s generation: " + f->why + "; retrying on the next heartbeat");
}

StandbyMachine::Decision StandbyMachine::handle(const Event& e, TimePoint now) {
    if (const auto* f = facts_of(e)) facts_ = *f;
    if (std::holds_alternative<event::StepsSucceeded>(e)) return on_outcome(nullptr, now);
    if (const auto* f = std::get_if<event::StepFailed>(&e)) return on_outcome(f, now);
    return decide(e, now);
}

// One outcome per batch, in the order the batches were queued: the front batch's plan decides,
// if the state still waits for it.
StandbyMachine::Decision StandbyMachine::on_outcome(const event::StepFailed* f, TimePoint now) {
    auto batch = queue_.pop();
    if (!batch || !batch->awaited) return stay();  // a side batch, or a plan the state left behind
    return on_plan_result(batch->plan, f, now);
}

// The one outcome handler: a switch over the plan that ran (`f` null: every step succeeded).
StandbyMachine::Decision StandbyMachine::on_plan_result(Plan plan, const event::StepFailed* f, TimePoint now) {
    switch (plan) {
        case Plan::export_y:
        case Plan::adopt:
        case Plan::clear_raw: return export_result(plan, f, now);
        case Plan::takeover: return takeover_result(false, f);
        case Plan::takeover_raw: return takeover_result(true, f);
        case Plan::resume: return resume_result(f);
        case Plan::handback: return handback_result(f);
        case Plan::resolve: return resolve_result(f, now);
        case Plan::none:
        case Plan::pass_on: return stay();
    }
    return stay();
}

StandbyMachine::Decision StandbyMachine::decide(const Event& e, TimePoint now) {
    if (const auto* r = std::get_if<event::ResolveRequested>(&e)) return on_resolve(r->discard, false);
    if (const auto* r = std::get_if<event::PeerRequest>(&e))
        if (const config::Node* loser = discarded_by(c_, r->message)) return on_resolve(loser->name, true);
    if (const auto* h = std::get_if<event::HeartbeatReceived>(&e))
        if (auto split = note_peer(h->peer)) return *split;
    if (const auto* y = std::get_if<event::YFailed>(&e)) {
        // Not a state: the standby serves nothing from Y while EXPORTING, so there is nothing to
        // stop; what changes is that Y is no copy to take over from. Logged once.
        const bool first = y_failed_.empty();
        y_failed_ = y->why;
        if (!first) return stay();
        return stay("Y failed: " + y->why + "; this node will not take over from it, and " + peer_name_ +
                    " does not re-add its leg; replace the disk, then restart this daemon (docs/faults.md)");
    }
    if (const auto* o = std::get_if<event::OperatorCommand>(&e); o && o->command == event::Command::replace_disk)
        return refuse("refused replace-disk: it rebuilds the primary's lost X from Y; run it on " + peer_name_);
    switch (state_) {
        case StandbyState::EXPORTING: return on_exporting(e, now);
        case StandbyState::SUSPECT: return on_suspect(e, now);
        // TAKEOVER and HANDBACK: the plan's outcome decides (on_plan_result); nothing else does.
        case StandbyState::TAKEOVER:
        case StandbyState::HANDBACK: return stay();
        case StandbyState::ACTIVE: return on_active(e, now);
        case StandbyState::HALTED:
        case StandbyState::SPLIT_BRAIN:
            if (std::holds_alternative<event::OperatorCommand>(e)) {
                if (state_ == StandbyState::SPLIT_BRAIN)
                    return refuse("refused: this node is SPLIT_BRAIN; settle it first with 'haspool resolve --discard NODE'");
                return refuse(std::string("refused: this node is ") + to_string(state_) +
                              "; fix the cause, run 'haspool resolve' if needed, then restart the daemon");
            }
            return stay();
    }
    return stay();
}

// EXPORTING: serving Y, watching heartbeats.
StandbyMachine::Decision StandbyMachine::on_exporting(const Event& e, TimePoint now) {
    if (const auto* h = std::get_if<event::HeartbeatReceived>(&e)) {
        if (auto d = clear_raw_mark(h->peer)) return *d;
        // A mirrored primary with a newer generation means Y holds exactly its data: adopt it.
        // Not while md still copies (the initial sync after --init): Y is not complete yet.
        if (h->peer.says(PrimaryState::MIRRORED) && h->peer.md == MirrorHealth::in_sync &&
            compare(lineage_, h->peer.lineage) == Comparison::peer_newer && queue_.awaited() == Plan::none)
            return run(plans_.adopt(h->peer.lineage), Plan::adopt);
        return stay();
    }
    if (const auto* s = std::get_if<event::PeerSilent>(&e)) {
        if (!s->facts.ever_heard() || s->facts.paths_alive() > 0) return stay();
        auto silent = s->facts.heartbeat_silent_for(now).value_or(Millis(0));
        return go(StandbyState::SUSPECT,
                  "no heartbeat on " + std::to_string(s->facts.paths_total()) + "/" + std::to_string(s->facts.paths_total()) +
                      " paths for " + format_duration(silent),
                  {}, Plan::none, false, *s->facts.last_heartbeat + c_.heartbeat.dead_after);
    }
    if (std::holds_alternative<event::TimerFired>(e)) {
        if (!export_up_ && queue_.awaited() == Plan::none && export_retry_at_ && now >= *export_retry_at_)
            return run(plans_.export_y(), Plan::export_y);
        return stay({}, export_up_ ? std::nullopt : export_retry_at_);
    }
    if (const auto* r = std::get_if<event::PeerRequest>(&e)) {
        if (r->message == MessageKind::take_over) {
            // The primary refuses a switchover onto a Y that says y-failed; a request that crossed
            // that heartbeat is refused here: serving from a failing disk is no takeover.
            if (!y_failed_.empty())
                return stay("refused the switchover from " + peer_name_ + ": Y failed (" + y_failed_ +
                            "); nobody serves until " + peer_name_ + " resumes (its resume plan) or the operator acts");
            return takeover_now(true, "switchover: " + peer_name_ + " has stopped and asks this node to take over");
        }
        if (r->message == MessageKind::you_are_outdated) {
            outdated_ = peer_name_ + " said it writes without Y (you-are-outdated)";
            return stay("Y is outdated: " + outdated_);
        }
        if (r->message == MessageKind::daemon_restarting) return hold_for_restart(now);
        return stay();
    }
    if (const auto* o = std::get_if<event::OperatorCommand>(&e))
        return stay(std::string("refused ") + to_string(o->command) + ": this node is EXPORTING; " +
                    (o->command == event::Command::switchover ? "start a switchover on the primary"
                                                                 : "there is nothing to hand back"));
    return stay();
}

// SUSPECT: silent on every path, counting towards dead_after.
StandbyMachine::Decision StandbyMachine::on_suspect(const Event& e, TimePoint now) {
    if (const auto* h = std::get_if<event::HeartbeatReceived>(&e)) {
        // Hysteresis: a path counts as back only once it has been good for stable_after; until
        // then each arrival still postpones any takeover (the silence restarts).
        if (h->facts.paths_stable() > 0) {
            restart_hold_until_.reset();
            return go(StandbyState::EXPORTING, "heard " + peer_name_ + " again on " + path_names(h->facts, true));
        }
        return stay({}, std::nullopt);
    }
    if (const auto* s = std::get_if<event::PeerSilent>(&e)) return consider_takeover(s->facts, now);
    if (const auto* t = std::get_if<event::TimerFired>(&e)) {
        if (t->facts.paths_stable() > 0) {
            restart_hold_until_.reset();
            return go(StandbyState::EXPORTING, peer_name_ + " is back on " + path_names(t->facts, true));
        }
        if (t->facts.paths_alive() > 0) {
            // Heard, not yet stable: wake again when the path would count as back or dead.
            return stay({}, now + c_.heartbeat.interval);
        }
        return consider_takeover(t->facts, now);
    }
    if (const auto* r = std::get_if<event::PeerRequest>(&e)) {
        if (r->message == MessageKind::take_over)
            return takeover_now(true, "switchover: " + peer_name_ + " has stopped and asks this node to take over");
        if (r->message == MessageKind::you_are_outdated) outdated_ = peer_name_ + " said it writes without Y (you-are-outdated)";
        if (r->message == MessageKind::daemon_restarting) return hold_for_restart(now);
    }
    return stay();
}

StandbyMachine::Decision StandbyMachine::hold_for_restart(TimePoint now) {
    restart_hold_until_ = now + kDaemonRestartHold;
    return stay(peer_name_ + "'s daemon is restarting and its node keeps the service: no takeover on its silence for " +
                    format_duration(kDaemonRestartHold) + " (until it is heard again)",
                state_ == StandbyState::SUSPECT ? restart_hold_until_ : std::nullopt);
}

// TAKEOVER, the md assembly failed and the operator opted in: the raw plan (Plans::takeover_raw).
StandbyMachine::Decision StandbyMachine::takeover_raw(const event::StepFailed& f) {
    raw_written_ = true;  // planned first: MarkRawWrites is persisted before the loop device exists
    raw_takeover_ran_ = true;
    Decision d = go(StandbyState::TAKEOVER,
                    "RAW TAKEOVER (spool.raw_mount_fallback): Y cannot be assembled as md (" + f.why +
                        "); serving Y's data area through a loop device instead. Nothing records what X misses: "
                        "marked so the next failback copies all of Y onto X (full resync)",
                    plans_.takeover_raw(), Plan::takeover_raw, true);
    d.warn = true;
    return d;
}

// TAKEOVER: the outcome of the plan (`raw`: the raw plan that replaced it).
StandbyMachine::Decision StandbyMachine::takeover_result(bool raw, const event::StepFailed* f) {
    if (!f) {
        export_up_ = false;
        serving_raw_ = raw;
        if (raw) {
            Decision d = go(StandbyState::ACTIVE, "took over RAW: spool mounted from Y's loop mapping " + plans_.raw_link() +
                                                      " (outside md), " + c_.service.address + " held, generation " +
                                                      to_string(lineage_.current) + "; the failback will copy all of Y onto X");
            d.warn = true;
            return d;
        }
        return go(StandbyState::ACTIVE, "took over: spool mounted from Y, " + c_.service.address + " held, generation " +
                                            to_string(lineage_.current));
    }
    {
        export_up_ = false;
        // Only the md assembly falls back, and only when the operator opted in: any other failed
        // step (probe answered, fence failed, fsck, mount, ...) means the same with or without md.
        if (!raw && std::holds_alternative<step::AssembleDegraded>(f->step) && f->undo_errors.empty() &&
            c_.spool.raw_mount_fallback)
            return takeover_raw(*f);
        std::string undone;
        for (const auto& u : f->undone) undone += (undone.empty() ? "" : ", ") + name_of(u);
        std::string why = "takeover failed at " + name_of(f->step) + ": " + f->why + "; undone: " +
                          (undone.empty() ? "nothing to undo" : undone);
        for (const auto& ue : f->undo_errors) why += "; UNDO FAILED: " + ue;
        if (std::holds_alternative<step::AssembleDegraded>(f->step) && !c_.spool.raw_mount_fallback)
            why += "; no raw fallback (spool.raw_mount_fallback is off)";
        if (raw) why += "; the raw takeover's mark stays (the next failback copies all of Y onto X)";
        why += "; Y is not exported; the operator decides (haspool status)";
        return go(StandbyState::HALTED, why);
    }
}

StandbyMachine::Decision StandbyMachine::consider_failback(const PeerFacts& f, TimePoint now, bool operator_asked) {
    if (!peer_ || !peer_->says(PrimaryState::STANDING_BY) || f.paths_stable() == 0) {
        if (!operator_asked) return stay();
        return stay("failback refused: " + peer_name_ + " is " + (peer_ ? peer_->state_name() : std::string("unheard")) +
                    (f.paths_stable() == 0 ? " and not heard on a stable path" : "") + " (it must be STANDING_BY)");
    }
    if (operator_asked)
        return go(StandbyState::HANDBACK, "failback asked: handing the service back to " + peer_name_,
                  plans_.handback(serving_raw_), Plan::handback);
    if (c_.failback.policy != config::FailbackPolicy::automatic || !f.stable_since || failback_held_) return stay();
    TimePoint due = *f.stable_since + c_.failback.hold_off;
    if (now < due) return stay({}, due);
    return go(StandbyState::HANDBACK,
              "automatic failback: " + peer_name_ + " stable for " +
                  format_duration(std::chrono::duration_cast<Millis>(now - *f.stable_since)) + " (hold-off " +
                  format_duration(c_.failback.hold_off) + ")",
              plans_.handback(serving_raw_), Plan::handback);
}

// ACTIVE: serving from Y; fail back when the primary is back, stable and it is asked/allowed.
StandbyMachine::Decision StandbyMachine::on_active(const Event& e, TimePoint now) {
    if (const auto* h = std::get_if<event::HeartbeatReceived>(&e)) return consider_failback(h->facts, now, false);
    if (const auto* t = std::get_if<event::TimerFired>(&e)) return consider_failback(t->facts, now, false);
    if (const auto* o = std::get_if<event::OperatorCommand>(&e)) {
        if (o->command == event::Command::failback) return consider_failback(facts_, now, true);
        return stay("refused switchover: this node is already ACTIVE");
    }
    if (const auto* r = std::get_if<event::PeerRequest>(&e))
        if (r->message == MessageKind::failback_request) return consider_failback(facts_, now, true);
    return stay();
}

// HANDBACK: the handback plan's outcome. As on the primary's switchover: a plan that fails before
// it let go of the array leaves this node the only one that may serve (the primary was not told
// and stands by), so the service resumes here. Automatic failback then waits for the operator: a
// cause that persists (a process holding the spool) would otherwise flap the service address
// every hold-off.
StandbyMachine::Decision StandbyMachine::handback_result(const event::StepFailed* f) {
    if (!f) {
        export_up_ = true;
        serving_raw_ = false;
        raw_takeover_ran_ = false;
        failback_held_ = false;
        return go(StandbyState::EXPORTING, "handed the service back to " + peer_name_ + "; exporting Y" +
                                               (raw_written_ ? " (marked raw-written: " + peer_name_ + " adds X in full)" : ""));
    }
    const std::string why = "handback failed at " + name_of(f->step) + ": " + f->why + "; " + peer_name_ +
                            " was not told to fail back";
    if (f->undo_errors.empty() && Plans::failed_while_stopping_service(f->step)) {
        failback_held_ = true;
        return go(StandbyState::HANDBACK,
                  why + "; " + (serving_raw_ ? "Y is still mapped" : "the array is still assembled") +
                      ": resuming the service here",
                  plans_.resume_standby(serving_raw_), Plan::resume);
    }
    return go(StandbyState::HALTED, why + "; the operator decides");
}

// TAKEOVER (a restart while serving) or HANDBACK (after it failed): the resume plan's outcome.
StandbyMachine::Decision StandbyMachine::resume_result(const event::StepFailed* f) {
    const bool handback = state_ == StandbyState::HANDBACK;
    const std::string after = handback ? "the failed handback" : "a restart while this node served";
    if (!f)
        return go(StandbyState::ACTIVE, "resumed serving " + c_.service.address + (serving_raw_ ? " from the raw mapping of Y" : "") +
                                            " after " + after +
                                            (handback ? "; automatic failback waits for the operator (haspool failback retries)" : ""));
    return go(StandbyState::HALTED, "resuming the service after " + after + " failed at " + name_of(f->step) + ": " + f->why +
                                        "; Y is not exported; the operator decides");
}

}  // namespace haspool::agent
