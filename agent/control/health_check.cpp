#include "agent/control/health_check.hpp"

namespace haspool::agent {

namespace {

HealthCheck verdict(int code, const StatusReport& r, const std::string& why) {
    static const char* words[] = {"ok: ", "warning: ", "critical: "};
    return {code, words[code] + r.node + " " + r.state + ", " + why + "\n"};
}

std::string peer_said(const StatusReport& r) {
    if (!r.peer) return r.peer_node + " never heard";
    return r.peer_node + " " + r.peer->state_name() + (r.facts.paths_alive() == 0 ? " (silent now)" : "");
}

}  // namespace

HealthCheck health_check(const StatusReport& r) {
    if (r.state == "HALTED") return verdict(2, r, "the operator decides: " + r.last_decision);
    if (r.state == "SPLIT_BRAIN") return verdict(2, r, "resolve it with 'haspool resolve --discard NODE': " + r.last_decision);
    const bool standby = r.role == "standby";
    // A standby's failed Y is no copy for a takeover: the pair has lost its redundancy for good.
    if (standby && r.disk_problem.rfind("Y failed", 0) == 0) return verdict(2, r, r.disk_problem);
    const bool peer_alive = r.facts.paths_alive() > 0;
    if (!standby) {
        if (r.state == "MIRRORED") {
            if (!peer_alive) return verdict(1, r, "but " + peer_said(r));
            return verdict(0, r, "in sync with " + peer_said(r));
        }
        if (!r.disk_problem.empty()) return verdict(1, r, r.disk_problem);
        if (r.state == "STANDING_BY") return verdict(1, r, peer_said(r) + " serves; this node waits for the failback");
        return verdict(1, r, "no redundancy now; " + peer_said(r));
    }
    if (r.state == "EXPORTING" && peer_alive && r.peer && r.peer->says(PrimaryState::MIRRORED) &&
        r.peer->md == MirrorHealth::in_sync)
        return verdict(0, r, "Y in sync under " + peer_said(r));
    if (r.state == "ACTIVE") return verdict(1, r, "serving from Y alone; " + peer_said(r));
    return verdict(1, r, "no redundancy now; " + peer_said(r));
}

}  // namespace haspool::agent
