#pragma once
// `haspool switchover --wait` and `failback --wait` (issue 15 item 2): follows an accepted
// operation through the local daemon's `status --json` samples to its end. Pure: each sample
// in, a verdict out; the CLI does the polling, the printing and the exit status.
//
// The end, per operation and the node it was run on (the peer's state is its own answer when
// it gave one, else its last heartbeat):
//   switchover, on the primary: done when this node is STANDING_BY and the standby ACTIVE;
//     failed when this node serves again (the handover stopped before the standby was told
//     and it resumed: MIRRORED, DEGRADED, DISKLESS, RESYNC);
//   failback, on the primary: done when MIRRORED (md clean, both legs); failed when DEGRADED
//     (the standby's leg was lost on the way), or when the standby, once seen in HANDBACK, is
//     ACTIVE again (it resumed the service);
//   failback, on the standby: done when this node is EXPORTING and the primary MIRRORED;
//     failed when this node, once in HANDBACK, is ACTIVE again;
//   any: failed when either node is HALTED or SPLIT_BRAIN.
// While it runs, the line says both states, and a copy md runs in figures: bytes, speed, time
// left on the primary (md_sync); the percent the primary's heartbeat carries on the standby.
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

namespace haspool::agent {

enum class WatchedOperation { switchover, failback };

struct OperationVerdict {
    enum class Phase { running, done, failed };
    Phase phase = Phase::running;
    std::string line;            // "alpha RESYNC, beta EXPORTING: md recover 42%, 53.8 MiB of 128.0 MiB ..."
    std::optional<int> percent;  // a copy under way, 0-100
};

class OperationWatch {
public:
    explicit OperationWatch(WatchedOperation op) : op_(op) {}
    // One `status --json` sample of the node the command ran on.
    OperationVerdict observe(const nlohmann::json& status);

private:
    WatchedOperation op_;
    std::set<std::string> seen_own_, seen_peer_;  // the states seen so far
};

}  // namespace haspool::agent
