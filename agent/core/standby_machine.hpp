#pragma once
// The standby's policy (docs/design.md §2, §3, §4): a pure function of (event, now) that returns a
// Decision. It never reads a clock, a socket or a file; the daemon feeds it facts.
#include <optional>
#include <string>

#include "config/config.hpp"
#include "agent/core/events.hpp"
#include "agent/core/plan_queue.hpp"
#include "agent/core/plans.hpp"
#include "agent/core/resolve.hpp"

namespace haspool::agent {

// The plan a standby's batch of steps runs: where its outcome goes (on_plan_result). The state
// a plan runs in is part of the machine's phase: "TAKEOVER running takeover_raw" and "TAKEOVER
// running resume" are different places, with different outcomes.
enum class StandbyPlan : uint8_t {
    none,          // nothing in flight that the state waits for
    export_y,      // EXPORTING/SUSPECT: StartExport (at start, on a retry, after a resolve kept Y)
    adopt,         // EXPORTING/SUSPECT: AdoptGeneration (the primary reports MIRRORED, in sync, newer)
    clear_raw,     // EXPORTING/SUSPECT: ClearRawWrites (the primary rebuilt X in full from Y)
    takeover,      // TAKEOVER: the takeover plan
    takeover_raw,  // TAKEOVER: the raw plan that replaced it (AssembleDegraded failed, opted in)
    resume,        // TAKEOVER: serve on after a restart while Y was in use; HANDBACK: after it failed
    handback,      // HANDBACK: the handback plan
    resolve,       // SPLIT_BRAIN: the resolve plan (where it leads: ResolveTracker)
    pass_on,       // a side batch: a resolve's NotifyPeer alone (kept Y while ACTIVE); never awaited
};
const char* to_string(StandbyPlan p);

// The standby's whole state: the state on the wire, and what it waits for there.
struct StandbyPhase {
    StandbyState state = StandbyState::EXPORTING;
    StandbyPlan running = StandbyPlan::none;  // the awaited plan in flight (its outcome decides)
    // ACTIVE after a failed handback was resumed: automatic failback waits for the operator
    // (a cause that lasts would otherwise move the service address every hold-off).
    bool failback_held = false;
    bool operator==(const StandbyPhase&) const = default;
};
// "TAKEOVER running takeover_raw", "ACTIVE (automatic failback held)", "EXPORTING".
std::string to_string(const StandbyPhase& p);

class StandbyMachine {
public:
    using Decision = agent::Decision<StandbyState>;

    // `raw_written`: the persisted mark of an earlier raw takeover (MarkRawWrites) is present.
    StandbyMachine(const config::Config& c, Lineage lineage, bool raw_written = false);

    // What the daemon found using Y on this node when it started (DeviceClaim): the daemon was
    // restarted (an upgrade, a crash) while this node served, or in the middle of a takeover or
    // handback. Exporting Y then would let the primary fail back under the mounted filesystem.
    struct SpoolInUse {
        std::string what;  // "/dev/vdb is held by md127"
        bool raw = false;  // through the raw takeover's loop mapping
    };
    // The first decision: export Y and watch the primary; or, when Y is in use here, resume
    // serving from it (fsck unless mounted, mount, VIP, units) and be ACTIVE again.
    Decision start(TimePoint now, const std::optional<SpoolInUse>& in_use = std::nullopt);
    Decision handle(const Event& e, TimePoint now);

    StandbyState state() const { return state_; }
    // The state with the plan it waits for (status, tests).
    StandbyPhase phase() const { return StandbyPhase{state_, queue_.awaited(), failback_held_}; }
    // Every batch handed to the daemon whose outcome is still to come, oldest first.
    const PlanQueue<StandbyPlan>& in_flight() const { return queue_; }
    const Lineage& lineage() const { return lineage_; }
    // The persisted lineage after steps changed it (BumpGeneration/AdoptGeneration ran).
    void lineage_changed(const Lineage& l) { lineage_ = l; }
    const std::optional<PeerStatus>& peer() const { return peer_; }
    // Why Y must not be served (empty when it may): what the primary last told us.
    const std::string& outdated_because() const { return outdated_; }
    // Y was written outside md (raw takeover) and X has not been rebuilt in full since: the
    // heartbeats say so (MirrorHealth::raw_written), so the primary's failback adds X in full.
    bool raw_written() const { return raw_written_; }
    // The export of Y answered I/O errors (docs/faults.md, loss of Y): why, or empty. Heartbeats
    // say y-failed, and no takeover (crash or planned) is made from Y until the daemon restarts
    // on a repaired disk.
    const std::string& y_failed() const { return y_failed_; }
    // The spool is served from the raw loop mapping of Y (ACTIVE after a raw takeover).
    bool serving_raw() const { return serving_raw_; }

