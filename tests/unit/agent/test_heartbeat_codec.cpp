// The peer protocol: round trips, and one named case per bad datagram. Each rejected datagram
// is counted and yields no message. (Two sessions talking, restarts, reordering, clock steps and
// key rotation: test_peer_session.cpp.)
#include <catch2/catch.hpp>

#include <algorithm>

#include "agent/peer/heartbeat_codec.hpp"
#include "agent/peer/peer_gate.hpp"

using namespace haspool::agent;

namespace {

const std::string kKey = "0123456789abcdef0123456789abcdef";
const uint64_t kNow = 1'800'000'000'000;  // ms since the epoch
const BootId kOwnBoot{7, 7, 7};           // the receiving gate's run

Message heartbeat(uint64_t seq = 1, BootId boot = BootId{1, 2, 3}) {
    Message m;
    m.cluster = "mailspool";
    m.sender = "alpha";
    m.boot_id = boot;
    m.sequence = seq;
    m.stamp_ms = 5000 + seq;
    m.wall_ms = kNow;
    m.peer_boot = kOwnBoot;  // the sender has heard the gate's run: fresh
    m.echo_stamp_ms = 4000 + seq;
    m.echo_hold_ms = 120;
    m.status.primary = true;
    m.status.state = static_cast<uint8_t>(PrimaryState::RESYNC);
    m.status.lineage = Lineage{Generation{6}, {Generation{4}, Generation{2}, Generation{0}}};
    m.status.md = MirrorHealth::resyncing;
    m.status.md_percent = 42;
    m.status.nbd = NbdHealth::connected;
    return m;
}

KeyRing keys() { return KeyRing{kKey, ""}; }
PeerGate gate() { return PeerGate("mailspool", "alpha", keys(), kOwnBoot); }

Decoded feed(PeerGate& g, const std::vector<uint8_t>& b) { return g.accept(b.data(), b.size()); }

// A datagram with its HMAC recomputed after `b` was changed.
void resign(std::vector<uint8_t>& b) {
    auto mac = hmac_sha256(kKey, b.data(), b.size() - kHmacSize);
    std::copy(mac.begin(), mac.end(), b.end() - kHmacSize);
}

void expect_reject(PeerGate& g, const std::vector<uint8_t>& b, Reject why) {
    Decoded d = feed(g, b);
    INFO("detail: " << d.detail);
    CHECK_FALSE(d.message);
    CHECK(to_string(d.reject) == std::string(to_string(why)));
    CHECK(g.rejected().at(why) >= 1);
    CHECK_FALSE(d.detail.empty());
}

}  // namespace

TEST_CASE("codec: heartbeat round trip keeps every field") {
    Message m = heartbeat();
    auto b = encode(m, kKey);
    Decoded d = decode(b.data(), b.size(), keys());
    REQUIRE(d.message);
    const Message& r = *d.message;
    CHECK(r.type == MessageType::heartbeat);
    CHECK(r.cluster == "mailspool");
    CHECK(r.sender == "alpha");
    CHECK(r.boot_id == m.boot_id);
    CHECK(r.sequence == 1);
    CHECK(r.stamp_ms == 5001);
    CHECK(r.wall_ms == kNow);
    CHECK(r.peer_boot == kOwnBoot);
    CHECK(r.key_id == key_id(kKey));
    CHECK(r.next_key_id == KeyId{});
    CHECK(r.status.primary);
    CHECK(r.status.says(PrimaryState::RESYNC));
    CHECK(r.status.lineage.current == Generation{6});
    CHECK(r.status.lineage.ancestors.size() == 3);
    CHECK(r.status.md == MirrorHealth::resyncing);
    CHECK(r.status.md_percent == 42);
    CHECK(r.status.nbd == NbdHealth::connected);
    CHECK(r.echo_stamp_ms == 4001);
    CHECK(r.echo_hold_ms == 120);
}

TEST_CASE("codec: request and ack round trip with kind and id") {
    for (auto type : {MessageType::request, MessageType::ack}) {
        Message m = heartbeat();
        m.type = type;
        m.kind = MessageKind::handed_back;
        m.request_id = 77;
        m.status.primary = false;
        m.status.state = static_cast<uint8_t>(StandbyState::EXPORTING);
        auto b = encode(m, kKey);
        Decoded d = decode(b.data(), b.size(), keys());
        REQUIRE(d.message);
        CHECK(d.message->type == type);
        CHECK(d.message->kind == MessageKind::handed_back);
        CHECK(d.message->request_id == 77);
        CHECK(d.message->status.says(StandbyState::EXPORTING));
    }
}

