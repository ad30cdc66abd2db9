#pragma once
// A System for tests and `haspool plan`: performs nothing, records every call as a transcript
// line (steps::to_string), and can be told to fail the Nth call or every call of one kind.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/system/system.hpp"

namespace haspool::agent {

class FakeSystem : public System {
public:
    std::vector<std::string> transcript;

    // The Nth call (1-based, counting every call including undo steps) fails with `why`.
    void fail_call(size_t n, std::string why) { fail_at_[n] = std::move(why); }
    // Every call of step kind `name` ("Mount") fails with `why`.
    void fail_kind(std::string name, std::string why) { fail_kind_[std::move(name)] = std::move(why); }

#define HASPOOL_FAKE(method, type) \
    StepResult method(const step::type& s) override { return record(s); }
    HASPOOL_FAKE(stop_export, StopExport)
    HASPOOL_FAKE(start_export, StartExport)
    HASPOOL_FAKE(run_fence, RunFence)
    HASPOOL_FAKE(bump_generation, BumpGeneration)
    HASPOOL_FAKE(adopt_generation, AdoptGeneration)
    HASPOOL_FAKE(attach_nbd, AttachNbd)
    HASPOOL_FAKE(detach_nbd, DetachNbd)
    HASPOOL_FAKE(reconnect_nbd, ReconnectNbd)
    HASPOOL_FAKE(assemble_degraded, AssembleDegraded)
    HASPOOL_FAKE(assemble_mirror, AssembleMirror)
    HASPOOL_FAKE(stop_mirror, StopMirror)
    HASPOOL_FAKE(fail_member, FailMember)
    HASPOOL_FAKE(re_add_member, ReAddMember)
    HASPOOL_FAKE(restore_write_mostly, RestoreWriteMostly)
    HASPOOL_FAKE(merge_bitmap, MergeBitmap)
    HASPOOL_FAKE(fsck, Fsck)
    HASPOOL_FAKE(mount, Mount)
    HASPOOL_FAKE(unmount, Unmount)
    HASPOOL_FAKE(probe_address, ProbeAddress)
    HASPOOL_FAKE(add_address, AddAddress)
    HASPOOL_FAKE(send_garp, SendGarp)
    HASPOOL_FAKE(remove_address, RemoveAddress)
    HASPOOL_FAKE(start_unit, StartUnit)
    HASPOOL_FAKE(stop_unit, StopUnit)
    HASPOOL_FAKE(run_hook, RunHook)
    HASPOOL_FAKE(notify_peer, NotifyPeer)
    HASPOOL_FAKE(discard_generation, DiscardGeneration)
    HASPOOL_FAKE(add_member_full, AddMemberFull)
    HASPOOL_FAKE(mark_raw_writes, MarkRawWrites)
    HASPOOL_FAKE(clear_raw_writes, ClearRawWrites)
    HASPOOL_FAKE(mark_x_lost, MarkXLost)
    HASPOOL_FAKE(clear_x_lost, ClearXLost)
    HASPOOL_FAKE(map_raw, MapRaw)
    HASPOOL_FAKE(unmap_raw, UnmapRaw)
    HASPOOL_FAKE(assemble_from_raw, AssembleFromRaw)
#undef HASPOOL_FAKE

private:
    StepResult record(const Step& s) {
        transcript.push_back(to_string(s));
        if (auto it = fail_at_.find(transcript.size()); it != fail_at_.end()) return StepResult::failure(it->second);
        if (auto it = fail_kind_.find(name_of(s)); it != fail_kind_.end()) return StepResult::failure(it->second);
        return StepResult::success();
    }

    std::map<size_t, std::string> fail_at_;
    std::map<std::string, std::string> fail_kind_;
};

}  // namespace haspool::agent
