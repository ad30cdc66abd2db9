// The peer protocol end to end, pure (issue 14 items 4, 5 and 7): two PeerSessions, each with its
// PeerMonitor, talk through a simulated network with a delay per path; time is passed in, each
// node has its own wall clock that a test can step. The cases are the claims of the issue:
// a slower path is not a replay, a wall-clock step is not silence, a key rotation has no gap,
// and none of that opens the door to replays, before or after either node restarts.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <memory>

#include "agent/peer/peer_monitor.hpp"
#include "agent/peer/peer_session.hpp"
#include "agent/peer/replay_window.hpp"

using namespace haspool::agent;
using namespace std::chrono_literals;

namespace {

const std::string kOld = "0123456789abcdef0123456789abcdef";
const std::string kNew = "fedcba9876543210fedcba9876543210";
const TimePoint t0 = TimePoint{} + 1h;
const WallTime kWall0 = WallTime{} + std::chrono::milliseconds(1'800'000'000'000);
const Millis kInterval = 200ms;
const std::vector<std::string> kPaths = {"replication", "service"};

uint64_t count(const PeerGate& g, Reject r) {
    auto it = g.rejected().find(r);
    return it == g.rejected().end() ? 0 : it->second;
}

// One node: its session (a run: restart() draws a new boot id), its monitor, its wall clock.
struct Node {
    std::string name, peer;
    bool primary;
    KeyRing keys;
    std::unique_ptr<PeerSession> session;
    PeerMonitor monitor{kPaths, 2 * kInterval, 400ms};
    Millis wall_offset{0};  // a `date -s` on this node
    std::optional<Millis> rtt_seen, offset_seen;
    std::vector<std::vector<uint8_t>> sent;  // every datagram it sent, for the replay cases

    Node(std::string n, std::string p, bool prim, KeyRing k) : name(std::move(n)), peer(std::move(p)), primary(prim), keys(std::move(k)) {
        restart();
    }
    void restart() {
        session = std::make_unique<PeerSession>("mailspool", name, peer, keys, new_boot_id());
        monitor = PeerMonitor(kPaths, 2 * kInterval, 400ms);
    }
    void set_keys(KeyRing k) {
        keys = k;
        session->set_keys(std::move(k));
    }
    WallTime wall(TimePoint now) const { return kWall0 + (now - t0) + wall_offset; }
    std::vector<uint8_t> heartbeat(const std::string& path, TimePoint now) {
        Message m;
        m.status.primary = primary;
        m.status.state = primary ? static_cast<uint8_t>(PrimaryState::MIRRORED) : static_cast<uint8_t>(StandbyState::EXPORTING);
        auto b = session->seal(m, path, now, wall(now));
        sent.push_back(b);
        return b;
    }
    Decoded receive(const std::string& path, const std::vector<uint8_t>& b, TimePoint now) {
        PeerSession::Arrival a = session->open(path, b.data(), b.size(), now, wall(now));
        if (a.decoded.message) {
            monitor.heartbeat(path, now, a.rtt);
            if (a.rtt) rtt_seen = a.rtt;
            offset_seen = a.clock_offset;
        }
        return a.decoded;
    }
    const PeerGate& gate() const { return session->gate(); }
};

// Two nodes and the wire between them: each path delays every datagram by its own amount.
struct Pair {
    Node a{"alpha", "beta", true, KeyRing{kOld, ""}};
    Node b{"beta", "alpha", false, KeyRing{kOld, ""}};
    std::map<std::string, Millis> delay{{"replication", 0ms}, {"service", 0ms}};
    struct InFlight {
        TimePoint at;
        uint64_t order;
        Node* to;
        std::string path;
        std::vector<uint8_t> bytes;
    };
    std::vector<InFlight> wire;
    uint64_t order = 0;
    TimePoint now = t0;
    // Called for each delivery (to, path, verdict): the cases' assertions.
    std::function<void(const Node&, const std::string&, const Decoded&)> on_delivery;

