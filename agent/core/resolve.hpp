#pragma once
// `haspool resolve --discard NODE` (docs/agent.md, "Split brain and resolve"): what both machines
// check before they act on it, how the decision travels between the agents, and what a resolve
// leaves to settle (ResolveTracker), written once for both machines.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "agent/core/plans.hpp"
#include "agent/core/types.hpp"

namespace haspool::agent {

struct ResolveCheck {
    const config::Node* loser = nullptr;  // the node whose data is discarded (when accepted)
    std::string what;                     // "resolve --discard beta (run on alpha)", for the log line
    std::string refusal;                  // non-empty: refused, and why
};

// Accepted only for a node of the cluster, in SPLIT_BRAIN, with no resolve and no other
// decision's steps still running (their results would be taken for the resolve's).
ResolveCheck check_resolve(const config::Config& c, const std::string& discard, bool from_peer,
                           const std::string& peer_name, const char* state, bool split_brain,
                           bool resolve_running, unsigned batches_running);

// The peer request that carries the decision, and back.
MessageKind discard_message(const config::Node& loser);
// The node a discard-primary/-standby request names; nullptr for every other kind.
const config::Node* discarded_by(const config::Config& c, MessageKind k);

// An accepted resolve, as both machines start it.
struct ResolveOrder {
    ResolveCheck check;          // check.loser is set
    bool discard_self = false;   // the operator discards this node's data
    std::string mine;            // this node's generation, for the log lines
    std::string theirs;          // the peer's ("?" when never heard)
    std::vector<Step> steps;     // run here: the pass-on to the peer first (Plans::pass_on_resolve)
};

// What a split brain and its resolve leave for a machine to remember, the same on both sides
// (State is PrimaryState or StandbyState):
// - where SPLIT_BRAIN was entered from (what an accepted resolve has to release or may keep);
// - while the resolve plan runs, where SPLIT_BRAIN goes when it succeeded, and its log line;
// - when this node kept its data, the peer's generation being discarded: until the peer reports
//   another one, its old generation and state are the split brain being settled, not a new one.
template <class State>
class ResolveTracker {
public:
    explicit ResolveTracker(State initial) : split_from_(initial) {}

    // SPLIT_BRAIN entered from `from`.
    void split(State from) { split_from_ = from; }
    State split_from() const { return split_from_; }

    // Every heartbeat: the peer's discard is done once it reports another generation.
    void heard(const Lineage& peer) {
        if (discarded_peer_ && peer.current != *discarded_peer_) discarded_peer_.reset();
    }
    // The peer still reports the generation the operator discarded (it has not finished yet).
    bool awaiting_peer_discard(const std::optional<PeerStatus>& peer) const {
        return discarded_peer_ && peer && peer->lineage.current == *discarded_peer_;
    }
    const std::optional<Generation>& discarded_peer() const { return discarded_peer_; }

    // `haspool resolve --discard NODE` here (from_peer false) or on the peer (true): the order
    // to carry out, or the refusal (check_resolve). `self` is this node's role.
    std::optional<ResolveOrder> accept(const config::Config& c, const Plans& plans, config::Role self,
                                       const std::string& discard, bool from_peer, const std::string& peer_name,
                                       const char* state, bool split_brain, bool resolve_running,
                                       unsigned batches_running, const Lineage& mine,
                                       const std::optional<PeerStatus>& peer, std::string& refusal) const {
        ResolveCheck rc = check_resolve(c, discard, from_peer, peer_name, state, split_brain, resolve_running,
                                        batches_running);
        if (!rc.loser) {
            refusal = rc.refusal;
            return std::nullopt;
        }
        ResolveOrder o;
        o.discard_self = rc.loser->role == self;
        o.mine = to_string(mine.current);
        o.theirs = peer ? to_string(peer->lineage.current) : std::string("?");
        if (!from_peer) o.steps = plans.pass_on_resolve(discard_message(*rc.loser));
        o.check = std::move(rc);
        return o;
    }

    // This node keeps its data: the peer's current generation is the one it discards.
    void keep(const std::optional<PeerStatus>& peer) {
        if (peer) discarded_peer_ = peer->lineage.current;
    }

    // The resolve plan (after the order's pass-on) is handed to the daemon: remember where it
    // leads. Returns the decision's steps.
    std::vector<Step> run(ResolveOrder& o, std::vector<Step> plan, State next, std::string done) {
        for (auto& st : plan) o.steps.push_back(std::move(st));
        next_ = next;
        done_ = std::move(done);
        return std::move(o.steps);
    }
    // The resolve plan succeeded: where SPLIT_BRAIN goes, and the log line.
    State next() const { return next_; }
    const std::string& done() const { return done_; }

private:
    State split_from_;
    std::optional<Generation> discarded_peer_;
    State next_ = split_from_;
    std::string done_;
};

}  // namespace haspool::agent
