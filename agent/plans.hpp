#pragma once
// The ordered step lists of every flow in DESIGN §4, built from the configuration alone. The
// machines pick one and `haspool plan` prints them; golden transcripts pin their order.
#include <string>
#include <vector>

#include "config.hpp"
#include "steps.hpp"

namespace haspool::agent {

class Plans {
public:
    explicit Plans(const config::Config& c) : c_(c) {}

    // Standby: stop exporting, probe the VIP, fence (unless planned: the primary stopped itself),
    // bump the generation, assemble Y degraded, fsck, mount, VIP + gratuitous ARP, units.
    std::vector<Step> takeover(bool planned) const;
    // Standby: units down, VIP down, unmount, stop md, export Y again, tell the primary.
    std::vector<Step> handback() const;
    // Primary: attach the NBD leg and assemble; when X is newer than Y, assemble from X and
    // re-add the NBD leg (resync X->Y); create the array only with --init.
    std::vector<Step> connect(bool x_newer, bool create, bool force = false) const;
    // Primary: the standby is gone; fail its leg, mint a generation, tell it (if it hears).
    std::vector<Step> degrade() const;
    // Primary: the standby is back; re-attach and re-add its leg (bitmap resync X->Y).
    std::vector<Step> resync() const;
    // Primary, planned switchover: stop serving and tell the standby to take over.
    std::vector<Step> handover() const;
    // Primary, after the standby handed back: take Y's lineage, assemble from Y, merge X's
    // bitmap and re-add X (resync Y->X), mount while resyncing, VIP, units.
    std::vector<Step> failback(const Lineage& source) const;
    // Primary, --force-solo: serve from X alone without hearing the standby.
    std::vector<Step> solo() const;
    // Either node: stop serving (units, VIP, mount) — the safe state after a failure.
    std::vector<Step> stop_serving(const config::Node& self) const;

    const config::Config& config() const { return c_; }

private:
    std::string nbd_device() const;
    void add_hook(std::vector<Step>& s, const char* name, const std::vector<std::string>& argv) const;
    void serve(std::vector<Step>& s, const config::Node& self, const std::string& dev, bool fsck) const;

    const config::Config& c_;
};

}  // namespace haspool::agent