    void put(Node& to, const std::string& path, std::vector<uint8_t> b, TimePoint at) {
        wire.push_back({at, order++, &to, path, std::move(b)});
    }
    // One tick at `now` on both nodes, then everything that arrives before the next tick.
    void tick() {
        for (const auto& p : kPaths) {
            put(b, p, a.heartbeat(p, now), now + delay[p]);
            put(a, p, b.heartbeat(p, now), now + delay[p]);
        }
        TimePoint until = now + kInterval;
        std::stable_sort(wire.begin(), wire.end(), [](const InFlight& x, const InFlight& y) {
            return x.at != y.at ? x.at < y.at : x.order < y.order;
        });
        while (!wire.empty() && wire.front().at < until) {
            InFlight f = std::move(wire.front());
            wire.erase(wire.begin());
            Decoded d = f.to->receive(f.path, f.bytes, f.at);
            if (on_delivery) on_delivery(*f.to, f.path, d);
        }
        now = until;
    }
    void run(int ticks) {
        for (int i = 0; i < ticks; ++i) tick();
    }
};

void expect_both_paths_alive(const Node& n, TimePoint now) {
    PeerFacts f = n.monitor.facts(now);
    INFO(n.name << " hears " << n.peer);
    CHECK(f.paths[0].alive);
    CHECK(f.paths[1].alive);
}

// Nothing but the start-up handshake was refused.
void expect_only_handshake_refusals(const Node& n) {
    INFO(n.name);
    for (const auto& [why, k] : n.gate().rejected()) {
        INFO(to_string(why) << "=" << k);
        CHECK(why == Reject::unconfirmed);
        CHECK(k <= 4);
    }
}

}  // namespace

