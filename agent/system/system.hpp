#pragma once
// The System: the one place side effects go. One virtual method per step kind, each idempotent
// (check, then act) and returning a result with an error sentence that names what failed
// (device, command, exit status, output tail). Policy code never calls it; the step runner does.
#include <chrono>
#include <string>

#include "agent/core/steps.hpp"

namespace haspool::agent {

struct StepResult {
    bool ok = true;
    std::string error;  // a sentence when !ok
    std::string note;   // when ok: what was done, if it says more than "ok" ("e2fsck: journal replayed")
    std::chrono::milliseconds elapsed{0};  // how long the step ran (the StepRunner measures it)

    static StepResult success(std::string note = {}) { return {true, {}, std::move(note), {}}; }
    static StepResult failure(std::string why) { return {false, std::move(why), {}, {}}; }
};

class System {
public:
    virtual ~System() = default;

    // The NBD export of Y (standby).
    virtual StepResult stop_export(const step::StopExport&) = 0;
    virtual StepResult start_export(const step::StartExport&) = 0;
    // Fencing the peer: only exit status 0 counts.
    virtual StepResult run_fence(const step::RunFence&) = 0;
    // Data generations (node_state).
    virtual StepResult bump_generation(const step::BumpGeneration&) = 0;
    virtual StepResult adopt_generation(const step::AdoptGeneration&) = 0;
    // The kernel NBD client (primary).
    virtual StepResult attach_nbd(const step::AttachNbd&) = 0;
    virtual StepResult detach_nbd(const step::DetachNbd&) = 0;
    virtual StepResult reconnect_nbd(const step::ReconnectNbd&) = 0;
    // md RAID-1.
    virtual StepResult assemble_degraded(const step::AssembleDegraded&) = 0;
    virtual StepResult assemble_mirror(const step::AssembleMirror&) = 0;
    virtual StepResult stop_mirror(const step::StopMirror&) = 0;
    virtual StepResult fail_member(const step::FailMember&) = 0;
    virtual StepResult re_add_member(const step::ReAddMember&) = 0;
    virtual StepResult restore_write_mostly(const step::RestoreWriteMostly&) = 0;
    virtual StepResult merge_bitmap(const step::MergeBitmap&) = 0;
    // The spool filesystem.
    virtual StepResult fsck(const step::Fsck&) = 0;
    virtual StepResult mount(const step::Mount&) = 0;
    virtual StepResult unmount(const step::Unmount&) = 0;
    // The service address.
    virtual StepResult probe_address(const step::ProbeAddress&) = 0;
    virtual StepResult add_address(const step::AddAddress&) = 0;
    virtual StepResult send_garp(const step::SendGarp&) = 0;
    virtual StepResult remove_address(const step::RemoveAddress&) = 0;
    // systemd units and hooks.
    virtual StepResult start_unit(const step::StartUnit&) = 0;
    virtual StepResult stop_unit(const step::StopUnit&) = 0;
    virtual StepResult run_hook(const step::RunHook&) = 0;
    // Peer messages: queue it; the link retries until the peer acknowledges.
    virtual StepResult notify_peer(const step::NotifyPeer&) = 0;
    // Split brain (`haspool resolve`): discard this node's generation; add a member in full.
    virtual StepResult discard_generation(const step::DiscardGeneration&) = 0;
    virtual StepResult add_member_full(const step::AddMemberFull&) = 0;
    // The raw takeover (docs/agent.md "Raw takeover"): the persisted mark, Y's data area through
    // a loop device, and the primary's assembly from a Y that was written outside md.
    virtual StepResult mark_raw_writes(const step::MarkRawWrites&) = 0;
    virtual StepResult clear_raw_writes(const step::ClearRawWrites&) = 0;
    virtual StepResult mark_x_lost(const step::MarkXLost&) = 0;
    virtual StepResult clear_x_lost(const step::ClearXLost&) = 0;
    virtual StepResult map_raw(const step::MapRaw&) = 0;
    virtual StepResult unmap_raw(const step::UnmapRaw&) = 0;
    virtual StepResult assemble_from_raw(const step::AssembleFromRaw&) = 0;
};

// Calls the System method for `s`'s kind.
StepResult perform(System& sys, const Step& s);

}  // namespace haspool::agent
