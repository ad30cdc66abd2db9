#pragma once
// /proc/self/mountinfo (proc(5)) parsed into values: which device is mounted where, with what.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace haspool::actions {

struct MountEntry {
    int mount_id = 0;
    int parent_id = 0;
    unsigned major = 0;
    unsigned minor = 0;
    std::string root;           // the directory of the filesystem mounted (usually "/")
    std::string mount_point;    // octal escapes (\040 ...) decoded
    std::string mount_options;  // per-mount: rw,noatime,...
    std::string fstype;
    std::string source;         // "/dev/loop3", or "none"/"tmpfs" for virtual filesystems
    std::string super_options;  // per-superblock: rw,errors=remount-ro,...
};

// Parses the whole file; returns nullopt and sets `error` ("line 7: ...") on a malformed line.
std::optional<std::vector<MountEntry>> parse_mountinfo(std::string_view text, std::string* error = nullptr);

// Reads and parses /proc/self/mountinfo (or `path`); nullopt with `error` on failure.
std::optional<std::vector<MountEntry>> read_mountinfo(std::string* error,
                                                      const std::string& path = "/proc/self/mountinfo");

// The entry mounted last (topmost) at `mount_point`, if any.
const MountEntry* find_mount_at(const std::vector<MountEntry>& mounts, const std::string& mount_point);

// Every entry whose device number is major:minor.
std::vector<const MountEntry*> find_mounts_of(const std::vector<MountEntry>& mounts, unsigned major, unsigned minor);

}  // namespace haspool::actions