TEST_CASE("codec: the resolve requests (discard-primary, discard-standby) and daemon-restarting round trip") {
    for (auto kind : {MessageKind::discard_primary, MessageKind::discard_standby, MessageKind::daemon_restarting})
        for (auto type : {MessageType::request, MessageType::ack}) {
            Message m = heartbeat();
            m.type = type;
            m.kind = kind;
            m.request_id = 9;
            auto b = encode(m, kKey);
            Decoded d = decode(b.data(), b.size(), keys());
            INFO(to_string(kind));
            REQUIRE(d.message);
            CHECK(d.message->kind == kind);
            CHECK(d.message->request_id == 9);
        }
    CHECK(std::string(to_string(MessageKind::discard_primary)) == "discard-primary");
    CHECK(std::string(to_string(MessageKind::discard_standby)) == "discard-standby");
    CHECK(std::string(to_string(MessageKind::daemon_restarting)) == "daemon-restarting");
}

TEST_CASE("bad datagram: unknown message kind, or a request kind inside a heartbeat (re-signed)") {
    PeerGate g = gate();
    Message m = heartbeat(1);
    m.type = MessageType::request;
    m.kind = static_cast<MessageKind>(kMaxMessageKind + 1);
    m.request_id = 3;
    expect_reject(g, encode(m, kKey), Reject::malformed);
    Message zero = heartbeat(2);
    zero.type = MessageType::request;
    zero.kind = static_cast<MessageKind>(0);
    zero.request_id = 3;
    expect_reject(g, encode(zero, kKey), Reject::malformed);
    // encode() never puts a kind in a heartbeat: forge one by flipping the type byte and signing again.
    Message r = heartbeat(3);
    r.type = MessageType::request;
    r.kind = MessageKind::discard_standby;
    r.request_id = 0;
    auto b = encode(r, kKey);
    b[13] = static_cast<uint8_t>(MessageType::heartbeat);  // after magic, version and key id
    resign(b);
    expect_reject(g, b, Reject::malformed);
    CHECK(feed(g, encode(heartbeat(4), kKey)).message);  // the gate still takes good ones
}

TEST_CASE("gate: a fresh heartbeat from the peer is accepted") {
    PeerGate g = gate();
    CHECK(feed(g, encode(heartbeat(1), kKey)).message);
    CHECK(feed(g, encode(heartbeat(2), kKey)).message);
    CHECK(g.accepted() == 2);
}

TEST_CASE("bad datagram: signed with a key this node does not hold") {
    PeerGate g = gate();
    expect_reject(g, encode(heartbeat(), "another key of 32 bytes length!!"), Reject::unknown_key);
}

TEST_CASE("bad datagram: bad HMAC (our key id, another key's HMAC)") {
    PeerGate g = gate();
    auto b = encode(heartbeat(), "another key of 32 bytes length!!");
    KeyId ours = key_id(kKey);
    std::copy(ours.begin(), ours.end(), b.begin() + 5);
    expect_reject(g, b, Reject::bad_hmac);
}

TEST_CASE("keys: a datagram signed with the next key is accepted, the key id says which") {
    const std::string next = "a brand new key, 32 bytes long!!";
    PeerGate g("mailspool", "alpha", KeyRing{kKey, next}, kOwnBoot);
    Decoded d = feed(g, encode(heartbeat(1), next));
    REQUIRE(d.message);
    CHECK(d.message->key_id == key_id(next));
    CHECK(feed(g, encode(heartbeat(2), kKey)).message);
    CHECK(key_id(kKey) != key_id(next));
}

TEST_CASE("bad datagram: bad HMAC (one bit flipped in a field)") {
    PeerGate g = gate();
    auto b = encode(heartbeat(), kKey);
    b[40] ^= 0x01;
    expect_reject(g, b, Reject::bad_hmac);
}

TEST_CASE("bad datagram: truncated") {
    PeerGate g = gate();
    auto b = encode(heartbeat(), kKey);
    b.resize(20);
    expect_reject(g, b, Reject::truncated);
    expect_reject(g, {}, Reject::truncated);
}

TEST_CASE("bad datagram: truncated but re-signed (a length runs past the end)") {
    PeerGate g = gate();
    auto b = encode(heartbeat(), kKey);
    b.resize(b.size() - kHmacSize);
    b[14] = 200;  // cluster name length far beyond the datagram
    auto mac = hmac_sha256(kKey, b.data(), b.size());
    b.insert(b.end(), mac.begin(), mac.end());
    expect_reject(g, b, Reject::truncated);
}

