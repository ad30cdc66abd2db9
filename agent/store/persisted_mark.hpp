#pragma once
// A persisted mark about this node's data: one file in cluster.state_dir, present = marked,
// written durably before what it protects happens and read at every start. A file that cannot
// be read counts as marked: the doubt costs a full copy, never a silent divergence.
//
//   raw-writes (standby): "Y was written outside md" (the raw takeover, docs/agent.md "Raw
//     takeover"). Heartbeats then say raw-written, so the primary's failback adds X in full;
//     removed once the primary reports X rebuilt from Y.
//   x-lost (primary): "md failed X; Y, through the NBD leg, is the only current copy" (docs/
//     faults.md, loss of X). A restarted primary then never assembles from the stale X: it waits
//     for the standby's Y, and the failback or `haspool replace-disk` adds X in full; removed once
//     md has copied Y onto X.
#include <cstdint>
#include <string>

namespace haspool::agent {

class PersistedMark {
public:
    static PersistedMark raw_writes(std::string state_dir) {
        return {std::move(state_dir), "raw-writes", "raw-written",
                "# Y was written outside md: the next failback must copy all of Y onto X.\n"
                "# Removed by haspool once the primary reports X rebuilt in full.\n"};
    }
    static PersistedMark x_lost(std::string state_dir) {
        return {std::move(state_dir), "x-lost", "x-lost",
                "# md failed this node's disk X: Y (the standby's disk, through NBD) is the only current copy.\n"
                "# haspool never assembles from X while this file exists; it is removed once md has copied Y\n"
                "# onto a new X (haspool replace-disk, or a failback).\n"};
    }

    const std::string& dir() const { return dir_; }
    std::string path() const { return dir_ + "/" + name_; }

    struct Loaded {
        bool marked = false;
        std::string reason;  // the line the mark was written with
        std::string error;   // could not tell (then marked is true)
    };
    Loaded load() const;
    // Error sentences, or empty on success. Both are idempotent.
    std::string set(const std::string& reason, int64_t unix_time) const;
    std::string clear() const;

private:
    PersistedMark(std::string dir, std::string name, std::string word, std::string explanation)
        : dir_(std::move(dir)), name_(std::move(name)), word_(std::move(word)), explanation_(std::move(explanation)) {}
    std::string dir_, name_, word_, explanation_;
};

}  // namespace haspool::agent
