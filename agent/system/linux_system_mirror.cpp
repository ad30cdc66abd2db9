// LinuxSystem's mirror steps: the standby's export of Y, the primary's kernel NBD leg, md, and
// the primary's x-lost mark (which leg of md counts).
// Each checks the kernel's view first, so re-running a plan after a partial failure (or after a
// daemon restart with the array still running) does only what is missing.
#include <limits.h>
#include <unistd.h>
#include <stdlib.h>

#include <cmath>
#include <ctime>
#include <thread>

#include "agent/system/linux_system.hpp"
#include "agent/log/log.hpp"
#include "raid/md_sysfs.hpp"
#include "blockdev/nbd_attach.hpp"
#include "blockdev/nbd_netlink.hpp"
#include "agent/system/nbd_tls_keys.hpp"
#include "agent/system/spool_export.hpp"

namespace haspool::agent {

namespace {

std::chrono::seconds whole_seconds(Millis m) {
    return std::chrono::seconds(static_cast<long>(std::ceil(m.count() / 1000.0)));
}

nbd::AttachRequest attach_request(const std::string& address, uint16_t port, const std::string& export_name,
                                  unsigned index, const NbdLink& link) {
    nbd::AttachRequest r;
    r.host = address;
    r.port = port;
    r.export_name = export_name;
    r.index = index;
    r.io_timeout = whole_seconds(link.io_timeout);
    r.dead_conn_timeout = whole_seconds(link.dead_conn_timeout);
    r.connections = link.connections;
    r.block_size = link.block_size;
    r.connect_timeout = link.connect_timeout;
    r.tls_required = link.tls.required;
    r.tls_keys = tls_psks(link.tls.keys);
    return r;
}

// "nbd0" for "/dev/nbd0", "vda" for "/dev/disk/by-id/..." (symlinks resolved).
std::string block_name(const std::string& dev) {
    char buf[PATH_MAX];
    std::string p = ::realpath(dev.c_str(), buf) ? std::string(buf) : dev;
    return p.substr(p.rfind('/') + 1);
}

// The NBD leg goes (back) into the array write-mostly: reads stay on the local disk.
bool is_nbd_leg(const std::string& dev) { return block_name(dev).rfind("nbd", 0) == 0; }

// The kernel's word on /dev/nbd<index>; error sentence in `error`.
bool nbd_connected(unsigned index, std::string& error) {
    nbd::KernelStatusResult st = nbd::kernel_status(index);
    if (!st.error.empty()) {
        error = st.error;
        return false;
    }
    for (const auto& d : st.devices)
        if (d.index == index) return d.connected;
    return false;
}

// NBD_CMD_DISCONNECT, then wait (bounded) until the kernel has released the device.
std::string disconnect_and_wait(unsigned index) {
    if (std::string e = nbd::detach(index); !e.empty()) return e;
    for (int i = 0; i < 50; ++i) {
        std::string error;
        if (!nbd_connected(index, error)) return error;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return "/dev/nbd" + std::to_string(index) + " still connected 5s after NBD_CMD_DISCONNECT";
}

}  // namespace

// ---- the standby's export of Y

StepResult LinuxSystem::start_export(const step::StartExport& s) {
    if (!export_) return StepResult::failure("this node has no export of Y (it is not the standby)");
    if (std::string e = export_->start({s.dev, s.listen_address, s.port, s.export_name, s.allow, s.description,
                                          s.tls.required, tls_psks(s.tls.keys)}); !e.empty())
        return StepResult::failure(e);
    return StepResult::success();
}

StepResult LinuxSystem::stop_export(const step::StopExport&) {
    if (!export_) return StepResult::failure("this node has no export of Y (it is not the standby)");
    if (std::string e = export_->stop(); !e.empty()) return StepResult::failure(e);
    return StepResult::success();
}

// ---- the primary's NBD leg

StepResult LinuxSystem::attach_nbd(const step::AttachNbd& s) {
    std::string error;
    bool connected = nbd_connected(s.index, error);
    if (!error.empty()) return StepResult::failure(error);
    const std::string dev = "/dev/nbd" + std::to_string(s.index);
    if (connected) {
        // A working leg of the running array (a daemon restart while serving): keep it. A leg md
        // failed (the standby died): take it out of the array, then replace it like any unused
        // leftover of an earlier run, whose socket may be long dead.
        if (!device_claimed_by(dev).empty()) {
            std::string md_error;
            auto running = running_array(s.md, md_error);
            const raid::MdMember* m = running ? running->member(block_name(dev)) : nullptr;
            if (!m || !m->state.faulty) return StepResult::success();
            if (std::string e = md_.remove(s.md, dev); !e.empty())
                return StepResult::failure("removing the failed leg " + dev + " before re-attaching it: " + e);
        }
        if (std::string e = disconnect_and_wait(s.index); !e.empty())
            return StepResult::failure("releasing the unused, stale " + dev + ": " + e);
    }
    nbd::AttachResult r = nbd::attach(attach_request(s.address, s.port, s.export_name, s.index, s.link));
    if (!r.error.empty()) return StepResult::failure(r.error);
    return StepResult::success();
}

StepResult LinuxSystem::detach_nbd(const step::DetachNbd& s) {
    std::string error;
    bool connected = nbd_connected(s.index, error);
    if (!error.empty()) return StepResult::failure(error);
    if (!connected) return StepResult::success();
    if (std::string e = disconnect_and_wait(s.index); !e.empty()) return StepResult::failure(e);
    return StepResult::success();
}

StepResult LinuxSystem::reconnect_nbd(const step::ReconnectNbd& s) {
    // The step's connect timeout is the dead-connection timeout: after it the kernel fails the queued I/O.
    nbd::AttachRequest r = attach_request(s.address, s.port, s.export_name, s.index, s.link);
    if (std::string e = nbd::reconnect(s.index, r); !e.empty()) return StepResult::failure(e);
    return StepResult::success();
}

// ---- md

std::optional<raid::MdSnapshot> LinuxSystem::running_array(const std::string& md, std::string& error) {
    raid::MdDirResult d = raid::md_sysfs_dir(md);
    if (!d.error.empty()) return std::nullopt;  // not assembled
    raid::SnapshotResult snap = raid::read_md_snapshot(d.md_dir);
    if (!snap.error.empty()) {
        // A stopped array can leave its /dev/md/NAME link and a bare sysfs directory behind: no
        // array_state means nothing runs there.
        if (::access((d.md_dir + "/array_state").c_str(), F_OK) != 0) return std::nullopt;
        error = snap.error;
        return std::nullopt;
    }
    if (snap.snapshot.raid_disks == 0) return std::nullopt;  // an inactive leftover
    return snap.snapshot;
}

// The running array for a step that changes its members; otherwise `failed` says why not.
std::optional<raid::MdSnapshot> LinuxSystem::require_array(const std::string& md, StepResult& failed) {
    std::string error;
    auto running = running_array(md, error);
    if (!running) failed = StepResult::failure(error.empty() ? md + " is not running" : error);
    return running;
}

StepResult LinuxSystem::make_filesystem(const step::AssembleMirror& s) {
    raid::MdControl::ProbeResult p = md_.probe(s.md);
    if (!p.error.empty()) return StepResult::failure(p.error);
    if (!p.holds.empty()) return StepResult::success();  // --init over an existing filesystem (--force)
    if (s.mkfs.empty()) return StepResult::failure("the new array " + s.md + " holds no filesystem and the step names no mkfs command");
    raid::CommandResult r = runner_.run(s.mkfs, s.mkfs_timeout);
    if (!r.error.empty() || r.exit_status != 0)
        return StepResult::failure("making the spool filesystem: " + raid::describe_failure(s.mkfs, r));
    log::notice("made the spool filesystem on the new array " + s.md + " (" + raid::join_argv(s.mkfs) + ")", {{"EVENT", "mkfs"}});
    return StepResult::success();
}

StepResult LinuxSystem::assemble_mirror(const step::AssembleMirror& s) {
    std::string error;
    if (auto running = running_array(s.md, error)) {
        if (!running->member(block_name(s.local)))
            return StepResult::failure(s.md + " is running without " + s.local +
                                       "; refusing to touch it (stop it or let the operator decide)");
        return StepResult::success();
    }
    if (!error.empty()) return StepResult::failure(error);
    if (s.create) {
        raid::CreateRequest r;
        r.md_device = s.md;
        r.name = s.name;
        r.local_member = s.local;
        r.remote_member = s.remote;
        if (s.bitmap_chunk_kib) r.bitmap_chunk = std::to_string(s.bitmap_chunk_kib) + "K";
        if (s.write_behind) r.write_behind = s.write_behind;
        r.force = s.force;
        if (std::string e = md_.create(r); !e.empty()) return StepResult::failure(e);
        return make_filesystem(s);
    }
    if (std::string e = md_.assemble(s.md, {s.local, s.remote}, false); !e.empty())
        return StepResult::failure(e);
    return StepResult::success();
}

StepResult LinuxSystem::assemble_degraded(const step::AssembleDegraded& s) {
    std::string error;
    if (auto running = running_array(s.md, error)) {
        if (!running->member(block_name(s.dev)))
            return StepResult::failure(s.md + " is running without " + s.dev + "; refusing to touch it");
        return StepResult::success();
    }
    if (!error.empty()) return StepResult::failure(error);
    if (std::string e = md_.assemble(s.md, {s.dev}, true); !e.empty()) return StepResult::failure(e);
    return StepResult::success();
}

StepResult LinuxSystem::stop_mirror(const step::StopMirror& s) {
    std::string error;
    if (!running_array(s.md, error)) {
        if (!error.empty()) return StepResult::failure(error);
        // An inactive leftover (assembled but not started) still claims its members.
        if (raid::md_sysfs_dir(s.md).error.empty())
            if (std::string e = md_.stop(s.md); !e.empty()) return StepResult::failure(e);
        return StepResult::success();
    }
    if (std::string e = md_.stop(s.md); !e.empty()) return StepResult::failure(e);
    return StepResult::success();
}

StepResult LinuxSystem::fail_member(const step::FailMember& s) {
    StepResult failed;
    auto running = require_array(s.md, failed);
    if (!running) return failed;
    const raid::MdMember* m = running->member(block_name(s.dev));
    if (!m) return StepResult::success();  // already out
    if (!m->state.faulty)
        if (std::string e = md_.fail(s.md, s.dev); !e.empty()) return StepResult::failure(e);
    // Faulty is what counts: md writes nothing more to the leg, and the bitmap records what it
    // misses. Removing it can be refused while its requests still wait for the NBD I/O timeout;
    // the re-add (and attach) remove it later, so that is no reason to fail the degrade plan.
    if (std::string e = md_.remove(s.md, s.dev); !e.empty())
        log::info(s.dev + " is faulty in " + s.md + " but not removed yet (" + e + "); it is removed before it is re-added",
                  {{"EVENT", "md-remove-deferred"}});
    return StepResult::success();
}

StepResult LinuxSystem::re_add_member(const step::ReAddMember& s) {
    StepResult failed;
    auto running = require_array(s.md, failed);
    if (!running) return failed;
    const bool nbd_leg = is_nbd_leg(s.dev);
    if (const raid::MdMember* m = running->member(block_name(s.dev))) {
        if (!m->state.faulty) return StepResult::success();  // already in (in sync or recovering)
        if (std::string e = md_.remove(s.md, s.dev); !e.empty()) return StepResult::failure(e);
    }
    // Say how much the re-add will copy before it starts: the dirty chunks in the bitmap of the
    // leg that stays (md copies exactly those; a refused re-add copies nothing). The step's note
    // carries the same figure to `haspool status` while md copies.
    std::string plan;
    for (const auto& m : running->members)
        if (!m.state.faulty && m.state.in_sync) {
            raid::BitmapSummaryResult b = md_.examine_bitmap("/dev/" + m.block_device);
            if (b.summary) {
                const auto& sum = *b.summary;
                const std::string figures =
                    std::to_string(sum.dirty) + " of " + std::to_string(sum.bits) + " chunk(s) of " +
                    std::to_string(sum.chunk_bytes / 1024) + " KiB dirty, about " +
                    std::to_string(sum.dirty * sum.chunk_bytes / 1048576) + " MiB of " +
                    std::to_string(sum.bits * sum.chunk_bytes / 1048576) + " MiB";
                plan = "copying " + s.dev + ": " + figures;
                log::notice("re-adding " + s.dev + " to " + s.md + ": " + figures,
                            {{"EVENT", "resync-size"}, {"DIRTY_CHUNKS", std::to_string(b.summary->dirty)}});
            }
            break;
        }
    // The NBD leg goes back write-mostly (reads stay on X); X re-added at failback does not.
    std::string e = md_.re_add(s.md, s.dev, nbd_leg);
    if (e.empty()) return StepResult::success(plan.empty() ? "copying " + s.dev + ": the dirty chunks" : plan);
    // md refuses a re-add it cannot do from the bitmap (the member is too old for it, or its
    // superblock is not this array's). The member is the copy's target either way (the NBD leg
    // in a resync X->Y, X in a failback): wipe its superblock and add it in full.
    log::warning("re-adding " + s.dev + " to " + s.md + " was refused (" + e + "); adding it in full instead: " +
                     "every chunk is copied",
                 {{"EVENT", "full-add"}, {"DEVICE", s.dev}});
    if (std::string f = md_.add_full(s.md, s.dev, nbd_leg); !f.empty())
        return StepResult::failure("re-add refused (" + e + "), and the full add failed too: " + f);
    return StepResult::success("copying " + s.dev + ": every chunk (re-add refused)");
}

// The primary's x-lost mark (docs/faults.md, loss of X): persisted before the daemon acts on a
// failed X, cleared once md has copied Y onto a new X.
StepResult LinuxSystem::mark_x_lost(const step::MarkXLost& s) {
    if (std::string e = x_lost_mark_.set(s.dev + ": " + s.reason, std::time(nullptr)); !e.empty())
        return StepResult::failure("persisting the x-lost mark for " + s.dev + ": " + e);
    log::warning("marked " + x_lost_mark_.path() + ": " + s.dev + " is lost (" + s.reason +
                     "); this node assembles only from Y until X is rebuilt in full",
                 {{"EVENT", "x-lost-marked"}, {"DEVICE", s.dev}});
    return StepResult::success();
}

StepResult LinuxSystem::clear_x_lost(const step::ClearXLost& s) {
    if (!x_lost_mark_.load().marked) return StepResult::success();
    if (std::string e = x_lost_mark_.clear(); !e.empty()) return StepResult::failure(e);
    log::notice("cleared the x-lost mark " + x_lost_mark_.path() + ": " + s.reason, {{"EVENT", "x-lost-cleared"}});
    return StepResult::success();
}

StepResult LinuxSystem::add_member_full(const step::AddMemberFull& s) {
    StepResult failed;
    auto running = require_array(s.md, failed);
    if (!running) return failed;
    if (const raid::MdMember* m = running->member(block_name(s.dev))) {
        if (!m->state.faulty) return StepResult::success();  // already added (copying or in sync)
        if (std::string e = md_.remove(s.md, s.dev); !e.empty()) return StepResult::failure(e);
    }
    const bool nbd_leg = is_nbd_leg(s.dev);
    log::notice("adding " + s.dev + " to " + s.md + " in full: its superblock is wiped and every chunk is copied",
                {{"EVENT", "full-add"}, {"DEVICE", s.dev}});
    if (std::string e = md_.add_full(s.md, s.dev, nbd_leg); !e.empty()) return StepResult::failure(e);
    return StepResult::success("copying " + s.dev + ": every chunk");
}

StepResult LinuxSystem::restore_write_mostly(const step::RestoreWriteMostly& s) {
    StepResult failed;
    auto running = require_array(s.md, failed);
    if (!running) return failed;
    const raid::MdMember* m = running->member(block_name(s.dev));
    if (!m) return StepResult::failure(s.dev + " is not a member of " + s.md);
    if (m->state.write_mostly) return StepResult::success();
    if (std::string e = md_.set_write_mostly(s.md, s.dev); !e.empty()) return StepResult::failure(e);
    return StepResult::success();
}

StepResult LinuxSystem::merge_bitmap(const step::MergeBitmap& s) {
    uint64_t marked = 0;
    if (std::string e = md_.merge_bitmap_from(s.md, s.from, &marked); !e.empty())
        return StepResult::failure(e);
    log::notice("bitmap union: " + std::to_string(marked) + " chunk(s) " + s.from + " wrote while apart are marked in " +
                    s.md + " and will be copied back from the running leg",
                {{"EVENT", "bitmap-union"}, {"CHUNKS", std::to_string(marked)}});
    return StepResult::success();
}

}  // namespace haspool::agent
