#include "raid/md_sysfs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace haspool::raid {

namespace {

bool read_file(const std::string& path, std::string& out) {
    std::ifstream f(path);
    if (!f) return false;
    std::stringstream ss;
    ss << f.rdbuf();
    out = ss.str();
    return true;
}

std::string write_file(const std::string& path, const std::string& value) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return "cannot open " + path + ": " + std::strerror(errno);
    ssize_t n = ::write(fd, value.data(), value.size());
    int err = errno;
    ::close(fd);
    if (n < 0) return "writing '" + value + "' to " + path + " failed: " + std::strerror(err);
    if (static_cast<size_t>(n) != value.size()) return "short write of '" + value + "' to " + path;
    return {};
}

std::vector<std::string> member_dirs(const std::string& md_dir) {
    std::vector<std::string> names;
    if (DIR* d = opendir(md_dir.c_str())) {
        while (dirent* e = readdir(d)) {
            std::string n = e->d_name;
            if (n.rfind("dev-", 0) == 0) names.push_back(n);
        }
        closedir(d);
    }
    return names;
}

}  // namespace

SnapshotResult read_md_snapshot(const std::string& md_dir) {
    SnapshotResult r;
    MdSysfsText t;
    if (!read_file(md_dir + "/array_state", t.array_state)) {
        r.error = "cannot read " + md_dir + "/array_state (is the array running?)";
        return r;
    }
    std::string parent = md_dir.substr(0, md_dir.find_last_of('/'));
    t.kernel_name = parent.substr(parent.find_last_of('/') + 1);
    auto attribute = [&](const std::string& rel) -> std::optional<std::string> {
        std::string v;
        if (!read_file(md_dir + "/" + rel, v)) return std::nullopt;
        return v;
    };
    t.level = attribute("level");
    t.raid_disks = attribute("raid_disks");
    t.degraded = attribute("degraded");
    t.sync_action = attribute("sync_action");
    t.sync_completed = attribute("sync_completed");
    t.sync_speed = attribute("sync_speed");
    for (const auto& d : member_dirs(md_dir))
        t.members.push_back({d, attribute(d + "/state"), attribute(d + "/slot"), attribute(d + "/block/stat")});
    r.snapshot = parse_md_snapshot(t);
    return r;
}

MdDirResult md_sysfs_dir(const std::string& md_device, const std::string& sysfs_root) {
    MdDirResult r;
    char real[PATH_MAX];
    if (!realpath(md_device.c_str(), real)) {
        r.error = "cannot resolve " + md_device + ": " + std::strerror(errno);
        return r;
    }
    std::string name = real;
    name = name.substr(name.find_last_of('/') + 1);
    if (name.rfind("md", 0) != 0) {
        r.error = md_device + " is not an md device (it is " + real + ")";
        return r;
    }
    r.md_dir = sysfs_root + "/block/" + name + "/md";
    return r;
}

std::string write_member_state(const std::string& md_dir, const std::string& member, const std::string& value) {
    return write_file(md_dir + "/dev-" + member + "/state", value);
}

std::string write_bitmap_set_bits(const std::string& md_dir, const std::string& ranges) {
    return write_file(md_dir + "/bitmap_set_bits", ranges);
}

MdWatch::MdWatch(std::string md_dir) : md_dir_(std::move(md_dir)) {}

MdWatch::~MdWatch() {
    for (int fd : fds_) ::close(fd);
}

std::string MdWatch::arm() {
    for (int fd : fds_) ::close(fd);
    fds_.clear();
    std::vector<std::string> files = {"array_state", "degraded", "sync_action"};
    for (const auto& d : member_dirs(md_dir_)) files.push_back(d + "/state");
    for (const auto& f : files) {
        int fd = ::open((md_dir_ + "/" + f).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            if (f == "array_state") return "cannot open " + md_dir_ + "/array_state: " + std::strerror(errno);
            continue;  // a member that just left
        }
        // sysfs_notify wakes pollers only after they have read the attribute once
        char buf[256];
        if (::read(fd, buf, sizeof buf) < 0) {
            ::close(fd);
            continue;
        }
        fds_.push_back(fd);
    }
    return {};
}

std::string MdWatch::wait(std::chrono::milliseconds timeout) {
    // Members come and go and a notified attribute must be re-read: arm() again after each wait.
    if (fds_.empty())
        if (std::string e = arm(); !e.empty()) return e;
    std::vector<pollfd> p;
    for (int fd : fds_) p.push_back(pollfd{fd, POLLPRI | POLLERR, 0});
    for (;;) {
        int n = ::poll(p.data(), p.size(), static_cast<int>(timeout.count()));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return std::string("poll on ") + md_dir_ + " failed: " + std::strerror(errno);
        for (int fd : fds_) ::close(fd);
        fds_.clear();
        return {};
    }
}

}  // namespace haspool::raid
