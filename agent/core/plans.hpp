#pragma once
// The ordered step lists of every flow in docs/design.md §4, built from the configuration alone. The
// machines pick one and `haspool plan` prints them; golden transcripts pin their order.
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "agent/core/steps.hpp"

namespace haspool::agent {

class Plans {
public:
    explicit Plans(const config::Config& c) : c_(c) {}

    // Standby: stop exporting, probe the VIP, fence (unless planned: the primary stopped itself),
    // bump the generation, assemble Y degraded, fsck, mount, VIP + gratuitous ARP, units.
    std::vector<Step> takeover(bool planned) const;
    // Standby, raw takeover (opt-in spool.raw_mount_fallback; the takeover plan failed at
    // AssembleDegraded, and the steps before it — export stopped, VIP probed, peer fenced,
    // generation bumped — are done): persist the full-copy mark BEFORE anything writes Y, release
    // any md leftover holding Y, map Y's data area through a loop device (raw_link()), fsck,
    // mount, VIP, units.
    std::vector<Step> takeover_raw() const;
    // Standby: units down, VIP down, unmount, stop md, export Y again, tell the primary. After a
    // raw takeover (`raw`), the loop device goes too, before Y is exported again.
    std::vector<Step> handback(bool raw = false) const;
    // Primary: attach the NBD leg and assemble; when X is newer than Y, assemble from X and
    // re-add the NBD leg (resync X->Y); create the array only with --init. A blank Y (the
    // standby's generation is 0: never written, or discarded by `haspool resolve`) is added in
    // full, never re-added.
    std::vector<Step> connect(bool x_newer, bool create, bool force = false, bool y_blank = false) const;
    // Primary: the standby is gone; fail its leg, mint a generation, tell it (if it hears).
    std::vector<Step> degrade() const;
    // Primary, loss of X (docs/faults.md): md failed X. Persist the x-lost mark first, then take
    // X out of the array; no generation is minted (Y receives every write: it stays current).
    std::vector<Step> detach_x(const std::string& failed_dev) const;
    // Primary, DISKLESS, `haspool replace-disk`: add the configured X (a new disk, or the old
    // one after the operator's repair) in full; md copies Y onto it while the service runs.
    std::vector<Step> replace_x() const;
    // Primary started with the x-lost mark: the stale X is never assembled. Attach Y's leg and
    // serve from it alone (DISKLESS).
    std::vector<Step> connect_diskless() const;
    // md finished copying Y onto X: the NBD leg write-mostly again, and (x_lost) X counts again.
    std::vector<Step> x_rebuilt(bool x_lost) const;
    // Primary: the standby is back; re-attach and re-add its leg (bitmap resync X->Y), or add
    // it in full when Y is blank.
    std::vector<Step> resync(bool y_blank = false) const;
    // Primary, planned switchover: stop serving and tell the standby to take over.
    std::vector<Step> handover() const;
    // Primary, after the standby handed back: take Y's lineage, assemble from Y, merge X's
    // bitmap and re-add X (resync Y->X), mount while resyncing, VIP, units. When X is blank
    // (its data was discarded by `haspool resolve`): assemble from Y, add X in full, and take
    // Y's lineage only then, so a failback that fails before X is being rebuilt is retried
    // as a full add again. (One that fails later is retried with a re-add of X, now a member
    // that md was rebuilding from Y: md resumes or restarts that rebuild, docs/design.md §7.)
    // When Y was written outside md (`y_raw`, the standby's raw takeover): Y's bitmap never saw
    // those writes, so X is added in full exactly as when X is blank; Y is assembled with
    // AssembleFromRaw (its superblock may be what broke).
    std::vector<Step> failback(const Lineage& source, bool x_blank = false, bool y_raw = false, bool x_lost = false) const;
    // Either node, after a handover/handback failed before it let go of the array, or a standby
    // restarted while Y is in use: serve again from `dev` (still assembled, or the raw mapping):
    // fsck and mount (both no-ops when it is mounted where we mount it, as after a failed
    // unmount), probe + add the VIP, announce it, start the units, after_takeover.
    std::vector<Step> resume(const config::Node& self, const std::string& dev) const;
    // True when a handover/handback (or release) that failed at `failed` has not yet let go of
    // the array: the failed step is one of the "stop serving" steps that precede StopMirror
    // (before_handback, StopUnit, RemoveAddress, Unmount). The peer was not told anything yet,
    // so resuming here cannot meet a peer that serves.
    static bool failed_while_stopping_service(const Step& failed);
    // Standby, after a restart while Y is in use on this node (md or the raw loop mapping): the
    // resume plan from whichever Y is served through; when serving raw and the full-copy mark
    // is missing, the mark is persisted first, before anything else touches Y.
    std::vector<Step> restart_resume(bool raw, bool mark_raw) const;
    // Standby: the resume plan of a failed handback, from whichever Y it served.
    std::vector<Step> resume_standby(bool raw) const;
    // Standby: export Y to the primary (at start, on retry, after a resolve that kept Y).
    std::vector<Step> export_y() const;
    // Standby, split brain resolved in Y's favour while a takeover or handback was under way:
    // release what it had taken, then export Y for the primary's failback.
    std::vector<Step> release_and_export(bool raw) const;
    // Standby: take the primary's lineage once it reports the mirror in sync at a newer one
    // (Y then holds exactly its data).
    std::vector<Step> adopt(const Lineage& source) const;
    // Standby: the primary reports X rebuilt in full from Y at `generation` (MIRRORED, in sync):
    // the raw-writes mark has done its job.
    std::vector<Step> clear_raw_writes(Generation generation) const;
    // Primary, NBD_CMD_LINK_DEAD (a link blip, docs/design.md §4): a fresh socket to the same export
    // handed to the kernel with NBD_CMD_RECONFIGURE, within the dead-connection timeout.
    std::vector<Step> reconnect() const;
    // Primary, md's resync finished: the NBD leg back to write-mostly, so reads stay on X.
    std::vector<Step> restore_write_mostly() const;
    // Primary, STANDING_BY, `haspool failback`: ask the standby to hand the service back.
    std::vector<Step> ask_failback() const;
    // Either node, `haspool resolve` run here: pass the operator's decision on to the peer
    // (queued and retried until acknowledged), before anything of this node's resolve plan.
    std::vector<Step> pass_on_resolve(MessageKind kind) const;
    // Primary, --force-solo: serve from X alone without hearing the standby.
    std::vector<Step> solo() const;
    // Either node: stop serving (units, VIP, mount) — the safe state after a failure.
    std::vector<Step> stop_serving(const config::Node& self) const;
    // Either node: stop serving and let go of the array: units, VIP, mount, md, and on the
    // primary the NBD leg. Every step is idempotent, so it is safe on a node that serves nothing.
    // `raw`: the standby serves from the raw loop mapping of Y (raw takeover): unmapped too.
    std::vector<Step> release(const config::Node& self, bool raw = false) const;
    // Split brain, the side whose data the operator discards (`haspool resolve --discard`):
    // release everything, persist the discard of `generation` (blank lineage), and on the
    // standby export Y again so the primary can copy X onto it in full.
    std::vector<Step> discard(const config::Node& self, Generation generation, bool raw = false) const;
    // Primary, split brain resolved in X's favour while it served with both legs: fail Y's leg
    // and serve on from X alone (DEGRADED) until the standby exports a blank Y.
    std::vector<Step> drop_peer_leg() const;

