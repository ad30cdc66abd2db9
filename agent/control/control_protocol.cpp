#include "agent/control/control_protocol.hpp"

namespace haspool::agent {

ControlRequest parse_control_line(const std::string& line) {
    using K = ControlRequest::Kind;
    if (line == "status") return {K::status};
    if (line == "status-json") return {K::status_json};
    if (line == "status-check") return {K::status_check};
    if (line == "switchover") return {K::operator_command, event::Command::switchover};
    if (line == "failback") return {K::operator_command, event::Command::failback};
    if (line == "replace-disk") return {K::operator_command, event::Command::replace_disk};
    if (line == "events") return {K::events};
    if (line == "preview failback") return {K::preview_failback};
    if (line == "events now") {
        ControlRequest q{K::events};
        q.events_now = true;
        return q;
    }
    static const std::string resolve = "resolve discard=";
    if (line.rfind(resolve, 0) == 0) return {K::resolve, {}, line.substr(resolve.size())};
    return {K::unknown};
}

std::string unknown_command_reply(const std::string& line) {
    return "error: unknown control command '" + line + "' (status, status-json, status-check, switchover, failback, replace-disk, resolve discard=NODE, events, events now, preview failback)\n";
}

std::string command_reply(const std::string& node, const std::string& state_before, const NodeDecision& d) {
    return (d.state != state_before || !d.steps.empty() ? "ok: " : "refused: ") + node + " " + d.state + ": " +
           (d.reason.empty() ? "no change" : d.reason) + "\n";
}

}  // namespace haspool::agent
