#pragma once
// The md RAID-1 operations the primary and standby run (docs/design.md §1, §4, §7): create
// (only on --init), assemble, fail/remove/re-add a member, restore write-mostly, stop, status,
// wait, and the bitmap union before a failback re-add. mdadm runs as argv vectors through a CommandRunner;
// state is read from sysfs. Every call returns an error sentence (empty = done); nothing logs.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "raid/md_bitmap.hpp"
#include "raid/md_status.hpp"
#include "raid/command_runner.hpp"

namespace haspool::raid {

struct CreateRequest {
    std::string md_device;        // /dev/md/haspool
    std::string name;             // array name in the superblock (mdadm --name)
    std::string local_member;     // X
    std::string remote_member;    // /dev/nbdN, added --write-mostly
    std::string bitmap_chunk = "64M";   // mdadm --bitmap-chunk (smaller = less to copy after an outage)
    std::optional<unsigned> write_behind;  // opt-in: --write-behind=N (async writes to the NBD leg)
    bool force = false;           // create even over a filesystem or an old array
};

// The argv of mdadm --create for `r` (metadata 1.0, internal bitmap, NBD leg write-mostly).
std::vector<std::string> create_argv(const CreateRequest& r);

struct HealthResult {
    MdHealth health = MdHealth::error;
    std::string error;
};

struct StatusResult {
    MdSnapshot snapshot;
    std::string error;
};

// What wait_until waits for.
enum class MdCondition {
    clean,     // both legs in sync, no sync running
    degraded,  // md/degraded > 0
    idle,      // sync_action idle
};
std::optional<MdCondition> parse_condition(const std::string& s);

class MdControl {
public:
    explicit MdControl(CommandRunner& runner, std::string sysfs_root = "/sys",
                       std::chrono::milliseconds mdadm_timeout = std::chrono::seconds(60));

    // Refuses members holding a filesystem, a partition table or an md superblock unless force.
    std::string create(const CreateRequest& r);
    // Both legs; or, with allow_degraded, whatever of `members` is there (--run).
    std::string assemble(const std::string& md_device, const std::vector<std::string>& members,
                         bool allow_degraded);
    std::string fail(const std::string& md_device, const std::string& member);
    // member may be a device or mdadm's keywords "failed"/"detached".
    std::string remove(const std::string& md_device, const std::string& member);
    // mdadm --re-add (bitmap resync), then write-mostly restored if asked.
    std::string re_add(const std::string& md_device, const std::string& member, bool write_mostly);
    std::string set_write_mostly(const std::string& md_device, const std::string& member);
    // mdadm --zero-superblock (without --force: mdadm opens the device exclusively, so a member of
    // a running array is refused). A device without an md superblock (mdadm's status 4) is done.
    std::string zero_superblock(const std::string& member);
    // A full copy onto `member`: wipe its superblock, then --add (then write-mostly if asked).
    // The wipe comes first because mdadm --add of a device still carrying this array's superblock
    // attempts a re-add, which copies only the chunks the array's bitmap marks.
    std::string add_full(const std::string& md_device, const std::string& member, bool write_mostly);
    std::string stop(const std::string& md_device);

    // `mdadm --detail --test`: 0 ok, 1 degraded, 2 failed, 4 error.
    HealthResult detail_test(const std::string& md_device);
    // sysfs snapshot plus the event count from mdadm --detail.
    StatusResult status(const std::string& md_device);
    // Blocks (poll POLLPRI on md's notified attributes) until the condition holds or timeout.
    StatusResult wait_until(const std::string& md_device, MdCondition c, std::chrono::milliseconds timeout);

    // mdadm --examine-bitmap of a member.
    BitmapSummaryResult examine_bitmap(const std::string& member);
    // The bitmap union of docs/design.md §7: marks in the running array every chunk
    // `stopped_member`'s own on-disk bitmap says is dirty, so a following re-add copies them too.
    // Returns the number of chunks marked through `marked`.
    std::string merge_bitmap_from(const std::string& md_device, const std::string& stopped_member,
                                  uint64_t* marked = nullptr);

    // Empty when `device` holds nothing recognisable; else what it holds ("ext4", "linux_raid_member").
    struct ProbeResult {
        std::string holds;
        std::string error;
    };
    ProbeResult probe(const std::string& device);

private:
    CommandResult mdadm(const std::vector<std::string>& args, std::string* error);
    std::string member_block_name(const std::string& member) const;

    CommandRunner& runner_;
    std::string sysfs_root_;
    std::chrono::milliseconds timeout_;
};

}  // namespace haspool::raid
