#pragma once
// What `haspool status` and `haspool status --json` show (pure): one value gathered from the
// daemon's parts — the machine's view (state, since when, last decision, running steps), the
// persisted generation, the peer monitor's facts, the peer's last heartbeat, the md snapshot
// (primary) or the export's counters (standby), the dropped-datagram counts — and `now`; then
// rendered as text or as one line of JSON. Tests and the VM scripts grep both renderings, so
// their wording is part of the control protocol.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/core/events.hpp"
#include "agent/core/types.hpp"
#include "raid/md_status.hpp"

namespace haspool::agent {

struct StatusReport {
    // This node.
    std::string role;  // "primary" / "standby"
    std::string node;
    std::string state;  // the machine's state name
    TimePoint since{};  // entered `state`
    std::string last_decision;
    Generation generation;
    std::optional<std::string> generation_reason;  // the newest history entry's reason; nullopt: no history
    std::optional<std::string> steps_running;  // "TAKEOVER: 9 step(s) from RunFence"; nullopt: idle
    std::string disk_problem;  // NodeMachine::disk_problem(): X lost, Y failed...; empty: none
    // Since the daemon started (metrics only): how often each state was entered, and how long the
    // node stayed in each state the last time it left it (the standby's TAKEOVER: the takeover's
    // duration).
    std::map<std::string, uint64_t> entered;
    std::map<std::string, Millis> last_stay;
    // The last transitions, oldest first (at most kTransitionsKept), each with its reason and
    // the event that decided it.
    struct Transition {
        TimePoint at{};
        std::string from, to, reason, trigger;
    };
    std::vector<Transition> transitions;
    // This node's data as its heartbeats describe it: in-sync, degraded, resyncing, raw-written,
    // x-lost, y-failed, unknown.
    MirrorHealth data = MirrorHealth::unknown;

    // The primary's array.
    struct Mirror {
        std::string device;                      // spool.md_device
        std::optional<raid::MdSnapshot> array;   // nullopt: not running
        std::string copy_plan;                   // what the last (re-)add said md will copy
    };
    std::optional<Mirror> mirror;

    // The standby's export of Y.
    struct Export {
        bool running = false;
        int sessions = 0;
        // The NBD server's counters over every export this daemon ran (metrics only).
        struct Counters {
            uint64_t requests = 0;
            uint64_t bytes_read = 0;
            uint64_t bytes_written = 0;
            uint64_t io_errors = 0;             // replies carrying an error from Y
            uint64_t rejected_requests = 0;     // refused by validate_request
            uint64_t rejected_connections = 0;  // not allowed, disengaged, second writer
            uint64_t sessions_started = 0;
        };
        Counters counters;
    };
    std::optional<Export> spool_export;

    // The peer.
    std::string peer_node;
    std::optional<PeerStatus> peer;  // its last authenticated heartbeat; nullopt: never heard
    PeerFacts facts;
    std::map<std::string, uint64_t> dropped;  // datagrams refused, by reason
    uint64_t accepted = 0;                    // datagrams accepted (PeerGate)
    std::optional<Millis> peer_clock_offset;  // the peer's wall clock minus ours (reported only)
    // The shared secret (a rotation's progress): is a next key set, does this node sign with it,
    // has the peer shown it holds it.
    struct Keys {
        bool next_configured = false;
        bool signing_with_next = false;
        bool peer_holds_next = false;
    };
    Keys keys;
    // The peer daemon's own answer to this `status` (peer_report.hpp): its report and how long
    // it took. When there is none, `peer_unanswered` says why ("" when nobody asked: metrics,
    // events, --check).
    struct PeerAnswer {
        std::string payload;
        Millis answered_in{};
    };
    std::optional<PeerAnswer> peer_answer;
    std::string peer_unanswered;
    // This node's spool disk's write-intent bitmap (mdadm --examine-bitmap), read when the peer's
    // `plan failback` asks (peer_report.hpp "disk_bitmap"); nullopt: not read.
    struct DiskBitmap {
        uint64_t dirty = 0, chunks = 0, chunk_bytes = 0;
        std::string error;  // set: not readable, and why
    };
    std::optional<DiskBitmap> disk_bitmap;

    TimePoint now{};
};
inline constexpr size_t kTransitionsKept = 8;

// This node's data in a word, for status: `data` as the heartbeats say it (in-sync, degraded,
// resyncing, x-lost on the primary; y-failed, raw-written on the standby), and for a standby
// whose own word is `unknown`, what the primary's last heartbeat implies: `current` while it
// serves (TAKEOVER, ACTIVE: Y holds the newest writes), `in-sync` while the primary is MIRRORED
// in sync at the same generation, `resyncing` while it copies onto Y, `outdated` while it writes
// without Y (DEGRADED), `sole-copy` while it serves from Y alone (DISKLESS: X lost).
std::string data_state(const StatusReport& r);

// A running md sync in figures (md/sync_completed, md/sync_speed): bytes done of the total, md's
// speed (its own average over the last ~30 s) and the time left at that speed.
struct SyncFigures {
    std::string action;  // resync, recover, check...
    uint64_t done_bytes = 0;
    uint64_t total_bytes = 0;
    uint64_t remaining_bytes = 0;              // total - done; 0 when md reports done past total
    std::optional<uint64_t> bytes_per_second;  // nullopt until md has measured one
    std::optional<uint64_t> eta_seconds;       // remaining / speed, rounded up; nullopt without a speed
};
// nullopt when no sync runs (or md gives no progress yet).
std::optional<SyncFigures> sync_figures(const raid::MdSnapshot& md);
// "53.8 MiB of 128.0 MiB at 12.0 MiB/s, about 7s left"
std::string sync_text(const SyncFigures& f);

// The array's NBD leg (the member on an nbd device), nullptr when it has none.
const raid::MdMember* nbd_leg(const raid::MdSnapshot& md);
// "nbd0: 1234 reads (5.0 MiB), 567 writes (10.0 MiB), 0 in flight"
std::string nbd_leg_text(const std::string& device, const raid::BlockIo& io);

// {"device":"nbd0","reads":..,"read_bytes":..,"writes":..,"write_bytes":..,"in_flight":..}
nlohmann::ordered_json nbd_leg_json(const std::string& device, const raid::BlockIo& io);

// "clean", "degraded (nbd0 faulty)", "recover 42%, 53.8 MiB of 128.0 MiB at 12.0 MiB/s, about
// 7s left, copying ...", "not running"
std::string md_text(const StatusReport::Mirror& m);
// Several lines, each ending in "\n": `primary alpha: MIRRORED for 1.2s`, ...
std::string render_text(const StatusReport& r);
// The schema version of status_json's object ("version"), documented in docs/status-json.md.
// Raised when a key changes meaning or type or goes away; a new key does not raise it.
constexpr int kStatusJsonVersion = 1;
// The status as one JSON object, its keys in the documented order (docs/status-json.md): what
// render_json prints and `events` carries under "status".
nlohmann::ordered_json status_json(const StatusReport& r);
// status_json's object on one line and "\n"; a string that is still not UTF-8 gets U+FFFD.
std::string render_json(const StatusReport& r);
// `s` with every byte that does not begin a well-formed UTF-8 sequence replaced by U+FFFD, one
// for one, the bytes after it kept (a Latin-1 "\xe9chec" becomes "\uFFFDchec"): for the strings
// that carry a command's output into JSON.
std::string well_formed_utf8(const std::string& s);

}  // namespace haspool::agent
