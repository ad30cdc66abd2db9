// The control protocol: the lines `haspool` sends, and the answers the operator reads.
#include <catch2/catch.hpp>

#include "agent/control/control_protocol.hpp"

using namespace haspool::agent;
using K = ControlRequest::Kind;

TEST_CASE("control protocol: the lines") {
    CHECK(parse_control_line("status").kind == K::status);
    CHECK(parse_control_line("status-json").kind == K::status_json);
    CHECK(parse_control_line("status-check").kind == K::status_check);
    ControlRequest q = parse_control_line("switchover");
    CHECK(q.kind == K::operator_command);
    CHECK(q.command == event::Command::switchover);
    q = parse_control_line("failback");
    CHECK(q.kind == K::operator_command);
    CHECK(q.command == event::Command::failback);
    q = parse_control_line("replace-disk");
    CHECK(q.kind == K::operator_command);
    CHECK(q.command == event::Command::replace_disk);
    q = parse_control_line("resolve discard=alpha");
    CHECK(q.kind == K::resolve);
    CHECK(q.discard == "alpha");
    CHECK(parse_control_line("resolve discard=").discard.empty());
    q = parse_control_line("events");
    CHECK(q.kind == K::events);
    CHECK_FALSE(q.events_now);
    q = parse_control_line("events now");
    CHECK(q.kind == K::events);
    CHECK(q.events_now);
    for (const char* line : {"", "STATUS", "status ", "status\r", "resolve alpha", "switchover now", "events later", "events "}) {
        INFO("line: '" << line << "'");
        CHECK(parse_control_line(line).kind == K::unknown);
    }
}

TEST_CASE("control protocol: the answers") {
    CHECK(unknown_command_reply("reboot") ==
          "error: unknown control command 'reboot' (status, status-json, status-check, switchover, failback, replace-disk, resolve discard=NODE, events, events now, preview failback)\n");
    NodeDecision d{"HANDOVER", 8, {step::StopUnit{}}, std::nullopt, "operator asked for a switchover"};
    CHECK(command_reply("alpha", "MIRRORED", d) == "ok: alpha HANDOVER: operator asked for a switchover\n");
    d.state = "MIRRORED";
    CHECK(command_reply("alpha", "MIRRORED", d) == "ok: alpha MIRRORED: operator asked for a switchover\n");  // steps queued
    d.steps.clear();
    d.reason = "beta is not EXPORTING";
    CHECK(command_reply("alpha", "MIRRORED", d) == "refused: alpha MIRRORED: beta is not EXPORTING\n");
    d.reason.clear();
    CHECK(command_reply("alpha", "MIRRORED", d) == "refused: alpha MIRRORED: no change\n");
    CHECK(command_reply("alpha", "DEGRADED", d) == "ok: alpha MIRRORED: no change\n");
}
