// LinuxSystem's raw-takeover steps (docs/agent.md "Raw takeover"): the persisted mark, Y's md data
// area through a loop device (the loop ioctls: LOOP_CTL_GET_FREE, LOOP_CONFIGURE, LOOP_CLR_FD —
// no losetup, which busybox systems lack or limit; checked through /sys/block/loop*/loop), and the
// primary's assembly from a Y that was written outside md. Each checks the kernel's view first.
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fstream>
#include <thread>

#include "agent/system/linux_system.hpp"
#include "agent/log/log.hpp"
#include "agent/system/actions/mountinfo.hpp"
#include "agent/system/raw_layout.hpp"
#include "agent/store/persisted_mark.hpp"

namespace haspool::agent {

namespace {

const std::chrono::milliseconds kToolTimeout(60000);

std::string real_path(const std::string& p) {
    char buf[PATH_MAX];
    return ::realpath(p.c_str(), buf) ? std::string(buf) : p;
}

std::string read_line(const std::string& path) {
    std::ifstream in(path);
    std::string s;
    std::getline(in, s);
    return s;
}

// The size of a block device or regular file, and its first `n` bytes at `offset`.
struct DeviceView {
    uint64_t bytes = 0;
    std::vector<uint8_t> head;
    std::string error;
};
DeviceView view_device(const std::string& dev, uint64_t offset, size_t n) {
    DeviceView v;
    int fd = ::open(dev.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        v.error = "cannot open " + dev + ": " + std::strerror(errno);
        return v;
    }
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISBLK(st.st_mode)) {
        if (::ioctl(fd, BLKGETSIZE64, &v.bytes) != 0) v.error = "BLKGETSIZE64 on " + dev + ": " + std::strerror(errno);
    } else if (S_ISREG(st.st_mode)) {
        v.bytes = static_cast<uint64_t>(st.st_size);
    } else {
        v.error = dev + " is neither a block device nor a file";
    }
    if (v.error.empty()) {
        v.head.resize(n);
        ssize_t got = ::pread(fd, v.head.data(), n, static_cast<off_t>(offset));
        if (got < 0) v.error = "reading " + dev + " at " + std::to_string(offset) + ": " + std::strerror(errno);
        else v.head.resize(static_cast<size_t>(got));
    }
    ::close(fd);
    return v;
}

// A loop device and what it maps (from /sys/block/loopN/loop).
struct LoopMapping {
    std::string dev;  // /dev/loopN
    std::string name; // loopN
    std::string backing;
    uint64_t offset = 0, sizelimit = 0;
    bool read_only = false;
};

std::vector<LoopMapping> loops_mapping(const std::string& real_backing) {
    std::vector<LoopMapping> v;
    DIR* d = ::opendir("/sys/block");
    if (!d) return v;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name.rfind("loop", 0) != 0) continue;
        std::string base = "/sys/block/" + name;
        std::string backing = read_line(base + "/loop/backing_file");
        if (backing.empty() || real_path(backing) != real_backing) continue;
        LoopMapping m;
        m.dev = "/dev/" + name;
        m.name = name;
        m.backing = backing;
        m.offset = std::strtoull(read_line(base + "/loop/offset").c_str(), nullptr, 10);
        m.sizelimit = std::strtoull(read_line(base + "/loop/sizelimit").c_str(), nullptr, 10);
        m.read_only = read_line(base + "/ro") == "1";
        v.push_back(m);
    }
    ::closedir(d);
    return v;
}

