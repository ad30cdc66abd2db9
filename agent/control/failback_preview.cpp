#include "agent/control/failback_preview.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace haspool::agent {

FailbackPreview preview_failback(const config::Config& c, const PrimaryMachine& m) {
    FailbackPreview p;
    const std::string self = c.primary().name, peer = c.standby().name;
    if (m.state() != PrimaryState::STANDING_BY) {
        p.why_not = self + " is " + std::string(to_string(m.state())) +
                    ", not STANDING_BY: there is no service on " + peer + " to fail back from";
        return p;
    }
    if (!m.peer() || m.peer()->primary) {
        p.why_not = peer + " has not been heard since " + self + "'s daemon started";
        return p;
    }
    const PeerStatus& s = *m.peer();
    // The same facts consider_peer() decides the failback from (primary_machine.cpp).
    const bool x_blank = m.lineage().current == Generation::blank();
    const bool y_raw = s.md == MirrorHealth::raw_written;
    if (x_blank) p.full_copy = "X's data was discarded (its generation is blank)";
    else if (y_raw) p.full_copy = "Y was written outside md (a raw takeover): X's bitmap and Y's know nothing of those writes";
    else if (m.x_lost()) p.full_copy = "md had failed X (the x-lost mark): what it holds is unknown";
    Plans plans(c);
    p.handback = plans.handback(y_raw);
    p.failback = plans.failback(s.lineage, x_blank, y_raw, m.x_lost());
    return p;
}

namespace {

std::string mib(uint64_t bytes) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    return b;
}

std::string seconds(double s) {
    char b[32];
    std::snprintf(b, sizeof b, s < 10 ? "%.1fs" : "%.0fs", s);
    return b;
}

void steps(std::ostringstream& o, const std::string& head, const std::vector<Step>& list) {
    o << "  " << head << ":\n";
    for (size_t i = 0; i < list.size(); ++i) o << "    " << i + 1 << ". " << to_string(list[i]) << "\n";
}

}  // namespace

std::string render_failback_preview(const FailbackPreviewFacts& f) {
    std::ostringstream o;
    if (!f.plan.why_not.empty()) {
        o << "no failback to preview: " << f.plan.why_not << "\n";
        return o.str();
    }
    o << "failback preview (asked " << f.primary << "'s daemon" << (f.y ? " and " + f.standby + "'s" : std::string()) << "):\n";
    steps(o, "on " + f.standby + " (standby), the handback", f.plan.handback);
    steps(o, "on " + f.primary + " (primary), the failback", f.plan.failback);

    // The device: whichever bitmap was read says how many chunks of what size it covers.
    const BitmapFigures* shape = nullptr;
    for (const auto* b : {f.y ? &*f.y : nullptr, f.x ? &*f.x : nullptr})
        if (b && b->error.empty() && b->chunks > 0 && !shape) shape = b;
    const std::optional<uint64_t> device = shape ? std::optional<uint64_t>(shape->chunks * shape->chunk_bytes) : std::nullopt;

    std::optional<uint64_t> low, high;
    o << "  md will copy: ";
    if (!f.plan.full_copy.empty()) {
        o << "all of it, " << (device ? mib(*device) : std::string("the whole device")) << " (X is added in full: "
          << f.plan.full_copy << ")\n";
        if (device) low = high = device;
    } else {
        auto said = [](const std::string& who, const std::optional<BitmapFigures>& b, const std::string& missing) {
            if (!b) return who + "'s bitmap: " + missing;
            if (!b->error.empty()) return who + "'s bitmap: " + b->error;
            return who + " " + std::to_string(b->dirty) + " of " + std::to_string(b->chunks) + " chunk(s) dirty";
        };
        const bool x_ok = f.x && f.x->error.empty(), y_ok = f.y && f.y->error.empty();
        if (x_ok && y_ok) {
            uint64_t chunk = std::max(f.x->chunk_bytes, f.y->chunk_bytes);
            low = std::max(f.x->dirty, f.y->dirty) * chunk;
            high = std::min(f.x->dirty + f.y->dirty, std::max(f.x->chunks, f.y->chunks)) * chunk;
            o << "between " << mib(*low) << " and " << mib(*high);
        } else if (y_ok || x_ok) {
            const BitmapFigures& b = y_ok ? *f.y : *f.x;
            low = b.dirty * b.chunk_bytes;
            o << "at least " << mib(*low) << " (the other bitmap is unknown)";
        } else {
            o << "unknown";
        }
        if (device) o << " of " << mib(*device);
        if (shape) o << ", in chunks of " << shape->chunk_bytes / 1024 << " KiB";
        o << " (" << said("X", f.x, "not read") << "; "
          << said("Y", f.y, f.standby + " did not answer") << "; md copies their union)\n";
    }
    o << "  copy time: ";
    if (!f.speed_bytes_per_second || *f.speed_bytes_per_second == 0) o << "md has not measured a resync speed since this daemon started\n";
    else if (!low) o << "unknown (the size is)\n";
    else {
        double lo = static_cast<double>(*low) / static_cast<double>(*f.speed_bytes_per_second);
        double hi = static_cast<double>(high.value_or(*low)) / static_cast<double>(*f.speed_bytes_per_second);
        o << (lo == hi || !high ? "about " + seconds(lo) : "about " + seconds(lo) + " to " + seconds(hi)) << " at "
          << mib(*f.speed_bytes_per_second) << "/s (md's last measured resync speed), with mail served meanwhile\n";
    }
    o << "  handback downtime: ";
    if (f.last_handback && f.last_failback)
        o << "about " << format_duration(*f.last_handback + *f.last_failback) << " as last time (" << f.standby
          << "'s HANDBACK " << format_duration(*f.last_handback) << " + " << f.primary << "'s FAILBACK "
          << format_duration(*f.last_failback) << ")\n";
    else
        o << "not measured yet (no " << (f.last_handback ? "failback on " + f.primary : "handback on " + f.standby)
          << " since its daemon started)\n";
    return o.str();
}

}  // namespace haspool::agent
