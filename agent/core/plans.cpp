#include "agent/core/plans.hpp"

#include <algorithm>

namespace haspool::agent {

std::string Plans::nbd_device() const { return "/dev/nbd" + std::to_string(c_.nbd.device_index); }

std::string Plans::raw_link() const {
    const std::string& sock = c_.cluster.control_socket;
    auto slash = sock.rfind('/');
    return (slash == std::string::npos || slash == 0 ? std::string("/run/haspool") : sock.substr(0, slash)) + "/" +
           c_.spool.md_name + "-raw";
}

// ---- single steps, each filled in full from the configuration

step::RunFence Plans::run_fence() const {
    const config::Node& b = c_.standby();
    const std::string& peer = c_.peer_of(b).name;
    return {c_.fence.command, c_.fence.timeout,
            {{"HASPOOL_PEER", peer}, {"HASPOOL_NODE", b.name}, {"HASPOOL_EVENT", "fence"}}, peer};
}

std::optional<step::RunHook> Plans::run_hook(const config::Node& self, const std::string& event) const {
    const std::vector<std::string>* argv = event == "before_takeover"   ? &c_.hooks.before_takeover
                                           : event == "after_takeover"  ? &c_.hooks.after_takeover
                                           : event == "before_handback" ? &c_.hooks.before_handback
                                           : event == "after_handback"  ? &c_.hooks.after_handback
                                                                        : nullptr;
    if (!argv || argv->empty()) return std::nullopt;
    return step::RunHook{event, *argv, c_.hooks.timeout,
                         {{"HASPOOL_EVENT", event}, {"HASPOOL_NODE", self.name}, {"HASPOOL_PEER", c_.peer_of(self).name}}};
}

namespace {
// The keys are the daemon's (derived from the secrets it read, config.hpp): never derived here.
NbdTlsSpec nbd_tls(const config::Config& c) {
    if (c.nbd.tls != config::NbdTls::required) return {};
    return {true, c.nbd.tls_keys};
}
}  // namespace

step::StartExport Plans::start_export() const {
    const config::Node& b = c_.standby();
    std::vector<std::string> allow = c_.nbd.allowed_peers;
    if (allow.empty())  // the loader's default; a Config made in code may not have it yet
        if (auto it = c_.primary().addresses.find(c_.nbd.path); it != c_.primary().addresses.end()) allow.push_back(it->second);
    return {b.spool_device, c_.nbd_listen_address(), c_.nbd.port, c_.nbd.export_name, allow, "haspool spool Y of " + b.name,
            nbd_tls(c_)};
}

namespace {
NbdLink nbd_link(const config::Config& c, Millis connect_timeout) {
    return {c.nbd.io_timeout, c.nbd.dead_conn_timeout, c.nbd.connections, c.nbd.block_size, connect_timeout, nbd_tls(c)};
}
}  // namespace

step::AttachNbd Plans::attach_nbd() const {
    return {c_.nbd_listen_address(), c_.nbd.port, c_.nbd.export_name, c_.nbd.device_index,
            nbd_link(c_, std::max<Millis>(c_.heartbeat.dead_after, Millis(10000))), c_.spool.md_device};
}

// Only the dead-connection timeout is ours: after it the kernel fails the queued I/O.
step::ReconnectNbd Plans::reconnect_nbd() const {
    return {c_.nbd_listen_address(), c_.nbd.port, c_.nbd.export_name, c_.nbd.device_index,
            nbd_link(c_, c_.nbd.dead_conn_timeout)};
}

step::AssembleMirror Plans::assemble_mirror(bool create, bool force) const {
    const std::string& md = c_.spool.md_device;
    std::vector<std::string> mkfs;
    if (c_.spool.filesystem == config::Filesystem::xfs) mkfs = {"mkfs.xfs", "-q", md};
    // No lazy initialisation: its background writes would dirty the bitmap for minutes.
    else mkfs = {"mke2fs", "-q", "-t", config::to_string(c_.spool.filesystem), "-E", "lazy_itable_init=0,lazy_journal_init=0", md};
    return {md, c_.primary().spool_device, nbd_device(), create, force, c_.spool.md_name, c_.spool.bitmap_chunk_kib,
            c_.spool.write_behind, mkfs, c_.spool.fsck_timeout};
}

step::AssembleFromRaw Plans::assemble_from_raw() const {
    return {c_.spool.md_device, nbd_device(), c_.spool.md_name, c_.spool.bitmap_chunk_kib, c_.spool.filesystem};
}

step::Fsck Plans::fsck(const std::string& dev) const {
    return {dev, c_.spool.filesystem, c_.spool.fsck_timeout, c_.spool.mount_point};
}

step::Mount Plans::mount(const std::string& dev) const {
    return {dev, c_.spool.mount_point, c_.spool.filesystem, c_.spool.mount_options, c_.spool.mount_timeout};
}

// Only our own filesystem is unmounted: the array, or after a raw takeover the loop mapping of
// Y behind MapRaw's link (docs/agent.md "Raw takeover"), when that is what is mounted there.
step::Unmount Plans::unmount(const config::Node& self) const {
    step::Unmount u{c_.spool.mount_point, {c_.spool.md_device}};
    if (self.role == config::Role::standby) u.devices.push_back(raw_link());
    return u;
}

step::ProbeAddress Plans::probe_address(const config::Node& self) const {
    return {c_.service_interface_of(self), c_.service.address, c_.service.probe_timeout};
}

step::AddAddress Plans::add_address(const config::Node& self) const { return {c_.service_interface_of(self), c_.service.address}; }

step::SendGarp Plans::send_garp(const config::Node& self) const {
    const config::Garp& g = c_.service.garp;
    return {c_.service_interface_of(self), c_.service.address, g.count, g.interval, g.repeat_count, g.repeat_after, g.refresh};
}

step::RemoveAddress Plans::remove_address(const config::Node& self) const {
    return {c_.service_interface_of(self), c_.service.address};
}

step::StartUnit Plans::start_unit(const std::string& unit) const { return {unit, c_.service.unit_timeout}; }
step::StopUnit Plans::stop_unit(const std::string& unit) const { return {unit, c_.service.unit_timeout}; }

step::MapRaw Plans::map_raw(const config::Node& self) const { return {self.spool_device, raw_link(), c_.spool.filesystem}; }
step::UnmapRaw Plans::unmap_raw(const config::Node& self) const { return {self.spool_device, raw_link()}; }

// ---- plans

void Plans::add_hook(std::vector<Step>& s, const config::Node& self, const char* event) const {
    if (auto h = run_hook(self, event)) s.push_back(std::move(*h));
}

// fsck (when asked), mount, probe + add the VIP, announce it, start the units.
void Plans::serve(std::vector<Step>& s, const config::Node& self, const std::string& dev, bool fsck_first) const {
    if (fsck_first) s.push_back(fsck(dev));
    s.push_back(mount(dev));
    if (c_.service.probe) s.push_back(probe_address(self));
    s.push_back(add_address(self));
    s.push_back(send_garp(self));
    for (const auto& u : c_.service.units) s.push_back(start_unit(u));
}

std::vector<Step> Plans::stop_serving(const config::Node& self) const {
    std::vector<Step> s;
    for (auto it = c_.service.units.rbegin(); it != c_.service.units.rend(); ++it) s.push_back(stop_unit(*it));
    s.push_back(remove_address(self));
    s.push_back(unmount(self));
    return s;
}

std::vector<Step> Plans::resume(const config::Node& self, const std::string& dev) const {
    std::vector<Step> s;
    serve(s, self, dev, true);
    add_hook(s, self, "after_takeover");
    return s;
}

bool Plans::failed_while_stopping_service(const Step& failed) {
    if (const auto* h = std::get_if<step::RunHook>(&failed)) return h->name == "before_handback";
    return std::holds_alternative<step::StopUnit>(failed) || std::holds_alternative<step::RemoveAddress>(failed) ||
           std::holds_alternative<step::Unmount>(failed);
}

// Everything this node may hold, given back. The before_handback hook runs first: whatever the
// after_takeover hook started (a stand-in for the mail units) must let go of the spool before
// the unmount. Hooks must therefore tolerate running when there is nothing to stop.
std::vector<Step> Plans::release(const config::Node& self, bool raw) const {
    std::vector<Step> s;
    add_hook(s, self, "before_handback");
    for (auto& st : stop_serving(self)) s.push_back(std::move(st));
    if (raw && self.role == config::Role::standby) s.push_back(unmap_raw(self));
    s.push_back(step::StopMirror{c_.spool.md_device});
    if (self.role == config::Role::primary) s.push_back(step::DetachNbd{c_.nbd.device_index});
    return s;
}

std::vector<Step> Plans::discard(const config::Node& self, Generation generation, bool raw) const {
    std::vector<Step> s = release(self, raw);
    s.push_back(step::DiscardGeneration{generation, "split brain resolved by the operator (haspool resolve --discard " +
                                                        self.name + ")"});
    if (self.role == config::Role::standby) s.push_back(start_export());
    return s;
}

std::vector<Step> Plans::drop_peer_leg() const { return {step::FailMember{c_.spool.md_device, nbd_device()}}; }

std::vector<Step> Plans::takeover(bool planned) const {
    const config::Node& b = c_.standby();
    std::vector<Step> s;
    add_hook(s, b, "before_takeover");
    s.push_back(step::StopExport{});
    // Probe before fencing: an answering VIP means the primary still serves, and we stop here.
    if (c_.service.probe) s.push_back(probe_address(b));
    if (!planned && !c_.fence.command.empty()) s.push_back(run_fence());
    s.push_back(step::BumpGeneration{planned ? "switchover to " + b.name : "takeover by " + b.name});
    s.push_back(step::AssembleDegraded{c_.spool.md_device, b.spool_device});
    std::vector<Step> rest;
    serve(rest, b, c_.spool.md_device, true);
    // serve() probes again right before adding the address; once is enough here.
    for (auto& st : rest)
        if (!(c_.service.probe && std::holds_alternative<step::ProbeAddress>(st))) s.push_back(std::move(st));
    add_hook(s, b, "after_takeover");
    return s;
}

std::vector<Step> Plans::takeover_raw() const {
    const config::Node& b = c_.standby();
    std::vector<Step> s;
    s.push_back(step::MarkRawWrites{"raw takeover by " + b.name + ": Y is written outside md"});
    s.push_back(step::StopMirror{c_.spool.md_device});  // an inactive leftover of the failed assembly
    s.push_back(map_raw(b));
    serve(s, b, raw_link(), true);
    // As in takeover(): the VIP was probed before fencing.
    if (c_.service.probe)
        s.erase(std::remove_if(s.begin(), s.end(), [](const Step& st) { return std::holds_alternative<step::ProbeAddress>(st); }),
                s.end());
    add_hook(s, b, "after_takeover");
    return s;
}

std::vector<Step> Plans::handback(bool raw) const {
    const config::Node& b = c_.standby();
    std::vector<Step> s;
    add_hook(s, b, "before_handback");
    for (auto& st : stop_serving(b)) s.push_back(st);
    if (raw) s.push_back(unmap_raw(b));
    s.push_back(step::StopMirror{c_.spool.md_device});
    s.push_back(start_export());
    s.push_back(step::NotifyPeer{MessageKind::handed_back});
    add_hook(s, b, "after_handback");
    return s;
}

std::vector<Step> Plans::connect(bool x_newer, bool create, bool force, bool y_blank) const {
    const config::Node& a = c_.primary();
    std::vector<Step> s;
    s.push_back(attach_nbd());
    if (x_newer && !create) {
        s.push_back(step::AssembleDegraded{c_.spool.md_device, a.spool_device});
        if (y_blank) s.push_back(step::AddMemberFull{c_.spool.md_device, nbd_device()});
        else s.push_back(step::ReAddMember{c_.spool.md_device, nbd_device()});
    } else {
        s.push_back(assemble_mirror(create, force));
    }
    serve(s, a, c_.spool.md_device, true);
    // The hooks are named from the standby's side, but they mean "this node now serves" and
    // "this node is about to stop": the primary starting to serve runs after_takeover too.
    add_hook(s, a, "after_takeover");
    return s;
}

std::vector<Step> Plans::degrade() const {
    return {step::FailMember{c_.spool.md_device, nbd_device()},
            step::BumpGeneration{"degraded write period on " + c_.primary().name},
            step::NotifyPeer{MessageKind::you_are_outdated}};
}

std::vector<Step> Plans::detach_x(const std::string& failed_dev) const {
    return {step::MarkXLost{failed_dev, "md failed it on " + c_.primary().name + " (the local disk X)"},
            step::FailMember{c_.spool.md_device, failed_dev}};
}

std::vector<Step> Plans::replace_x() const { return {step::AddMemberFull{c_.spool.md_device, c_.primary().spool_device}}; }

std::vector<Step> Plans::connect_diskless() const {
    const config::Node& a = c_.primary();
    std::vector<Step> s;
    s.push_back(attach_nbd());
    s.push_back(step::AssembleDegraded{c_.spool.md_device, nbd_device()});
    serve(s, a, c_.spool.md_device, true);
    add_hook(s, a, "after_takeover");
    return s;
}

std::vector<Step> Plans::x_rebuilt(bool x_lost) const {
    std::vector<Step> s = restore_write_mostly();
    if (x_lost) s.push_back(step::ClearXLost{"md copied Y onto " + c_.primary().spool_device + " in full"});
    return s;
}

std::vector<Step> Plans::resync(bool y_blank) const {
    Step add = y_blank ? Step(step::AddMemberFull{c_.spool.md_device, nbd_device()})
                       : Step(step::ReAddMember{c_.spool.md_device, nbd_device()});
    return {attach_nbd(), add};
}

std::vector<Step> Plans::handover() const {
    const config::Node& a = c_.primary();
    std::vector<Step> s;
    add_hook(s, a, "before_handback");
    for (auto& st : stop_serving(a)) s.push_back(st);
    s.push_back(step::StopMirror{c_.spool.md_device});
    s.push_back(step::DetachNbd{c_.nbd.device_index});
    s.push_back(step::NotifyPeer{MessageKind::take_over});
    add_hook(s, a, "after_handback");
    return s;
}

std::vector<Step> Plans::failback(const Lineage& source, bool x_blank, bool y_raw, bool x_lost) const {
    const config::Node& a = c_.primary();
    step::AdoptGeneration adopt{source, "failback from " + c_.standby().name};
    const bool full = x_blank || y_raw || x_lost;
    std::vector<Step> s;
    if (!full) s.push_back(adopt);
    s.push_back(attach_nbd());
    if (y_raw) s.push_back(assemble_from_raw());
    else s.push_back(step::AssembleDegraded{c_.spool.md_device, nbd_device()});
    if (full) {
        // X's data was discarded: its bitmap cannot be trusted to mark what differs (docs/agent.md).
        // Or Y was written outside md: Y's bitmap never saw those writes, and X and Y still carry
        // equal event counts from before the takeover, so a re-add would copy nothing and leave X
        // silently different from Y (docs/design.md §7). Or md failed X (the x-lost mark): what it
        // holds is unknown. Only a full add (superblock wiped) is right.
        s.push_back(step::AddMemberFull{c_.spool.md_device, a.spool_device});
        s.push_back(adopt);
    } else {
        s.push_back(step::MergeBitmap{c_.spool.md_device, a.spool_device});
        s.push_back(step::ReAddMember{c_.spool.md_device, a.spool_device});
    }
    serve(s, a, c_.spool.md_device, false);
    add_hook(s, a, "after_takeover");
    return s;
}

std::vector<Step> Plans::restart_resume(bool raw, bool mark_raw) const {
    std::vector<Step> s;
    if (raw && mark_raw) s.push_back(step::MarkRawWrites{"restarted while serving from the raw mapping of Y"});
    for (auto& st : resume_standby(raw)) s.push_back(std::move(st));
    return s;
}

std::vector<Step> Plans::resume_standby(bool raw) const {
    return resume(c_.standby(), raw ? raw_link() : c_.spool.md_device);
}

std::vector<Step> Plans::export_y() const { return {start_export()}; }

std::vector<Step> Plans::release_and_export(bool raw) const {
    std::vector<Step> s = release(c_.standby(), raw);
    s.push_back(start_export());
    return s;
}

std::vector<Step> Plans::adopt(const Lineage& source) const {
    return {step::AdoptGeneration{source, c_.primary().name + " reports the mirror in sync"}};
}

std::vector<Step> Plans::clear_raw_writes(Generation generation) const {
    return {step::ClearRawWrites{c_.primary().name + " reports X rebuilt in full from Y (MIRRORED, in sync, generation " +
                                 to_string(generation) + ")"}};
}

std::vector<Step> Plans::reconnect() const {
    return {reconnect_nbd()};
}

std::vector<Step> Plans::restore_write_mostly() const { return {step::RestoreWriteMostly{c_.spool.md_device, nbd_device()}}; }

std::vector<Step> Plans::ask_failback() const { return {step::NotifyPeer{MessageKind::failback_request}}; }

std::vector<Step> Plans::pass_on_resolve(MessageKind kind) const { return {step::NotifyPeer{kind}}; }

std::vector<Step> Plans::solo() const {
    const config::Node& a = c_.primary();
    std::vector<Step> s;
    s.push_back(step::BumpGeneration{"forced solo start of " + a.name});
    s.push_back(step::AssembleDegraded{c_.spool.md_device, a.spool_device});
    serve(s, a, c_.spool.md_device, true);
    add_hook(s, a, "after_takeover");
    return s;
}

}  // namespace haspool::agent
