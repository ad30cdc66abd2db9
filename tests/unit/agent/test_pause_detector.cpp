// The pause detector: a tick more than three intervals late is a local pause; the peer's silence
// is not judged for one interval after it, and the pause is reported once.
#include <catch2/catch.hpp>

#include "agent/peer/pause_detector.hpp"

using namespace haspool::agent;
using namespace std::chrono_literals;

namespace {
const TimePoint t0 = TimePoint{} + std::chrono::hours(24);
const Millis interval = 500ms;
}  // namespace

TEST_CASE("pause detector: no tick yet, no pause") {
    PauseDetector p;
    auto v = p.judge(t0, interval);
    CHECK_FALSE(v.hold);
    CHECK_FALSE(v.resumed_after);
}

TEST_CASE("pause detector: ticks on time (or up to three intervals late) are no pause") {
    PauseDetector p;
    p.ticked(t0);
    CHECK_FALSE(p.judge(t0 + 500ms, interval).hold);
    p.ticked(t0 + 500ms);
    auto v = p.judge(t0 + 2000ms, interval);  // exactly 3 intervals: not more
    CHECK_FALSE(v.hold);
    CHECK_FALSE(v.resumed_after);
}

TEST_CASE("pause detector: a late tick holds the judgement for one interval, reported once") {
    PauseDetector p;
    p.ticked(t0);
    auto v = p.judge(t0 + 5000ms, interval);
    CHECK(v.hold);
    REQUIRE(v.resumed_after);
    CHECK(*v.resumed_after == 5000ms);
    // The wake-up timer asks again before the tick ran: still held, not reported again.
    v = p.judge(t0 + 5100ms, interval);
    CHECK(v.hold);
    CHECK_FALSE(v.resumed_after);
    p.ticked(t0 + 5100ms);
    v = p.judge(t0 + 5499ms, interval);
    CHECK(v.hold);
    v = p.judge(t0 + 5500ms, interval);  // one interval after the resume
    CHECK_FALSE(v.hold);
}

TEST_CASE("pause detector: a second pause is reported on its own") {
    PauseDetector p;
    p.ticked(t0);
    CHECK(p.judge(t0 + 2100ms, interval).resumed_after == Millis(2100));
    p.ticked(t0 + 2100ms);
    auto v = p.judge(t0 + 10000ms, interval);
    CHECK(v.hold);
    CHECK(v.resumed_after == Millis(7900));
}
