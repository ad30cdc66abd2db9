#pragma once
// `haspool plan failback` on a live cluster (issue 15 item 7): what a failback would do now.
// The primary's machine says whether one can run and which steps each node would take
// (preview_failback, pure, changes nothing); the daemons add what md would copy — the dirty
// chunks of X's bitmap (read on the primary) and of Y's (read on the standby, sent in its
// report) — md's last measured resync speed, and how long the last handback kept mail away.
// render_failback_preview turns those facts into the lines the operator reads. Pure.
//
// What md copies at a failback is the union of both bitmaps (MergeBitmap marks X's chunks in
// the array assembled from Y, then the re-add copies every marked chunk): at least the larger
// of the two counts, at most their sum. Without the bits themselves (Y's stay on the standby)
// the preview gives that range, never a guess inside it. A full copy (X blank, lost, or Y
// written outside md) copies the whole device.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/core/primary_machine.hpp"
#include "agent/core/steps.hpp"

namespace haspool::agent {

struct FailbackPreview {
    std::string why_not;              // empty: a failback can run now
    std::vector<Step> handback;       // the standby's part
    std::vector<Step> failback;       // the primary's part
    std::string full_copy;            // why X gets a full copy; empty: a re-add with the bitmap union
};
// From the primary's machine as it stands (STANDING_BY, having heard the standby).
FailbackPreview preview_failback(const config::Config& c, const PrimaryMachine& m);

// One member's write-intent bitmap in figures (mdadm --examine-bitmap), or why it is unknown.
struct BitmapFigures {
    uint64_t dirty = 0;        // chunks marked dirty
    uint64_t chunks = 0;       // chunks in the bitmap
    uint64_t chunk_bytes = 0;
    std::string error;         // set: the figures above mean nothing
};

struct FailbackPreviewFacts {
    std::string primary, standby;
    FailbackPreview plan;
    std::optional<BitmapFigures> x;  // nullopt: not read (a full copy needs no bitmap)
    std::optional<BitmapFigures> y;  // nullopt: the standby did not answer
    std::optional<uint64_t> speed_bytes_per_second;  // md's last measured resync speed here
    std::optional<Millis> last_handback;             // the standby's last HANDBACK
    std::optional<Millis> last_failback;             // this node's last FAILBACK
};

// "failback preview (asked alpha's and beta's daemons):\n  on beta, the handback:\n    1. ...",
// then "  md will copy: ..." and "  handback downtime: ...".
std::string render_failback_preview(const FailbackPreviewFacts& f);

}  // namespace haspool::agent
