#include "agent/system/actions/spool_filesystem.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "agent/system/actions/command_runner.hpp"
#include "agent/system/actions/mount_holders.hpp"
#include "agent/system/actions/mountinfo.hpp"
#include "agent/log/sd_notify.hpp"

namespace haspool::actions {

using namespace std::chrono_literals;

namespace {

// While a check runs, ask systemd for this much more time every kFsckTick.
constexpr auto kFsckTick = 10s;
constexpr auto kFsckExtend = 30s;
// How long a busy unmount is retried before the step fails (see ensure_unmounted).
constexpr std::chrono::milliseconds kUnmountGrace{5000};
// How long a check refused because the device is in use is retried (see check_ext).
constexpr std::chrono::milliseconds kFsckBusyGrace{5000};
constexpr std::chrono::milliseconds kBusyRetryInterval{200};

struct DeviceNumber {
    unsigned major = 0, minor = 0;
};

bool block_device_number(const std::string& device, DeviceNumber& out, std::string& error) {
    struct stat st {};
    if (::stat(device.c_str(), &st) != 0) {
        error = "cannot stat '" + device + "': " + std::strerror(errno);
        return false;
    }
    if (!S_ISBLK(st.st_mode)) {
        error = "'" + device + "' is not a block device";
        return false;
    }
    out = {::major(st.st_rdev), ::minor(st.st_rdev)};
    return true;
}

// The mount point as mountinfo shows it (symlinks resolved); empty with `error` when unusable.
std::string canonical_directory(const std::string& path, std::string& error) {
    char buf[PATH_MAX];
    if (!::realpath(path.c_str(), buf)) {
        error = "mount point '" + path + "': " + std::strerror(errno);
        return {};
    }
    struct stat st {};
    if (::stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
        error = "mount point '" + path + "' is not a directory";
        return {};
    }
    return buf;
}

std::string describe_mount(const MountEntry& m) {
    return "'" + m.source + "' (" + m.fstype + ", " + std::to_string(m.major) + ":" + std::to_string(m.minor) + ")";
}

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string s;
    for (const auto& x : v) {
        if (!s.empty()) s += sep;
        s += x;
    }
    return s;
}

CommandSpec fsck_command(std::vector<std::string> argv, std::chrono::milliseconds timeout) {
    CommandSpec cmd;
    cmd.argv = std::move(argv);
    cmd.timeout = timeout;
    cmd.tick_interval = kFsckTick;
    cmd.on_tick = [] { notify::extend_timeout(kFsckExtend); };
    return cmd;
}

// True when someone else holds `device` exclusively (a mount, md, e2fsck, mkfs): the same
// O_EXCL probe e2fsck makes before it says "is in use".
bool held_exclusively(const std::string& device) {
    int fd = ::open(device.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC);
    if (fd >= 0) {
        ::close(fd);
        return false;
    }
    return errno == EBUSY;
}

// Who has `dev` open or stacked on it, for the error when it stays in use.
std::string describe_device_users(const DeviceNumber& dev) {
    std::vector<std::string> users;
    for (const auto& h : block_device_holders(dev.major, dev.minor)) users.push_back("kernel holder " + h);
    auto openers = find_device_openers(dev.major, dev.minor);
    if (!openers.empty() || users.empty()) users.push_back(describe_holders(openers));
    return join(users, ", ");
}

ActionResult check_ext(const FilesystemSpec& spec, const DeviceNumber& dev) {
    // e2fsck refuses a device another opener holds exclusively ("is in use", status 8) and
    // changes nothing. Right after a failed or finished mount of the same device, the kernel can
    // still be releasing its claim for a moment (CI saw it 0.3 s after a refused `mount -t ext2`),
    // and a takeover must not halt on that. The device is not mounted (checked by the caller),
    // so retrying the refused check is harmless; a holder that stays is named after the grace.
    notify::extend_timeout(kFsckExtend);
    const auto deadline = std::chrono::steady_clock::now() + kFsckBusyGrace;
    int busy = 0;
    for (;;) {
        auto r = run_command(fsck_command({"e2fsck", "-p", spec.device}, spec.fsck_timeout));
        if (r.end != CommandResult::End::exited)
            return ActionResult::failed("filesystem check of '" + spec.device + "' failed: " + r.describe());
        const bool in_use = r.exit_status == 8 && (r.stdout_tail.find("is in use") != std::string::npos ||
                                                    r.stderr_tail.find("is in use") != std::string::npos ||
                                                    held_exclusively(spec.device));
        if (in_use) {
            ++busy;
            if (std::chrono::steady_clock::now() < deadline) {
                std::this_thread::sleep_for(kBusyRetryInterval);
                continue;
            }
            return ActionResult::failed("filesystem check of '" + spec.device + "' refused: the device is in use (" +
                                        std::to_string(busy) + " attempts in " +
                                        std::to_string(kFsckBusyGrace.count()) + " ms, not mounted); held by " +
                                        describe_device_users(dev) + ": " + r.describe());
        }
        auto verdict = interpret_e2fsck_status(r.exit_status);
        if (!verdict.acceptable)
            return ActionResult::failed("filesystem check of '" + spec.device + "' failed (" + verdict.meaning +
                                        "; run e2fsck by hand): " + r.describe());
        return ActionResult::done("e2fsck: " + verdict.meaning +
                                  (busy ? " (after " + std::to_string(busy) + " in-use refusal(s))" : ""));
    }
}

}  // namespace

