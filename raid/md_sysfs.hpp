#pragma once
// Reading and changing a running md array through sysfs (/sys/block/mdX/md), and waiting for
// its changes with poll(POLLPRI) — md notifies array_state, degraded, sync_action and each
// dev-*/state with sysfs_notify, so no timer polling is needed.
#include <chrono>
#include <string>
#include <vector>

#include "raid/md_status.hpp"

namespace haspool::raid {

struct SnapshotResult {
    MdSnapshot snapshot;
    std::string error;
};

// Reads md_dir (e.g. /sys/block/md127/md). kernel_name is taken from the parent directory.
SnapshotResult read_md_snapshot(const std::string& md_dir);

// "/dev/md/haspool" or "/dev/md127" -> "/sys/block/md127/md" (sysfs_root normally "/sys").
struct MdDirResult {
    std::string md_dir;
    std::string error;
};
MdDirResult md_sysfs_dir(const std::string& md_device, const std::string& sysfs_root = "/sys");

// Writes `value` to md_dir/dev-<member>/state ("writemostly", "-writemostly", "faulty",
// "remove", "re-add"...).
std::string write_member_state(const std::string& md_dir, const std::string& member_block_device,
                               const std::string& value);

// Marks bitmap chunks dirty in the running array: writes "3 7-9" to md_dir/bitmap_set_bits.
std::string write_bitmap_set_bits(const std::string& md_dir, const std::string& ranges);

// Waits for md to notify a change of array_state, degraded, sync_action or a member's state
// (sync_completed is not notified). Use: arm(); read the snapshot; if it is not what you want,
// wait() — arming before reading means no notification falls between the two. Both return an
// error sentence or empty (wait: on a change and on timeout alike; re-read either way).
class MdWatch {
public:
    explicit MdWatch(std::string md_dir);
    ~MdWatch();
    MdWatch(const MdWatch&) = delete;
    MdWatch& operator=(const MdWatch&) = delete;
    std::string arm();
    std::string wait(std::chrono::milliseconds timeout);

private:
    std::string md_dir_;
    std::vector<int> fds_;
};

}  // namespace haspool::raid
