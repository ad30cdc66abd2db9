#pragma once
// The primary's policy (DESIGN §2, §3, §4): a pure function of (event, now) that returns a
// Decision. It never reads a clock, a socket or a file; the daemon feeds it facts.
#include <optional>
#include <string>

#include "config.hpp"
#include "events.hpp"
#include "plans.hpp"

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
    enum class Pending { none, connect, degrade, resync, handover, failback, solo, stop };

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
    bool connect_resyncs_ = false;
    bool failback_retry_ = false;    // a failback failed (its lineage may already be adopted)   // the running connect plan re-adds Y (X newer)
    std::optional<TimePoint> retry_at_;
    Millis retry_{0};
    std::string last_note_;
};

}  // namespace haspool::agent
