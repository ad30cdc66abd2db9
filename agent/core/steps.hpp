#pragma once
// Steps are data: what a Decision asks the System to do, in order. A step is the whole
// instruction: Plans fills every field from the configuration it reads at that moment, and the
// executor (LinuxSystem) runs exactly what the step carries and holds no configuration of its
// own, so a reload is what the next plan runs. Each is idempotent when performed (check, then
// act), prints as one transcript line (`haspool plan`, logs, golden tests) and in full
// (`haspool plan --verbose`), and may have an undo that the step runner performs when a later
// step fails.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "agent/core/types.hpp"

namespace haspool::agent {

// A command's extra environment (on top of the command runner's PATH and LC_ALL=C).
using Environment = std::map<std::string, std::string>;

// What the kernel NBD client is told besides the server (blockdev/nbd_attach.hpp).
// nbd.tls on one end of the NBD link. required: STARTTLS with `keys` (the server admits any of
// them by identity; the client tries them in order, each on a fresh connection), and a peer
// without TLS or without the key is refused. The keys are the whole instruction, as every
// other field: a reload that rotates the secret plans the next step with the new ones.
struct NbdTlsSpec {
    bool required = false;
    std::vector<config::NbdTlsKey> keys;
};

struct NbdLink {
    Millis io_timeout;         // nbd.io_timeout: NBD_ATTR_TIMEOUT
    Millis dead_conn_timeout;  // nbd.dead_conn_timeout: NBD_ATTR_DEAD_CONN_TIMEOUT
    unsigned connections;
    uint32_t block_size;
    Millis connect_timeout;    // how long the attach (or reconnect) may take to reach the server
    NbdTlsSpec tls;            // the primary's side: the handshake's keys go into the socket (kTLS)
};

namespace step {
struct StopExport {};                                  // close NBD sessions, refuse new ones
// Export Y to the primary: `dev` on listen_address:port as `export_name`, to `allow` only.
struct StartExport {
    std::string dev;
    std::string listen_address;
    uint16_t port;
    std::string export_name;
    std::vector<std::string> allow;
    std::string description;
    NbdTlsSpec tls;
};
// Exit 0 = `peer` fenced. `env` is the documented environment (HASPOOL_PEER, _NODE, _EVENT).
struct RunFence { std::vector<std::string> argv; Millis timeout; Environment env; std::string peer; };
struct BumpGeneration { std::string reason; };         // mint and persist a new data generation
struct AdoptGeneration { Lineage lineage; std::string reason; };  // take the source's after a resync
// `md`: the array a connected /dev/nbd<index> may still be a (failed) leg of.
struct AttachNbd { std::string address; uint16_t port; std::string export_name; unsigned index; NbdLink link; std::string md; };
struct DetachNbd { unsigned index; };
// After NBD_CMD_LINK_DEAD: fresh socket(s) to the same export, NBD_CMD_RECONFIGURE (docs/design.md §4 link blip)
struct ReconnectNbd { std::string address; uint16_t port; std::string export_name; unsigned index; NbdLink link; };
struct AssembleDegraded { std::string md; std::string dev; };  // md from one leg (bitmap records the rest)
// create: mdadm --create (named `name`, bitmap chunk in KiB or 0: mdadm's, write-behind or 0),
// then `mkfs` (its argv, bounded by mkfs_timeout) on the new array. force: create over a filesystem.
struct AssembleMirror {
    std::string md; std::string local; std::string remote; bool create; bool force;
    std::string name; unsigned bitmap_chunk_kib; unsigned write_behind;
    std::vector<std::string> mkfs; Millis mkfs_timeout;
};
struct StopMirror { std::string md; };
struct FailMember { std::string md; std::string dev; };  // fail + remove a leg we know is gone
struct ReAddMember { std::string md; std::string dev; }; // --re-add (bitmap resync), writemostly for NBD
struct RestoreWriteMostly { std::string md; std::string dev; };  // the NBD leg back to write-mostly after a resync
struct MergeBitmap { std::string md; std::string from; };  // OR a returning leg's dirty bits into the array (docs/design.md §7)
// `dir`: where the spool is mounted; a `dev` already mounted there was checked before it was.
struct Fsck { std::string dev; config::Filesystem fs; Millis timeout; std::string dir; };
struct Mount { std::string dev; std::string dir; config::Filesystem fs; std::vector<std::string> options; Millis timeout; };
// Unmounts `dir` when one of `devices` (the array; on the standby also the raw mapping of Y) is
// what is mounted there; refuses anything else.
struct Unmount { std::string dir; std::vector<std::string> devices; };
struct ProbeAddress { std::string interface; std::string cidr; Millis timeout; };  // fails when answered
struct AddAddress { std::string interface; std::string cidr; };
// `count` announcements `interval` apart now; then service.garp's repeat burst and refresh.
struct SendGarp {
    std::string interface; std::string cidr; unsigned count; Millis interval;
    unsigned repeat_count; Millis repeat_after; Millis refresh;
};
struct RemoveAddress { std::string interface; std::string cidr; };
struct StartUnit { std::string name; Millis timeout; };
struct StopUnit { std::string name; Millis timeout; };
// `env`: HASPOOL_EVENT, _NODE, _PEER from the plan; the executor adds the run-time situation
// (HASPOOL_STATE, _GENERATION, _REASON: the node's state and data generation when it runs).
struct RunHook { std::string name; std::vector<std::string> argv; Millis timeout; Environment env; };
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
// md failed X on the primary (docs/faults.md, loss of X): persist "X is lost" before anything
// else, so a restart never assembles from the stale X (PersistedMark::x_lost). `dev` is X.
struct MarkXLost { std::string dev; std::string reason; };
// md copied Y onto a new X in full: X counts again.
struct ClearXLost { std::string reason; };
// A read-write loop device over Y's md data area (metadata 1.0: from sector 0 up to the end of
// the filesystem `fs`, which md placed inside the data area), published as the symlink `link`.
struct MapRaw { std::string dev; std::string link; config::Filesystem fs; };
// Detach the loop device behind `link` (only when it maps `dev`) and remove the link.
struct UnmapRaw { std::string dev; std::string link; };
// Failback after a raw takeover: assemble md from `dev` (the NBD leg, Y) alone; when Y carries no
// md superblock (the reason the standby went raw), create a degraded metadata-1.0 array over it
// (named `name`, bitmap chunk in KiB or 0), which keeps the data at sector 0, and check that the
// filesystem `fs` fits in it.
struct AssembleFromRaw { std::string md; std::string dev; std::string name; unsigned bitmap_chunk_kib; config::Filesystem fs; };
}  // namespace step

using Step = std::variant<step::StopExport, step::StartExport, step::RunFence, step::BumpGeneration,
                          step::AdoptGeneration, step::AttachNbd, step::DetachNbd, step::ReconnectNbd, step::AssembleDegraded,
                          step::AssembleMirror, step::StopMirror, step::FailMember, step::ReAddMember, step::RestoreWriteMostly, step::MergeBitmap,
                          step::Fsck, step::Mount, step::Unmount, step::ProbeAddress, step::AddAddress,
                          step::SendGarp, step::RemoveAddress, step::StartUnit, step::StopUnit,
                          step::RunHook, step::NotifyPeer,
                          step::DiscardGeneration, step::AddMemberFull, step::MarkRawWrites, step::ClearRawWrites,
                          step::MarkXLost, step::ClearXLost, step::MapRaw, step::UnmapRaw, step::AssembleFromRaw>;

std::string name_of(const Step& s);    // "Mount"
// One line, as transcripts and the daemon's log show it: the fields that tell one plan from
// another ("Mount dev=/dev/md/haspool dir=/var/spool/mail fs=ext4"). Golden tests pin it.
std::string to_string(const Step& s);
// The whole instruction: to_string() and every other field the executor uses (environment,
// timeouts, devices, the mkfs command...), as `haspool plan --verbose` prints it
// ("Mount dev=/dev/md/haspool dir=/var/spool/mail fs=ext4 timeout=60000ms").
std::string describe(const Step& s);
// The step that takes back what `s` acquired, carrying all it needs (Mount -> Unmount of that
// device, AddAddress -> RemoveAddress,
// StartUnit -> StopUnit, Assemble* -> StopMirror, AttachNbd -> DetachNbd, MapRaw -> UnmapRaw); none for steps that
// acquire nothing or cannot be taken back safely (StopExport, BumpGeneration, RunFence,
// DiscardGeneration, AddMemberFull, MarkRawWrites: the mark stays until X is rebuilt, ...).
std::optional<Step> undo_of(const Step& s);

// One line per step, numbered ("1. StopExport"), as `haspool plan` prints them.
std::string transcript(const std::vector<Step>& steps);

}  // namespace haspool::agent
