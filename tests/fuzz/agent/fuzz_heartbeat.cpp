// libFuzzer target for the peer protocol: datagrams through decode() and one PeerGate with a
// fixed key, on a clock the input advances.
//
// Input, repeated: op u8 | length u16 | length bytes.
//   op bit 0: the bytes are a datagram's fields after "HSPL" and the version; the target adds
//             those and a valid HMAC, so the fuzzer reaches the field checks behind the HMAC;
//   op bit 1: with bit 0, sign with a wrong key instead;
//   op bits 2-7: advance the wall clock by that many 100 ms before this datagram.
// Without bit 0 the bytes are the datagram as it arrives (the seeds hold real ones, signed
// with kKey).
//
// What must hold: a datagram decode() accepts re-encodes to the same bytes; the gate never
// accepts a datagram whose HMAC under kKey is wrong, one from another cluster or node, one
// outside the clock skew, a sequence that does not grow within a boot, or the same bytes twice
// (within what today's gate remembers: the current boot id and the 8 before it; a replay after
// 9 restarts of the peer within the skew window is accepted, reported for the anti-replay
// redesign); every refusal is counted once and says why.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "../fuzz_input.hpp"
#include "agent/peer/heartbeat_codec.hpp"

using namespace haspool::agent;

namespace {

const std::string kKey = "fuzz-key-0123456789abcdef";
const std::string kWrongKey = "fuzz-key-0123456789abcdeF";
constexpr uint64_t kStart = 1'800'000'000'000;  // the seeds' timestamps lie around here
constexpr uint64_t kSkewMs = 2000;

void check(bool ok) {
    if (!ok) std::abort();
}

uint64_t total(const std::map<Reject, uint64_t>& m) {
    uint64_t n = 0;
    for (const auto& [r, c] : m) n += c;
    return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    haspool::fuzz::FuzzInput in(data, size);
    PeerGate gate("mail", "beta", kKey, std::chrono::milliseconds(kSkewMs));
    uint64_t now = kStart;
    std::optional<BootId> last_boot;
    uint64_t last_seq = 0;
    std::map<std::vector<uint8_t>, uint64_t> accepted;  // datagram -> boot changes seen when accepted
    uint64_t boot_changes = 0;
    while (!in.empty()) {
        const uint8_t op = in.u8();
        const uint16_t len = in.u16();
        auto bytes = in.bytes(len);
        now += uint64_t(op >> 2) * 100;
        const bool sign = op & 1, wrong_key = sign && (op & 2);
        std::vector<uint8_t> d;
        if (sign) {
            d = {'H', 'S', 'P', 'L', kWireVersion};
            d.insert(d.end(), bytes.begin(), bytes.end());
            auto mac = hmac_sha256(wrong_key ? kWrongKey : kKey, d.data(), d.size());
            d.insert(d.end(), mac.begin(), mac.end());
        } else {
            d.assign(bytes.begin(), bytes.end());
        }

        Decoded dec = decode(d.data(), d.size(), kKey);
        if (dec.message)
            check(encode(*dec.message, kKey) == d);
        else
            check(!dec.detail.empty());

        const uint64_t refused_before = total(gate.rejected()), accepted_before = gate.accepted();
        Decoded g = gate.accept(d.data(), d.size(), now);
        if (!g.message) {
            check(!g.detail.empty());
            check(total(gate.rejected()) == refused_before + 1 && gate.accepted() == accepted_before);
            continue;
        }
        // Accepted: everything the gate promises, checked independently of it.
        check(dec.message.has_value() && !wrong_key);
        check(d.size() >= kHmacSize);
        auto mac = hmac_sha256(kKey, d.data(), d.size() - kHmacSize);
        check(std::memcmp(mac.data(), d.data() + d.size() - kHmacSize, kHmacSize) == 0);
        const Message& m = *g.message;
        check(encode(m, kKey) == d);
        check(m.cluster == "mail" && m.sender == "beta");
        check(m.timestamp_ms <= now + kSkewMs && m.timestamp_ms + kSkewMs >= now);
        if (last_boot && m.boot_id == *last_boot) check(m.sequence > last_seq);
        if (!last_boot || m.boot_id != *last_boot) ++boot_changes;
        if (auto it = accepted.find(d); it != accepted.end()) check(boot_changes - it->second >= 10);  // a replay
        accepted[d] = boot_changes;
        check(gate.accepted() == accepted_before + 1 && total(gate.rejected()) == refused_before);
        last_boot = m.boot_id;
        last_seq = m.sequence;
    }
    return 0;
}
