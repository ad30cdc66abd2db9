#pragma once
// Which authenticated datagrams from the peer count (docs/agent.md "Clocks and replay
// protection"). Pure, and it reads no clock at all: freshness comes from boot ids, order from
// sequence numbers and from this node's own stamps echoed back.
//   - Fresh for this run: the datagram's peer-boot field carries this node's boot id, 128 random
//     bits drawn at this start. Nothing recorded before this start can carry it, so neither a
//     restarted receiver nor a later run of it can be fed old datagrams. Such a datagram is
//     refused as "unconfirmed" (both nodes see one or two at every start, until each has heard
//     the other's boot id).
//   - Once per run of the peer: each sequence number of the peer's current run is accepted once,
//     in any order, within a sliding window (replay_window.hpp): a slower path is not a replay.
//   - Runs of the peer in order: a datagram from another run of the peer is a new run only if it
//     echoes a stamp of ours newer than any the current run echoed. A run that ended before the
//     current one began heard only older stamps of ours, so its datagrams (even ones never
//     delivered before) are refused as "old-boot", as are the retired runs' boot ids.
// Every refusal is counted by reason. The peer's wall clock is not judged here.
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "agent/peer/heartbeat_codec.hpp"
#include "agent/peer/replay_window.hpp"

namespace haspool::agent {

class PeerGate {
public:
    // `own_boot` is this run's boot id (new_boot_id()); `keys` what this node holds.
    PeerGate(std::string cluster, std::string peer_name, KeyRing keys, BootId own_boot);

    // One datagram as it arrived on any path.
    Decoded accept(const uint8_t* data, size_t size);

    // What this node's datagrams put in their peer-boot field: the peer's confirmed run, or
    // while none is confirmed the newest run heard (zeros: none heard yet).
    BootId echo_boot() const;
    // The peer's confirmed run (nullopt: none yet).
    std::optional<BootId> peer_run() const;

    // Keys: accept current or next; sign with next once the peer has shown it holds it too (it
    // advertised the same next key, or signed with it), else with current.
    void set_keys(KeyRing keys);
    const KeyRing& keys() const { return keys_; }
    const std::string& signing_key() const { return signs_with_next() ? keys_.next : keys_.current; }
    bool signs_with_next() const { return !keys_.next.empty() && peer_holds_next_; }
    bool peer_holds_next() const { return peer_holds_next_; }

    const std::map<Reject, uint64_t>& rejected() const { return rejected_; }
    uint64_t accepted() const { return accepted_; }

private:
    Decoded refuse(Decoded d);
    void note_keys(const Message& m, bool fresh);

    struct PeerRun {
        BootId boot;
        ReplayWindow window;
        uint64_t newest_echo = 0;  // the newest stamp of ours this run echoed
    };

    std::string cluster_, peer_;
    KeyRing keys_;
    BootId own_boot_;
    std::optional<PeerRun> run_;
    std::optional<BootId> heard_;  // the newest run heard while none is confirmed
    std::deque<BootId> retired_;   // bounded: the runs the current one replaced, newest last
    bool peer_holds_next_ = false;
    std::map<Reject, uint64_t> rejected_;
    uint64_t accepted_ = 0;
};

// A fresh random boot id (each daemon start).
BootId new_boot_id();

}  // namespace haspool::agent
