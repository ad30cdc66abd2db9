#pragma once
// The System of this build. Real: data generations (node_state), peer messages (handed to the
// daemon's outbox), and through the actions library (agent/actions, docs/actions.md): fencing,
// hooks, fsck/mount/unmount of the spool, the service address (probe, add, announce, remove) and
// systemd units. The NBD export/client and md FAIL LOUDLY with "not available in this build":
// those components are built separately and wired in here later.
#include <functional>
#include <mutex>
#include <string>

#include "config.hpp"
#include "node_state.hpp"
#include "system.hpp"

namespace haspool::agent {

class LinuxSystem : public System {
public:
    // `notify` queues a peer message (it must be thread-safe: steps run on a worker thread).
    // `self` names this node in `cfg` (fencing and hooks are told who is who).
    LinuxSystem(const config::Config& cfg, const std::string& self, NodeStateStore store, bool standby,
                std::function<void(MessageKind)> notify);

    // What hooks are told as HASPOOL_STATE and HASPOOL_REASON: the daemon sets it before it runs
    // a batch of steps (thread-safe).
    void set_hook_situation(std::string state, std::string reason);

    // The persisted state after the last step that changed it (thread-safe).
    NodeState state() const;
    void set_state(NodeState s);

    StepResult stop_export(const step::StopExport& s) override { return unavailable(s, "the NBD export"); }
    StepResult start_export(const step::StartExport& s) override { return unavailable(s, "the NBD export"); }
    StepResult run_fence(const step::RunFence& s) override;
    StepResult bump_generation(const step::BumpGeneration& s) override;
    StepResult adopt_generation(const step::AdoptGeneration& s) override;
    StepResult attach_nbd(const step::AttachNbd& s) override { return unavailable(s, "the kernel NBD client"); }
    StepResult detach_nbd(const step::DetachNbd& s) override { return unavailable(s, "the kernel NBD client"); }
    StepResult assemble_degraded(const step::AssembleDegraded& s) override { return unavailable(s, "md"); }
    StepResult assemble_mirror(const step::AssembleMirror& s) override { return unavailable(s, "md"); }
    StepResult stop_mirror(const step::StopMirror& s) override { return unavailable(s, "md"); }
    StepResult fail_member(const step::FailMember& s) override { return unavailable(s, "md"); }
    StepResult re_add_member(const step::ReAddMember& s) override { return unavailable(s, "md"); }
    StepResult merge_bitmap(const step::MergeBitmap& s) override { return unavailable(s, "md"); }
    StepResult fsck(const step::Fsck& s) override;
    StepResult mount(const step::Mount& s) override;
    StepResult unmount(const step::Unmount& s) override;
    StepResult probe_address(const step::ProbeAddress& s) override;
    StepResult add_address(const step::AddAddress& s) override;
    StepResult send_garp(const step::SendGarp& s) override;
    StepResult remove_address(const step::RemoveAddress& s) override;
    StepResult start_unit(const step::StartUnit& s) override;
    StepResult stop_unit(const step::StopUnit& s) override;
    StepResult run_hook(const step::RunHook& s) override;
    StepResult notify_peer(const step::NotifyPeer& s) override;
    StepResult discard_generation(const step::DiscardGeneration& s) override;
    // raid::MdControl::add_full is the building block; md is not wired into this build yet.
    StepResult add_member_full(const step::AddMemberFull& s) override { return unavailable(s, "md"); }

private:
    static StepResult unavailable(const Step& s, const char* component);

    config::Config cfg_;
    std::string self_;
    std::string peer_;
    NodeStateStore store_;
    bool standby_;
    std::function<void(MessageKind)> notify_;
    mutable std::mutex mutex_;
    NodeState state_;
    std::string hook_state_;
    std::string hook_reason_;
};

}  // namespace haspool::agent
