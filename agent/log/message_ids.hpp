#pragma once
// The journald MESSAGE_IDs of what an operator alerts on (issue 15 item 6). Each has an entry in
// scripts/debian/haspool.catalog, which the package installs and `journalctl -x` shows beside
// the line: what happened, what haspool did, what to do. tests/cli/catalog.sh keeps this file
// and the catalog in step. An ID never changes meaning once released: a new meaning gets a new
// ID (journalctl --new-id128).
#include <string_view>

namespace haspool::log {

inline constexpr const char* kMessageTakeover = "17f3531a6cee477b88a0334c92bbc3cd";    // the standby takes over
inline constexpr const char* kMessageSplitBrain = "3b425a4928954f75858b11143d0ba61b";  // both nodes wrote
inline constexpr const char* kMessageHalted = "0fcd05ab5e394aef8ccc30350a5700f0";      // stopped in the safe state
inline constexpr const char* kMessageXLost = "49a288970c0a4b85958b316da928181d";       // the primary serves from Y alone
inline constexpr const char* kMessageYFailed = "d12bf3dedbee4bd9978be16968815780";     // Y answers I/O errors

// The ID of a transition into `state`, or nullptr for a state that has none.
inline const char* message_id_for_state(std::string_view state) {
    if (state == "TAKEOVER") return kMessageTakeover;
    if (state == "SPLIT_BRAIN") return kMessageSplitBrain;
    if (state == "HALTED") return kMessageHalted;
    if (state == "DISKLESS") return kMessageXLost;
    return nullptr;
}

}  // namespace haspool::log