// A fresh read-write loop device over [offset, offset + size) of `backing`; its path, or an
// error sentence (prefixed "!").
std::string attach_loop(const std::string& backing, uint64_t offset, uint64_t size) {
    int bfd = ::open(backing.c_str(), O_RDWR | O_CLOEXEC);
    if (bfd < 0) return "!cannot open " + backing + " read-write: " + std::strerror(errno);
    int ctl = ::open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (ctl < 0) {
        std::string e = std::string("!cannot open /dev/loop-control: ") + std::strerror(errno);
        ::close(bfd);
        return e;
    }
    std::string result;
    for (int attempt = 0; attempt < 5; ++attempt) {  // another process may take the free device first
        int n = ::ioctl(ctl, LOOP_CTL_GET_FREE);
        if (n < 0) {
            result = std::string("!LOOP_CTL_GET_FREE: ") + std::strerror(errno);
            break;
        }
        const std::string loop = "/dev/loop" + std::to_string(n);
        int lfd = ::open(loop.c_str(), O_RDWR | O_CLOEXEC);
        if (lfd < 0) {
            result = "!cannot open " + loop + ": " + std::strerror(errno);
            break;
        }
        loop_config c{};
        c.fd = static_cast<__u32>(bfd);
        c.info.lo_offset = offset;
        c.info.lo_sizelimit = size;  // no LO_FLAGS_AUTOCLEAR: the mapping outlives this process
        std::strncpy(reinterpret_cast<char*>(c.info.lo_file_name), backing.c_str(), LO_NAME_SIZE - 1);
        int rc = ::ioctl(lfd, LOOP_CONFIGURE, &c);
        int err = errno;
        if (rc != 0 && (err == EINVAL || err == ENOTTY)) {  // kernels before 5.8: the two-step way
            rc = ::ioctl(lfd, LOOP_SET_FD, bfd);
            err = errno;
            if (rc == 0 && ::ioctl(lfd, LOOP_SET_STATUS64, &c.info) != 0) {
                err = errno;
                ::ioctl(lfd, LOOP_CLR_FD, 0);
                rc = -1;
            }
        }
        ::close(lfd);
        if (rc == 0) {
            result = loop;
            break;
        }
        result = "!configuring " + loop + " over " + backing + ": " + std::strerror(err);
        if (err != EBUSY) break;
    }
    ::close(ctl);
    ::close(bfd);
    return result;
}

// LOOP_CLR_FD, then wait (bounded) until the kernel has let go: with another opener (udev's
// probe, say) the kernel only marks the device to clear on its last close.
std::string detach_loop(const std::string& loop, const std::string& name) {
    int lfd = ::open(loop.c_str(), O_RDWR | O_CLOEXEC);
    if (lfd < 0) return "cannot open " + loop + ": " + std::strerror(errno);
    int rc = ::ioctl(lfd, LOOP_CLR_FD, 0);
    int err = errno;
    ::close(lfd);
    if (rc != 0 && err != ENXIO) return "LOOP_CLR_FD on " + loop + ": " + std::strerror(err);
    for (int i = 0; i < 50; ++i) {
        if (read_line("/sys/block/" + name + "/loop/backing_file").empty()) return {};
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return loop + " is still attached 5s after LOOP_CLR_FD (open elsewhere)";
}

// Points `link` at `target` atomically (a temporary link renamed over it).
std::string publish_link(const std::string& link, const std::string& target) {
    auto slash = link.rfind('/');
    if (slash != std::string::npos && slash > 0) {
        std::string dir = link.substr(0, slash);
        if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return "cannot create " + dir + ": " + std::strerror(errno);
    }
    std::string tmp = link + ".tmp";
    ::unlink(tmp.c_str());
    if (::symlink(target.c_str(), tmp.c_str()) != 0) return "cannot create the link " + tmp + ": " + std::strerror(errno);
    if (::rename(tmp.c_str(), link.c_str()) != 0) return "cannot rename " + tmp + " to " + link + ": " + std::strerror(errno);
    return {};
}

}  // namespace

StepResult LinuxSystem::mark_raw_writes(const step::MarkRawWrites& s) {
    const PersistedMark& mark = raw_mark_;
    if (std::string e = mark.set(s.reason, std::time(nullptr)); !e.empty())
        return StepResult::failure("persisting the raw-writes mark (before anything writes Y outside md): " + e);
    log::warning("marked " + mark.path() + ": Y is about to be written outside md (" + s.reason +
                     "); the next failback copies all of Y onto X",
                 {{"EVENT", "raw-writes-marked"}});
    return StepResult::success();
}

