#pragma once
// The standby's persisted mark "Y was written outside md" (the raw takeover, docs/agent.md "Raw
// takeover"): the file cluster.state_dir/raw-writes, present = marked. It is written (durably)
// before the raw takeover mounts anything, read at every start (heartbeats then say
// raw-written, so the primary's failback adds X in full), and removed only once the primary
// reports X rebuilt from Y. A file that cannot be read counts as marked: the doubt costs a full
// copy, never a silent divergence.
#include <string>

namespace haspool::agent {

class RawWritesMark {
public:
    explicit RawWritesMark(std::string state_dir) : dir_(std::move(state_dir)) {}

    std::string path() const { return dir_ + "/raw-writes"; }

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
    std::string dir_;
};

}  // namespace haspool::agent
