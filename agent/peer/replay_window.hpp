#pragma once
// Which sequence numbers of one run of the peer were already accepted: a sliding window of the
// newest kSize numbers, as IPsec's anti-replay window (RFC 4303 §3.4.3). A number above the
// newest is new; one inside the window is new once; one below it is too old to tell and refused.
// So a datagram that a slower path delivers after a faster path's later ones is accepted, and
// each number is accepted once. Pure; check() before authentication is not needed (callers run
// it after the HMAC), mark() only for a datagram that was accepted.
#include <array>
#include <cstdint>

namespace haspool::agent {

class ReplayWindow {
public:
    // With one counter over every path and message type, a path may lag the fastest one by
    // about kSize / (number of paths) heartbeat intervals (256 s at 2 paths and 500 ms) before
    // its datagrams fall out of the window.
    static constexpr uint64_t kSize = 1024;
    enum class Verdict { fresh, duplicate, too_old };

    Verdict check(uint64_t sequence) const;
    void mark(uint64_t sequence);
    uint64_t newest() const { return newest_; }

private:
    bool bit(uint64_t sequence) const { return (bits_[(sequence % kSize) / 64] >> (sequence % 64)) & 1U; }
    void set(uint64_t sequence, bool on);

    uint64_t newest_ = 0;  // 0: nothing accepted yet (sequences start at 1)
    std::array<uint64_t, kSize / 64> bits_{};  // bit (s % kSize): s was accepted, for s in the window
};

}  // namespace haspool::agent
