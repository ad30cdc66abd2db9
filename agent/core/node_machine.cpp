#include "agent/core/node_machine.hpp"

#include "agent/core/md_transitions.hpp"

namespace haspool::agent {

namespace {

template <class S>
NodeDecision node_decision(const Decision<S>& d) {
    return {to_string(d.next), static_cast<uint8_t>(d.next), d.steps, d.wake_at, d.reason, d.undo_on_failure, d.warn};
}

}  // namespace

NodeMachine NodeMachine::primary(const config::Config& c, Lineage lineage, PrimaryMachine::Options o) {
    return NodeMachine(std::in_place_type<PrimaryMachine>, c, std::move(lineage), o);
}

NodeMachine NodeMachine::standby(const config::Config& c, Lineage lineage, bool raw_written) {
    return NodeMachine(std::in_place_type<StandbyMachine>, c, std::move(lineage), raw_written);
}

NodeDecision NodeMachine::start(TimePoint now, const std::optional<StandbyMachine::SpoolInUse>& in_use) {
    if (auto* p = std::get_if<PrimaryMachine>(&m_)) return node_decision(p->start(now));
    return node_decision(std::get<StandbyMachine>(m_).start(now, in_use));
}

NodeDecision NodeMachine::handle(const Event& e, TimePoint now) {
    return std::visit([&](auto& m) { return node_decision(m.handle(e, now)); }, m_);
}

void NodeMachine::lineage_changed(const Lineage& l) {
    std::visit([&](auto& m) { m.lineage_changed(l); }, m_);
}

std::string NodeMachine::disk_problem() const {
    if (const auto* s = std::get_if<StandbyMachine>(&m_)) {
        if (!s->y_failed().empty()) return "Y failed: " + s->y_failed() + "; no takeover from it";
        if (s->raw_written()) return "Y was written outside md (raw takeover): the next failback copies all of Y onto X";
        return {};
    }
    if (std::get<PrimaryMachine>(m_).x_lost()) return "X is lost (md failed it): the spool is on Y alone until 'haspool replace-disk'";
    return {};
}

MirrorHealth NodeMachine::mirror_health(const std::optional<raid::MdSnapshot>& md) const {
    if (const auto* s = std::get_if<StandbyMachine>(&m_)) {
        if (!s->y_failed().empty()) return MirrorHealth::y_failed;
        return s->raw_written() ? MirrorHealth::raw_written : MirrorHealth::unknown;
    }
    MirrorHealth h;
    switch (std::get<PrimaryMachine>(m_).state()) {
        case PrimaryState::MIRRORED: h = MirrorHealth::in_sync; break;
        case PrimaryState::DEGRADED: return MirrorHealth::degraded;
        case PrimaryState::RESYNC: return MirrorHealth::resyncing;
        // md calls the array degraded (X is out), but Y misses nothing: the standby must not
        // count itself outdated.
        case PrimaryState::DISKLESS: return MirrorHealth::x_lost;
        default: return MirrorHealth::unknown;
    }
    if (md) {
        MirrorHealth seen = mirror_health_of(*md);
        if (seen != MirrorHealth::in_sync) h = seen;
    }
    return h;
}

}  // namespace haspool::agent