TEST_CASE("bad datagram: unknown version") {
    PeerGate g = gate();
    auto b = encode(heartbeat(), kKey);
    b[4] = 9;
    expect_reject(g, b, Reject::wrong_version);
    b[4] = 0;
    expect_reject(g, b, Reject::wrong_version);
}

TEST_CASE("bad datagram: version 1, from an older haspool, has its own reason") {
    PeerGate g = gate();
    // A version 1 heartbeat is shorter than version 2's minimum: 121 bytes for these names.
    std::vector<uint8_t> b = {'H', 'S', 'P', 'L', 1, 1};
    b.resize(121, 0);
    Decoded d = feed(g, b);
    CHECK(d.reject == Reject::old_version);
    CHECK(d.detail.find("older haspool") != std::string::npos);
    CHECK(std::string(to_string(Reject::old_version)) == "old-version");
}

TEST_CASE("bad datagram: not a haspool datagram") {
    PeerGate g = gate();
    std::vector<uint8_t> b(200, 'x');
    expect_reject(g, b, Reject::bad_magic);
}

TEST_CASE("bad datagram: replayed sequence, an older one not seen yet is accepted once (reordered)") {
    PeerGate g = gate();
    auto first = encode(heartbeat(5), kKey);
    REQUIRE(feed(g, first).message);
    expect_reject(g, first, Reject::replayed);
    auto four = encode(heartbeat(4), kKey);
    CHECK(feed(g, four).message);  // a slower path's datagram
    expect_reject(g, four, Reject::replayed);
    CHECK(feed(g, encode(heartbeat(6), kKey)).message);
    CHECK(g.rejected().at(Reject::replayed) == 2);
}

TEST_CASE("bad datagram: a sequence below the window is too old") {
    PeerGate g = gate();
    REQUIRE(feed(g, encode(heartbeat(1), kKey)).message);
    REQUIRE(feed(g, encode(heartbeat(1 + ReplayWindow::kSize), kKey)).message);
    expect_reject(g, encode(heartbeat(1), kKey), Reject::too_old);
    CHECK(feed(g, encode(heartbeat(3), kKey)).message);  // inside the window, never seen
}

TEST_CASE("bad datagram: not echoing this run's boot id is unconfirmed, and never a sign of life") {
    PeerGate g = gate();
    Message m = heartbeat(1);
    m.peer_boot = BootId{};  // the sender has not heard this run yet
    Decoded d = feed(g, encode(m, kKey));
    CHECK_FALSE(d.message);
    CHECK(d.reject == Reject::unconfirmed);
    REQUIRE(d.echo);  // but its stamp is worth echoing: that is the handshake
    CHECK(d.echo->boot == m.boot_id);
    CHECK(g.echo_boot() == m.boot_id);
    m.sequence = 2;
    m.peer_boot = BootId{6, 6, 6};  // recorded while this node ran before
    expect_reject(g, encode(m, kKey), Reject::unconfirmed);
    CHECK_FALSE(g.peer_run());
}

TEST_CASE("bad datagram: old boot id") {
    PeerGate g = gate();
    Message first = heartbeat(100, BootId{9});
    first.echo_stamp_ms = 1000;
    REQUIRE(feed(g, encode(first, kKey)).message);
    Message restarted = heartbeat(1, BootId{10});  // the peer restarted: it echoes a newer stamp
    restarted.echo_stamp_ms = 2000;
    Decoded d = feed(g, encode(restarted, kKey));
    REQUIRE(d.message);
    CHECK(d.new_run);
    Message again = heartbeat(101, BootId{9});
    again.echo_stamp_ms = 3000;
    expect_reject(g, encode(again, kKey), Reject::old_boot);  // a retired run
    Message unknown = heartbeat(5, BootId{11});  // a run never heard, older than the current one
    unknown.echo_stamp_ms = 1500;
    expect_reject(g, encode(unknown, kKey), Reject::old_boot);
}

// The version 1 gate remembered the current boot id and the 8 before it: a datagram replayed
// after 9 restarts of the peer was accepted again (found by fuzz_heartbeat). Runs are now
// ordered by the stamps of ours they echo, so a replay stays refused after more restarts than
// the retired runs the gate keeps (16).
TEST_CASE("bad datagram: a run's datagram replayed after 20 restarts of the peer is an old boot") {
    PeerGate g = gate();
    Message first = heartbeat(5, BootId{1});
    first.echo_stamp_ms = 1000;
    auto recorded = encode(first, kKey);
    REQUIRE(feed(g, recorded).message);
    for (uint8_t run = 2; run <= 21; ++run) {
        Message m = heartbeat(1, BootId{run});
        m.echo_stamp_ms = 1000 + 100 * run;
        INFO("run " << int(run));
        REQUIRE(feed(g, encode(m, kKey)).new_run);
    }
    expect_reject(g, recorded, Reject::old_boot);
    CHECK(g.peer_run() == BootId{21});
}

