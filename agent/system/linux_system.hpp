#pragma once
// The System of this build, all real: data generations (node_state), peer messages (handed to
// the daemon's outbox); through the actions library (agent/system/actions, docs/actions.md) fencing,
// hooks, fsck/mount/unmount of the spool, the service address (probe, add, announce, remove) and
// systemd units; the standby's export of Y (spool_export.hpp); the kernel NBD client over
// netlink (blockdev/nbd_attach.hpp) and md through mdadm and sysfs (raid/md_control.hpp).
// Every method checks before it acts, so a plan can be re-run after a partial failure.
// A step is the whole instruction: each method runs exactly what its step carries (argv,
// environment, timeouts, devices, addresses: filled by Plans from the configuration of the
// moment), and LinuxSystem holds no configuration, so a reload is what the next step runs.
#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <mutex>
#include <string>

#include "agent/system/process_runner.hpp"
#include "raid/md_control.hpp"
#include "agent/store/node_state.hpp"
#include "agent/store/persisted_mark.hpp"
#include "agent/system/system.hpp"

namespace haspool::agent {

class LinuxSystem : public System {
public:
    // `store` and `raw_mark` are where the data generation and the raw-writes mark persist (the
    // stores, not the configuration they were named by). `notify` queues a peer message (it must
    // be thread-safe: steps run on a worker thread). `spool_export` is the standby's export of Y
    // (nullptr on the primary: its export steps fail).
    LinuxSystem(NodeStateStore store, PersistedMark raw_mark, bool standby, std::function<void(MessageKind)> notify,
                class SpoolExport* spool_export = nullptr);

    // What hooks are told as HASPOOL_STATE and HASPOOL_REASON: the daemon sets it before it runs
    // a batch of steps (thread-safe). It is the run-time situation of the decision, not
    // configuration, so it is not in the step; HASPOOL_GENERATION is read when the hook runs
    // (the takeover's BumpGeneration precedes its after_takeover hook).
    void set_hook_situation(std::string state, std::string reason);

    // Where the announcements after the first GARP burst run (the repeat burst and the periodic
    // refresh of service.garp): the daemon's loop. Without it only the first burst is sent.
    void set_announcer_context(boost::asio::io_context& io) { announce_io_ = &io; }

    // `mdadm --examine-bitmap DEV`: a member's write-intent bitmap in figures, for the failback
    // preview (not a step: it reads, changes nothing; safe beside a running step).
    raid::BitmapSummaryResult examine_bitmap(const std::string& dev) { return md_.examine_bitmap(dev); }

    // The persisted state after the last step that changed it (thread-safe).
    NodeState state() const;
    void set_state(NodeState s);

    StepResult stop_export(const step::StopExport& s) override;
    StepResult start_export(const step::StartExport& s) override;
    StepResult run_fence(const step::RunFence& s) override;
    StepResult bump_generation(const step::BumpGeneration& s) override;
    StepResult adopt_generation(const step::AdoptGeneration& s) override;
    StepResult attach_nbd(const step::AttachNbd& s) override;
    StepResult detach_nbd(const step::DetachNbd& s) override;
    StepResult reconnect_nbd(const step::ReconnectNbd& s) override;
    StepResult assemble_degraded(const step::AssembleDegraded& s) override;
    StepResult assemble_mirror(const step::AssembleMirror& s) override;
    StepResult stop_mirror(const step::StopMirror& s) override;
    StepResult fail_member(const step::FailMember& s) override;
    StepResult re_add_member(const step::ReAddMember& s) override;
    StepResult restore_write_mostly(const step::RestoreWriteMostly& s) override;
    StepResult merge_bitmap(const step::MergeBitmap& s) override;
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
    // Wipes the member's md superblock, then adds it (raid::MdControl::add_full).
    StepResult add_member_full(const step::AddMemberFull& s) override;
    // linux_system_raw.cpp (docs/agent.md "Raw takeover").
    StepResult mark_raw_writes(const step::MarkRawWrites& s) override;
    StepResult clear_raw_writes(const step::ClearRawWrites& s) override;
    StepResult mark_x_lost(const step::MarkXLost& s) override;
    StepResult clear_x_lost(const step::ClearXLost& s) override;
    StepResult map_raw(const step::MapRaw& s) override;
    StepResult unmap_raw(const step::UnmapRaw& s) override;
    StepResult assemble_from_raw(const step::AssembleFromRaw& s) override;

private:
    // The running array, or nullopt (with `error` empty when simply not running).
    std::optional<raid::MdSnapshot> running_array(const std::string& md, std::string& error);
    // The same for a step that needs the array: nullopt with `failed` saying why.
    std::optional<raid::MdSnapshot> require_array(const std::string& md, StepResult& failed);
    StepResult make_filesystem(const step::AssembleMirror& s);  // on a new array that holds nothing yet

    NodeStateStore store_;
    PersistedMark raw_mark_;
    PersistedMark x_lost_mark_;  // beside raw_mark_, in the same state directory
    bool standby_;
    std::function<void(MessageKind)> notify_;
    class SpoolExport* export_;
    ProcessRunner runner_;
    raid::MdControl md_{runner_};
    mutable std::mutex mutex_;
    NodeState state_;
    boost::asio::io_context* announce_io_ = nullptr;
    std::shared_ptr<void> follow_up_;  // the running GarpAnnouncer; touched only on announce_io_
    std::string hook_state_;
    std::string hook_reason_;
};

}  // namespace haspool::agent
