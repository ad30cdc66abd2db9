#include "agent/core/types.hpp"

#include <algorithm>
#include <cstdio>

namespace haspool::agent {

std::string format_duration(Millis d) {
    if (d.count() < 1000 && d.count() > -1000) return std::to_string(d.count()) + "ms";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(d.count()) / 1000.0);
    return buf;
}

const char* to_string(PrimaryState s) {
    switch (s) {
        case PrimaryState::WAIT_PEER: return "WAIT_PEER";
        case PrimaryState::CONNECTING: return "CONNECTING";
        case PrimaryState::MIRRORED: return "MIRRORED";
        case PrimaryState::DEGRADED: return "DEGRADED";
        case PrimaryState::RESYNC: return "RESYNC";
        case PrimaryState::STANDING_BY: return "STANDING_BY";
        case PrimaryState::FAILBACK: return "FAILBACK";
        case PrimaryState::HANDOVER: return "HANDOVER";
        case PrimaryState::HALTED: return "HALTED";
        case PrimaryState::SPLIT_BRAIN: return "SPLIT_BRAIN";
        case PrimaryState::DISKLESS: return "DISKLESS";
    }
    return "?";
}

const char* to_string(StandbyState s) {
    switch (s) {
        case StandbyState::EXPORTING: return "EXPORTING";
        case StandbyState::SUSPECT: return "SUSPECT";
        case StandbyState::TAKEOVER: return "TAKEOVER";
        case StandbyState::ACTIVE: return "ACTIVE";
        case StandbyState::HANDBACK: return "HANDBACK";
        case StandbyState::HALTED: return "HALTED";
        case StandbyState::SPLIT_BRAIN: return "SPLIT_BRAIN";
    }
    return "?";
}

std::string state_name(uint8_t w) {
    if (w >= 1 && w <= 11) return to_string(static_cast<PrimaryState>(w));
    if (w >= 21 && w <= 27) return to_string(static_cast<StandbyState>(w));
    return "?(" + std::to_string(w) + ")";
}

const char* to_string(MirrorHealth h) {
    switch (h) {
        case MirrorHealth::unknown: return "unknown";
        case MirrorHealth::in_sync: return "in-sync";
        case MirrorHealth::degraded: return "degraded";
        case MirrorHealth::resyncing: return "resyncing";
        case MirrorHealth::raw_written: return "raw-written";
        case MirrorHealth::x_lost: return "x-lost";
        case MirrorHealth::y_failed: return "y-failed";
    }
    return "?";
}

const char* to_string(NbdHealth h) {
    switch (h) {
        case NbdHealth::none: return "none";
        case NbdHealth::connected: return "connected";
        case NbdHealth::lost: return "lost";
    }
    return "?";
}

std::string to_string(Generation g) {
    if (g.value == 0) return "0 (blank)";
    return std::to_string(g.counter()) + (g.by_standby() ? "/standby" : "/primary");
}

bool Lineage::descends_from(Generation g) const {
    return current == g || std::find(ancestors.begin(), ancestors.end(), g) != ancestors.end();
}

Lineage Lineage::bumped(bool standby) const {
    uint64_t highest = current.counter();
    for (auto a : ancestors) highest = std::max(highest, a.counter());
    Lineage l;
    l.current = Generation::next(highest, standby);
    l.ancestors.push_back(current);
    for (auto a : ancestors)
        if (l.ancestors.size() < kMaxAncestors) l.ancestors.push_back(a);
    return l;
}

Lineage Lineage::adopted(const Lineage& source) const { return source; }

Lineage Lineage::discarded() const {
    if (current == Generation::blank()) return *this;  // nothing left to discard
    Lineage l;
    l.ancestors.push_back(current);
    for (auto a : ancestors)
        if (l.ancestors.size() < kMaxAncestors) l.ancestors.push_back(a);
    return l;
}

Comparison compare(const Lineage& mine, const Lineage& peer) {
    if (mine.current == peer.current) return Comparison::same;
    // A blank disk is older than anything (never written by haspool, or its data was discarded
    // by `haspool resolve`; a discarded lineage keeps its old generations as ancestors, so the
    // blank test comes before the ancestry test).
    if (peer.current == Generation::blank()) return Comparison::mine_newer;
    if (mine.current == Generation::blank()) return Comparison::peer_newer;
    if (mine.descends_from(peer.current)) return Comparison::mine_newer;
    if (peer.descends_from(mine.current)) return Comparison::peer_newer;
    return Comparison::diverged;
}

const char* to_string(Comparison c) {
    switch (c) {
        case Comparison::same: return "same generation";
        case Comparison::mine_newer: return "mine is newer";
        case Comparison::peer_newer: return "peer's is newer";
        case Comparison::diverged: return "both moved on independently";
    }
    return "?";
}

const char* to_string(MessageKind k) {
    switch (k) {
        case MessageKind::handed_back: return "handed-back";
        case MessageKind::take_over: return "take-over";
        case MessageKind::you_are_outdated: return "you-are-outdated";
        case MessageKind::failback_request: return "failback-request";
        case MessageKind::discard_primary: return "discard-primary";
        case MessageKind::discard_standby: return "discard-standby";
        case MessageKind::daemon_restarting: return "daemon-restarting";
    }
    return "?";
}

}  // namespace haspool::agent