    // Why a takeover may not happen now, or nullopt when every guard of docs/design.md §3 rule 1 and
    // §7 holds; `wait_until` is set when the answer changes by itself at that time.
    struct Refusal {
        std::string why;
        std::optional<TimePoint> wait_until;
    };
    std::optional<Refusal> takeover_refusal(const PeerFacts& f, TimePoint now) const;

    // How long a primary's announced daemon restart holds the takeover back. A restart under
    // systemd (stop, ExecStartPre's check-config, start, the first heartbeat) takes seconds on a
    // loaded host; the primary crashing during one delays the takeover to this at most.
    static constexpr Millis kDaemonRestartHold{60000};

private:
    using Plan = StandbyPlan;

    Decision decide(const Event& e, TimePoint now);
    // Every StepsSucceeded/StepFailed: the front batch's plan decides (`failed` null: succeeded).
    Decision on_outcome(const event::StepFailed* failed, TimePoint now);
    Decision on_plan_result(Plan plan, const event::StepFailed* failed, TimePoint now);
    Decision export_result(Plan plan, const event::StepFailed* failed, TimePoint now);
    Decision takeover_result(bool raw, const event::StepFailed* failed);
    Decision handback_result(const event::StepFailed* failed);
    // The outcome of a resume plan (after a failed handback, or a restart while serving).
    Decision resume_result(const event::StepFailed* failed);
    Decision resolve_result(const event::StepFailed* failed, TimePoint now);
    // A decision that changes nothing and always says why (operator answers are never deduplicated).
    Decision refuse(std::string reason) const { return Decision{state_, {}, std::nullopt, std::move(reason)}; }
    // `haspool resolve --discard NODE` here (from_peer false) or on the peer (true).
    Decision on_resolve(const std::string& discard, bool from_peer);
    // Y may be mapped raw: serving from it, or a raw takeover ran (its plan, or the split brain
    // interrupted it). UnmapRaw is idempotent, so releasing includes it whenever that may be.
    bool raw_mapped() const { return serving_raw_ || raw_takeover_ran_; }

    Decision stay(std::string reason = {}, std::optional<TimePoint> wake = {});
    // A transition (or a new plan in the same state): `plan` names the steps, if any.
    Decision go(StandbyState next, std::string reason, std::vector<Step> steps = {}, Plan plan = Plan::none,
                bool undo = false, std::optional<TimePoint> wake = {});
    // Steps in the same state, the notes kept.
    Decision run(std::vector<Step> steps, Plan plan, std::string reason = {});
    // Records what the primary said; returns a SPLIT_BRAIN decision when lineages diverged or
    // both sides serve.
    std::optional<Decision> note_peer(const PeerStatus& p);
    Decision on_exporting(const Event& e, TimePoint now);
    Decision on_suspect(const Event& e, TimePoint now);
    Decision on_active(const Event& e, TimePoint now);
    Decision consider_takeover(const PeerFacts& f, TimePoint now);
    // The primary announced a daemon restart (MessageKind::daemon_restarting).
    Decision hold_for_restart(TimePoint now);
    Decision consider_failback(const PeerFacts& f, TimePoint now, bool operator_asked);
    Decision takeover_now(bool planned, std::string reason);
    // TAKEOVER: the plan failed at AssembleDegraded; with spool.raw_mount_fallback, serve Y raw.
    Decision takeover_raw(const event::StepFailed& f);
    // EXPORTING: the primary reports X rebuilt from Y (MIRRORED, in sync, our generation).
    std::optional<Decision> clear_raw_mark(const PeerStatus& p);

    const config::Config& c_;
    Plans plans_;
    std::string peer_name_;
    StandbyState state_ = StandbyState::EXPORTING;
    PlanQueue<Plan> queue_;       // the batches in flight; the awaited one is the phase's plan
    bool failback_held_ = false;  // part of the phase (see StandbyPhase::failback_held)
    ResolveTracker<StandbyState> resolve_{StandbyState::EXPORTING};
    Lineage lineage_;
    std::optional<PeerStatus> peer_;
    PeerFacts facts_;  // the newest facts any event carried (operator commands carry none)
    std::string outdated_;
    std::string last_refusal_;
    // The primary said its daemon restarts while its node keeps the service (daemon-restarting):
    // until then, its silence alone is no reason to take over. Cleared once it is heard again.
    std::optional<TimePoint> restart_hold_until_;
    std::optional<TimePoint> export_retry_at_;
    Millis export_retry_{0};
    std::string last_export_error_;
    // Facts about this node's devices and data, not about a plan (they outlive the plan that
    // made them true, and decide which plan comes next):
    bool export_up_ = false;         // Y is exported (StartExport succeeded, nothing stopped it since)
    std::string y_failed_;           // see y_failed()
    bool raw_written_ = false;       // the persisted full-copy mark (MarkRawWrites ran or was planned)
    bool serving_raw_ = false;       // the spool is mounted from Y's loop mapping: the handback unmaps it
    bool raw_takeover_ran_ = false;  // a raw plan started, so a loop mapping may exist until released
};

}  // namespace haspool::agent
