#pragma once
// systemd readiness/watchdog protocol (sd_notify(3)) wrapped in named verbs.
// Every verb does nothing when NOTIFY_SOCKET is unset, so daemons run the same in a terminal.
#include <chrono>
#include <optional>
#include <string_view>

namespace haspool::notify {

// True when a service manager is listening (NOTIFY_SOCKET set).
bool enabled();

void ready(std::string_view status = {});
void status(std::string_view text);
void stopping(std::string_view status = {});
void reloading();
void watchdog();
// Asks the manager for `extra` more time before it times the current start/stop job out
// (EXTEND_TIMEOUT_USEC): used while e2fsck runs during a takeover.
void extend_timeout(std::chrono::microseconds extra);

// How often to call watchdog(): half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises;
// empty when the watchdog is off.
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace haspool::notify
