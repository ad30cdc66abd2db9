#pragma once
// Starting and stopping the mail service's systemd units over D-Bus (sd-bus): Manager.StartUnit /
// StopUnit with mode "replace", then waiting for the job's JobRemoved signal and requiring its
// result to be "done" — what `systemctl start` does, without parsing systemctl.
//
// The bus is sd_bus_open_system(), which honours $DBUS_SYSTEM_BUS_ADDRESS (tests point it at a
// private dbus-daemon). Where no systemd bus is reachable (a container without systemd as PID 1,
// like this build host) every call fails and says so.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "agent/system/actions/action_result.hpp"

namespace haspool::actions {

// The unit's ActiveState ("active", "inactive", "failed", "activating", ...); "inactive" for a
// unit systemd has not loaded. nullopt with `error` when the bus or systemd is unavailable.
std::optional<std::string> unit_active_state(const std::string& unit, std::string* error);

// Starts `unit` unless it is active; waits up to `timeout` for the job. Done when the job's
// result is "done" (or the unit already was active).
ActionResult start_unit(const std::string& unit, std::chrono::milliseconds timeout);

// Stops `unit` unless it is inactive (the undo of start_unit).
ActionResult stop_unit(const std::string& unit, std::chrono::milliseconds timeout);

// start_unit() for each unit in order; stops at the first failure (the caller undoes the ones
// started, in reverse, with stop_units()).
ActionResult start_units(const std::vector<std::string>& units, std::chrono::milliseconds timeout_each);
// stop_unit() for each unit in reverse order; tries every unit and reports all failures.
ActionResult stop_units(const std::vector<std::string>& units, std::chrono::milliseconds timeout_each);

}  // namespace haspool::actions
