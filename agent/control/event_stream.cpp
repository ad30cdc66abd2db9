#include "agent/control/event_stream.hpp"

#include <nlohmann/json.hpp>

namespace haspool::agent {

namespace {

using json = nlohmann::ordered_json;

json head(const char* type, const std::string& node, UnixMillis t) {
    json o;
    o["version"] = kStatusJsonVersion;
    o["type"] = type;
    o["time_ms"] = t;
    o["node"] = node;
    return o;
}

// One line; text from outside (reasons, command output) made well-formed UTF-8 by the callers.
std::string line(const json& o) { return o.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; }

}  // namespace

std::string transition_event(const std::string& node, UnixMillis t, const std::string& from, const std::string& to,
                             const std::string& reason, const std::string& trigger, const std::string& generation) {
    json o = head("transition", node, t);
    o["from"] = from;
    o["to"] = to;
    o["reason"] = well_formed_utf8(reason);
    o["trigger"] = trigger;
    o["generation"] = generation;
    return line(o);
}

std::string step_event(const std::string& node, UnixMillis t, const std::string& step, const std::string& detail,
                       bool undo, bool ok, const std::string& result, int64_t duration_ms) {
    json o = head("step", node, t);
    o["step"] = step;
    o["detail"] = well_formed_utf8(detail);
    o["undo"] = undo;
    o["ok"] = ok;
    o["result"] = well_formed_utf8(result);
    o["duration_ms"] = duration_ms;
    return line(o);
}

std::string path_event(const std::string& node, UnixMillis t, const std::string& path, bool alive, bool stable) {
    json o = head("path", node, t);
    o["path"] = path;
    o["alive"] = alive;
    o["stable"] = stable;
    return line(o);
}

std::string md_event(const std::string& node, UnixMillis t, const std::string& what, const std::string& detail) {
    json o = head("md", node, t);
    o["what"] = what;
    o["detail"] = well_formed_utf8(detail);
    return line(o);
}

std::string status_event(const StatusReport& r, UnixMillis t) {
    json o = head("status", r.node, t);
    o["status"] = status_json(r);
    return line(o);
}

}  // namespace haspool::agent
