// libFuzzer target for the peer protocol (wire version 2): datagrams through decode() and one
// PeerGate of a fixed run of this node (kOwnBoot), holding a current key and, as the input
// says, a next one (a secret rotation).
//
// Input, repeated (at most kMaxRecords times; the rest is ignored): op u8 | length u16 | length bytes.
//   op bit 0: the bytes are a datagram's fields after "HSPL", the version and the key id; the
//             target adds those and the HMAC, so the fuzzer reaches the checks behind the HMAC;
//   op bits 1-2, with bit 0: the key it signs with: 0 current, 1 next, 2 a key this node does
//             not hold (its own id), 3 the current key's id with another key's HMAC;
//   op bit 3, with bit 0: put this node's boot id in the peer-boot field (where the fields
//             reach it), so the fuzzer need not guess 16 bytes to pass the freshness check;
//   op bit 4: before this datagram, the gate's next key comes or goes (set_keys).
// Without bit 0 the bytes are the datagram as it arrives (the seeds hold real ones signed with
// kCurrent or kNext, echoing kOwnBoot).
//
// What must hold, checked apart from the gate's own bookkeeping:
//   - a datagram decode() accepts re-encodes to the same bytes with the key its id names;
//   - the gate accepts nothing with a wrong HMAC or a key it does not hold, from another
//     cluster or node, or not echoing this run's boot id;
//   - the same bytes are never accepted twice, however many runs of the peer come between
//     (the finding of the version 1 gate, which forgot a run after 9 restarts, re-checked);
//   - within one run of the peer each sequence number is accepted once and never more than the
//     window's size below the newest; `newest` says whether it was above every one before;
//   - a datagram of another run is accepted only as a new run that echoes a stamp of ours newer
//     than any accepted datagram echoed before (runs in order), and never a run among the 16
//     the gate retired last;
//   - every refusal is counted once and says why, and changes neither the confirmed run nor the
//     count of accepted ones; the gate signs with the next key only while it holds one.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "../fuzz_input.hpp"
#include "agent/peer/heartbeat_codec.hpp"
#include "agent/peer/peer_gate.hpp"
#include "agent/peer/replay_window.hpp"

using namespace haspool::agent;

