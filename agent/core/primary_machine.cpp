#include "agent/core/primary_machine.hpp"

#include "agent/core/resolve.hpp"

#include <utility>

namespace haspool::agent {

namespace {

std::string failure(const event::StepFailed& f) {
    std::string undone;
    for (const auto& u : f.undone) undone += (undone.empty() ? "" : ", ") + name_of(u);
    std::string s = name_of(f.step) + " failed: " + f.why + "; undone: " + (undone.empty() ? "nothing to undo" : undone);
    for (const auto& ue : f.undo_errors) s += "; UNDO FAILED: " + ue;
    return s;
}

// The states in which a plan's outcome is still awaited: leaving them releases the plan (its
// outcome, when it comes, decides nothing).
bool awaited_in(PrimaryPlan p, PrimaryState s) {
    switch (p) {
        case PrimaryPlan::create:
        case PrimaryPlan::connect:
        case PrimaryPlan::connect_resync:
        case PrimaryPlan::connect_diskless: return s == PrimaryState::CONNECTING;
        case PrimaryPlan::detach_x: return s == PrimaryState::DISKLESS;
        case PrimaryPlan::replace_x: return s == PrimaryState::RESYNC;
        case PrimaryPlan::solo:
        case PrimaryPlan::degrade: return s == PrimaryState::DEGRADED;
        case PrimaryPlan::resync: return s == PrimaryState::RESYNC;
        case PrimaryPlan::handover:
        case PrimaryPlan::resume: return s == PrimaryState::HANDOVER;
        case PrimaryPlan::failback: return s == PrimaryState::FAILBACK;
        case PrimaryPlan::stop: return s == PrimaryState::HALTED;
        case PrimaryPlan::resolve: return s == PrimaryState::SPLIT_BRAIN;
        case PrimaryPlan::none:
        case PrimaryPlan::reconnect:
        case PrimaryPlan::restore_write_mostly:
        case PrimaryPlan::ask_failback:
        case PrimaryPlan::pass_on: return false;
    }
    return false;
}

bool side(PrimaryPlan p) {
    return p == PrimaryPlan::none || p == PrimaryPlan::reconnect || p == PrimaryPlan::restore_write_mostly ||
           p == PrimaryPlan::ask_failback || p == PrimaryPlan::pass_on;
}

}  // namespace

const char* to_string(PrimaryPlan p) {
    switch (p) {
        case PrimaryPlan::none: return "none";
        case PrimaryPlan::create: return "create";
        case PrimaryPlan::connect: return "connect";
        case PrimaryPlan::connect_resync: return "connect_resync";
        case PrimaryPlan::connect_diskless: return "connect_diskless";
        case PrimaryPlan::detach_x: return "detach_x";
        case PrimaryPlan::replace_x: return "replace_x";
        case PrimaryPlan::solo: return "solo";
        case PrimaryPlan::degrade: return "degrade";
        case PrimaryPlan::resync: return "resync";
        case PrimaryPlan::handover: return "handover";
        case PrimaryPlan::resume: return "resume";
        case PrimaryPlan::failback: return "failback";
        case PrimaryPlan::stop: return "stop";
        case PrimaryPlan::resolve: return "resolve";
        case PrimaryPlan::reconnect: return "reconnect";
        case PrimaryPlan::restore_write_mostly: return "restore_write_mostly";
        case PrimaryPlan::ask_failback: return "ask_failback";
        case PrimaryPlan::pass_on: return "pass_on";
    }
    return "?";
}

std::string to_string(const PrimaryPhase& p) {
    std::string s = to_string(p.state);
    if (p.running != PrimaryPlan::none) s += std::string(" running ") + to_string(p.running);
    if (p.retry != PrimaryPlan::none) s += std::string(" (retrying ") + to_string(p.retry) + ")";
    return s;
}

PrimaryMachine::PrimaryMachine(const config::Config& c, Lineage lineage, Options o)
    : c_(c), plans_(c), opt_(o), peer_name_(c.standby().name),
      nbd_dev_("/dev/nbd" + std::to_string(c.nbd.device_index)), lineage_(std::move(lineage)), x_lost_(o.x_lost) {}

PrimaryMachine::Decision PrimaryMachine::stay(std::string reason, std::optional<TimePoint> wake) {
    if (!reason.empty()) {
        // A lasting condition is logged once, not on every heartbeat.
        if (reason == last_note_) reason.clear();
        else last_note_ = reason;
    }
    return Decision{state_, {}, wake, std::move(reason)};
}

PrimaryMachine::Decision PrimaryMachine::go(PrimaryState next, std::string reason, std::vector<Step> steps,
                                            Plan plan, bool undo, std::optional<TimePoint> wake) {
    if (!awaited_in(queue_.awaited(), next)) queue_.release();
    state_ = next;
    retry_plan_ = Plan::none;
    last_note_.clear();
    if (!steps.empty()) queue_.queued(plan, !side(plan));
    return Decision{next, std::move(steps), wake, std::move(reason), undo};
}

PrimaryMachine::Decision PrimaryMachine::run(std::vector<Step> steps, Plan plan, std::string reason) {
    queue_.queued(plan, !side(plan));
    return Decision{state_, std::move(steps), std::nullopt, std::move(reason)};
}

PrimaryMachine::Decision PrimaryMachine::start(TimePoint) {
    if (opt_.force_solo && x_lost_)
        return go(PrimaryState::HALTED, "refused --force-solo: md failed X earlier (the x-lost mark in cluster.state_dir), "
                                        "so X is stale and serving from it alone would lose what Y holds; start without "
                                        "--force-solo: this node then serves from " + peer_name_ + "'s Y");
    if (opt_.force_solo) {
        return go(PrimaryState::DEGRADED,
                  "forced solo start (--force-solo): serving from X without hearing " + peer_name_ +
                      " — if it served meanwhile, its writes will conflict (split brain)",
                  plans_.solo(), Plan::solo, true);
    }
    if (x_lost_)
        return go(PrimaryState::WAIT_PEER, "X is marked lost (md failed it): waiting for " + peer_name_ +
                                               "'s Y, the only current copy (generation " + to_string(lineage_.current) + ")");
    return go(PrimaryState::WAIT_PEER, "waiting to learn " + peer_name_ + "'s generation before using X (generation " +
                                           to_string(lineage_.current) + ")");
}

PrimaryMachine::Decision PrimaryMachine::retry_later(PrimaryState next, Plan plan, std::string why, TimePoint now) {
    // Doubling delay, up to a minute: a step that cannot work yet must not flood the log.
    retry_ = retry_.count() ? std::min(2 * retry_, Millis(60000)) : 2 * c_.heartbeat.dead_after;
    retry_at_ = now + retry_;
    Decision d = go(next, why + "; retrying in " + format_duration(retry_), {}, Plan::none, false, retry_at_);
    retry_plan_ = plan;
    return d;
}

PrimaryMachine::Decision PrimaryMachine::halt_serving(std::string why) {
    return go(PrimaryState::HALTED, why + "; stopping the service (units, address, mount)",
              plans_.stop_serving(c_.primary()), Plan::stop);
}

std::optional<TimePoint> PrimaryMachine::dead_at(const PeerFacts& f) const {
    if (!f.last_heartbeat && !f.last_nbd_activity) return std::nullopt;
    TimePoint last = f.last_heartbeat.value_or(TimePoint::min());
    if (f.last_nbd_activity && *f.last_nbd_activity > last) last = *f.last_nbd_activity;
    return last + c_.heartbeat.dead_after;
}

bool PrimaryMachine::peer_dead(const PeerFacts& f, TimePoint now) const {
    if (f.paths_alive() > 0) return false;
    auto at = dead_at(f);
    return !at || now >= *at;
}

std::optional<PrimaryMachine::Decision> PrimaryMachine::note_peer(const PeerStatus& p) {
    peer_ = p;
    resolve_.heard(p.lineage);
    if (state_ == PrimaryState::SPLIT_BRAIN || state_ == PrimaryState::HALTED) return std::nullopt;
    // A resolve kept X: until the peer reports its discard, its old generation and state are
    // the split brain being settled, not a new one.
    if (resolve_.awaiting_peer_discard(peer_)) return std::nullopt;
    Comparison cmp = compare(lineage_, p.lineage);
    const char* resolve = "; nothing automatic happens: run 'haspool resolve --discard NODE'";
    const PrimaryState from = state_;
    std::optional<Decision> split;
    if (cmp == Comparison::diverged)
        split = go(PrimaryState::SPLIT_BRAIN, "generations diverged: mine " + to_string(lineage_.current) + ", " +
                                                  peer_name_ + "'s " + to_string(p.lineage.current) + resolve);
    bool i_serve = from == PrimaryState::MIRRORED || from == PrimaryState::DEGRADED || from == PrimaryState::RESYNC;
    if (!split && i_serve && (p.says(StandbyState::ACTIVE) || p.says(StandbyState::TAKEOVER)))
        split = go(PrimaryState::SPLIT_BRAIN, peer_name_ + " says " + p.state_name() + " while this node is " +
                                                  to_string(from) + ": both may have written" + resolve);
    if (split) resolve_.split(from);
    return split;
}

PrimaryMachine::Decision PrimaryMachine::handle(const Event& e, TimePoint now) {
    if (const auto* f = facts_of(e)) facts_ = *f;
    if (std::holds_alternative<event::StepsSucceeded>(e)) return on_outcome(nullptr, now);
    if (const auto* f = std::get_if<event::StepFailed>(&e)) return on_outcome(f, now);
    return decide(e, now);
}

// One outcome per batch, in the order the batches were queued: the front batch's plan decides,
// if the state still waits for it.
PrimaryMachine::Decision PrimaryMachine::on_outcome(const event::StepFailed* f, TimePoint now) {
    auto batch = queue_.pop();
    if (!batch || !batch->awaited) return stay();  // a side batch, or a plan the state left behind
    return on_plan_result(batch->plan, f, now);
}

// The one outcome handler: a switch over the plan that ran (`f` null: every step succeeded).
PrimaryMachine::Decision PrimaryMachine::on_plan_result(Plan plan, const event::StepFailed* f, TimePoint now) {
    switch (plan) {
        case Plan::create:
        case Plan::connect:
        case Plan::connect_resync:
        case Plan::connect_diskless: return connect_result(plan, f, now);
        case Plan::detach_x:
            if (!f) return stay("X is out of the array; serving from " + peer_name_ + "'s Y alone until 'haspool replace-disk'");
            // Still serving from Y; only the mark (or md's remove) failed. Never halt for it: Y
            // is the disk that serves. A restart before the mark exists could assemble the stale
            // X, so say so once.
            return stay("losing X was not fully recorded: " + failure(*f) +
                        "; still serving from Y: do not restart this daemon before 'haspool replace-disk' has run");
        case Plan::replace_x:
            if (!f) return stay("md copies " + peer_name_ + "'s Y onto the new X in full (MIRRORED when it is done)");
            rebuilding_x_ = false;
            return go(PrimaryState::DISKLESS, "replace-disk failed: " + failure(*f) + "; still serving from Y alone");
        case Plan::solo:
            if (!f) return stay("serving from X alone (forced), generation " + to_string(lineage_.current));
            return go(PrimaryState::HALTED, "forced solo start failed: " + failure(*f));
        case Plan::degrade:
            if (!f) return stay("generation " + to_string(lineage_.current) + " marks the writes Y misses");
            if (std::holds_alternative<step::NotifyPeer>(f->step)) return stay();
            // Writing on without a persisted generation would let a stale Y win a later takeover.
            return halt_serving("cannot record the degraded period: " + failure(*f));
        case Plan::resync:
            if (!f) return stay();
            if (rebuilding_x_) return halt_serving("failback resync could not start: " + failure(*f));
            return retry_later(PrimaryState::DEGRADED, Plan::resync,
                               "re-adding " + peer_name_ + "'s leg failed: " + failure(*f), now);
        case Plan::handover: return handover_result(f);
        case Plan::resume: return resume_result(f);
        case Plan::failback: return failback_result(f, now);
        case Plan::stop:
            if (!f) return stay("service stopped");
            return stay("stopping the service failed: " + failure(*f) + "; the operator must stop it");
        case Plan::resolve:
            if (!f) return go(resolve_.next(), resolve_.done());
            return go(PrimaryState::HALTED, "resolve failed: " + failure(*f) +
                                                "; the operator decides (haspool status), then restarts the daemon");
        case Plan::none:
        case Plan::reconnect:
        case Plan::restore_write_mostly:
        case Plan::ask_failback:
        case Plan::pass_on: return stay();
    }
    return stay();
}

PrimaryMachine::Decision PrimaryMachine::decide(const Event& e, TimePoint now) {
    if (const auto* r = std::get_if<event::ResolveRequested>(&e)) return on_resolve(r->discard, false);
    if (const auto* r = std::get_if<event::PeerRequest>(&e))
        if (const config::Node* loser = discarded_by(c_, r->message)) return on_resolve(loser->name, true);
    if (const auto* h = std::get_if<event::HeartbeatReceived>(&e))
        if (auto split = note_peer(h->peer)) return *split;
    if (const auto* o = std::get_if<event::OperatorCommand>(&e); o && o->command == event::Command::replace_disk)
        return on_replace_disk();
    switch (state_) {
        case PrimaryState::WAIT_PEER: return on_wait_peer(e, now);
        case PrimaryState::DISKLESS: return on_diskless(e, now);
        // CONNECTING and FAILBACK: the plan's outcome decides (on_plan_result); nothing else does.
        case PrimaryState::CONNECTING:
        case PrimaryState::FAILBACK: return stay();
        case PrimaryState::MIRRORED: return on_mirrored(e, now);
        case PrimaryState::DEGRADED: return on_degraded(e, now);
        case PrimaryState::RESYNC: return on_resync(e, now);
        case PrimaryState::STANDING_BY: return on_standing_by(e, now);
        case PrimaryState::HANDOVER: return on_handover(e, now);
        case PrimaryState::HALTED:
        case PrimaryState::SPLIT_BRAIN:
            if (std::holds_alternative<event::OperatorCommand>(e)) {
                if (state_ == PrimaryState::SPLIT_BRAIN)
                    return refuse("refused: this node is SPLIT_BRAIN; settle it first with 'haspool resolve --discard NODE'");
                return refuse(std::string("refused: this node is ") + to_string(state_) +
                              "; fix the cause, run 'haspool resolve' if needed, then restart the daemon");
            }
            return stay();
    }
    return stay();
}

// SPLIT_BRAIN (docs/design.md §3 rule 2, docs/agent.md "Split brain and resolve"): the operator named the
// side whose data loses. Discarding X: release everything, persist a blank lineage, stand by;
// the failback then adds X in full from Y. Keeping X: serve on (or wait) until the standby
// exports a blank Y, which the connect/resync then adds in full. A resolve run here is passed on
// to the peer first (NotifyPeer), so the peer follows even when a later local step fails.
PrimaryMachine::Decision PrimaryMachine::on_resolve(const std::string& discard, bool from_peer) {
    std::string refusal;
    auto order = resolve_.accept(c_, plans_, config::Role::primary, discard, from_peer, peer_name_, to_string(state_),
                                 state_ == PrimaryState::SPLIT_BRAIN, queue_.awaited() == Plan::resolve,
                                 static_cast<unsigned>(queue_.size()), lineage_, peer_, refusal);
    if (!order) return refuse(refusal);
    const std::string& what = order->check.what;
    const std::string& mine = order->mine;
    const std::string& theirs = order->theirs;
    auto resolving = [&](std::vector<Step> plan, PrimaryState next, std::string done, std::string reason) {
        last_note_.clear();
        return run(resolve_.run(*order, std::move(plan), next, std::move(done)), Plan::resolve, std::move(reason));
    };
    if (order->discard_self)
        return resolving(plans_.discard(c_.primary(), lineage_.current), PrimaryState::STANDING_BY,
                         "discarded this node's data (generation " + mine + "): standing by; X is added in full when " +
                             peer_name_ + " hands Y back",
                         what + ": discarding this node's data (generation " + mine + ", " + peer_name_ + " keeps " +
                             theirs + "): stopping the service, releasing the array and the NBD leg");
    const PrimaryState from = resolve_.split_from();
    // X is incomplete when the split brain interrupted the copy of Y onto X after a failback.
    if (from == PrimaryState::RESYNC && rebuilding_x_)
        return refuse("refused " + what + ": this node was copying Y onto X (after a failback) when the split brain "
                      "began, so X is incomplete and Y holds the only complete copy of this node's data; discard " +
                      c_.primary().name + " instead, or settle the data by hand");
    resolve_.keep(peer_);
    std::string keep = what + ": keeping this node's data (generation " + mine + "), " + peer_name_ + " discards " + theirs;
    switch (from) {
        case PrimaryState::MIRRORED:
        case PrimaryState::RESYNC:
            return resolving(plans_.drop_peer_leg(), PrimaryState::DEGRADED,
                             "serving from X alone; Y is added in full once " + peer_name_ + " exports it blank",
                             keep + "; failing Y's leg and serving on from X");
        case PrimaryState::DEGRADED:
            return go(PrimaryState::DEGRADED, keep + "; serving on from X alone", std::move(order->steps), Plan::pass_on);
        case PrimaryState::CONNECTING:
        case PrimaryState::FAILBACK:
        case PrimaryState::HANDOVER:
            return resolving(plans_.release(c_.primary()), PrimaryState::WAIT_PEER,
                             "released what the interrupted " + std::string(to_string(from)) + " had taken; waiting for " +
                                 peer_name_ + " to export Y blank",
                             keep + "; releasing what the interrupted " + to_string(from) + " had taken");
        default:
            return go(PrimaryState::WAIT_PEER,
                      keep + "; waiting for " + peer_name_ + " to export Y blank, then X is copied onto it in full",
                      std::move(order->steps), Plan::pass_on);
    }
}

PrimaryMachine::Decision PrimaryMachine::consider_peer(TimePoint now) {
    if (!peer_) return stay();
    const PeerStatus& p = *peer_;
    if (p.primary) return stay("ignoring heartbeats from another primary");
    if (retry_at_ && now < *retry_at_) return stay({}, retry_at_);
    Comparison cmp = compare(lineage_, p.lineage);
    std::string gens = "mine " + to_string(lineage_.current) + ", " + peer_name_ + "'s " + to_string(p.lineage.current);
    // Never assemble against data that diverged from ours: only a resolve settles that.
    if (resolve_.awaiting_peer_discard(peer_))
        return stay(peer_name_ + " has not discarded its generation " + to_string(p.lineage.current) + " yet (it is " +
                    p.state_name() + "); waiting");
    if (cmp == Comparison::diverged) return stay("generations diverged (" + gens + "); waiting");
    const bool x_blank = lineage_.current == Generation::blank();
    const bool y_blank = p.lineage.current == Generation::blank();
    // The standby served Y outside md (raw takeover): X gets a full copy, never a re-add.
    const bool y_raw = p.md == MirrorHealth::raw_written;
    if (cmp == Comparison::peer_newer) {
        if (p.says(StandbyState::EXPORTING))
            return go(PrimaryState::FAILBACK, peer_name_ + " exports newer data (" + gens + "): failing back from Y" +
                                                  (x_blank   ? ", adding X in full (its data was discarded)"
                                                   : y_raw   ? ", adding X in full (Y was written outside md)"
                                                   : x_lost_ ? ", adding X in full (md had failed it)"
                                                             : ""),
                      plans_.failback(p.lineage, x_blank, y_raw, x_lost_), Plan::failback, true);
        if (state_ == PrimaryState::STANDING_BY) return stay();
        return go(PrimaryState::STANDING_BY, peer_name_ + " holds newer data and is " + p.state_name() + " (" + gens +
                                                 "): standing by for failback");
    }
    if (state_ == PrimaryState::STANDING_BY) {
        // Same generation: only when a failback already adopted Y's lineage and must be retried
        // (right after a switchover the standby still says EXPORTING with our generation).
        if (cmp == Comparison::same && retry_plan_ == Plan::failback && p.says(StandbyState::EXPORTING))
            return go(PrimaryState::FAILBACK, "retrying the failback from " + peer_name_ + "'s Y",
                      plans_.failback(p.lineage, false, y_raw, x_lost_), Plan::failback, true);
        return stay();
    }
    if (!p.says(StandbyState::EXPORTING))
        return stay(peer_name_ + " is " + p.state_name() + ", not EXPORTING (" + gens + "); waiting");
    if (p.md == MirrorHealth::y_failed)
        return stay(peer_name_ + " reports its disk Y failed (" + gens + "): not assembling with it; waiting (start with "
                                 "--force-solo to serve from X alone)");
    if (x_lost_) {
        // The stale X is never assembled (docs/faults.md, loss of X): serve from Y alone.
        if (opt_.init) return stay("refused --init: X is marked lost; remove the mark only if X was replaced and nothing on it counts");
        if (cmp != Comparison::same)
            return stay("X is marked lost, and the generations differ (" + gens + ", " + to_string(cmp) +
                        "): Y is not known to hold this node's last writes; the operator decides");
        return go(PrimaryState::CONNECTING,
                  "heard " + peer_name_ + " EXPORTING (" + gens + "): X is marked lost, assembling from Y alone",
                  plans_.connect_diskless(), Plan::connect_diskless, true);
    }
    const Plan plan = opt_.init ? Plan::create : cmp == Comparison::mine_newer ? Plan::connect_resync : Plan::connect;
    return go(PrimaryState::CONNECTING,
              "heard " + peer_name_ + " EXPORTING (" + gens + ", " + to_string(cmp) + "): " +
                  (plan == Plan::create    ? "creating the mirror"
                   : plan == Plan::connect ? "assembling the mirror"
                   : y_blank               ? "assembling from X, adding Y in full (it is blank)"
                                           : "assembling from X, resync X->Y"),
              plans_.connect(cmp == Comparison::mine_newer, opt_.init, opt_.force, y_blank), plan, true);
}

// WAIT_PEER: X must not be used until we know the standby's generation.
PrimaryMachine::Decision PrimaryMachine::on_wait_peer(const Event& e, TimePoint now) {
    if (std::holds_alternative<event::HeartbeatReceived>(e) || std::holds_alternative<event::TimerFired>(e)) {
        if (std::holds_alternative<event::TimerFired>(e) && facts_.paths_alive() == 0) return stay();
        return consider_peer(now);
    }
    if (const auto* o = std::get_if<event::OperatorCommand>(&e))
        return stay(std::string("refused ") + to_string(o->command) + ": waiting for " + peer_name_);
    return stay();
}

// CONNECTING: the connect plan's outcome.
PrimaryMachine::Decision PrimaryMachine::connect_result(Plan plan, const event::StepFailed* f, TimePoint now) {
    if (!f) {
        opt_.init = false;
        retry_ = Millis(0);
        if (plan == Plan::connect_resync)
            return go(PrimaryState::RESYNC, "serving; md copies X->" + peer_name_ + "'s Y");
        if (plan == Plan::connect_diskless)
            return go(PrimaryState::DISKLESS, "serving " + c_.service.address + " from " + peer_name_ +
                                                  "'s Y alone (X is marked lost): run 'haspool replace-disk' once X is replaced");
        // A new array is not a mirror yet: md's initial sync copies X onto Y. Until it ends, Y is
        // no copy to take over from, and a switchover must be refused: RESYNC says so on the
        // wire, and md's ResyncFinished makes it MIRRORED (docs/design.md §2: MIRRORED = md clean).
        if (plan == Plan::create)
            return go(PrimaryState::RESYNC, "serving " + c_.service.address + "; the new mirror's initial sync copies X onto " +
                                                peer_name_ + "'s Y (MIRRORED when md is clean)");
        return go(PrimaryState::MIRRORED, "mirrored with " + peer_name_ + "; serving " + c_.service.address);
    }
    // --init created the array before a later step failed (the undo only stopped it): the
    // retry assembles it; creating again would be refused over its own superblocks.
    if (opt_.init && !std::holds_alternative<step::AttachNbd>(f->step) &&
        !std::holds_alternative<step::AssembleMirror>(f->step))
        opt_.init = false;
    if (!f->undo_errors.empty()) return halt_serving("connecting failed: " + failure(*f));
    return retry_later(PrimaryState::WAIT_PEER, Plan::connect, "connecting failed: " + failure(*f), now);
}

// MIRRORED: both legs; lose the standby -> DEGRADED (fail its leg ourselves, docs/design.md §7).
PrimaryMachine::Decision PrimaryMachine::on_mirrored(const Event& e, TimePoint now) {
    if (const auto* m = std::get_if<event::MdMemberFailed>(&e)) {
        // Which leg failed decides which copy is left: the NBD leg is Y, any other member is X.
        if (m->dev != nbd_dev_) return lose_x(m->dev, "");
        return go(PrimaryState::DEGRADED, "md failed " + m->dev + ": serving from X alone", plans_.degrade(), Plan::degrade);
    }
    if (std::holds_alternative<event::PeerSilent>(e) || std::holds_alternative<event::TimerFired>(e)) {
        if (peer_dead(facts_, now))
            return go(PrimaryState::DEGRADED, peer_name_ + " silent on every path for " +
                                                  format_duration(facts_.silent_for(now).value_or(Millis(0))) +
                                                  ": failing its leg, serving from X alone",
                      plans_.degrade(), Plan::degrade);
        return stay({}, facts_.paths_alive() == 0 ? dead_at(facts_) : std::nullopt);
    }
    if (const auto* l = std::get_if<event::NbdLinkLost>(&e)) return reconnect(*l);
    if (const auto* o = std::get_if<event::OperatorCommand>(&e)) {
        if (o->command == event::Command::failback) return stay("refused failback: this node already serves");
        if (!peer_ || !peer_->says(StandbyState::EXPORTING) || facts_.paths_stable() == 0)
            return stay("refused switchover: " + peer_name_ + " must be EXPORTING and heard on a stable path");
        if (peer_->md == MirrorHealth::y_failed) return stay("refused switchover: " + peer_name_ + " reports its disk Y failed");
        leg_failed_in_handover_.clear();
        return go(PrimaryState::HANDOVER, "switchover: stopping here, then " + peer_name_ + " takes over",
                  plans_.handover(), Plan::handover);
    }
    return stay();
}

// A link blip (docs/design.md §4): hand the kernel a fresh socket within the dead-connection timeout, so
// md never sees an error. If it cannot be done in time, the kernel fails the I/O, md fails the
// leg, and MdMemberFailed takes us to DEGRADED: the reconnect needs no failure handling here.
PrimaryMachine::Decision PrimaryMachine::reconnect(const event::NbdLinkLost& l) {
    return run(plans_.reconnect(), Plan::reconnect,
               "NBD link lost (" + l.why + "): reconnecting within the dead-connection timeout (" +
                   format_duration(c_.nbd.dead_conn_timeout) + "), otherwise md fails the leg");
}

// DEGRADED: serving from X alone; bring Y back when the standby is back and stable.
PrimaryMachine::Decision PrimaryMachine::on_degraded(const Event& e, TimePoint now) {
    // While the solo or degrade plan runs, nothing else is started or answered.
    if (queue_.awaited() != Plan::none) return stay();
    bool peer_ready = peer_ && peer_->says(StandbyState::EXPORTING) && facts_.paths_stable() > 0 &&
                      !resolve_.awaiting_peer_discard(peer_) && compare(lineage_, peer_->lineage) != Comparison::diverged;
    if (std::holds_alternative<event::HeartbeatReceived>(e) || std::holds_alternative<event::TimerFired>(e)) {
        if (!peer_ready) return stay();
        // Re-adding a leg whose disk answers I/O errors would only make md fail it again.
        if (peer_->md == MirrorHealth::y_failed)
            return stay(peer_name_ + " reports its disk Y failed: not re-adding its leg; serving from X alone until Y "
                                     "is replaced and " + peer_name_ + "'s daemon restarted");
        if (retry_at_ && now < *retry_at_) return stay({}, retry_at_);
        bool y_blank = peer_->lineage.current == Generation::blank();
        return go(PrimaryState::RESYNC,
                  peer_name_ + " is back and stable: " +
                      (y_blank ? "adding its leg in full (Y is blank)" : "re-adding its leg (bitmap resync X->Y)"),
                  plans_.resync(y_blank), Plan::resync);
    }
    if (const auto* o = std::get_if<event::OperatorCommand>(&e))
        return stay(std::string("refused ") + to_string(o->command) + ": the mirror is degraded");
    return stay();
}

// RESYNC: md copies; finished -> MIRRORED.
PrimaryMachine::Decision PrimaryMachine::on_resync(const Event& e, TimePoint now) {
    if (std::holds_alternative<event::ResyncFinished>(e)) {
        bool from_peer = rebuilding_x_;
        rebuilding_x_ = false;
        const bool x_was_lost = from_peer && std::exchange(x_lost_, false);
        // Reads go to X again only once the NBD leg is write-mostly (after a failback it was the
        // only leg, so it could not be). A lost X counts again once md has copied all of Y onto it.
        return go(PrimaryState::MIRRORED,
                  std::string("resync finished (") + (from_peer ? "Y->X" : "X->Y") + "): mirrored" +
                      (x_was_lost ? "; X is whole again (the x-lost mark is cleared)" : ""),
                  plans_.x_rebuilt(x_was_lost), Plan::restore_write_mostly);
    }
    if (const auto* l = std::get_if<event::NbdLinkLost>(&e)) return reconnect(*l);
    if (const auto* m = std::get_if<event::MdMemberFailed>(&e)) {
        // Copying Y onto X: X is the half-copied leg, and losing it leaves Y, complete.
        if (rebuilding_x_ && m->dev != nbd_dev_) {
            rebuilding_x_ = false;
            return lose_x(m->dev, " while md copied Y onto it");
        }
        // During failback X is the half-copied leg: losing Y leaves no complete copy to serve.
        if (rebuilding_x_ || m->dev != nbd_dev_)
            return halt_serving("md failed " + m->dev + " during resync; the surviving leg is incomplete");
        return go(PrimaryState::DEGRADED, "md failed " + m->dev + " during resync: serving from X alone");
    }
    if (std::holds_alternative<event::PeerSilent>(e) || std::holds_alternative<event::TimerFired>(e)) {
        if (!peer_dead(facts_, now)) return stay({}, facts_.paths_alive() == 0 ? dead_at(facts_) : std::nullopt);
        if (rebuilding_x_)
            return stay(peer_name_ + " is silent during the Y->X resync; Y is the only complete copy, so its leg stays (md fails it on I/O timeout)");
        return go(PrimaryState::DEGRADED, peer_name_ + " silent during resync: failing its leg",
                  plans_.drop_peer_leg(), Plan::degrade);
    }
    if (const auto* o = std::get_if<event::OperatorCommand>(&e)) {
        if (o->command == event::Command::failback) return stay("refused failback: this node already serves");
        return stay("refused switchover: md is still copying (" + std::string(rebuilding_x_ ? "Y->X" : "X->Y") +
                    "), so " + (rebuilding_x_ ? "X" : "Y") + " is not a complete copy yet; wait for MIRRORED");
    }
    return stay();
}

// STANDING_BY: the standby serves; fail back when it hands back (or on request).
PrimaryMachine::Decision PrimaryMachine::on_standing_by(const Event& e, TimePoint now) {
    if (const auto* r = std::get_if<event::PeerRequest>(&e)) {
        if (r->message == MessageKind::handed_back) {
            if (!peer_) return stay("handed-back from " + peer_name_ + " before any heartbeat; waiting for one");
            retry_at_.reset();
            PeerStatus p = *peer_;
            p.state = static_cast<uint8_t>(StandbyState::EXPORTING);  // what the message says
            peer_ = p;
            return consider_peer(now);
        }
        return stay();
    }
    if (std::holds_alternative<event::HeartbeatReceived>(e) || std::holds_alternative<event::TimerFired>(e))
        return consider_peer(now);
    if (const auto* o = std::get_if<event::OperatorCommand>(&e)) {
        if (o->command == event::Command::switchover) return stay("refused switchover: " + peer_name_ + " serves");
        return run(plans_.ask_failback(), Plan::ask_failback, "asked " + peer_name_ + " to hand the service back");
    }
    return stay();
}

// HANDOVER: the switchover's stop plan runs; md failing a leg meanwhile is remembered.
PrimaryMachine::Decision PrimaryMachine::on_handover(const Event& e, TimePoint) {
    if (const auto* m = std::get_if<event::MdMemberFailed>(&e)) {
        // Not acted on mid-plan; once serving again this node degrades as MIRRORED would have.
        leg_failed_in_handover_ = m->dev;
        return stay("md failed " + m->dev + " during the switchover");
    }
    return stay();
}

// HANDOVER, the stop plan's outcome. When it fails before the array was stopped (a busy unmount,
// a unit that would not stop), the standby was not told, the array is still assembled with both
// legs and nobody else may serve: the service resumes here rather than staying down.
PrimaryMachine::Decision PrimaryMachine::handover_result(const event::StepFailed* f) {
    if (!f) return go(PrimaryState::STANDING_BY, "stopped and told " + peer_name_ + " to take over (switchover)");
    const std::string why = "switchover failed: " + failure(*f) + "; " + peer_name_ + " was not told to take over";
    if (f->undo_errors.empty() && Plans::failed_while_stopping_service(f->step))
        return go(PrimaryState::HANDOVER, why + "; the array is still assembled: resuming the service here",
                  plans_.resume(c_.primary(), c_.spool.md_device), Plan::resume);
    return go(PrimaryState::HALTED, why + "; the operator decides");
}

// HANDOVER, the resume plan's outcome: serving again, degraded if md failed a leg meanwhile.
PrimaryMachine::Decision PrimaryMachine::resume_result(const event::StepFailed* f) {
    if (f)
        return go(PrimaryState::HALTED, "resuming the service after the failed switchover failed: " + failure(*f) +
                                            "; the operator decides");
    if (!leg_failed_in_handover_.empty()) {
        std::string dev = std::exchange(leg_failed_in_handover_, {});
        if (dev != nbd_dev_) return lose_x(dev, " during the failed switchover");
        return go(PrimaryState::DEGRADED,
                  "resumed serving " + c_.service.address + " after the failed switchover; md failed " + dev +
                      " meanwhile: serving from X alone",
                  plans_.degrade(), Plan::degrade);
    }
    if (x_lost_)
        return go(PrimaryState::DISKLESS, "resumed serving " + c_.service.address + " from " + peer_name_ +
                                              "'s Y alone after the failed switchover (X is marked lost)");
    return go(PrimaryState::MIRRORED,
              "resumed serving " + c_.service.address + " after the failed switchover (" + peer_name_ +
                  " exports Y as before)",
              {}, Plan::none, false, facts_.paths_alive() == 0 ? dead_at(facts_) : std::nullopt);
}

// Loss of X (docs/faults.md): md failed the local disk while Y holds every write. Serve on from Y
// through the NBD leg, DRBD's "detach, go diskless": never fail the last good leg, never halt for
// a failed local disk. No generation is minted (Y misses nothing), and heartbeats say DISKLESS,
// so the standby knows Y is current and may take over from it if this node dies next.
PrimaryMachine::Decision PrimaryMachine::lose_x(const std::string& dev, std::string context) {
    x_lost_ = true;
    return go(PrimaryState::DISKLESS,
              "md failed " + dev + " (X)" + context + ": serving from " + peer_name_ +
                  "'s Y alone through the NBD leg; X is marked lost until 'haspool replace-disk' rebuilds it",
              plans_.detach_x(dev), Plan::detach_x);
}

// DISKLESS: serving from Y alone. The NBD leg is the only disk: a link blip is bridged as in
// MIRRORED, and when the standby is gone (silent on every path and NBD for dead_after) this node
// has no disk and stops serving, which also leaves the standby free to take over from Y.
PrimaryMachine::Decision PrimaryMachine::on_diskless(const Event& e, TimePoint now) {
    if (const auto* m = std::get_if<event::MdMemberFailed>(&e)) {
        if (m->dev == nbd_dev_) return halt_serving("md failed " + m->dev + " (Y's leg) while X is lost: no disk is left");
        return stay();  // X again (the detach's own remove)
    }
    if (const auto* l = std::get_if<event::NbdLinkLost>(&e)) return reconnect(*l);
    if (std::holds_alternative<event::PeerSilent>(e) || std::holds_alternative<event::TimerFired>(e)) {
        if (peer_dead(facts_, now))
            return halt_serving(peer_name_ + " silent on every path and NBD for " +
                                format_duration(facts_.silent_for(now).value_or(Millis(0))) +
                                " while X is lost: its Y is this node's only disk");
        return stay({}, facts_.paths_alive() == 0 ? dead_at(facts_) : std::nullopt);
    }
    if (const auto* o = std::get_if<event::OperatorCommand>(&e)) {
        if (o->command == event::Command::failback) return stay("refused failback: this node already serves");
        if (queue_.awaited() != Plan::none) return refuse("refused switchover: X is still being taken out of the array");
        if (!peer_ || !peer_->says(StandbyState::EXPORTING) || facts_.paths_stable() == 0)
            return stay("refused switchover: " + peer_name_ + " must be EXPORTING and heard on a stable path");
        leg_failed_in_handover_.clear();
        return go(PrimaryState::HANDOVER, "switchover (X is lost): stopping here, then " + peer_name_ + " takes over from Y",
                  plans_.handover(), Plan::handover);
    }
    return stay();
}

PrimaryMachine::Decision PrimaryMachine::on_replace_disk() {
    if (state_ != PrimaryState::DISKLESS) {
        if (state_ == PrimaryState::RESYNC && rebuilding_x_ && x_lost_)
            return refuse("refused replace-disk: md is already copying Y onto X");
        return refuse(std::string("refused replace-disk: X is not lost (this node is ") + to_string(state_) +
                      "); it rebuilds X only after md failed it (DISKLESS)");
    }
    if (queue_.awaited() != Plan::none) return refuse("refused replace-disk: X is still being taken out of the array");
    rebuilding_x_ = true;
    return go(PrimaryState::RESYNC,
              "replace-disk: adding " + c_.primary().spool_device + " in full; md copies " + peer_name_ +
                  "'s Y onto it while the service runs",
              plans_.replace_x(), Plan::replace_x);
}

// FAILBACK, the failback plan's outcome.
PrimaryMachine::Decision PrimaryMachine::failback_result(const event::StepFailed* f, TimePoint now) {
    if (!f) {
        rebuilding_x_ = true;
        return go(PrimaryState::RESYNC, "failed back: serving " + c_.service.address + "; md copies Y->X");
    }
    if (!f->undo_errors.empty()) return halt_serving("failback failed: " + failure(*f));
    return retry_later(PrimaryState::STANDING_BY, Plan::failback,
                       "failback failed: " + failure(*f) + "; nobody serves until it works", now);
}

}  // namespace haspool::agent
