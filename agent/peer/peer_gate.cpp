#include "agent/peer/peer_gate.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace haspool::agent {

namespace {

constexpr size_t kRetiredRuns = 16;

Decoded refusal(Reject r, std::string detail) {
    Decoded d;
    d.reject = r;
    d.detail = std::move(detail);
    return d;
}

std::string short_id(const BootId& b) { return to_hex(b.data(), 4); }

bool zero(const BootId& b) {
    return std::all_of(b.begin(), b.end(), [](uint8_t v) { return v == 0; });
}

}  // namespace

PeerGate::PeerGate(std::string cluster, std::string peer_name, KeyRing keys, BootId own_boot)
    : cluster_(std::move(cluster)), peer_(std::move(peer_name)), keys_(std::move(keys)), own_boot_(own_boot) {}

Decoded PeerGate::refuse(Decoded d) {
    ++rejected_[d.reject];
    d.message.reset();
    return d;
}

BootId PeerGate::echo_boot() const {
    if (run_) return run_->boot;
    return heard_.value_or(BootId{});
}

std::optional<BootId> PeerGate::peer_run() const {
    if (run_) return run_->boot;
    return std::nullopt;
}

void PeerGate::set_keys(KeyRing keys) {
    if (keys.next != keys_.next) peer_holds_next_ = false;  // proof about another key proves nothing
    keys_ = std::move(keys);
}

// Whether the peer holds our next key. A fresh datagram says how things are now; an
// unconfirmed one (perhaps replayed) may only say yes: a replay can then make us sign with a
// key the peer dropped until its next fresh datagram, but never keep us from switching.
void PeerGate::note_keys(const Message& m, bool fresh) {
    if (keys_.next.empty()) return;
    KeyId next = key_id(keys_.next);
    bool holds = m.key_id == next || m.next_key_id == next;
    if (fresh) peer_holds_next_ = holds;
    else if (holds) peer_holds_next_ = true;
}

Decoded PeerGate::accept(const uint8_t* data, size_t size) {
    Decoded d = decode(data, size, keys_);
    if (!d.message) return refuse(std::move(d));
    const Message& m = *d.message;
    if (m.cluster != cluster_)
        return refuse(refusal(Reject::foreign_cluster, "cluster '" + m.cluster + "', this is '" + cluster_ + "'"));
    if (m.sender != peer_)
        return refuse(refusal(Reject::unknown_node, "sender '" + m.sender + "' is not the peer '" + peer_ + "'"));

    if (m.peer_boot != own_boot_) {
        // Authentic, but not provably sent during this run of ours. Its boot id is still worth
        // echoing while no run is confirmed: that is how the two runs find each other.
        note_keys(m, false);
        Decoded r = refusal(Reject::unconfirmed,
                            "run " + short_id(m.boot_id) + " of " + peer_ + " does not echo this run's boot id (" +
                                (zero(m.peer_boot) ? std::string("it has heard none yet") : "it echoes " + short_id(m.peer_boot)) +
                                "): sent before it heard this run, or recorded earlier; normal for an interval after either starts");
        if (!run_) {
            heard_ = m.boot_id;
            r.echo = Decoded::Echo{m.boot_id, m.stamp_ms};
        }
        return refuse(std::move(r));
    }

    if (run_ && m.boot_id == run_->boot) {
        switch (run_->window.check(m.sequence)) {
            case ReplayWindow::Verdict::duplicate:
                return refuse(refusal(Reject::replayed, "sequence " + std::to_string(m.sequence) + " of run " + short_id(m.boot_id) +
                                                            " was accepted before (newest " +
                                                            std::to_string(run_->window.newest()) + ")"));
            case ReplayWindow::Verdict::too_old:
                return refuse(refusal(Reject::too_old, "sequence " + std::to_string(m.sequence) + " is more than " +
                                                           std::to_string(ReplayWindow::kSize) + " behind the newest, " +
                                                           std::to_string(run_->window.newest()) +
                                                           " (a path that far behind, or a replay)"));
            case ReplayWindow::Verdict::fresh: break;
        }
        d.newest = m.sequence > run_->window.newest();
        run_->window.mark(m.sequence);
        run_->newest_echo = std::max(run_->newest_echo, m.echo_stamp_ms);
    } else {
        if (std::find(retired_.begin(), retired_.end(), m.boot_id) != retired_.end())
            return refuse(refusal(Reject::old_boot, "run " + short_id(m.boot_id) + " of " + peer_ + " ended before the current one, " +
                                                        short_id(run_->boot)));
        if (run_ && m.echo_stamp_ms <= run_->newest_echo)
            return refuse(refusal(Reject::old_boot, "run " + short_id(m.boot_id) + " of " + peer_ + " echoes this node's stamp " +
                                                        std::to_string(m.echo_stamp_ms) + ", the current run " +
                                                        short_id(run_->boot) + " already echoed " +
                                                        std::to_string(run_->newest_echo) + ": an earlier run"));
        if (run_) {
            retired_.push_back(run_->boot);
            if (retired_.size() > kRetiredRuns) retired_.pop_front();
        }
        run_ = PeerRun{m.boot_id, ReplayWindow{}, m.echo_stamp_ms};
        run_->window.mark(m.sequence);
        heard_.reset();
        d.new_run = true;
        d.newest = true;
    }
    note_keys(m, true);
    d.echo = Decoded::Echo{m.boot_id, m.stamp_ms};
    ++accepted_;
    return d;
}

BootId new_boot_id() {
    BootId id{};
    if (RAND_bytes(id.data(), static_cast<int>(id.size())) != 1) throw std::runtime_error("RAND_bytes failed");
    return id;
}

}  // namespace haspool::agent