    // The single steps the plans above are made of, each filled in full from the configuration
    // (a step is the whole instruction: the executor reads nothing else). Public for the
    // integration driver that performs single steps (tests/integration/agent/perform_steps.cpp).
    step::RunFence run_fence() const;  // argv empty when no fence.command is configured
    std::optional<step::RunHook> run_hook(const config::Node& self, const std::string& event) const;  // nullopt: none
    step::StartExport start_export() const;
    step::AttachNbd attach_nbd() const;
    step::ReconnectNbd reconnect_nbd() const;
    step::AssembleMirror assemble_mirror(bool create, bool force) const;
    step::AssembleFromRaw assemble_from_raw() const;
    step::Fsck fsck(const std::string& dev) const;
    step::Mount mount(const std::string& dev) const;
    step::Unmount unmount(const config::Node& self) const;  // the array, and on the standby the raw mapping
    step::ProbeAddress probe_address(const config::Node& self) const;
    step::AddAddress add_address(const config::Node& self) const;
    step::SendGarp send_garp(const config::Node& self) const;
    step::RemoveAddress remove_address(const config::Node& self) const;
    step::StartUnit start_unit(const std::string& unit) const;
    step::StopUnit stop_unit(const std::string& unit) const;
    step::MapRaw map_raw(const config::Node& self) const;
    step::UnmapRaw unmap_raw(const config::Node& self) const;

    const config::Config& config() const { return c_; }
    // Where MapRaw publishes the loop device over Y: in the runtime directory (that of
    // cluster.control_socket), which does not outlive the loop device across a reboot.
    std::string raw_link() const;

private:
    std::string nbd_device() const;
    void add_hook(std::vector<Step>& s, const config::Node& self, const char* event) const;
    void serve(std::vector<Step>& s, const config::Node& self, const std::string& dev, bool fsck_first) const;

    const config::Config& c_;
};

}  // namespace haspool::agent