TEST_CASE("replay window: new numbers once each, in any order within the window") {
    ReplayWindow w;
    CHECK(w.check(0) == ReplayWindow::Verdict::too_old);
    CHECK(w.check(5) == ReplayWindow::Verdict::fresh);
    w.mark(5);
    CHECK(w.check(5) == ReplayWindow::Verdict::duplicate);
    CHECK(w.check(3) == ReplayWindow::Verdict::fresh);  // a slower path's older number
    w.mark(3);
    CHECK(w.check(3) == ReplayWindow::Verdict::duplicate);
    CHECK(w.check(4) == ReplayWindow::Verdict::fresh);
    w.mark(5 + ReplayWindow::kSize - 1);
    CHECK(w.check(5) == ReplayWindow::Verdict::duplicate);  // still inside
    CHECK(w.check(4) == ReplayWindow::Verdict::too_old);    // fell out
    CHECK(w.check(6) == ReplayWindow::Verdict::fresh);
    w.mark(10'000);  // a jump beyond the window forgets everything below it
    CHECK(w.check(10'000 - ReplayWindow::kSize + 1) == ReplayWindow::Verdict::fresh);
    CHECK(w.check(10'000 - ReplayWindow::kSize) == ReplayWindow::Verdict::too_old);
    CHECK(w.check(10'000) == ReplayWindow::Verdict::duplicate);
}

TEST_CASE("start: each node confirms the other's run within a few ticks, only the handshake is refused") {
    Pair p;
    p.run(5);
    expect_both_paths_alive(p.a, p.now);
    expect_both_paths_alive(p.b, p.now);
    expect_only_handshake_refusals(p.a);
    expect_only_handshake_refusals(p.b);
    REQUIRE(p.a.gate().peer_run());
    CHECK(*p.a.gate().peer_run() == p.b.session->boot());
    CHECK(*p.b.gate().peer_run() == p.a.session->boot());
}

TEST_CASE("item 4: a path slower than the interval is up, and its datagrams are not replays") {
    Pair p;
    p.delay["service"] = 500ms;  // every tick the replication datagram, sent later, overtakes it
    uint64_t accepted_on_service = 0, newest_on_service = 0, newest_on_replication = 0;
    p.on_delivery = [&](const Node& to, const std::string& path, const Decoded& d) {
        if (to.name != "beta" || !d.message) return;
        if (path == "service") {
            ++accepted_on_service;
            if (d.newest) ++newest_on_service;
        } else if (d.newest)
            ++newest_on_replication;
    };
    p.run(30);
    expect_both_paths_alive(p.a, p.now);
    expect_both_paths_alive(p.b, p.now);
    for (const Node* n : {&p.a, &p.b}) {
        INFO(n->name);
        CHECK(count(n->gate(), Reject::replayed) == 0);
        CHECK(count(n->gate(), Reject::too_old) == 0);
    }
    CHECK(accepted_on_service >= 25);
    // Overtaken, so never the newest: their (older) status must not replace the newest one.
    CHECK(newest_on_service <= 1);  // at most the very first, before the fast path's came
    CHECK(newest_on_replication >= 29);
    // The slow path's round trip is its delay both ways, measured on the receiver's clock alone.
    REQUIRE(p.b.monitor.facts(p.now).paths[1].rtt);
    CHECK(*p.b.monitor.facts(p.now).paths[1].rtt == 1000ms);
    CHECK(*p.b.monitor.facts(p.now).paths[0].rtt == 0ms);
}

TEST_CASE("item 4: a replay on either path is still refused and counted, once per datagram") {
    Pair p;
    p.delay["service"] = 500ms;
    p.run(10);
    // An attacker replays alpha's datagrams: one sent on replication, one on service, both
    // already delivered; and one sent on service re-sent on replication (the paths share the window).
    const auto& sent = p.a.sent;
    std::vector<uint8_t> on_replication = sent[sent.size() - 6], on_service = sent[sent.size() - 5];
    CHECK_FALSE(p.b.receive("replication", on_replication, p.now).message);
    CHECK_FALSE(p.b.receive("service", on_service, p.now).message);
    CHECK_FALSE(p.b.receive("replication", on_service, p.now).message);
    CHECK(count(p.b.gate(), Reject::replayed) == 3);
    // Once alpha has sent a window's worth more (two paths a tick), it is too old.
    p.run(ReplayWindow::kSize / 2 + 10);
    CHECK_FALSE(p.b.receive("replication", on_replication, p.now).message);
    CHECK(count(p.b.gate(), Reject::too_old) == 1);
    expect_both_paths_alive(p.b, p.now);
}

TEST_CASE("item 5: a wall-clock step on either node is neither silence nor a refusal, the offset is reported") {
    Pair p;
    p.run(5);
    p.a.wall_offset = 1h;  // date -s an hour ahead on alpha
    p.run(10);
    expect_both_paths_alive(p.b, p.now);
    REQUIRE(p.b.offset_seen);
    CHECK(*p.b.offset_seen == 1h);
    CHECK(*p.a.offset_seen == -1h);
    p.b.wall_offset = -3h;  // and three hours back on beta
    p.run(10);
    expect_both_paths_alive(p.a, p.now);
    expect_both_paths_alive(p.b, p.now);
    CHECK(*p.b.offset_seen == 4h);
    p.a.wall_offset = -1h * 24 * 365 * 30;  // to 1996, and so on: the wall clock is never judged
    p.run(10);
    expect_both_paths_alive(p.b, p.now);
    expect_only_handshake_refusals(p.a);
    expect_only_handshake_refusals(p.b);
    // Round trips come from the monotonic clock: a step does not show in them.
    CHECK(*p.b.monitor.facts(p.now).paths[0].rtt == 0ms);
}

TEST_CASE("replay across restarts: a restarted receiver takes nothing recorded before its start") {
    Pair p;
    p.run(10);
    std::vector<std::vector<uint8_t>> recorded = p.a.sent;  // everything alpha sent to beta's first run
    p.b.restart();
    for (const auto& r : recorded) CHECK_FALSE(p.b.receive("replication", r, p.now).message);
    CHECK(count(p.b.gate(), Reject::unconfirmed) == recorded.size());
    CHECK(p.b.monitor.facts(p.now).paths_alive() == 0);  // a replay is not a sign of life
    p.run(5);
    expect_both_paths_alive(p.b, p.now);
    // Even with the handshake done, what alpha sent to beta's earlier run stays refused.
    uint64_t before = count(p.b.gate(), Reject::unconfirmed);
    for (const auto& r : recorded) CHECK_FALSE(p.b.receive("replication", r, p.now).message);
    CHECK(count(p.b.gate(), Reject::unconfirmed) == before + recorded.size());
    CHECK(count(p.b.gate(), Reject::replayed) == 0);
}

TEST_CASE("replay across restarts: a restarted sender's earlier run is refused, even what was never delivered") {
    Pair p;
    p.run(10);
    // An attacker keeps (and stops) the last tick of alpha's first run: never delivered.
    std::vector<uint8_t> delivered = p.a.sent[p.a.sent.size() - 4];
    std::vector<uint8_t> held_back = p.a.heartbeat("replication", p.now);
    BootId first_run = p.a.session->boot();
    p.a.restart();  // alpha's daemon restarts
    bool new_run_seen = false;
    p.on_delivery = [&](const Node& to, const std::string&, const Decoded& d) {
        if (to.name == "beta" && d.new_run) new_run_seen = true;
    };
    p.run(5);
    CHECK(new_run_seen);
    REQUIRE(p.b.gate().peer_run());
    CHECK(*p.b.gate().peer_run() == p.a.session->boot());
    CHECK(*p.b.gate().peer_run() != first_run);
    expect_both_paths_alive(p.b, p.now);
    // The first run's datagrams now: a delivered one, and the one held back. Both are authentic
    // and both echo beta's current boot id; the run is over all the same.
    CHECK_FALSE(p.b.receive("replication", delivered, p.now).message);
    Decoded d = p.b.receive("replication", held_back, p.now);
    CHECK_FALSE(d.message);
    CHECK(d.reject == Reject::old_boot);
    CHECK(count(p.b.gate(), Reject::old_boot) == 2);
    CHECK(*p.b.gate().peer_run() == p.a.session->boot());
}

TEST_CASE("replay across restarts: a run never heard at all cannot displace the current one") {
    Pair p;
    p.run(10);
    // alpha's run 2 sends a few datagrams that an attacker keeps from beta; then run 3 starts.
    p.a.restart();
    std::vector<std::vector<uint8_t>> hidden;
    for (int i = 0; i < 3; ++i) {
        // run 2 hears beta (so it echoes beta's boot id) but beta never hears run 2
        p.a.receive("replication", p.b.heartbeat("replication", p.now), p.now);
        p.now += kInterval;
        hidden.push_back(p.a.heartbeat("replication", p.now));
    }
    p.a.restart();
    p.run(5);
    BootId run3 = p.a.session->boot();
    REQUIRE(p.b.gate().peer_run());
    REQUIRE(*p.b.gate().peer_run() == run3);
    for (const auto& h : hidden) {
        Decoded d = p.b.receive("replication", h, p.now);
        CHECK_FALSE(d.message);
        CHECK(d.reject == Reject::old_boot);
    }
    CHECK(*p.b.gate().peer_run() == run3);
}

TEST_CASE("item 7: rotating the secret, each host reloading in turn, has no gap and no refusal") {
    Pair p;
    p.run(5);
    auto nothing_refused_since = [&](const std::map<Reject, uint64_t>& a0, const std::map<Reject, uint64_t>& b0) {
        CHECK(p.a.gate().rejected() == a0);
        CHECK(p.b.gate().rejected() == b0);
        expect_both_paths_alive(p.a, p.now);
        expect_both_paths_alive(p.b, p.now);
    };
    auto a0 = p.a.gate().rejected(), b0 = p.b.gate().rejected();
    p.a.set_keys({kOld, kNew});  // 1. alpha: secret_file_next, SIGHUP
    p.run(5);
    nothing_refused_since(a0, b0);
    CHECK_FALSE(p.a.gate().signs_with_next());  // beta does not hold it yet
    p.b.set_keys({kOld, kNew});  // 2. beta: the same
    p.run(5);
    nothing_refused_since(a0, b0);
    CHECK(p.a.gate().signs_with_next());  // both hold it: both sign with it
    CHECK(p.b.gate().signs_with_next());
    p.a.set_keys({kNew, ""});  // 3. alpha promotes: secret_file = the new key, no next
    p.run(5);
    nothing_refused_since(a0, b0);
    CHECK(p.b.gate().signs_with_next());  // alpha signs with it: beta keeps signing with it
    p.b.set_keys({kNew, ""});  // 4. beta promotes
    p.run(5);
    nothing_refused_since(a0, b0);
    // The old key is gone: a datagram signed with it is refused.
    Message m;
    m.cluster = "mailspool";
    m.sender = "alpha";
    m.sequence = 1;
    m.stamp_ms = 1;
    m.status.state = static_cast<uint8_t>(PrimaryState::MIRRORED);
    auto old = encode(m, kOld);
    CHECK(p.b.receive("replication", old, p.now).reject == Reject::unknown_key);
}

TEST_CASE("item 7: the order of the promotions does not matter, promoting before the peer holds next is the gap") {
    SECTION("beta promotes first") {
        Pair p;
        p.run(5);
        auto a0 = p.a.gate().rejected(), b0 = p.b.gate().rejected();
        p.a.set_keys({kOld, kNew});
        p.b.set_keys({kOld, kNew});
        p.run(3);
        p.b.set_keys({kNew, ""});
        p.run(3);
        p.a.set_keys({kNew, ""});
        p.run(3);
        CHECK(p.a.gate().rejected() == a0);
        CHECK(p.b.gate().rejected() == b0);
        expect_both_paths_alive(p.a, p.now);
    }
    SECTION("a plain swap of the key on one host: the other refuses it until it reloads too") {
        Pair p;
        p.run(5);
        p.a.set_keys({kNew, ""});
        p.run(5);
        CHECK(count(p.b.gate(), Reject::unknown_key) > 0);
        CHECK(p.b.monitor.facts(p.now).paths_alive() == 0);
    }
}

TEST_CASE("item 7: a replayed advertisement cannot keep a node signing with a key the peer dropped") {
    Pair p;
    p.a.set_keys({kOld, kNew});
    p.b.set_keys({kOld, kNew});
    p.run(5);
    REQUIRE(p.a.gate().signs_with_next());
    auto advert = p.b.sent.back();  // beta advertising the next key
    p.b.set_keys({kOld, ""});  // beta rolls the rotation back
    p.run(3);
    CHECK_FALSE(p.a.gate().signs_with_next());  // its fresh datagrams say so
    p.a.receive("replication", advert, p.now);  // a replay of the old advertisement
    p.run(2);
    CHECK_FALSE(p.a.gate().signs_with_next());
    expect_both_paths_alive(p.b, p.now);
}
