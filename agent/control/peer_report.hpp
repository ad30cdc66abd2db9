#pragma once
// The status a daemon sends its peer's daemon when `haspool status` there asks (issue 15 item
// 1): this node as it sees itself — role, state, generation, data state, the NBD leg or the
// array, each heartbeat path's age and round trip, the last transitions with their reasons —
// as compact JSON that fits one report datagram (heartbeat_codec.hpp, kMaxReport). And the
// other half: the lines and the JSON object the asking node shows for such a report. Pure.
//
// The payload comes from an authenticated peer but is still read field by field, each checked
// for its type: an unexpected one is left out rather than trusted, so a newer peer's extra keys
// and an older peer's missing ones both show what can be shown.
#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "agent/control/status_report.hpp"

namespace haspool::agent {

// The report's schema version (its "version"); the same rule as the status JSON's.
constexpr int kPeerReportVersion = 1;

// At most `cap` bytes of JSON. Long reasons are cut and the oldest transitions left out until
// it fits; "trimmed": true says something was.
std::string peer_report_payload(const StatusReport& r, size_t cap);

// The report as `status --json` shows it under "peer"."report" (the keys it knows, each of its
// documented type); null when the payload is not a JSON object.
nlohmann::ordered_json peer_report_json(const std::string& payload);

// Lines for `haspool status`, each ending in "\n": "standby beta: EXPORTING for 5m3s (its own
// answer over the peer channel, in 3ms)", then its details indented.
std::string peer_report_text(const std::string& payload, Millis answered_in);

}  // namespace haspool::agent