FilesystemSpec spool_filesystem_spec(const config::Config& c, const std::string& device) {
    FilesystemSpec s;
    s.device = device;
    s.type = c.spool.filesystem;
    s.mount_point = c.spool.mount_point;
    s.mount_options = c.spool.mount_options;
    s.fsck_timeout = c.spool.fsck_timeout;
    s.mount_timeout = c.spool.mount_timeout;
    return s;
}

E2fsckVerdict interpret_e2fsck_status(int status) {
    if (status < 0) return {false, "not a valid exit status"};
    if (status & ~3) {
        std::vector<std::string> why;
        if (status & 4) why.push_back("errors left uncorrected");
        if (status & 8) why.push_back("operational error");
        if (status & 16) why.push_back("usage or syntax error");
        if (status & 32) why.push_back("cancelled by user request");
        if (status & 128) why.push_back("shared-library error");
        if (why.empty()) why.push_back("undefined status bits");
        return {false, join(why, ", ")};
    }
    if (status & 2)
        return {true, "errors corrected, reboot advised (accepted: the filesystem was not mounted while checked)"};
    if (status & 1) return {true, "errors corrected"};
    return {true, "no errors"};
}

ActionResult check_filesystem(const FilesystemSpec& spec) {
    std::string error;
    DeviceNumber dev;
    if (!block_device_number(spec.device, dev, error)) return ActionResult::failed("cannot check filesystem: " + error);
    auto mounts = read_mountinfo(&error);
    if (!mounts) return ActionResult::failed("cannot check '" + spec.device + "': " + error);
    if (auto in_use = find_mounts_of(*mounts, dev.major, dev.minor); !in_use.empty())
        return ActionResult::failed("refusing to check '" + spec.device + "': it is mounted on '" +
                                    in_use.front()->mount_point + "'");

    switch (spec.type) {
    case config::Filesystem::ext2:
    case config::Filesystem::ext3:
    case config::Filesystem::ext4:
        return check_ext(spec, dev);
    case config::Filesystem::xfs: {
        if (!spec.xfs_repair) return ActionResult::done("xfs: no check before mounting; mounting replays the log");
        notify::extend_timeout(kFsckExtend);
        auto r = run_command(fsck_command({"xfs_repair", spec.device}, spec.fsck_timeout));
        if (r.exited_with(2))
            return ActionResult::failed("xfs_repair refused '" + spec.device +
                                        "': its log is dirty; mount it once to replay the log, then repair: " + r.describe());
        if (!r.succeeded()) return ActionResult::failed("xfs_repair of '" + spec.device + "' failed: " + r.describe());
        return ActionResult::done("xfs_repair: done");
    }
    }
    return ActionResult::failed("unknown filesystem type");
}

