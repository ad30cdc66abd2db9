#pragma once
// The primary's policy (docs/design.md §2, §3, §4): a pure function of (event, now) that returns a
// Decision. It never reads a clock, a socket or a file; the daemon feeds it facts.
#include <optional>
#include <string>

#include "config/config.hpp"
#include "agent/core/events.hpp"
#include "agent/core/plan_queue.hpp"
#include "agent/core/plans.hpp"
#include "agent/core/resolve.hpp"

namespace haspool::agent {

// The plan a primary's batch of steps runs: where its outcome goes (on_plan_result). The state a
// plan runs in is part of the machine's phase: "CONNECTING running connect_resync" ends in RESYNC,
// "CONNECTING running connect" in MIRRORED.
enum class PrimaryPlan : uint8_t {
    none,            // nothing in flight that the state waits for
    create,          // CONNECTING: --init, create the mirror (RESYNC: md's initial sync follows)
    connect,         // CONNECTING: assemble the mirror (MIRRORED)
    connect_resync,  // CONNECTING: X newer, assemble from X and re-add (or add) Y (RESYNC X->Y)
    connect_diskless,  // CONNECTING: started with the x-lost mark, assemble from Y alone (DISKLESS)
    detach_x,        // DISKLESS: md failed X; mark it lost, take it out of the array
    replace_x,       // RESYNC: `haspool replace-disk`, X added in full (md copies Y->X)
    solo,            // DEGRADED: --force-solo
    degrade,         // DEGRADED: fail Y's leg, mint a generation, tell the standby
    resync,          // RESYNC: re-attach and re-add (or add) Y's leg
    handover,        // HANDOVER: the switchover's stop plan
    resume,          // HANDOVER: serving again after the stop plan failed before StopMirror
    failback,        // FAILBACK: the failback plan
    stop,            // HALTED: stop serving
    resolve,         // SPLIT_BRAIN: the resolve plan (where it leads: ResolveTracker)
    // Side batches, never awaited (nothing decides on their outcome):
    reconnect,       // NBD link lost: a fresh socket (md fails the leg if it does not come in time)
    restore_write_mostly,  // resync finished: the NBD leg write-mostly again
    ask_failback,    // STANDING_BY, `haspool failback`: ask the standby to hand back
    pass_on,         // a resolve's NotifyPeer alone (nothing to do here but wait or serve on)
};
const char* to_string(PrimaryPlan p);

// The primary's whole state: the state on the wire, what it waits for there, and what a failure
// left it to retry after the back-off.
struct PrimaryPhase {
    PrimaryState state = PrimaryState::WAIT_PEER;
    PrimaryPlan running = PrimaryPlan::none;  // the awaited plan in flight (its outcome decides)
    // WAIT_PEER: connect failed; DEGRADED: resync failed; STANDING_BY: failback failed (its
    // lineage may be adopted already, so it is retried even at the same generation).
    PrimaryPlan retry = PrimaryPlan::none;
    bool operator==(const PrimaryPhase&) const = default;
};
// "CONNECTING running connect_resync", "STANDING_BY (retrying failback)", "MIRRORED".
std::string to_string(const PrimaryPhase& p);

class PrimaryMachine {
public:
    using Decision = agent::Decision<PrimaryState>;

    struct Options {
        bool init = false;        // --init: create the md array on first connect
        bool force_solo = false;  // --force-solo: serve from X without hearing the standby
        bool force = false;       // --init --force: create the array even over a filesystem
        bool x_lost = false;      // the persisted x-lost mark (PersistedMark::x_lost) at start
    };

    PrimaryMachine(const config::Config& c, Lineage lineage, Options o);

    // The first decision: WAIT_PEER (docs/design.md §3 rule 3), or a forced solo start.
    Decision start(TimePoint now);
    Decision handle(const Event& e, TimePoint now);

    PrimaryState state() const { return state_; }
    // The state with the plan it waits for and the plan it retries (status, tests).
    PrimaryPhase phase() const { return PrimaryPhase{state_, queue_.awaited(), retry_plan_}; }
    // Every batch handed to the daemon whose outcome is still to come, oldest first.
    const PlanQueue<PrimaryPlan>& in_flight() const { return queue_; }
    const Lineage& lineage() const { return lineage_; }
    void lineage_changed(const Lineage& l) { lineage_ = l; }
    const std::optional<PeerStatus>& peer() const { return peer_; }
    // md failed X and it has not been rebuilt in full since (the x-lost mark).
    bool x_lost() const { return x_lost_; }

private:
    using Plan = PrimaryPlan;