TEST_CASE("the wall clock is never judged: any timestamp is accepted") {
    PeerGate g = gate();
    uint64_t seq = 1;
    for (uint64_t wall : {kNow, kNow + 3'600'000, kNow - 86'400'000, uint64_t{0}, ~uint64_t{0}}) {
        Message m = heartbeat(seq++);
        m.wall_ms = wall;
        CHECK(feed(g, encode(m, kKey)).message);
    }
}

TEST_CASE("bad datagram: foreign cluster") {
    PeerGate g = gate();
    Message m = heartbeat();
    m.cluster = "othercluster";
    expect_reject(g, encode(m, kKey), Reject::foreign_cluster);
}

TEST_CASE("bad datagram: unknown node") {
    PeerGate g = gate();
    Message m = heartbeat();
    m.sender = "mallory";
    expect_reject(g, encode(m, kKey), Reject::unknown_node);
}

TEST_CASE("bad datagram: malformed fields under a valid HMAC") {
    PeerGate g = gate();
    Message m = heartbeat();
    m.status.state = 99;  // no such state
    expect_reject(g, encode(m, kKey), Reject::malformed);
    Message a = heartbeat();
    a.status.md_percent = 101;
    expect_reject(g, encode(a, kKey), Reject::malformed);
}

TEST_CASE("rejected datagrams do not advance the replay window") {
    PeerGate g = gate();
    REQUIRE(feed(g, encode(heartbeat(1), kKey)).message);
    Message forged = heartbeat(1000);
    expect_reject(g, encode(forged, "wrong key wrong key wrong key !!"), Reject::unknown_key);
    CHECK(feed(g, encode(heartbeat(2), kKey)).message);
}

TEST_CASE("codec: the standby's raw-written mark round trips, from a primary it is malformed") {
    Message m = heartbeat();
    m.status.primary = false;
    m.status.state = static_cast<uint8_t>(StandbyState::EXPORTING);
    m.status.md = MirrorHealth::raw_written;
    m.status.md_percent = 0;
    auto b = encode(m, kKey);
    Decoded d = decode(b.data(), b.size(), keys());
    INFO(d.detail);
    REQUIRE(d.message);
    CHECK(d.message->status.md == MirrorHealth::raw_written);
    CHECK(std::string(to_string(MirrorHealth::raw_written)) == "raw-written");
    // Wire compatibility: the mark lives in a byte older builds range-check (0..3), so they
    // reject it as malformed rather than fail back with a re-add; unmarked it is the old value.
    CHECK(b[b.size() - kHmacSize - 8 - 1 - 3] == 4);

    PeerGate g = gate();
    Message p = heartbeat(1);
    p.status.md = MirrorHealth::raw_written;  // a primary never sends it
    expect_reject(g, encode(p, kKey), Reject::malformed);
    Message five = heartbeat(2);
    five.status.primary = false;
    five.status.state = static_cast<uint8_t>(StandbyState::ACTIVE);
    five.status.md = static_cast<MirrorHealth>(5);  // x-lost: the primary's word only
    expect_reject(g, encode(five, kKey), Reject::malformed);
    Message y = heartbeat(3);
    y.status.md = MirrorHealth::y_failed;  // the standby's word only
    expect_reject(g, encode(y, kKey), Reject::malformed);
}

TEST_CASE("codec: the standby's y-failed round trips") {
    Message m = heartbeat();
    m.status.primary = false;
    m.status.state = static_cast<uint8_t>(StandbyState::EXPORTING);
    m.status.md = MirrorHealth::y_failed;
    m.status.md_percent = 0;
    auto b = encode(m, kKey);
    Decoded d = decode(b.data(), b.size(), keys());
    INFO(d.detail);
    REQUIRE(d.message);
    CHECK(d.message->status.md == MirrorHealth::y_failed);
    CHECK(std::string(to_string(MirrorHealth::y_failed)) == "y-failed");
}

