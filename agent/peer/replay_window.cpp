#include "agent/peer/replay_window.hpp"

namespace haspool::agent {

ReplayWindow::Verdict ReplayWindow::check(uint64_t sequence) const {
    if (sequence > newest_) return Verdict::fresh;
    if (sequence == 0 || newest_ - sequence >= kSize) return Verdict::too_old;
    return bit(sequence) ? Verdict::duplicate : Verdict::fresh;
}

void ReplayWindow::set(uint64_t sequence, bool on) {
    uint64_t& word = bits_[(sequence % kSize) / 64];
    uint64_t mask = uint64_t{1} << (sequence % 64);
    word = on ? (word | mask) : (word & ~mask);
}

void ReplayWindow::mark(uint64_t sequence) {
    if (sequence > newest_) {
        // The window slides up: the numbers between the old newest and this one were not seen.
        if (sequence - newest_ >= kSize) bits_.fill(0);
        else
            for (uint64_t s = newest_ + 1; s < sequence; ++s) set(s, false);
        newest_ = sequence;
    }
    set(sequence, true);
}

}  // namespace haspool::agent
