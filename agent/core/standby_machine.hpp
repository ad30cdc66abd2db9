#pragma once
// The standby's policy (DESIGN §2, §3, §4): a pure function of (event, now) that returns a
// Decision. It never reads a clock, a socket or a file; the daemon feeds it facts.
#include <optional>
#include <string>

#include "config/config.hpp"
#include "agent/core/events.hpp"
#include "agent/core/plans.hpp"

namespace haspool::agent {

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
    const Lineage& lineage() const { return lineage_; }
    // The persisted lineage after steps changed it (BumpGeneration/AdoptGeneration ran).
    void lineage_changed(const Lineage& l) { lineage_ = l; }
    const std::optional<PeerStatus>& peer() const { return peer_; }
    // Why Y must not be served (empty when it may): what the primary last told us.
    const std::string& outdated_because() const { return outdated_; }
    // Y was written outside md (raw takeover) and X has not been rebuilt in full since: the
    // heartbeats say so (MirrorHealth::raw_written), so the primary's failback adds X in full.
    bool raw_written() const { return raw_written_; }
    // The spool is served from the raw loop mapping of Y (ACTIVE after a raw takeover).
    bool serving_raw() const { return serving_raw_; }

    // Why a takeover may not happen now, or nullopt when every guard of DESIGN §3 rule 1 and
    // §7 holds; `wait_until` is set when the answer changes by itself at that time.
    struct Refusal {
        std::string why;
        std::optional<TimePoint> wait_until;
    };
    std::optional<Refusal> takeover_refusal(const PeerFacts& f, TimePoint now) const;

private:
    enum class Pending { none, export_y, adopt, takeover, takeover_raw, handback, resume, resolve, clear_raw };

    Decision decide(const Event& e, TimePoint now);
    // A decision that changes nothing and always says why (operator answers are never deduplicated).
    Decision refuse(std::string reason) const { return Decision{state_, {}, std::nullopt, std::move(reason)}; }
    // `haspool resolve --discard NODE` here (from_peer false) or on the peer (true).
    Decision on_resolve(const std::string& discard, bool from_peer);
    // SPLIT_BRAIN: the outcome of the resolve plan.
    std::optional<Decision> resolve_result(const Event& e, TimePoint now);
    // The peer still reports the generation the operator discarded (it has not finished yet).
    bool awaiting_peer_discard() const;
    // Y may be mapped raw: serving from it, or a raw takeover ran (its plan, or the split brain
    // interrupted it). UnmapRaw is idempotent, so releasing includes it whenever that may be.
    bool raw_mapped() const { return serving_raw_ || raw_takeover_ran_; }
    // The outcome of a resume plan (after a failed handback, or a restart while serving).
    std::optional<Decision> resume_result(const Event& e, const std::string& after, const std::string& then);

    Decision stay(std::string reason = {}, std::optional<TimePoint> wake = {});
    Decision go(StandbyState next, std::string reason, std::vector<Step> steps = {}, Pending p = Pending::none,
                bool undo = false, std::optional<TimePoint> wake = {});
    // Records what the primary said; returns a SPLIT_BRAIN decision when lineages diverged or
    // both sides serve.
    std::optional<Decision> note_peer(const PeerStatus& p);
    Decision on_exporting(const Event& e, TimePoint now);
    Decision on_suspect(const Event& e, TimePoint now);
    Decision on_takeover(const Event& e, TimePoint now);
    Decision on_active(const Event& e, TimePoint now);
    Decision on_handback(const Event& e, TimePoint now);
    Decision consider_takeover(const PeerFacts& f, TimePoint now);
    Decision consider_failback(const PeerFacts& f, TimePoint now, bool operator_asked);
    std::optional<Decision> export_result(const Event& e, TimePoint now);
    Decision takeover_now(bool planned, std::string reason);
    // TAKEOVER: the plan failed at AssembleDegraded; with spool.raw_mount_fallback, serve Y raw.
    Decision takeover_raw(const event::StepFailed& f);
    // EXPORTING: the primary reports X rebuilt from Y (MIRRORED, in sync, our generation).
    std::optional<Decision> clear_raw_mark(const PeerStatus& p);

    const config::Config& c_;
    Plans plans_;
    std::string peer_name_;
    StandbyState state_ = StandbyState::EXPORTING;
    Lineage lineage_;
    std::optional<PeerStatus> peer_;
    PeerFacts facts_;  // the newest facts any event carried (operator commands carry none)
    std::string outdated_;
    std::string last_refusal_;
    bool export_up_ = false;
    Pending pending_ = Pending::none;
    std::optional<TimePoint> export_retry_at_;
    Millis export_retry_{0};
    std::string last_export_error_;
    unsigned batches_ = 0;                    // decisions whose steps have not reported back yet
    StandbyState split_from_ = StandbyState::EXPORTING;  // the state SPLIT_BRAIN was entered from
    std::optional<Generation> discarded_peer_;  // resolve kept Y: the primary's generation it discards
    StandbyState resolve_next_ = StandbyState::EXPORTING;  // where SPLIT_BRAIN goes when the resolve plan succeeded
    std::string resolve_done_;
    bool raw_written_ = false;   // the persisted full-copy mark (MarkRawWrites ran or was planned)
    bool serving_raw_ = false;   // ACTIVE from the loop mapping: the handback unmaps it
    bool raw_takeover_ran_ = false;  // a raw takeover plan was started and not yet released
    bool auto_failback_held_ = false;  // a handback failed and was resumed: only the operator retries
};

}  // namespace haspool::agent
