#pragma once
// The primary's policy (DESIGN §2, §3, §4): a pure function of (event, now) that returns a
// Decision. It never reads a clock, a socket or a file; the daemon feeds it facts.
#include <optional>
#include <string>

#include "config/config.hpp"
#include "agent/core/events.hpp"
#include "agent/core/plans.hpp"

namespace haspool::agent {

class PrimaryMachine {
public:
    using Decision = agent::Decision<PrimaryState>;

    struct Options {
        bool init = false;        // --init: create the md array on first connect
        bool force_solo = false;  // --force-solo: serve from X without hearing the standby
        bool force = false;       // --init --force: create the array even over a filesystem
    };

    PrimaryMachine(const config::Config& c, Lineage lineage, Options o);

    // The first decision: WAIT_PEER (DESIGN §3 rule 3), or a forced solo start.
    Decision start(TimePoint now);
    Decision handle(const Event& e, TimePoint now);

    PrimaryState state() const { return state_; }
    const Lineage& lineage() const { return lineage_; }
    void lineage_changed(const Lineage& l) { lineage_ = l; }
    const std::optional<PeerStatus>& peer() const { return peer_; }

private:
    enum class Pending { none, connect, degrade, resync, handover, resume, failback, solo, stop, resolve };

    Decision decide(const Event& e, TimePoint now);
    // A decision that changes nothing and always says why (operator answers are never deduplicated).
    Decision refuse(std::string reason) const { return Decision{state_, {}, std::nullopt, std::move(reason)}; }
    // `haspool resolve --discard NODE` here (from_peer false) or on the peer (true).
    Decision on_resolve(const std::string& discard, bool from_peer);
    // SPLIT_BRAIN: the outcome of the resolve plan.
    std::optional<Decision> resolve_result(const Event& e);
    // The peer still reports the generation the operator discarded (it has not finished yet).
    bool awaiting_peer_discard() const;

    Decision stay(std::string reason = {}, std::optional<TimePoint> wake = {});
    Decision go(PrimaryState next, std::string reason, std::vector<Step> steps = {}, Pending p = Pending::none,
                bool undo = false, std::optional<TimePoint> wake = {});
    std::optional<Decision> note_peer(const PeerStatus& p);
    Decision retry_later(PrimaryState next, std::string why, TimePoint now);
    Decision halt_serving(std::string why);
    Decision reconnect(const event::NbdLinkLost& l);
    bool peer_dead(const PeerFacts& f, TimePoint now) const;
    std::optional<TimePoint> dead_at(const PeerFacts& f) const;

    Decision on_wait_peer(const Event& e, TimePoint now);
    Decision on_connecting(const Event& e, TimePoint now);
    Decision on_mirrored(const Event& e, TimePoint now);
    Decision on_degraded(const Event& e, TimePoint now);
    Decision on_resync(const Event& e, TimePoint now);
    Decision on_standing_by(const Event& e, TimePoint now);
    Decision on_handover(const Event& e, TimePoint now);
    Decision on_failback(const Event& e, TimePoint now);
    // WAIT_PEER/STANDING_BY: what the standby's heartbeat allows us to do now.
    Decision consider_peer(TimePoint now);

    const config::Config& c_;
    Plans plans_;
    Options opt_;
    std::string peer_name_;
    std::string nbd_dev_;
    PrimaryState state_ = PrimaryState::WAIT_PEER;
    Lineage lineage_;
    std::optional<PeerStatus> peer_;
    PeerFacts facts_;
    Pending pending_ = Pending::none;
    bool resync_from_peer_ = false;  // RESYNC after FAILBACK: Y is the only complete copy
    bool connect_resyncs_ = false;   // the running connect plan re-adds Y (X newer)
    bool failback_retry_ = false;    // a failback failed (its lineage may already be adopted)
    std::string leg_failed_in_handover_;  // md failed this leg while HANDOVER ran (or resumed)
    std::optional<TimePoint> retry_at_;
    Millis retry_{0};
    std::string last_note_;
    unsigned batches_ = 0;                    // decisions whose steps have not reported back yet
    PrimaryState split_from_ = PrimaryState::WAIT_PEER;  // the state SPLIT_BRAIN was entered from
    bool split_resyncing_from_peer_ = false;  // ... and it was RESYNC after a failback (X incomplete)
    std::optional<Generation> discarded_peer_;  // resolve kept X: the peer's generation it discards
    PrimaryState resolve_next_ = PrimaryState::WAIT_PEER;  // where SPLIT_BRAIN goes when the resolve plan succeeded
    std::string resolve_done_;
};

}  // namespace haspool::agent
