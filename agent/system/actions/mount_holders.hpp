#pragma once
// Which processes keep a filesystem busy: the answer an operator needs when an unmount fails
// with EBUSY. Scans /proc/PID/{cwd,root,exe,fd/*,maps} as fuser -m does, in-process (no psmisc
// needed at run time, and the result is data we can put in the error sentence).
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace haspool::actions {

struct MountHolder {
    pid_t pid = 0;
    std::string command;  // /proc/PID/comm
    std::string how;      // "cwd", "root", "exe", "fd 3", "mmap /path"
};

// The device numbers (major, minor) of one /proc/PID/maps line when it maps a file
// ("7f..-7f.. r--p 00000000 07:03 12 /mnt/lib.so" -> {7, 3}); nullopt for anonymous mappings.
std::optional<std::pair<unsigned, unsigned>> maps_line_device(std::string_view line);

// Every process (visible in /proc, i.e. our PID namespace) using a file on the filesystem
// whose device number is major:minor, in PID order, at most one entry per (pid, how) pair.
std::vector<MountHolder> find_mount_holders(unsigned major, unsigned minor, const std::string& proc = "/proc");

// Every process with the block device major:minor itself open (an fd on the device node, as
// e2fsck, mkfs, blkid or a backup hold it), in PID order: what keeps a device "in use" when
// nothing has it mounted.
std::vector<MountHolder> find_device_openers(unsigned major, unsigned minor, const std::string& proc = "/proc");

// What the kernel stacks on the block device major:minor (md, dm: the names listed in
// SYSFS/dev/block/MAJ:MIN/holders), in directory order; empty when nothing or unreadable.
std::vector<std::string> block_device_holders(unsigned major, unsigned minor, const std::string& sysfs_root = "/sys");

// "pid 123 (sleep: cwd), pid 456 (cat: fd 3)"; "no process found" when empty.
std::string describe_holders(const std::vector<MountHolder>& holders);

}  // namespace haspool::actions
