#pragma once
// The spool filesystem: check it (fsck) before mounting, mount it, unmount it.
//
// Each action is idempotent (check, then act): ensure_mounted() on a spool already mounted where
// expected does nothing; ensure_unmounted() on an unmounted spool does nothing. The filesystem type
// is always explicit (-t): md metadata-1.0 members look like linux_raid_member to blkid.
//
// Mounting uses mount(8), not mount(2): spool.mount_options are written in mount(8)'s language
// (noatime, data=journal, nodev, ...) and libmount splits them into MS_* flags and the fs data
// string exactly as an operator's `mount -o` would; its failure text ("wrong fs type, bad option,
// bad superblock") goes into our error, and the command runner bounds it with spool.mount_timeout.
// Unmounting uses umount2(2): no options to translate, and EBUSY comes back at once (we then
// report the processes holding the filesystem instead of hanging or detaching lazily).
#include <chrono>
#include <string>
#include <vector>

#include "agent/system/actions/action_result.hpp"
#include "config/config.hpp"

namespace haspool::actions {

struct FilesystemSpec {
    std::string device;                     // block device (symlinks such as /dev/md/haspool are fine)
    config::Filesystem type = config::Filesystem::ext4;
    std::string mount_point;
    std::vector<std::string> mount_options;  // joined with ',' for mount -o; empty: defaults
    std::chrono::milliseconds fsck_timeout{600000};
    std::chrono::milliseconds mount_timeout{60000};
    bool xfs_repair = false;                // xfs only: run xfs_repair before mounting (operator's request)
};

// The spool of `c` on device `device` (Y on the standby, the md array on the primary).
FilesystemSpec spool_filesystem_spec(const config::Config& c, const std::string& device);

// e2fsck(8) exit status, a bit mask: 1 errors corrected, 2 corrected and the system should be
// rebooted, 4 errors left uncorrected, 8 operational error, 16 usage error, 32 cancelled,
// 128 shared-library error. Policy (docs/actions.md): 0 and 1 are fine; 2 (with or without 1)
// is accepted because we never check a mounted filesystem, and the reboot advice is about a
// mounted root filesystem whose in-memory state is stale; any bit >= 4 is a failure.
struct E2fsckVerdict {
    bool acceptable = false;
    std::string meaning;  // "no errors", "errors corrected", "errors left uncorrected", ...
};
E2fsckVerdict interpret_e2fsck_status(int status);

// Checks the filesystem on spec.device before it is mounted: `e2fsck -p` for ext2/3/4; for xfs
// nothing (mount replays the log) unless spec.xfs_repair asks for `xfs_repair`. Refuses a device
// that is mounted anywhere. A check e2fsck refuses because the (unmounted) device is in use is
// retried for 5 s, then fails naming who has the device open. Sends EXTEND_TIMEOUT_USEC to
// systemd while the check runs.
ActionResult check_filesystem(const FilesystemSpec& spec);

// Mounts spec.device on spec.mount_point (-t type, -o options). Done with "already mounted"
// when it is mounted there; refuses when something else is mounted on the mount point, when the
// device is mounted elsewhere, when the mount point is not a directory.
ActionResult ensure_mounted(const FilesystemSpec& spec);

// The undo of ensure_mounted(): unmounts spec.mount_point if spec.device is mounted there.
// Refuses when a different filesystem is mounted there. A busy filesystem is retried for 5 s
// (processes that were just stopped may still be letting go), then fails with the processes
// holding it ("pid 123 (sleep: cwd)").
ActionResult ensure_unmounted(const FilesystemSpec& spec);

}  // namespace haspool::actions