ActionResult ensure_mounted(const FilesystemSpec& spec) {
    const std::string what = "cannot mount '" + spec.device + "' on '" + spec.mount_point + "': ";
    std::string error;
    DeviceNumber dev;
    if (!block_device_number(spec.device, dev, error)) return ActionResult::failed(what + error);
    std::string dir = canonical_directory(spec.mount_point, error);
    if (dir.empty()) return ActionResult::failed(what + error);
    auto mounts = read_mountinfo(&error);
    if (!mounts) return ActionResult::failed(what + error);

    if (const MountEntry* m = find_mount_at(*mounts, dir)) {
        if (m->major == dev.major && m->minor == dev.minor) {
            if (m->fstype != config::to_string(spec.type))
                return ActionResult::failed(what + "it is mounted there as " + m->fstype + ", expected " +
                                            config::to_string(spec.type));
            return ActionResult::done("already mounted");
        }
        return ActionResult::failed(what + "refusing: " + describe_mount(*m) + " is already mounted there");
    }
    if (auto elsewhere = find_mounts_of(*mounts, dev.major, dev.minor); !elsewhere.empty())
        return ActionResult::failed(what + "refusing: the device is already mounted on '" +
                                    elsewhere.front()->mount_point + "'");

    CommandSpec cmd;
    cmd.argv = {"mount", "-t", config::to_string(spec.type)};
    if (!spec.mount_options.empty()) {
        cmd.argv.push_back("-o");
        cmd.argv.push_back(join(spec.mount_options, ","));
    }
    cmd.argv.push_back(spec.device);
    cmd.argv.push_back(dir);
    cmd.timeout = spec.mount_timeout;
    auto r = run_command(cmd);
    if (!r.succeeded()) return ActionResult::failed(what + r.describe());

    // Trust but verify: the kernel's table must now show the device on the mount point.
    mounts = read_mountinfo(&error);
    if (!mounts) return ActionResult::failed(what + error);
    const MountEntry* m = find_mount_at(*mounts, dir);
    if (!m || m->major != dev.major || m->minor != dev.minor)
        return ActionResult::failed(what + "mount reported success but /proc/self/mountinfo does not show it");
    return ActionResult::done("mounted");
}

ActionResult ensure_unmounted(const FilesystemSpec& spec) {
    const std::string what = "cannot unmount '" + spec.mount_point + "': ";
    std::string error;
    char buf[PATH_MAX];
    if (!::realpath(spec.mount_point.c_str(), buf)) {
        if (errno == ENOENT) return ActionResult::done("not mounted (no mount point)");
        return ActionResult::failed(what + std::strerror(errno));
    }
    const std::string dir = buf;
    auto mounts = read_mountinfo(&error);
    if (!mounts) return ActionResult::failed(what + error);
    const MountEntry* m = find_mount_at(*mounts, dir);
    if (!m) return ActionResult::done("not mounted");

    // Only ever unmount our own filesystem: by device number, or by name when the device node
    // has gone away (an md array stopped underneath a lazy mount, say).
    DeviceNumber dev;
    bool ours = block_device_number(spec.device, dev, error) ? (m->major == dev.major && m->minor == dev.minor)
                                                             : m->source == spec.device;
    if (!ours)
        return ActionResult::failed(what + "refusing: " + describe_mount(*m) + " is mounted there, not '" +
                                    spec.device + "'");

    // EBUSY right after the units or the before_handback hook stopped their processes is often
    // the kernel still releasing what those processes held (seen in the VM lab: "held by no
    // process found", 0.2 s after the writer's process group was gone). Retrying a refused
    // umount is harmless, so give it a short grace before failing the step with the holders.
    const auto deadline = std::chrono::steady_clock::now() + kUnmountGrace;
    int tries = 0;
    while (::umount2(dir.c_str(), UMOUNT_NOFOLLOW) != 0) {
        int e = errno;
        ++tries;
        if (e != EBUSY) return ActionResult::failed(what + "umount2: " + std::strerror(e));
        if (std::chrono::steady_clock::now() >= deadline)
            return ActionResult::failed(what + "the filesystem is busy (" + std::to_string(tries) + " attempts in " +
                                        std::to_string(kUnmountGrace.count()) + " ms); held by " +
                                        describe_holders(find_mount_holders(m->major, m->minor)));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return ActionResult::done(tries ? "unmounted after " + std::to_string(tries) + " busy attempt(s)" : "unmounted");
}

}  // namespace haspool::actions
