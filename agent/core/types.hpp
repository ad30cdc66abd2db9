#pragma once
// Vocabulary shared by the agent's policy code, the wire codec and the daemon: clocks, states,
// health values and data generations. States are named the same in logs, on the wire and in
// `haspool status` (docs/design.md §2).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace haspool::agent {

using Clock = std::chrono::steady_clock;   // policy time: never jumps
using TimePoint = Clock::time_point;
// The wall clock (CLOCK_REALTIME) jumps with NTP and `date -s`, and the two nodes' clocks never
// agree exactly: it is only ever reported (the peer's clock offset in `status`), never judged.
// Liveness, round trips and replay protection use TimePoint and the peer protocol's boot ids
// (docs/agent.md "Clocks and replay protection").
using WallClock = std::chrono::system_clock;
using WallTime = WallClock::time_point;
using Millis = std::chrono::milliseconds;

// "1.2s" / "350ms": durations as the logs print them.
std::string format_duration(Millis d);

// Primary A. Wire values are stable; never renumber.
enum class PrimaryState : uint8_t {
    WAIT_PEER = 1,    // started, has not yet learned the standby's generation; X must not be used alone
    CONNECTING = 2,   // attaching the NBD leg, assembling md, mounting, taking the VIP
    MIRRORED = 3,     // md clean with both legs; spool mounted; VIP held; units running
    DEGRADED = 4,     // B lost: serving from X alone, bitmap records what Y misses
    RESYNC = 5,       // NBD leg re-added, md copying X->Y (or Y->X after failback)
    STANDING_BY = 6,  // B holds the service (after a takeover or switchover); A waits for failback
    FAILBACK = 7,     // B has handed back; A assembles from Y, re-adds X, mounts, takes the VIP
    HANDOVER = 8,     // planned switchover: A stops units, drops the VIP, unmounts, before B takes over
    HALTED = 9,       // a step failed and what was safe to undo is undone; the operator decides
    SPLIT_BRAIN = 10, // both sides served writes independently; nothing automatic happens
    DISKLESS = 11,    // md failed X: serving from Y alone through the NBD leg (DRBD's "diskless");
                      // Y is the only current copy, so the standby may take over from it
};

// Standby B.
enum class StandbyState : uint8_t {
    EXPORTING = 21,   // serving Y over NBD to A (or retrying the export), watching heartbeats
    SUSPECT = 22,     // heartbeats missing on all paths, counting towards dead-after
    TAKEOVER = 23,    // running the takeover plan
    ACTIVE = 24,      // serving the spool from Y, VIP held, units running
    HANDBACK = 25,    // stopping units, dropping the VIP, unmounting, re-exporting Y for A
    HALTED = 26,      // a takeover/handback step failed and was undone, or a takeover was refused
                      // for good; holds no VIP and no mount; the operator decides
    SPLIT_BRAIN = 27, // as the primary's
};

const char* to_string(PrimaryState s);
const char* to_string(StandbyState s);
// Name of a wire state byte of either role ("?" when unknown).
std::string state_name(uint8_t wire_state);

// raw_written is sent by the standby only (its own md health is otherwise `unknown`): "Y was
// written outside md (raw takeover): the next copy onto X must be a full one" — a persisted mark,
// cleared once X was rebuilt in full (docs/agent.md "Raw takeover"). Wire compatibility: a build
// without it rejects the value as malformed, so an old primary never hears a marked standby and
// never fails back from it with a re-add (it stands by: safe, and counted as "malformed"); while
// unmarked, heartbeats are byte for byte what older builds send.
// x_lost is the primary's word in DISKLESS: "my X is gone, every write is on Y". An older build
// rejects it (and the state) as malformed: upgrade the standby first, as for every wire change.
// y_failed is the standby's: "the disk I export answered I/O errors" (docs/faults.md, loss of Y):
// the primary then never re-adds the leg, and this node never takes over from Y.
enum class MirrorHealth : uint8_t { unknown = 0, in_sync = 1, degraded = 2, resyncing = 3, raw_written = 4, x_lost = 5, y_failed = 6 };
enum class NbdHealth : uint8_t { none = 0, connected = 1, lost = 2 };
const char* to_string(MirrorHealth h);
const char* to_string(NbdHealth h);

// A data generation: counter << 1 | (1 when the standby bumped it). Each node only ever mints
// generations of its own parity with a counter larger than any it knew, so two independent
// bumps never produce the same value (docs/design.md §3 rule 2). 0 = a blank disk holding no data yet.
struct Generation {
    uint64_t value = 0;

    static Generation blank() { return {0}; }
    uint64_t counter() const { return value >> 1; }
    bool by_standby() const { return value & 1; }
    // The next generation this node mints, after everything it knows of.
    static Generation next(uint64_t highest_known_counter, bool standby) {
        return {((highest_known_counter + 1) << 1) | (standby ? 1u : 0u)};
    }
    friend bool operator==(Generation a, Generation b) { return a.value == b.value; }
    friend bool operator!=(Generation a, Generation b) { return a.value != b.value; }
};
std::string to_string(Generation g);  // "0 (blank)", "7/primary", "8/standby"

// A node's generation with the ones before it, newest first (bounded, see kMaxAncestors).
struct Lineage {
    static constexpr size_t kMaxAncestors = 8;
    Generation current;
    std::vector<Generation> ancestors;

    bool descends_from(Generation g) const;  // g is current or an ancestor
    Lineage bumped(bool standby) const;       // a new generation minted by this node
    Lineage adopted(const Lineage& source) const;  // take the source's lineage after a resync
    // `haspool resolve --discard`: this node's data no longer counts. Current becomes blank (so
    // the peer's data is newer and any resync onto this node is a full copy); the discarded
    // generations stay as ancestors, so a later bump still mints above them.
    Lineage discarded() const;
};

// Who holds newer data, from the two lineages alone (never guesses).
enum class Comparison { same, mine_newer, peer_newer, diverged };
Comparison compare(const Lineage& mine, const Lineage& peer);
const char* to_string(Comparison c);

// Requests between the agents; each is acknowledged, retried until then, and idempotent.
enum class MessageKind : uint8_t {
    handed_back = 1,         // B: handback done, Y exported again; A may fail back
    take_over = 2,           // A: switchover, I have stopped; B takes over now
    you_are_outdated = 3,    // A: I write without you (DEGRADED); your Y is outdated
    failback_request = 4,    // A (operator): please hand the service back
    discard_primary = 5,     // either (operator, `haspool resolve --discard <primary>`): the
                             // primary's data loses the split brain
    discard_standby = 6,     // either (operator, `haspool resolve --discard <standby>`): the
                             // standby's data loses the split brain
    daemon_restarting = 7,   // A: my daemon stops, the service stays on this node (a restart):
                             // my silence alone is no reason to take over for a while. Sent
                             // once on stop, not retried (the daemon is gone)
};
inline constexpr uint8_t kMaxMessageKind = 7;  // the codec rejects anything above
const char* to_string(MessageKind k);

// What the peer's last authenticated heartbeat said.
struct PeerStatus {
    bool primary = true;  // sender's role
    uint8_t state = 0;    // wire state byte
    Lineage lineage;
    MirrorHealth md = MirrorHealth::unknown;
    uint8_t md_percent = 0;
    NbdHealth nbd = NbdHealth::none;

    std::string state_name() const { return agent::state_name(state); }
    bool says(PrimaryState s) const { return primary && state == static_cast<uint8_t>(s); }
    bool says(StandbyState s) const { return !primary && state == static_cast<uint8_t>(s); }
};

}  // namespace haspool::agent
