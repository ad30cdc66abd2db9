#pragma once
// The control socket's protocol (pure): one line in — `status`, `status-json`, `status-check`,
// `switchover`, `failback`, `replace-disk`, `resolve discard=NODE` — and one answer out. `haspool status|switchover|failback|
// resolve` send these lines; an answer starting "refused" or "error" makes them exit 1.
// `preview failback` answers what a failback would do now (failback_preview.hpp), or
// "refused: ..." when none can run. `events` and `events now` open a stream instead: JSON lines until either side closes
// (event_stream.hpp).
#include <string>

#include "agent/core/events.hpp"
#include "agent/core/node_machine.hpp"

namespace haspool::agent {

struct ControlRequest {
    enum class Kind { status, status_json, status_check, operator_command, resolve, events, preview_failback, unknown };
    Kind kind = Kind::unknown;
    event::Command command = event::Command::switchover;  // operator_command
    std::string discard;                                  // resolve: the node whose data loses
    bool events_now = false;                              // events: the current status first
};

ControlRequest parse_control_line(const std::string& line);

// "error: unknown control command 'LINE' (status, status-json, ...)\n"
std::string unknown_command_reply(const std::string& line);
// The answer to an operator command or a resolve: "ok: NODE STATE: REASON\n" when the decision
// changed the state or queued steps, else "refused: ..." (the reason says why).
std::string command_reply(const std::string& node, const std::string& state_before, const NodeDecision& d);

}  // namespace haspool::agent