StepResult LinuxSystem::clear_raw_writes(const step::ClearRawWrites& s) {
    const PersistedMark& mark = raw_mark_;
    if (!mark.load().marked) return StepResult::success();
    if (std::string e = mark.clear(); !e.empty()) return StepResult::failure(e);
    log::notice("cleared the raw-writes mark " + mark.path() + ": " + s.reason, {{"EVENT", "raw-writes-cleared"}});
    return StepResult::success();
}

StepResult LinuxSystem::map_raw(const step::MapRaw& s) {
    const std::string what = "mapping " + s.dev + " raw: ";
    // md's word on the data area, when its superblock still reads (mdadm --examine).
    std::optional<MdDataArea> area;
    std::vector<std::string> examine = {"mdadm", "--examine", s.dev};
    raid::CommandResult ex = runner_.run(examine, kToolTimeout);
    if (ex.error.empty() && ex.exit_status == 0) {
        std::string error;
        area = parse_md_examine(ex.output, &error);
        if (!area) return StepResult::failure(what + error + " (" + raid::join_argv(examine) + ")");
    } else {
        log::notice(what + "md's superblock does not read (" + raid::describe_failure(examine, ex) +
                        "); taking md 1.0's layout: data from sector 0",
                    {{"EVENT", "raw-layout"}});
    }
    DeviceView v = view_device(s.dev, area ? area->offset_bytes : 0, 4096);
    if (!v.error.empty()) return StepResult::failure(what + v.error);
    std::string error;
    auto fs = filesystem_bytes(v.head.data(), v.head.size(), s.fs, &error);
    if (!fs) return StepResult::failure(what + error + " at offset " + std::to_string(area ? area->offset_bytes : 0));
    auto g = raw_geometry(area, *fs, v.bytes, &error);
    if (!g) return StepResult::failure(what + error);

    const std::string backing = real_path(s.dev);
    for (const auto& m : loops_mapping(backing)) {
        if (m.offset == g->offset && m.sizelimit == g->size && !m.read_only) {
            if (std::string e = publish_link(s.link, m.dev); !e.empty()) return StepResult::failure(what + e);
            return StepResult::success();  // already mapped (a re-run)
        }
        return StepResult::failure(what + m.dev + " already maps it (offset " + std::to_string(m.offset) + ", size " +
                                   std::to_string(m.sizelimit) + (m.read_only ? ", read-only" : "") +
                                   "), not as wanted (offset " + std::to_string(g->offset) + ", size " +
                                   std::to_string(g->size) + "); refusing to touch it");
    }
    std::string loop = attach_loop(s.dev, g->offset, g->size);
    if (loop.rfind('!', 0) == 0) return StepResult::failure(what + loop.substr(1));
    if (std::string e = publish_link(s.link, loop); !e.empty()) return StepResult::failure(what + e);
    log::warning("mapped " + s.dev + " raw, outside md: " + loop + " (offset " + std::to_string(g->offset) + ", " +
                     std::to_string(g->size) + " bytes, md data area from " +
                     (area ? "mdadm --examine" : "md 1.0's layout") + ") as " + s.link,
                 {{"EVENT", "raw-mapped"}, {"DEVICE", loop}});
    return StepResult::success();
}

