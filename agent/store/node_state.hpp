#pragma once
// The node's persisted data generation and its history (docs/design.md §3 rule 2), in
// cluster.state_dir/node-state. Written crash-safely: temp file, fsync, rename, fsync of the
// directory. The file ends with a SHA-256 of its content, so a torn or edited file is detected.
//
// A missing or corrupt file is never silently reset: the daemon refuses to act automatically
// and says how to fix it. The first start of a node is explicit (`haspool primary --init` /
// `haspool standby --init`, see docs/agent.md): the primary starts at generation 1/primary
// (descending from the blank disk), the standby at 0 (blank: it holds no data yet).
#include <optional>
#include <string>
#include <vector>

#include "agent/core/types.hpp"

namespace haspool::agent {

struct HistoryEntry {
    Generation generation;
    std::string node;
    int64_t unix_time = 0;
    std::string reason;
};

struct NodeState {
    std::string node;
    Lineage lineage;
    std::vector<HistoryEntry> history;  // oldest first, bounded (kMaxHistory)
    static constexpr size_t kMaxHistory = 64;

    // A new generation minted by this node (takeover, degraded period, forced solo start).
    NodeState bumped(bool standby, const std::string& reason, int64_t unix_time) const;
    // The source's lineage after a resync made our data equal to it.
    NodeState adopted(const Lineage& source, const std::string& reason, int64_t unix_time) const;
    // The operator discarded this node's data (`haspool resolve --discard`): blank lineage that
    // keeps the discarded generations as ancestors; the history names what was discarded.
    NodeState discarded(const std::string& reason, int64_t unix_time) const;
};

std::string serialize(const NodeState& s);
// Parses a node-state file; an error sentence when it is not one or its checksum is wrong.
struct ParsedState {
    std::optional<NodeState> state;
    std::string error;
};
ParsedState parse_node_state(const std::string& text);

// Writes `data` to dir/name crash-safely: temp file, fsync, rename, fsync of the directory
// (created 0700 when missing). Returns an error sentence, or empty on success.
std::string write_file_durably(const std::string& dir, const std::string& name, const std::string& data);

class NodeStateStore {
public:
    NodeStateStore(std::string state_dir, std::string node);

    std::string path() const { return dir_ + "/node-state"; }

    struct Loaded {
        std::optional<NodeState> state;
        bool missing = false;
        std::string error;  // with the fix to apply, for the operator
    };
    Loaded load() const;
    // Returns an error sentence, or empty on success.
    std::string save(const NodeState& s) const;
    // First start: creates the file; refuses when one exists.
    std::string initialise(bool standby, int64_t unix_time) const;

private:
    std::string dir_, node_;
};

}  // namespace haspool::agent