TEST_CASE("codec: a DISKLESS primary's x-lost round trips, 6 from it and state 12 are malformed") {
    Message m = heartbeat();
    m.status.state = static_cast<uint8_t>(PrimaryState::DISKLESS);
    m.status.md = MirrorHealth::x_lost;
    auto b = encode(m, kKey);
    Decoded d = decode(b.data(), b.size(), keys());
    INFO(d.detail);
    REQUIRE(d.message);
    CHECK(d.message->status.says(PrimaryState::DISKLESS));
    CHECK(d.message->status.md == MirrorHealth::x_lost);
    CHECK(d.message->status.state_name() == "DISKLESS");
    CHECK(std::string(to_string(MirrorHealth::x_lost)) == "x-lost");

    PeerGate g = gate();
    Message six = heartbeat(1);
    six.status.md = static_cast<MirrorHealth>(6);
    expect_reject(g, encode(six, kKey), Reject::malformed);
    Message twelve = heartbeat(2);
    twelve.status.state = 12;
    expect_reject(g, encode(twelve, kKey), Reject::malformed);
}

TEST_CASE("codec: a status query and its report round trip, the report's JSON intact") {
    Message q = heartbeat();
    q.type = MessageType::query;
    q.request_id = 12;
    auto b = encode(q, kKey);
    Decoded d = decode(b.data(), b.size(), keys());
    REQUIRE(d.message);
    CHECK(d.message->type == MessageType::query);
    CHECK(d.message->request_id == 12);
    CHECK(d.message->report.empty());
    CHECK_FALSE(d.message->with_disk);
    q.with_disk = true;  // `plan failback`: the disk's figures too (kind byte 1)
    b = encode(q, kKey);
    d = decode(b.data(), b.size(), keys());
    REQUIRE(d.message);
    CHECK(d.message->with_disk);
    b[b.size() - kHmacSize - 9] = 2;  // no query kind 2
    resign(b);
    CHECK_FALSE(decode(b.data(), b.size(), keys()).message);

    Message r = heartbeat();
    r.type = MessageType::report;
    r.request_id = 12;
    r.report = R"({"version":1,"node":"alpha","state":"MIRRORED"})";
    r.report += std::string(kMaxReport - r.report.size(), ' ');
    REQUIRE(r.report.size() == kMaxReport);
    b = encode(r, kKey);
    CHECK(b.size() <= kMaxDatagram);  // the largest report still fits one Ethernet frame
    d = decode(b.data(), b.size(), keys());
    REQUIRE(d.message);
    CHECK(d.message->type == MessageType::report);
    CHECK(d.message->request_id == 12);
    CHECK(d.message->report == r.report);
    r.report += "x";
    CHECK_THROWS(encode(r, kKey));
}

TEST_CASE("bad datagram: a query or report with a kind, or without an id, or a report whose length lies (re-signed)") {
    PeerGate g = gate();
    Message q = heartbeat(1);
    q.type = MessageType::query;
    q.request_id = 0;  // a query always has an id
    expect_reject(g, encode(q, kKey), Reject::malformed);
    // encode() writes no kind in a query: forge one (the kind byte sits before the 8-byte id
    // and the HMAC).
    Message k = heartbeat(2);
    k.type = MessageType::query;
    k.request_id = 5;
    auto b = encode(k, kKey);
    b[b.size() - kHmacSize - 9] = static_cast<uint8_t>(MessageKind::take_over);
    resign(b);
    expect_reject(g, b, Reject::malformed);
    // A report's length runs past the end.
    Message r = heartbeat(3);
    r.type = MessageType::report;
    r.request_id = 5;
    r.report = "{}";
    b = encode(r, kKey);
    b[b.size() - kHmacSize - 3] = 0x7f;  // the u16 length's low byte: 2 -> 127
    resign(b);
    expect_reject(g, b, Reject::truncated);
    // A report longer than kMaxReport, though the datagram would fit.
    r.report = std::string(kMaxReport, 'x');
    b = encode(r, kKey);
    size_t len_at = b.size() - kHmacSize - kMaxReport - 2;
    b[len_at] = static_cast<uint8_t>((kMaxReport + 1) >> 8);
    b[len_at + 1] = static_cast<uint8_t>(kMaxReport + 1);
    b.insert(b.end() - kHmacSize, 'x');
    resign(b);
    expect_reject(g, b, Reject::malformed);
    // Trailing bytes after a heartbeat are still refused.
    b = encode(heartbeat(4), kKey);
    b.insert(b.end() - kHmacSize, 0);
    resign(b);
    expect_reject(g, b, Reject::malformed);
    CHECK(feed(g, encode(heartbeat(5), kKey)).message);
}
