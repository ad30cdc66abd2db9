// libFuzzer target for what the agent reads from mdadm's reports: `mdadm --examine-bitmap`
// (parse_examine_bitmap, `haspool debug md-examine-bitmap` and the failback's log of what a
// resync copies) and the "Events" of `mdadm --detail`/`--examine` (parse_events).
//
// Input: mdadm's output, as text.
//
// What must hold: a summary or a sentence, never both; a summary exists only for a bitmap
// ("Magic : 6d746962"); its event count is the one parse_events reads from the same text.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "raid/md_bitmap.hpp"

using namespace haspool::raid;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    BitmapSummaryResult r = parse_examine_bitmap(text);
    check(r.summary.has_value() != !r.error.empty());
    auto events = parse_events(text);
    if (r.summary) {
        check(text.find("6d746962") != std::string::npos);
        if (events) check(*events == r.summary->events);
    }
    return 0;
}
