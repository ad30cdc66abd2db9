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

void Plans::add_hook(std::vector<Step>& s, const char* name, const std::vector<std::string>& argv) const {
    if (!argv.empty()) s.push_back(step::RunHook{name, argv, c_.hooks.timeout});
}

// fsck (when asked), mount, probe + add the VIP, announce it, start the units.
void Plans::serve(std::vector<Step>& s, const config::Node& self, const std::string& dev, bool fsck) const {
    if (fsck) s.push_back(step::Fsck{dev, c_.spool.filesystem, c_.spool.fsck_timeout});
    s.push_back(step::Mount{dev, c_.spool.mount_point, c_.spool.filesystem, c_.spool.mount_options});
    std::string ifname = c_.service_interface_of(self);
    if (c_.service.probe) s.push_back(step::ProbeAddress{ifname, c_.service.address, c_.service.probe_timeout});
    s.push_back(step::AddAddress{ifname, c_.service.address});
    s.push_back(step::SendGarp{ifname, c_.service.address, c_.service.garp.count, c_.service.garp.interval});
    for (const auto& u : c_.service.units) s.push_back(step::StartUnit{u, c_.service.unit_timeout});
}

std::vector<Step> Plans::stop_serving(const config::Node& self) const {
    std::vector<Step> s;
    for (auto it = c_.service.units.rbegin(); it != c_.service.units.rend(); ++it)
        s.push_back(step::StopUnit{*it, c_.service.unit_timeout});
    s.push_back(step::RemoveAddress{c_.service_interface_of(self), c_.service.address});
    s.push_back(step::Unmount{c_.spool.mount_point});
    return s;
}

std::vector<Step> Plans::resume(const config::Node& self, const std::string& dev) const {
    std::vector<Step> s;
    serve(s, self, dev, true);
    add_hook(s, "after_takeover", c_.hooks.after_takeover);
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
    add_hook(s, "before_handback", c_.hooks.before_handback);
    for (auto& st : stop_serving(self)) s.push_back(std::move(st));
    if (raw && self.role == config::Role::standby) s.push_back(step::UnmapRaw{self.spool_device, raw_link()});
    s.push_back(step::StopMirror{c_.spool.md_device});
    if (self.role == config::Role::primary) s.push_back(step::DetachNbd{c_.nbd.device_index});
    return s;
}

std::vector<Step> Plans::discard(const config::Node& self, Generation generation, bool raw) const {
    std::vector<Step> s = release(self, raw);
    s.push_back(step::DiscardGeneration{generation, "split brain resolved by the operator (haspool resolve --discard " +
                                                        self.name + ")"});
    if (self.role == config::Role::standby) s.push_back(step::StartExport{});
    return s;
}

std::vector<Step> Plans::drop_peer_leg() const { return {step::FailMember{c_.spool.md_device, nbd_device()}}; }

std::vector<Step> Plans::takeover(bool planned) const {
    const config::Node& b = c_.standby();
    std::vector<Step> s;
    add_hook(s, "before_takeover", c_.hooks.before_takeover);
    s.push_back(step::StopExport{});
    // Probe before fencing: an answering VIP means the primary still serves, and we stop here.
    if (c_.service.probe)
        s.push_back(step::ProbeAddress{c_.service_interface_of(b), c_.service.address, c_.service.probe_timeout});
    if (!planned && !c_.fence.command.empty()) s.push_back(step::RunFence{c_.fence.command, c_.fence.timeout});
    s.push_back(step::BumpGeneration{planned ? "switchover to " + b.name : "takeover by " + b.name});
    s.push_back(step::AssembleDegraded{c_.spool.md_device, b.spool_device});
    std::vector<Step> rest;
    serve(rest, b, c_.spool.md_device, true);
    // serve() probes again right before adding the address; once is enough here.
    for (auto& st : rest)
        if (!(c_.service.probe && std::holds_alternative<step::ProbeAddress>(st))) s.push_back(std::move(st));
    add_hook(s, "after_takeover", c_.hooks.after_takeover);
    return s;
}

std::vector<Step> Plans::takeover_raw() const {
    const config::Node& b = c_.standby();
    std::vector<Step> s;
    s.push_back(step::MarkRawWrites{"raw takeover by " + b.name + ": Y is written outside md"});
    s.push_back(step::StopMirror{c_.spool.md_device});  // an inactive leftover of the failed assembly
    s.push_back(step::MapRaw{b.spool_device, raw_link()});
    serve(s, b, raw_link(), true);
    // As in takeover(): the VIP was probed before fencing.
    if (c_.service.probe)
        s.erase(std::remove_if(s.begin(), s.end(), [](const Step& st) { return std::holds_alternative<step::ProbeAddress>(st); }),
                s.end());
    add_hook(s, "after_takeover", c_.hooks.after_takeover);
    return s;
}

