#include "agent/log/sd_notify.hpp"

#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <string>

namespace haspool::notify {
namespace {

void send(const std::string& text) {
    if (!enabled()) return;
    // unset_environment=0: the agent may fork helpers that must not inherit the socket,
    // but exec'd commands get a cleaned environment from the command runner instead.
    sd_notify(0, text.c_str());
}

std::string with_status(const char* verb, std::string_view status) {
    std::string s = verb;
    if (!status.empty()) {
        s += "\nSTATUS=";
        s += status;
    }
    return s;
}

}  // namespace

bool enabled() {
    const char* s = std::getenv("NOTIFY_SOCKET");
    return s && *s;
}

void ready(std::string_view status) { send(with_status("READY=1", status)); }
void status(std::string_view text) { send("STATUS=" + std::string(text)); }
void stopping(std::string_view status) { send(with_status("STOPPING=1", status)); }
void reloading() { send("RELOADING=1"); }
void watchdog() { send("WATCHDOG=1"); }

void extend_timeout(std::chrono::microseconds extra) {
    send("EXTEND_TIMEOUT_USEC=" + std::to_string(extra.count()));
}

std::optional<std::chrono::microseconds> watchdog_interval() {
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
    return std::chrono::microseconds(usec / 2);
}

}  // namespace haspool::notify