namespace {

const std::string kCurrent = "fuzz-key-0123456789abcdef";
const std::string kNext = "fuzz-key-next-0123456789ab";
const std::string kWrongKey = "fuzz-key-0123456789abcdeF";
const BootId kOwnBoot{'r', 'e', 'c', 'e', 'i', 'v', 'e', 'r', '-', 'b', 'o', 'o', 't', '-', 'i', 'd'};
constexpr size_t kRetiredRuns = 16;  // peer_gate.cpp: the runs the gate remembers as retired
// Enough for the seeds' longest story (a run, 20 restarts, the replay) and more; each datagram
// costs several HMACs, and without a bound libFuzzer's 4 KiB inputs of empty records ran at
// 5 executions a second.
constexpr size_t kMaxRecords = 48;
const KeyId kCurrentId = key_id(kCurrent), kNextId = key_id(kNext), kWrongId = key_id(kWrongKey);

void check(bool ok) {
    if (!ok) std::abort();
}

uint64_t total(const std::map<Reject, uint64_t>& m) {
    uint64_t n = 0;
    for (const auto& [r, c] : m) n += c;
    return n;
}

// The peer-boot field's offset within the fields after the key id (heartbeat_codec.hpp's
// layout): type, cluster, sender, boot id, sequence, stamp, wall. nullopt: the fields end first.
std::optional<size_t> peer_boot_offset(const std::vector<uint8_t>& f) {
    size_t off = 1;
    for (int name = 0; name < 2; ++name) {
        if (off >= f.size()) return std::nullopt;
        off += 1 + f[off];
    }
    off += 16 + 8 + 8 + 8;
    if (off + kOwnBoot.size() > f.size()) return std::nullopt;
    return off;
}

// What the target knows of the peer's runs from the datagrams the gate accepted.
struct Model {
    std::optional<BootId> run;
    std::set<uint64_t> seqs;  // accepted sequence numbers of `run`
    uint64_t newest = 0;
    uint64_t newest_echo = 0;  // the newest echo stamp any accepted datagram carried
    std::deque<BootId> retired;
    std::set<std::vector<uint8_t>> accepted;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    haspool::fuzz::FuzzInput in(data, size);
    bool holds_next = true;
    PeerGate gate("mail", "beta", KeyRing{kCurrent, kNext}, kOwnBoot);
    Model model;
    for (size_t record = 0; record < kMaxRecords && !in.empty(); ++record) {
        const uint8_t op = in.u8();
        const uint16_t len = in.u16();
        auto bytes = in.bytes(len);
        if (op & 16) {
            holds_next = !holds_next;
            gate.set_keys(KeyRing{kCurrent, holds_next ? kNext : ""});
        }
        check(!gate.signs_with_next() || holds_next);
        check(gate.signing_key() == (gate.signs_with_next() ? kNext : kCurrent));

        const bool sign = op & 1;
        const int key_choice = sign ? (op >> 1) & 3 : -1;
        std::vector<uint8_t> d;
        if (sign) {
            const std::string& mac_key = key_choice == 1 ? kNext : key_choice == 0 ? kCurrent : kWrongKey;
            std::vector<uint8_t> fields(bytes.begin(), bytes.end());
            if (op & 8)
                if (auto off = peer_boot_offset(fields)) std::copy(kOwnBoot.begin(), kOwnBoot.end(), fields.begin() + *off);
            const KeyId& id = key_choice == 1 ? kNextId : key_choice == 2 ? kWrongId : kCurrentId;
            d = {'H', 'S', 'P', 'L', kWireVersion};
            d.insert(d.end(), id.begin(), id.end());
            d.insert(d.end(), fields.begin(), fields.end());
            auto mac = hmac_sha256(mac_key, d.data(), d.size());
            d.insert(d.end(), mac.begin(), mac.end());
        } else {
            d.assign(bytes.begin(), bytes.end());
        }

        const KeyRing ring = gate.keys();
        Decoded dec = decode(d.data(), d.size(), ring);
        if (dec.message) {
            const std::string& key = dec.message->key_id == kCurrentId ? kCurrent : kNext;
            check(dec.message->key_id == (key == kCurrent ? kCurrentId : kNextId));
            check(encode(*dec.message, key) == d);
        } else {
            check(!dec.detail.empty());
        }

        const uint64_t refused_before = total(gate.rejected()), accepted_before = gate.accepted();
        const std::optional<BootId> run_before = gate.peer_run();
        Decoded g = gate.accept(d.data(), d.size());
        if (!g.message) {
            check(!g.detail.empty());
            check(total(gate.rejected()) == refused_before + 1 && gate.accepted() == accepted_before);
            check(gate.peer_run() == run_before);
            check(!g.echo || (g.reject == Reject::unconfirmed && !run_before));
            continue;
        }

        // Accepted: everything the gate promises, checked independently of it.
        check(dec.message.has_value() && key_choice != 2 && key_choice != 3);
        check(d.size() >= kHmacSize);
        const Message& m = *g.message;
        const std::string& key = m.key_id == kCurrentId ? kCurrent : kNext;
        check(key == kCurrent || !ring.next.empty());
        auto mac = hmac_sha256(key, d.data(), d.size() - kHmacSize);
        check(std::memcmp(mac.data(), d.data() + d.size() - kHmacSize, kHmacSize) == 0);
        check(encode(m, key) == d);
        check(m.cluster == "mail" && m.sender == "beta");
        check(m.peer_boot == kOwnBoot);
        check(model.accepted.insert(d).second);  // never the same bytes twice

        if (model.run && m.boot_id == *model.run) {
            check(!g.new_run);
            check(model.seqs.insert(m.sequence).second);
            check(m.sequence > model.newest || model.newest - m.sequence < ReplayWindow::kSize);
            check(g.newest == (m.sequence > model.newest));
            model.newest = std::max(model.newest, m.sequence);
        } else {
            check(g.new_run && g.newest);
            check(!model.run || m.echo_stamp_ms > model.newest_echo);
            check(std::find(model.retired.begin(), model.retired.end(), m.boot_id) == model.retired.end());
            if (model.run) {
                model.retired.push_back(*model.run);
                if (model.retired.size() > kRetiredRuns) model.retired.pop_front();
            }
            model.run = m.boot_id;
            model.seqs = {m.sequence};
            model.newest = m.sequence;
        }
        model.newest_echo = std::max(model.newest_echo, m.echo_stamp_ms);
        check(g.echo && g.echo->boot == m.boot_id && g.echo->stamp_ms == m.stamp_ms);
        check(gate.peer_run() == m.boot_id && gate.echo_boot() == m.boot_id);
        check(gate.accepted() == accepted_before + 1 && total(gate.rejected()) == refused_before);
    }
    return 0;
}