std::vector<Step> Plans::handback(bool raw) const {
    const config::Node& b = c_.standby();
    std::vector<Step> s;
    add_hook(s, "before_handback", c_.hooks.before_handback);
    for (auto& st : stop_serving(b)) s.push_back(st);
    if (raw) s.push_back(step::UnmapRaw{b.spool_device, raw_link()});
    s.push_back(step::StopMirror{c_.spool.md_device});
    s.push_back(step::StartExport{});
    s.push_back(step::NotifyPeer{MessageKind::handed_back});
    add_hook(s, "after_handback", c_.hooks.after_handback);
    return s;
}

std::vector<Step> Plans::connect(bool x_newer, bool create, bool force, bool y_blank) const {
    const config::Node& a = c_.primary();
    std::vector<Step> s;
    s.push_back(step::AttachNbd{c_.nbd_listen_address(), c_.nbd.port, c_.nbd.export_name, c_.nbd.device_index});
    if (x_newer && !create) {
        s.push_back(step::AssembleDegraded{c_.spool.md_device, a.spool_device});
        if (y_blank) s.push_back(step::AddMemberFull{c_.spool.md_device, nbd_device()});
        else s.push_back(step::ReAddMember{c_.spool.md_device, nbd_device()});
    } else {
        s.push_back(step::AssembleMirror{c_.spool.md_device, a.spool_device, nbd_device(), create, force});
    }
    serve(s, a, c_.spool.md_device, true);
    // The hooks are named from the standby's side, but they mean "this node now serves" and
    // "this node is about to stop": the primary starting to serve runs after_takeover too.
    add_hook(s, "after_takeover", c_.hooks.after_takeover);
    return s;
}

std::vector<Step> Plans::degrade() const {
    return {step::FailMember{c_.spool.md_device, nbd_device()},
            step::BumpGeneration{"degraded write period on " + c_.primary().name},
            step::NotifyPeer{MessageKind::you_are_outdated}};
}

std::vector<Step> Plans::resync(bool y_blank) const {
    Step add = y_blank ? Step(step::AddMemberFull{c_.spool.md_device, nbd_device()})
                       : Step(step::ReAddMember{c_.spool.md_device, nbd_device()});
    return {step::AttachNbd{c_.nbd_listen_address(), c_.nbd.port, c_.nbd.export_name, c_.nbd.device_index}, add};
}

std::vector<Step> Plans::handover() const {
    const config::Node& a = c_.primary();
    std::vector<Step> s;
    add_hook(s, "before_handback", c_.hooks.before_handback);
    for (auto& st : stop_serving(a)) s.push_back(st);
    s.push_back(step::StopMirror{c_.spool.md_device});
    s.push_back(step::DetachNbd{c_.nbd.device_index});
    s.push_back(step::NotifyPeer{MessageKind::take_over});
    add_hook(s, "after_handback", c_.hooks.after_handback);
    return s;
}

std::vector<Step> Plans::failback(const Lineage& source, bool x_blank, bool y_raw) const {
    const config::Node& a = c_.primary();
    step::AdoptGeneration adopt{source, "failback from " + c_.standby().name};
    const bool full = x_blank || y_raw;
    std::vector<Step> s;
    if (!full) s.push_back(adopt);
    s.push_back(step::AttachNbd{c_.nbd_listen_address(), c_.nbd.port, c_.nbd.export_name, c_.nbd.device_index});
    if (y_raw) s.push_back(step::AssembleFromRaw{c_.spool.md_device, nbd_device()});
    else s.push_back(step::AssembleDegraded{c_.spool.md_device, nbd_device()});
    if (full) {
        // X's data was discarded: its bitmap cannot be trusted to mark what differs (docs/agent.md).
        // Or Y was written outside md: Y's bitmap never saw those writes, and X and Y still carry
        // equal event counts from before the takeover, so a re-add would copy nothing and leave X
        // silently different from Y (DESIGN §7). Only a full add (superblock wiped) is right.
        s.push_back(step::AddMemberFull{c_.spool.md_device, a.spool_device});
        s.push_back(adopt);
    } else {
        s.push_back(step::MergeBitmap{c_.spool.md_device, a.spool_device});
        s.push_back(step::ReAddMember{c_.spool.md_device, a.spool_device});
    }
    serve(s, a, c_.spool.md_device, false);
    add_hook(s, "after_takeover", c_.hooks.after_takeover);
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

std::vector<Step> Plans::export_y() const { return {step::StartExport{}}; }

std::vector<Step> Plans::release_and_export(bool raw) const {
    std::vector<Step> s = release(c_.standby(), raw);
    s.push_back(step::StartExport{});
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
    return {step::ReconnectNbd{c_.nbd_listen_address(), c_.nbd.port, c_.nbd.export_name, c_.nbd.device_index}};
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
    add_hook(s, "after_takeover", c_.hooks.after_takeover);
    return s;
}

}  // namespace haspool::agent
