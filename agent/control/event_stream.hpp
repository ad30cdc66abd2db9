#pragma once
// The lines of `haspool events` (pure): one JSON object per line, each with "version" (the
// schema's, docs/status-json.md "Events"), "type", "time_ms" (the daemon's wall clock, Unix
// milliseconds, for humans and logs: nothing orders by it) and "node". The daemon makes a line
// where it logs the same fact and hands it to the control socket's subscribers.
#include <cstdint>
#include <string>

#include "agent/control/status_report.hpp"

namespace haspool::agent {

// Wall-clock time of an event, Unix milliseconds (the daemon reads the clock, not this layer).
using UnixMillis = int64_t;

// {"type":"transition","from","to","reason","trigger","generation"}
std::string transition_event(const std::string& node, UnixMillis t, const std::string& from, const std::string& to,
                             const std::string& reason, const std::string& trigger, const std::string& generation);
// {"type":"step","step","detail","undo","ok","result","duration_ms"}: `result` is the note of an
// ok step or the error of a failed one.
std::string step_event(const std::string& node, UnixMillis t, const std::string& step, const std::string& detail,
                       bool undo, bool ok, const std::string& result, int64_t duration_ms);
// {"type":"path","path","alive","stable"}: a heartbeat path changed.
std::string path_event(const std::string& node, UnixMillis t, const std::string& path, bool alive, bool stable);
// {"type":"md","what","detail"}: what md or the NBD link reported (md-member-failed, md-clean,
// nbd-link-dead).
std::string md_event(const std::string& node, UnixMillis t, const std::string& what, const std::string& detail);
// {"type":"status","status":{...}}: the current status (`events now` starts with it).
std::string status_event(const StatusReport& r, UnixMillis t);

}  // namespace haspool::agent
