// The peer monitor: arrivals with explicit time points become facts (alive, stable, silent).
#include <catch2/catch.hpp>

#include "agent/peer/peer_monitor.hpp"

using namespace haspool::agent;
using namespace std::chrono_literals;

namespace {
const TimePoint t0 = TimePoint{} + 1h;
PeerMonitor monitor() { return PeerMonitor({"replication", "service"}, 1000ms, 2000ms); }
}  // namespace

TEST_CASE("monitor: nothing heard yet") {
    auto m = monitor();
    PeerFacts f = m.facts(t0);
    CHECK(f.paths_total() == 2);
    CHECK(f.paths_alive() == 0);
    CHECK_FALSE(f.ever_heard());
    CHECK_FALSE(f.silent_for(t0));
}

TEST_CASE("monitor: a path counts as back only after stable_after (hysteresis)") {
    auto m = monitor();
    for (auto t = 0ms; t <= 1900ms; t += 500ms) m.heartbeat("replication", t0 + t);
    PeerFacts f = m.facts(t0 + 1900ms);
    CHECK(f.paths_alive() == 1);
    CHECK(f.paths_stable() == 0);
    m.heartbeat("replication", t0 + 2000ms);
    f = m.facts(t0 + 2000ms);
    CHECK(f.paths_stable() == 1);
    REQUIRE(f.stable_since);
    CHECK(*f.stable_since == t0);
}

TEST_CASE("monitor: a gap longer than the path-down window restarts the stability count") {
    auto m = monitor();
    for (auto t = 0ms; t <= 3000ms; t += 500ms) m.heartbeat("service", t0 + t);
    CHECK(m.facts(t0 + 3000ms).paths_stable() == 1);
    m.heartbeat("service", t0 + 4500ms);  // 1.5 s gap: the path was down
    PeerFacts f = m.facts(t0 + 4500ms);
    CHECK(f.paths_alive() == 1);
    CHECK(f.paths_stable() == 0);
}

TEST_CASE("monitor: silence is measured from the newest arrival on any path and NBD") {
    auto m = monitor();
    m.heartbeat("replication", t0);
    m.heartbeat("service", t0 + 300ms, 2ms);
    m.nbd_activity(t0 + 500ms);
    PeerFacts f = m.facts(t0 + 2500ms);
    CHECK(f.paths_alive() == 0);
    CHECK(*f.heartbeat_silent_for(t0 + 2500ms) == 2200ms);
    CHECK(*f.nbd_silent_for(t0 + 2500ms) == 2000ms);
    CHECK(*f.silent_for(t0 + 2500ms) == 2000ms);
    CHECK(f.paths[1].rtt == 2ms);
}

TEST_CASE("monitor: arrivals on an unknown path are ignored") {
    auto m = monitor();
    m.heartbeat("bogus", t0);
    CHECK_FALSE(m.facts(t0).ever_heard());
}

#include "agent/peer/peer_requests.hpp"

TEST_CASE("outbox: a request is resent every interval until acknowledged") {
    Outbox o;
    uint64_t id = o.add(MessageKind::handed_back, t0);
    CHECK(o.due(t0, 500ms).size() == 1);
    CHECK(o.due(t0 + 100ms, 500ms).empty());
    CHECK(o.due(t0 + 500ms, 500ms).size() == 1);
    CHECK(o.acknowledged(id));
    CHECK_FALSE(o.acknowledged(id));
    CHECK(o.due(t0 + 5s, 500ms).empty());
}

TEST_CASE("outbox: asking the same thing again replaces the pending request") {
    Outbox o;
    uint64_t first = o.add(MessageKind::take_over, t0);
    uint64_t second = o.add(MessageKind::take_over, t0 + 1s);
    CHECK(o.pending() == 1);
    CHECK_FALSE(o.acknowledged(first));
    CHECK(o.acknowledged(second));
}

TEST_CASE("inbox: a retried request is handled once") {
    Inbox in;
    CHECK(in.first_time(BootId{1}, 7));
    CHECK_FALSE(in.first_time(BootId{1}, 7));
    CHECK(in.first_time(BootId{2}, 7));  // the peer restarted: a new request
}
