#include "agent/system/linux_system.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <climits>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "agent/system/actions/actions.hpp"
#include "agent/system/actions/mountinfo.hpp"
#include "agent/log/log.hpp"
#include "agent/system/step_actions.hpp"

#include <boost/asio/post.hpp>

namespace haspool::agent {

namespace {

// The service address of a step, or the parse error as a failed step.
std::optional<actions::Ipv4Cidr> address_of(const Step& s, const std::string& cidr, StepResult& failure) {
    std::string error;
    auto a = actions::parse_ipv4_cidr(cidr, &error);
    if (!a) failure = StepResult::failure(to_string(s) + ": bad service address '" + cidr + "': " + error);
    return a;
}

// True when spec.device is what is mounted (topmost) at spec.mount_point. Any doubt (a path that
// does not resolve, unreadable mountinfo) says false: the check then runs and reports it.
bool mounted_where_we_mount_it(const actions::FilesystemSpec& spec) {
    char dir[PATH_MAX];
    struct stat st {};
    if (!::realpath(spec.mount_point.c_str(), dir) || ::stat(spec.device.c_str(), &st) != 0 || !S_ISBLK(st.st_mode))
        return false;
    std::string error;
    auto mounts = actions::read_mountinfo(&error);
    if (!mounts) return false;
    const actions::MountEntry* m = actions::find_mount_at(*mounts, dir);
    return m && m->major == ::major(st.st_rdev) && m->minor == ::minor(st.st_rdev);
}

}  // namespace

LinuxSystem::LinuxSystem(NodeStateStore store, PersistedMark raw_mark, bool standby,
                         std::function<void(MessageKind)> notify, SpoolExport* spool_export)
    : store_(std::move(store)), raw_mark_(std::move(raw_mark)), x_lost_mark_(PersistedMark::x_lost(raw_mark_.dir())), standby_(standby), notify_(std::move(notify)),
      export_(spool_export) {}

void LinuxSystem::set_hook_situation(std::string state, std::string reason) {
    std::lock_guard lock(mutex_);
    hook_state_ = std::move(state);
    hook_reason_ = std::move(reason);
}

NodeState LinuxSystem::state() const {
    std::lock_guard lock(mutex_);
    return state_;
}

void LinuxSystem::set_state(NodeState s) {
    std::lock_guard lock(mutex_);
    state_ = std::move(s);
}

// Fence and hooks run exactly the step's argv, environment and timeout; the note says so in
// full (the step's log line then shows what ran, not only what was planned).
StepResult LinuxSystem::run_fence(const step::RunFence& s) {
    StepResult r = to_step_result(actions::fence_peer(fence_command(s)));
    if (r.ok && !s.argv.empty()) r.note += "; ran " + describe(s);
    return r;
}

StepResult LinuxSystem::run_hook(const step::RunHook& s) {
    auto event = hook_event_named(s.name);
    if (!event) return StepResult::failure(to_string(s) + ": '" + s.name + "' is not a hook event; nothing was run");
    actions::HookContext now;
    {
        std::lock_guard lock(mutex_);
        now = {{}, {}, hook_state_, state_.lineage.current.value, hook_reason_};
    }
    actions::HookCommand cmd = hook_command(s, *event, now);
    StepResult r = to_step_result(actions::run_hook(cmd));
    if (r.ok && !cmd.argv.empty()) {
        step::RunHook ran = s;
        ran.env = cmd.env;  // with the run-time situation added
        r.note += "; ran " + describe(ran);
    }
    return r;
}

StepResult LinuxSystem::fsck(const step::Fsck& s) {
    // A re-run after a partial takeover finds the spool already mounted by the Mount that follows
    // this check: it was checked before it was mounted, and a mounted filesystem is never checked.
    // Mounted anywhere else, check_filesystem() refuses.
    actions::FilesystemSpec spec = filesystem_spec(s);
    if (mounted_where_we_mount_it(spec)) return StepResult::success("already mounted on " + spec.mount_point + ": checked before");
    return to_step_result(actions::check_filesystem(spec));
}

StepResult LinuxSystem::mount(const step::Mount& s) {
    return to_step_result(actions::ensure_mounted(filesystem_spec(s)));
}

StepResult LinuxSystem::unmount(const step::Unmount& s) {
    if (s.devices.empty()) return StepResult::failure(to_string(s) + ": no device to unmount; nothing was done");
    // Only our own filesystem is unmounted: whichever of the step's devices (the array, or after
    // a raw takeover the loop mapping of Y behind MapRaw's link) is mounted there. With none of
    // them there, the first one decides: done when nothing is mounted, refused when another is.
    actions::FilesystemSpec spec = filesystem_spec(s, s.devices.front());
    for (const auto& dev : s.devices)
        if (actions::FilesystemSpec d = filesystem_spec(s, dev); mounted_where_we_mount_it(d)) {
            spec = d;
            break;
        }
    return to_step_result(actions::ensure_unmounted(spec));
}

StepResult LinuxSystem::probe_address(const step::ProbeAddress& s) {
    StepResult bad;
    auto a = address_of(s, s.cidr, bad);
    if (!a) return bad;
    // Our own stack does not answer our own probe: an address already on our interface (a re-run
    // after a partial takeover) is ours, so the probe counts as passed.
    std::string error;
    auto present = actions::query_address(s.interface, *a, &error);
    if (!present) return StepResult::failure(to_string(s) + ": " + error);
    if (present->present) return StepResult::success("already on " + s.interface + ": ours");
    return to_step_result(actions::require_address_free(s.interface, *a, s.timeout));
}

StepResult LinuxSystem::add_address(const step::AddAddress& s) {
    StepResult bad;
    auto a = address_of(s, s.cidr, bad);
    if (!a) return bad;
    return to_step_result(actions::ensure_address_present(s.interface, *a));
}

StepResult LinuxSystem::remove_address(const step::RemoveAddress& s) {
    if (announce_io_) boost::asio::post(*announce_io_, [this] { follow_up_.reset(); });
    StepResult bad;
    auto a = address_of(s, s.cidr, bad);
    if (!a) return bad;
    return to_step_result(actions::ensure_address_absent(s.interface, *a));
}

// `count` announcements `interval` apart, blocking (steps run on the daemon's worker thread), so
// the units start only once the neighbours were told. The rest of service.garp's schedule (the
// repeat burst, the periodic refresh) then runs on the daemon's loop until the address is removed.
StepResult LinuxSystem::send_garp(const step::SendGarp& s) {
    StepResult bad;
    auto a = address_of(s, s.cidr, bad);
    if (!a) return bad;
    std::string error;
    auto sender = actions::GarpSender::open(s.interface, *a, &error);
    if (!sender) return StepResult::failure(to_string(s) + ": " + error);
    for (unsigned i = 0; i < s.count; ++i) {
        if (i > 0) std::this_thread::sleep_for(s.interval);
        if (auto r = sender->send_one(); !r.ok()) return to_step_result(r);
    }
    actions::GarpSchedule rest = actions::garp_schedule(config::Garp{s.count, s.interval, s.repeat_count, s.repeat_after, s.refresh});
    const Millis done = s.count ? Millis(s.interval * (s.count - 1)) : Millis(0);
    std::vector<Millis> later;
    for (size_t i = s.count; i < rest.offsets.size(); ++i) later.push_back(std::max(Millis(0), rest.offsets[i] - done));
    rest.offsets = later;
    if (announce_io_ && (!rest.offsets.empty() || rest.refresh.count() > 0)) {
        auto follow = actions::GarpSender::open(s.interface, *a, &error);
        if (!follow) return StepResult::failure(to_string(s) + ": " + error);
        boost::asio::post(*announce_io_, [this, sender = std::move(*follow), rest, ifname = s.interface]() mutable {
            auto ann = std::make_shared<actions::GarpAnnouncer>(*announce_io_, std::move(sender), rest,
                                                                [ifname](const actions::ActionResult& r) {
                                                                    if (!r.ok()) log::warning("gratuitous ARP on " + ifname + ": " + r.message());
                                                                });
            ann->start();
            follow_up_ = ann;
        });
    }
    return StepResult::success();
}

StepResult LinuxSystem::start_unit(const step::StartUnit& s) {
    return to_step_result(actions::start_unit(s.name, s.timeout));
}

StepResult LinuxSystem::stop_unit(const step::StopUnit& s) {
    return to_step_result(actions::stop_unit(s.name, s.timeout));
}

StepResult LinuxSystem::bump_generation(const step::BumpGeneration& s) {
    std::lock_guard lock(mutex_);
    NodeState next = state_.bumped(standby_, s.reason, std::time(nullptr));
    if (std::string e = store_.save(next); !e.empty())
        return StepResult::failure("cannot persist generation " + to_string(next.lineage.current) + ": " + e);
    state_ = std::move(next);
    return StepResult::success();
}

StepResult LinuxSystem::adopt_generation(const step::AdoptGeneration& s) {
    std::lock_guard lock(mutex_);
    if (state_.lineage.current == s.lineage.current) return StepResult::success();
    NodeState next = state_.adopted(s.lineage, s.reason, std::time(nullptr));
    if (std::string e = store_.save(next); !e.empty())
        return StepResult::failure("cannot persist generation " + to_string(next.lineage.current) + ": " + e);
    state_ = std::move(next);
    return StepResult::success();
}

// Idempotent: a node already blank has nothing left to discard. A node that holds another
// generation than the one the operator's decision named has moved on since: refuse, change nothing.
StepResult LinuxSystem::discard_generation(const step::DiscardGeneration& s) {
    std::lock_guard lock(mutex_);
    if (state_.lineage.current == Generation::blank()) return StepResult::success();
    if (state_.lineage.current != s.generation)
        return StepResult::failure(to_string(Step(s)) + ": this node now holds generation " +
                                   to_string(state_.lineage.current) + "; nothing was discarded");
    NodeState next = state_.discarded(s.reason, std::time(nullptr));
    if (std::string e = store_.save(next); !e.empty())
        return StepResult::failure("cannot persist the discard of generation " + to_string(s.generation) + ": " + e);
    state_ = std::move(next);
    return StepResult::success();
}

StepResult LinuxSystem::notify_peer(const step::NotifyPeer& s) {
    if (!notify_) return StepResult::failure("no peer link to send " + std::string(to_string(s.message)));
    notify_(s.message);
    return StepResult::success();
}

}  // namespace haspool::agent
