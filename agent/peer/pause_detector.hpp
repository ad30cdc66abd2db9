#pragma once
// Was this process just frozen (a stalled VM, SIGSTOP, a long swap-in)? Pure: time points in,
// a verdict out. The daemon's tick runs every heartbeat interval; when it comes several
// intervals late, timers and socket reads became ready together, and a timer handler run first
// would count the pause as the peer's silence although its heartbeats already wait in our
// socket buffers. So silence is not judged until one interval after such a resume: the
// datagrams queued meanwhile are read first.
#include <optional>

#include "agent/core/types.hpp"

namespace haspool::agent {

class PauseDetector {
public:
    struct Verdict {
        bool hold = false;                   // do not judge the peer's silence now
        std::optional<Millis> resumed_after;  // set once per pause: how long it lasted (log it)
    };

    // A pause is a tick more than 3 intervals late; the hold lasts one interval from the resume.
    Verdict judge(TimePoint now, Millis interval);
    // The tick ran at `now`.
    void ticked(TimePoint now) { last_tick_ = now; }

private:
    TimePoint last_tick_{};   // when the tick last ran; epoch: not yet
    TimePoint resumed_at_{};  // the last resume after a pause
};

}  // namespace haspool::agent
