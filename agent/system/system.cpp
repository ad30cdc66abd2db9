#include "agent/system/system.hpp"

namespace haspool::agent {

namespace {
template <class... F> struct overloaded : F... { using F::operator()...; };
template <class... F> overloaded(F...) -> overloaded<F...>;
}  // namespace

StepResult perform(System& sys, const Step& s) {
    return std::visit(overloaded{
        [&](const step::StopExport& x) { return sys.stop_export(x); },
        [&](const step::StartExport& x) { return sys.start_export(x); },
        [&](const step::RunFence& x) { return sys.run_fence(x); },
        [&](const step::BumpGeneration& x) { return sys.bump_generation(x); },
        [&](const step::AdoptGeneration& x) { return sys.adopt_generation(x); },
        [&](const step::AttachNbd& x) { return sys.attach_nbd(x); },
        [&](const step::DetachNbd& x) { return sys.detach_nbd(x); },
        [&](const step::ReconnectNbd& x) { return sys.reconnect_nbd(x); },
        [&](const step::AssembleDegraded& x) { return sys.assemble_degraded(x); },
        [&](const step::AssembleMirror& x) { return sys.assemble_mirror(x); },
        [&](const step::StopMirror& x) { return sys.stop_mirror(x); },
        [&](const step::FailMember& x) { return sys.fail_member(x); },
        [&](const step::ReAddMember& x) { return sys.re_add_member(x); },
        [&](const step::RestoreWriteMostly& x) { return sys.restore_write_mostly(x); },
        [&](const step::MergeBitmap& x) { return sys.merge_bitmap(x); },
        [&](const step::Fsck& x) { return sys.fsck(x); },
        [&](const step::Mount& x) { return sys.mount(x); },
        [&](const step::Unmount& x) { return sys.unmount(x); },
        [&](const step::ProbeAddress& x) { return sys.probe_address(x); },
        [&](const step::AddAddress& x) { return sys.add_address(x); },
        [&](const step::SendGarp& x) { return sys.send_garp(x); },
        [&](const step::RemoveAddress& x) { return sys.remove_address(x); },
        [&](const step::StartUnit& x) { return sys.start_unit(x); },
        [&](const step::StopUnit& x) { return sys.stop_unit(x); },
        [&](const step::RunHook& x) { return sys.run_hook(x); },
        [&](const step::NotifyPeer& x) { return sys.notify_peer(x); },
        [&](const step::DiscardGeneration& x) { return sys.discard_generation(x); },
        [&](const step::AddMemberFull& x) { return sys.add_member_full(x); },
        [&](const step::MarkRawWrites& x) { return sys.mark_raw_writes(x); },
        [&](const step::ClearRawWrites& x) { return sys.clear_raw_writes(x); },
        [&](const step::MarkXLost& x) { return sys.mark_x_lost(x); },
        [&](const step::ClearXLost& x) { return sys.clear_x_lost(x); },
        [&](const step::MapRaw& x) { return sys.map_raw(x); },
        [&](const step::UnmapRaw& x) { return sys.unmap_raw(x); },
        [&](const step::AssembleFromRaw& x) { return sys.assemble_from_raw(x); },
    }, s);
}

}  // namespace haspool::agent
