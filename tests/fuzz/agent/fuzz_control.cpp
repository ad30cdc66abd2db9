// libFuzzer target for the control socket's requests: the bytes a client writes, framed as
// ControlSocket frames them (one line up to its newline, at most 4096 bytes; a client that
// closes before its newline sends the empty command), parsed by parse_control_line, and the
// answers built around what the line carried.
//
// Input: what the client writes on the socket.
//
// What must hold: each kind is exactly its line ("status", "status-json", "status-check", "switchover",
// "failback", "replace-disk", "resolve discard=NODE" with NODE as given); an unknown line is none of them;
// every answer is one line that starts with "ok: ", "refused: " or "error: ", whatever the
// line held.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "agent/control/control_protocol.hpp"

using namespace haspool::agent;
using K = ControlRequest::Kind;

namespace {

constexpr std::size_t kMaxLine = 4096;  // ControlSocket's Limits::max_line

void check(bool ok) {
    if (!ok) std::abort();
}

void check_answer(const std::string& a) {
    check(a.rfind("ok: ", 0) == 0 || a.rfind("refused: ", 0) == 0 || a.rfind("error: ", 0) == 0);
    check(!a.empty() && a.back() == '\n' && a.find('\n') == a.size() - 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    const std::size_t nl = bytes.find('\n');
    if (nl == std::string::npos ? bytes.size() >= kMaxLine : nl >= kMaxLine) return 0;  // answered "too long" by the socket
    const std::string line = nl == std::string::npos ? std::string() : bytes.substr(0, nl);

    const ControlRequest q = parse_control_line(line);
    switch (q.kind) {
        case K::status: check(line == "status"); break;
        case K::status_json: check(line == "status-json"); break;
        case K::status_check: check(line == "status-check"); break;
        case K::operator_command:
            check(line == (q.command == event::Command::switchover ? "switchover"
                           : q.command == event::Command::failback ? "failback"
                                                                   : "replace-disk"));
            break;
        case K::resolve: check(line == "resolve discard=" + q.discard); break;
        case K::unknown:
            check(line != "status" && line != "status-json" && line != "status-check" && line != "switchover" && line != "failback" &&
                  line != "replace-disk" &&
                  line.rfind("resolve discard=", 0) != 0);
            check_answer(unknown_command_reply(line));
            return 0;
    }
    // A decision's answer quoting what the line named (as the machines' refusals do).
    for (bool changed : {false, true}) {
        NodeDecision d{"MIRRORED", 3, {}, std::nullopt, q.kind == K::resolve ? "refused resolve: '" + q.discard + "'" : ""};
        check_answer(command_reply("alpha", changed ? "DEGRADED" : "MIRRORED", d));
    }
    return 0;
}
