#include "agent/system/mirror_watch.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "raid/md_sysfs.hpp"
#include "agent/core/md_transitions.hpp"
#include "blockdev/nbd_netlink.hpp"

namespace haspool::agent {

MirrorWatch::MirrorWatch(std::string md_device, unsigned nbd_index, EventSink on_event, SnapshotSink on_snapshot)
    : md_device_(std::move(md_device)), nbd_index_(nbd_index), on_event_(std::move(on_event)),
      on_snapshot_(std::move(on_snapshot)) {}

MirrorWatch::~MirrorWatch() { stop(); }

std::string MirrorWatch::start() {
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    md_thread_ = std::thread([this] { watch_md(); });
    auto opened = nbd::LinkDeadWatch::open();
    if (!opened.watch) return "cannot subscribe to NBD LINK_DEAD notifications: " + opened.error;
    link_dead_ = std::move(opened.watch);
    nbd_thread_ = std::thread([this] { watch_link_dead(); });
    return "";
}

void MirrorWatch::stop() {
    if (stopping_.exchange(true)) return;
    {
        std::lock_guard lock(mu_);
        cv_.notify_all();
    }
    if (stop_fd_ >= 0) {
        uint64_t one = 1;
        (void)!::write(stop_fd_, &one, sizeof one);
    }
    if (md_thread_.joinable()) md_thread_.join();
    if (nbd_thread_.joinable()) nbd_thread_.join();
    if (stop_fd_ >= 0) ::close(stop_fd_);
}

bool MirrorWatch::sleep_for(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, d, [this] { return stopping_.load(); });
    return !stopping_;
}

void MirrorWatch::watch_md() {
    using namespace std::chrono_literals;
    std::optional<raid::MdSnapshot> before;
    bool had_array = true;  // report "no array" once at start
    while (!stopping_) {
        raid::MdDirResult dir = raid::md_sysfs_dir(md_device_);
        std::optional<raid::MdSnapshot> now;
        std::unique_ptr<raid::MdWatch> watch;
        if (dir.error.empty()) {
            watch = std::make_unique<raid::MdWatch>(dir.md_dir);
            // Armed before the read: a change between the read and the wait still wakes us.
            if (watch->arm().empty()) {
                raid::SnapshotResult s = raid::read_md_snapshot(dir.md_dir);
                if (s.error.empty() && s.snapshot.raid_disks > 0) now = s.snapshot;
            }
        }
        if (recheck_.exchange(false)) before.reset();
        if (now) {
            for (auto& e : md_transitions(before, *now)) on_event_(std::move(e));
            on_snapshot_(now);
            had_array = true;
        } else if (had_array) {
            on_snapshot_(std::nullopt);
            had_array = false;
        }
        before = now;
        if (watch && now) {
            // md notifies the attributes that matter; the timeout bounds what it does not
            // (sync_completed) and the stop latency.
            watch->wait(500ms);
        } else if (!sleep_for(500ms)) {
            break;
        }
    }
}

void MirrorWatch::watch_link_dead() {
    nbd::LinkDeadWatch& w = *link_dead_;
    while (!stopping_) {
        pollfd fds[2] = {{w.fd(), POLLIN, 0}, {stop_fd_, POLLIN, 0}};
        int n = ::poll(fds, 2, 1000);
        if (n < 0 && errno != EINTR) break;
        if (stopping_ || (fds[1].revents & POLLIN)) break;
        if (n <= 0 || !(fds[0].revents & POLLIN)) continue;
        nbd::LinkDeadWatch::ReadResult r = w.read_link_dead();
        for (uint32_t i : r.dead_indexes)
            if (i == nbd_index_)
                on_event_(event::NbdLinkLost{"the kernel reported NBD_CMD_LINK_DEAD for /dev/nbd" + std::to_string(i)});
    }
}

}  // namespace haspool::agent
