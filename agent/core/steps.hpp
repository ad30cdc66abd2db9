#pragma once
// Steps are data: what a Decision asks the System to do, in order. Each is idempotent when
// performed (check, then act), prints as one transcript line (`haspool plan`, logs, golden
// tests), and may have an undo that the step runner performs when a later step fails.
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "agent/core/types.hpp"

namespace haspool::agent {

namespace step {
struct StopExport {};                                  // close NBD sessions, refuse new ones
struct StartExport {};                                 // export Y to the primary
struct RunFence { std::vector<std::string> argv; Millis timeout; };  // exit 0 = peer fenced
struct BumpGeneration { std::string reason; };         // mint and persist a new data generation
struct AdoptGeneration { Lineage lineage; std::string reason; };  // take the source's after a resync
struct AttachNbd { std::string address; uint16_t port; std::string export_name; unsigned index; };
struct DetachNbd { unsigned index; };
// After NBD_CMD_LINK_DEAD: fresh socket(s) to the same export, NBD_CMD_RECONFIGURE (DESIGN §4 link blip)
struct ReconnectNbd { std::string address; uint16_t port; std::string export_name; unsigned index; };
struct AssembleDegraded { std::string md; std::string dev; };  // md from one leg (bitmap records the rest)
struct AssembleMirror { std::string md; std::string local; std::string remote; bool create; bool force = false; };  // force: create over a filesystem
struct StopMirror { std::string md; };
struct FailMember { std::string md; std::string dev; };  // fail + remove a leg we know is gone
struct ReAddMember { std::string md; std::string dev; }; // --re-add (bitmap resync), writemostly for NBD
struct RestoreWriteMostly { std::string md; std::string dev; };  // the NBD leg back to write-mostly after a resync
struct MergeBitmap { std::string md; std::string from; };  // OR a returning leg's dirty bits into the array (DESIGN §7)
struct Fsck { std::string dev; config::Filesystem fs; Millis timeout; };
struct Mount { std::string dev; std::string dir; config::Filesystem fs; std::vector<std::string> options; };
struct Unmount { std::string dir; };
struct ProbeAddress { std::string interface; std::string cidr; Millis timeout; };  // fails when answered
struct AddAddress { std::string interface; std::string cidr; };
struct SendGarp { std::string interface; std::string cidr; unsigned count; Millis interval; };
struct RemoveAddress { std::string interface; std::string cidr; };
struct StartUnit { std::string name; Millis timeout; };
struct StopUnit { std::string name; Millis timeout; };
struct RunHook { std::string name; std::vector<std::string> argv; Millis timeout; };
struct NotifyPeer { MessageKind message; };            // queued, retried until acknowledged
// `haspool resolve --discard`: this node's data lost the split brain. Persists a blank lineage
// (Lineage::discarded) when the node still holds `generation`; done when already blank.
struct DiscardGeneration { Generation generation; std::string reason; };
// A full copy onto `dev`: wipe its md superblock, then --add it (write-mostly when it is the NBD
// leg). Never a re-add: mdadm --add of a device that still carries this array's superblock turns
// into a re-add, which copies only the chunks the bitmap marks (docs/agent.md, split brain).
struct AddMemberFull { std::string md; std::string dev; };
// The raw takeover (opt-in spool.raw_mount_fallback, docs/agent.md "Raw takeover"): when Y cannot
// be assembled as md, the standby serves Y's data area through a loop device. Nothing records
// what X misses then, so before the first write it persists the mark "Y was written outside md":
// heartbeats carry it, and the next failback copies all of Y onto X.
struct MarkRawWrites { std::string reason; };
// X was rebuilt in full from Y (the primary says MIRRORED, in sync, at our generation).
struct ClearRawWrites { std::string reason; };
// A read-write loop device over Y's md data area (metadata 1.0: from sector 0 up to the end of
// the filesystem, which md placed inside the data area), published as the symlink `link`.
struct MapRaw { std::string dev; std::string link; };
// Detach the loop device behind `link` (only when it maps `dev`) and remove the link.
struct UnmapRaw { std::string dev; std::string link; };
// Failback after a raw takeover: assemble md from `dev` (the NBD leg, Y) alone; when Y carries no
// md superblock (the reason the standby went raw), create a degraded metadata-1.0 array over it,
// which keeps the data at sector 0, and check that the filesystem fits in it.
struct AssembleFromRaw { std::string md; std::string dev; };
}  // namespace step

using Step = std::variant<step::StopExport, step::StartExport, step::RunFence, step::BumpGeneration,
                          step::AdoptGeneration, step::AttachNbd, step::DetachNbd, step::ReconnectNbd, step::AssembleDegraded,
                          step::AssembleMirror, step::StopMirror, step::FailMember, step::ReAddMember, step::RestoreWriteMostly, step::MergeBitmap,
                          step::Fsck, step::Mount, step::Unmount, step::ProbeAddress, step::AddAddress,
                          step::SendGarp, step::RemoveAddress, step::StartUnit, step::StopUnit,
                          step::RunHook, step::NotifyPeer,
                          step::DiscardGeneration, step::AddMemberFull, step::MarkRawWrites, step::ClearRawWrites,
                          step::MapRaw, step::UnmapRaw, step::AssembleFromRaw>;

std::string name_of(const Step& s);    // "Mount"
std::string to_string(const Step& s);  // "Mount dev=/dev/md/haspool dir=/var/spool/mail fs=ext4"
// The step that takes back what `s` acquired (Mount -> Unmount, AddAddress -> RemoveAddress,
// StartUnit -> StopUnit, Assemble* -> StopMirror, AttachNbd -> DetachNbd, MapRaw -> UnmapRaw); none for steps that
// acquire nothing or cannot be taken back safely (StopExport, BumpGeneration, RunFence,
// DiscardGeneration, AddMemberFull, MarkRawWrites: the mark stays until X is rebuilt, ...).
std::optional<Step> undo_of(const Step& s);

// One line per step, numbered ("1. StopExport"), as `haspool plan` prints them.
std::string transcript(const std::vector<Step>& steps);

}  // namespace haspool::agent
