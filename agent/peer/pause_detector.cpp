#include "agent/peer/pause_detector.hpp"

namespace haspool::agent {

PauseDetector::Verdict PauseDetector::judge(TimePoint now, Millis interval) {
    Verdict v;
    if (last_tick_ != TimePoint{} && now - last_tick_ > 3 * interval && now - resumed_at_ > interval) {
        resumed_at_ = now;
        v.resumed_after = std::chrono::duration_cast<Millis>(now - last_tick_);
    }
    v.hold = now - resumed_at_ < interval;
    return v;
}

}  // namespace haspool::agent
