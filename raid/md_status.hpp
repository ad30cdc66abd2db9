#pragma once
// The state of a running md array as the kernel shows it in /sys/block/mdX/md (md(4),
// Documentation/admin-guide/md.rst), and the parsers for each attribute. Pure: strings in,
// values out; md_sysfs.hpp does the reading.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace haspool::raid {

// md/array_state
enum class ArrayState {
    clear,          // no devices, no size, no level
    inactive,       // assembled but not started
    suspended,      // all I/O blocked
    readonly,       // no writes, no resync
    read_auto,      // read-only until the first write
    clean,          // no pending writes, in sync
    active,         // writes in flight or recently done
    write_pending,  // waiting for the superblock to say "active" before writing
    active_idle,    // active but idle
    broken,         // a member the array cannot do without is gone (RAID-0/linear)
    unknown,        // a word this parser does not know
};
ArrayState parse_array_state(const std::string& text);
const char* to_string(ArrayState s);

// md/sync_completed: "done / total" in sectors, or "none" when no sync runs.
struct SyncProgress {
    uint64_t done_sectors = 0;
    uint64_t total_sectors = 0;
};
std::optional<SyncProgress> parse_sync_completed(const std::string& text);

// md/sync_speed: the running sync's speed in KiB/s, averaged by md over its last ~30 s; "none"
// (nullopt) when no sync runs.
std::optional<uint64_t> parse_sync_speed(const std::string& text);

// md/dev-*/state: a comma-separated list of flags.
struct MemberState {
    bool faulty = false;
    bool in_sync = false;
    bool write_mostly = false;
    bool blocked = false;
    bool spare = false;
    bool write_error = false;
    bool want_replacement = false;
    bool replacement = false;
    std::string text;  // as read, for messages
};
MemberState parse_member_state(const std::string& text);

// A block device's I/O counters since it appeared (/sys/block/NAME/stat: completed reads and
// writes, sectors of 512 bytes each way, requests in flight).
struct BlockIo {
    uint64_t reads = 0, read_sectors = 0, writes = 0, write_sectors = 0, in_flight = 0;
    bool operator==(const BlockIo&) const = default;
};
// nullopt unless the text has at least the first nine fields, all numbers.
std::optional<BlockIo> parse_block_stat(const std::string& text);

struct MdMember {
    std::string block_device;     // "vda", "nbd0" (from dev-vda)
    MemberState state;
    std::optional<unsigned> slot; // md/dev-*/slot; nullopt when "none" (spare or failed)
    std::optional<BlockIo> io;    // md/dev-*/block/stat; nullopt when unreadable
};

struct MdSnapshot {
    std::string kernel_name;  // md127
    std::string level;        // raid1
    ArrayState array_state = ArrayState::unknown;
    unsigned raid_disks = 0;
    unsigned degraded = 0;     // md/degraded: how many slots lack a working member
    std::string sync_action;   // idle, resync, recover, check, repair, frozen, reshape
    std::optional<SyncProgress> sync_completed;
    std::optional<uint64_t> sync_speed_kib;  // KiB/s, while a sync runs
    uint64_t events = 0;       // sysfs has no event count: 0 unless MdControl::status filled it from mdadm --detail
    std::vector<MdMember> members;

    const MdMember* member(const std::string& block_device) const;
};

// What read_md_snapshot (md_sysfs.hpp) read from /sys/block/mdX/md, as text; nullopt where a
// file could not be read. parse_md_snapshot turns it into the snapshot.
struct MdSysfsText {
    std::string kernel_name;  // md127: the directory above md/
    std::string array_state;
    std::optional<std::string> level, raid_disks, degraded, sync_action, sync_completed, sync_speed;
    struct Member {
        std::string dir;  // "dev-vda"
        std::optional<std::string> state, slot, stat;  // stat: dev-*/block/stat
    };
    std::vector<Member> members;
};
MdSnapshot parse_md_snapshot(const MdSysfsText& text);

// The verdict of `mdadm --detail --test`, with its exit codes.
enum class MdHealth { ok = 0, degraded = 1, failed = 2, error = 4 };
MdHealth health(const MdSnapshot& s);
const char* to_string(MdHealth h);

// "all in sync" for a mirror: both legs working, nothing to copy.
bool is_clean_mirror(const MdSnapshot& s);

// Removes surrounding white space (sysfs values end with a newline).
std::string trim(const std::string& s);

}  // namespace haspool::raid
