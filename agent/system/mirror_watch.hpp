#pragma once
// The primary's eyes on its mirror: one thread follows the md array in sysfs (woken by md's
// POLLPRI notifications, re-reading at least every half second) and turns changes into events
// (md_transitions.hpp); another listens to the nbd netlink family's LINK_DEAD multicast for our
// /dev/nbdN. Both hand what they see to callbacks the daemon posts onto its loop; nothing here
// decides anything.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "agent/core/events.hpp"
#include "raid/md_status.hpp"

namespace haspool::nbd {
class LinkDeadWatch;
}

namespace haspool::agent {

class MirrorWatch {
public:
    using EventSink = std::function<void(Event)>;
    // nullopt: no array is running.
    using SnapshotSink = std::function<void(const std::optional<raid::MdSnapshot>&)>;

    MirrorWatch(std::string md_device, unsigned nbd_index, EventSink on_event, SnapshotSink on_snapshot);
    ~MirrorWatch();
    MirrorWatch(const MirrorWatch&) = delete;
    MirrorWatch& operator=(const MirrorWatch&) = delete;

    // Starts both threads. Returns a warning sentence when the LINK_DEAD subscription failed
    // (link blips then end in md failing the leg instead of a reconnect), else "".
    std::string start();
    // Forget the last snapshot: the next look reports the array's condition itself. The daemon
    // asks for it after each batch of steps, so a resync that finished while a plan was still
    // running is not missed.
    void recheck() { recheck_ = true; }
    void stop();

private:
    void watch_md();
    void watch_link_dead();
    bool sleep_for(std::chrono::milliseconds d);  // false when stopping

    std::string md_device_;
    unsigned nbd_index_;
    EventSink on_event_;
    SnapshotSink on_snapshot_;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> recheck_{false};
    int stop_fd_ = -1;  // eventfd: wakes the LINK_DEAD poll
    std::mutex mu_;
    std::condition_variable cv_;
    std::thread md_thread_;
    std::thread nbd_thread_;
    std::unique_ptr<nbd::LinkDeadWatch> link_dead_;  // set by start()
};

}  // namespace haspool::agent