StepResult LinuxSystem::unmap_raw(const step::UnmapRaw& s) {
    const std::string what = "unmapping " + s.dev + " raw: ";
    std::string error;
    auto mounts = actions::read_mountinfo(&error);
    if (!mounts) return StepResult::failure(what + error);
    for (const auto& m : loops_mapping(real_path(s.dev))) {
        struct stat st {};
        if (::stat(m.dev.c_str(), &st) != 0 || !S_ISBLK(st.st_mode))
            return StepResult::failure(what + "cannot stat " + m.dev + ": " + std::strerror(errno));
        // LOOP_CLR_FD on a busy device only sets autoclear and returns 0: Y would be exported
        // while still mounted. Refuse instead.
        auto on = actions::find_mounts_of(*mounts, ::major(st.st_rdev), ::minor(st.st_rdev));
        if (!on.empty()) return StepResult::failure(what + m.dev + " is still mounted on " + on.front()->mount_point);
        if (std::string e = detach_loop(m.dev, m.name); !e.empty()) return StepResult::failure(what + e);
        log::notice("unmapped " + s.dev + ": " + m.dev + " detached", {{"EVENT", "raw-unmapped"}, {"DEVICE", m.dev}});
    }
    if (::unlink(s.link.c_str()) != 0 && errno != ENOENT)
        return StepResult::failure(what + "cannot remove " + s.link + ": " + std::strerror(errno));
    return StepResult::success();
}

StepResult LinuxSystem::assemble_from_raw(const step::AssembleFromRaw& s) {
    std::string error;
    if (auto running = running_array(s.md, error)) {
        if (!running->member(real_path(s.dev).substr(real_path(s.dev).rfind('/') + 1)))
            return StepResult::failure(s.md + " is running without " + s.dev + "; refusing to touch it");
        return StepResult::success();
    }
    if (!error.empty()) return StepResult::failure(error);
    std::vector<std::string> examine = {"mdadm", "--examine", s.dev};
    raid::CommandResult ex = runner_.run(examine, kToolTimeout);
    if (!ex.error.empty()) return StepResult::failure(raid::describe_failure(examine, ex));
    if (ex.exit_status == 0) {
        // Its superblock survived (md was only unavailable on the standby): assemble as usual.
        // Its bitmap never saw the raw writes; the plan's full add of X does not rely on it.
        if (std::string e = md_.assemble(s.md, {s.dev}, true); !e.empty()) return StepResult::failure(e);
        return StepResult::success();
    }
    if (ex.output.find("No md superblock detected") == std::string::npos)
        return StepResult::failure("assembling " + s.md + " from " + s.dev + ": " + raid::describe_failure(examine, ex) +
                                   "; not creating an array over a device whose superblock is merely unreadable");
    // No superblock at all: create a degraded metadata-1.0 array over Y. 1.0 keeps the data at
    // sector 0, so the filesystem Y served raw is the new array's; X joins it in full.
    raid::CreateRequest r;
    r.md_device = s.md;
    r.name = s.name;
    r.local_member = "missing";
    r.remote_member = s.dev;
    if (s.bitmap_chunk_kib) r.bitmap_chunk = std::to_string(s.bitmap_chunk_kib) + "K";
    r.force = true;  // Y holds the spool: that is the point
    log::warning("re-creating " + s.md + " degraded over " + s.dev + ", whose md superblock is gone (written raw by the standby)",
                 {{"EVENT", "md-recreate-over-raw"}, {"DEVICE", s.dev}});
    if (std::string e = md_.create(r); !e.empty()) return StepResult::failure(e);
    DeviceView v = view_device(s.md, 0, 4096);
    auto fs = v.error.empty() ? filesystem_bytes(v.head.data(), v.head.size(), s.fs, &error) : std::nullopt;
    if (!v.error.empty()) error = v.error;
    if (!fs || *fs > v.bytes) {
        std::string why = !fs ? error : "the filesystem (" + std::to_string(*fs) + " bytes) is larger than the array (" +
                                            std::to_string(v.bytes) + " bytes)";
        std::string stop = md_.stop(s.md);
        return StepResult::failure("the array re-created over " + s.dev + " does not hold the spool: " + why +
                                   (stop.empty() ? "; stopped it again" : "; stopping it failed too: " + stop));
    }
    return StepResult::success();
}

}  // namespace haspool::agent