    Decision decide(const Event& e, TimePoint now);
    // Every StepsSucceeded/StepFailed: the front batch's plan decides (`failed` null: succeeded).
    Decision on_outcome(const event::StepFailed* failed, TimePoint now);
    Decision on_plan_result(Plan plan, const event::StepFailed* failed, TimePoint now);
    Decision connect_result(Plan plan, const event::StepFailed* failed, TimePoint now);
    Decision handover_result(const event::StepFailed* failed);
    Decision resume_result(const event::StepFailed* failed);
    Decision failback_result(const event::StepFailed* failed, TimePoint now);
    // A decision that changes nothing and always says why (operator answers are never deduplicated).
    Decision refuse(std::string reason) const { return Decision{state_, {}, std::nullopt, std::move(reason)}; }
    // `haspool resolve --discard NODE` here (from_peer false) or on the peer (true).
    Decision on_resolve(const std::string& discard, bool from_peer);

    Decision stay(std::string reason = {}, std::optional<TimePoint> wake = {});
    // A transition (or a new plan in the same state): `plan` names the steps, if any.
    Decision go(PrimaryState next, std::string reason, std::vector<Step> steps = {}, Plan plan = Plan::none,
                bool undo = false, std::optional<TimePoint> wake = {});
    // Steps in the same state, the notes kept.
    Decision run(std::vector<Step> steps, Plan plan, std::string reason);
    std::optional<Decision> note_peer(const PeerStatus& p);
    // `plan` failed: `next` retries it after a doubling delay.
    Decision retry_later(PrimaryState next, Plan plan, std::string why, TimePoint now);
    Decision halt_serving(std::string why);
    Decision reconnect(const event::NbdLinkLost& l);
    bool peer_dead(const PeerFacts& f, TimePoint now) const;
    std::optional<TimePoint> dead_at(const PeerFacts& f) const;

    Decision on_wait_peer(const Event& e, TimePoint now);
    Decision on_mirrored(const Event& e, TimePoint now);
    Decision on_degraded(const Event& e, TimePoint now);
    Decision on_resync(const Event& e, TimePoint now);
    Decision on_standing_by(const Event& e, TimePoint now);
    Decision on_handover(const Event& e, TimePoint now);
    Decision on_diskless(const Event& e, TimePoint now);
    // `haspool replace-disk`: only DISKLESS rebuilds X.
    Decision on_replace_disk();
    // md failed X while Y holds every write (MIRRORED, a Y->X copy, a resumed switchover).
    Decision lose_x(const std::string& dev, std::string context);
    // WAIT_PEER/STANDING_BY: what the standby's heartbeat allows us to do now.
    Decision consider_peer(TimePoint now);

    const config::Config& c_;
    Plans plans_;
    Options opt_;
    std::string peer_name_;
    std::string nbd_dev_;
    PrimaryState state_ = PrimaryState::WAIT_PEER;
    PlanQueue<Plan> queue_;              // the batches in flight; the awaited one is the phase's plan
    Plan retry_plan_ = Plan::none;       // part of the phase (see PrimaryPhase::retry)
    ResolveTracker<PrimaryState> resolve_{PrimaryState::WAIT_PEER};
    Lineage lineage_;
    std::optional<PeerStatus> peer_;
    PeerFacts facts_;
    std::optional<TimePoint> retry_at_;
    Millis retry_{0};
    std::string last_note_;
    // Facts about the data, not about a plan (they outlive the plan that made them true):
    // md is rebuilding X from Y (RESYNC after FAILBACK, until ResyncFinished): Y holds the only
    // complete copy. It stays true through HALTED and SPLIT_BRAIN, where it refuses keeping X.
    bool rebuilding_x_ = false;
    // md failed X (DISKLESS, persisted as the x-lost mark): X is never assembled, and the next
    // copy onto X (replace-disk or a failback) is a full one. Cleared when that copy finishes.
    bool x_lost_ = false;
    std::string leg_failed_in_handover_;  // md failed this leg while HANDOVER ran (or resumed)
};

}  // namespace haspool::agent
