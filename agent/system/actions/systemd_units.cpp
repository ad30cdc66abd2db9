#include "agent/system/actions/systemd_units.hpp"

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>

namespace haspool::actions {

namespace {

constexpr const char* kService = "org.freedesktop.systemd1";
constexpr const char* kPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";

struct BusUnref {
    void operator()(sd_bus* b) const { sd_bus_flush_close_unref(b); }
};
struct SlotUnref {
    void operator()(sd_bus_slot* s) const { sd_bus_slot_unref(s); }
};
struct MessageUnref {
    void operator()(sd_bus_message* m) const { sd_bus_message_unref(m); }
};
using Bus = std::unique_ptr<sd_bus, BusUnref>;
using Message = std::unique_ptr<sd_bus_message, MessageUnref>;

// sd_bus_error with RAII.
struct BusError {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    ~BusError() { sd_bus_error_free(&e); }
    bool is(const char* name) const { return sd_bus_error_has_name(&e, name); }
    std::string text(int r) const {
        if (sd_bus_error_is_set(&e)) return std::string(e.name) + ": " + (e.message ? e.message : "");
        return std::strerror(-r);
    }
};

std::string not_systemd_hint() {
    return sd_booted() > 0 ? std::string() : " (this host was not booted with systemd: no systemd as PID 1)";
}

Bus open_bus(std::string& error) {
    sd_bus* raw = nullptr;
    int r = sd_bus_open_system(&raw);
    if (r < 0) {
        const char* addr = std::getenv("DBUS_SYSTEM_BUS_ADDRESS");
        error = std::string("no systemd system bus: cannot connect to ") +
                (addr ? addr : "unix:path=/run/dbus/system_bus_socket") + ": " + std::strerror(-r) + not_systemd_hint();
        return nullptr;
    }
    return Bus(raw);
}

std::string call_error(const std::string& what, const BusError& e, int r) {
    if (e.is(SD_BUS_ERROR_SERVICE_UNKNOWN) || e.is(SD_BUS_ERROR_NAME_HAS_NO_OWNER))
        return what + ": no systemd on the system bus (" + kService + " is not there)" + not_systemd_hint();
    // Without systemd, dbus-daemon tries to activate the name from systemd's D-Bus service file
    // (Exec=/bin/false on Debian) and answers with a Spawn error: the same situation.
    if (sd_bus_error_is_set(&e.e) && std::string_view(e.e.name).starts_with("org.freedesktop.DBus.Error.Spawn."))
        return what + ": no systemd on the system bus (" + kService + " is not there; " + e.text(r) + ")" +
               not_systemd_hint();
    return what + ": " + e.text(r);
}

std::optional<std::string> active_state(sd_bus* bus, const std::string& unit, std::string& error) {
    BusError e;
    sd_bus_message* reply = nullptr;
    int r = sd_bus_call_method(bus, kService, kPath, kManager, "GetUnit", &e.e, &reply, "s", unit.c_str());
    Message m(reply);
    if (r < 0) {
        if (e.is("org.freedesktop.systemd1.NoSuchUnit")) return std::string("inactive");
        error = call_error("cannot look up unit '" + unit + "'", e, r);
        return std::nullopt;
    }
    const char* path = nullptr;
    if ((r = sd_bus_message_read(m.get(), "o", &path)) < 0) {
        error = "unit '" + unit + "': bad GetUnit reply: " + std::strerror(-r);
        return std::nullopt;
    }
    BusError pe;
    char* state = nullptr;
    r = sd_bus_get_property_string(bus, kService, path, "org.freedesktop.systemd1.Unit", "ActiveState", &pe.e, &state);
    if (r < 0) {
        error = call_error("cannot read ActiveState of unit '" + unit + "'", pe, r);
        return std::nullopt;
    }
    std::string s = state;
    std::free(state);
    return s;
}

struct JobWatch {
    std::map<std::string, std::string> finished;  // job path -> result
};

int on_job_removed(sd_bus_message* m, void* userdata, sd_bus_error*) {
    uint32_t id = 0;
    const char *path = nullptr, *unit = nullptr, *result = nullptr;
    if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) >= 0)
        static_cast<JobWatch*>(userdata)->finished[path] = result;
    return 0;
}

// Runs Manager.<method>(unit, "replace") and waits for the job; `verb` is "start" or "stop".
ActionResult run_job(const char* method, const char* verb, const std::string& unit, std::chrono::milliseconds timeout) {
    const std::string what = std::string("cannot ") + verb + " unit '" + unit + "'";
    std::string error;
    Bus bus = open_bus(error);
    if (!bus) return ActionResult::failed(what + ": " + error);

    auto state = active_state(bus.get(), unit, error);
    if (!state) return ActionResult::failed(error);
    if (std::string_view(verb) == "start" && *state == "active") return ActionResult::done("already active");
    if (std::string_view(verb) == "stop" && *state == "inactive") return ActionResult::done("already inactive");

    // Match first, then call: a job that finishes before StartUnit's reply still gets seen.
    JobWatch watch;
    sd_bus_slot* slot_raw = nullptr;
    int r = sd_bus_match_signal(bus.get(), &slot_raw, kService, kPath, kManager, "JobRemoved", on_job_removed, &watch);
    std::unique_ptr<sd_bus_slot, SlotUnref> slot(slot_raw);
    if (r < 0) return ActionResult::failed(what + ": cannot watch JobRemoved: " + std::strerror(-r));
    {
        BusError e;
        r = sd_bus_call_method(bus.get(), kService, kPath, kManager, "Subscribe", &e.e, nullptr, "");
        if (r < 0 && !e.is("org.freedesktop.systemd1.AlreadySubscribed"))
            return ActionResult::failed(call_error(what + ": Subscribe", e, r));
    }
    BusError e;
    sd_bus_message* reply = nullptr;
    r = sd_bus_call_method(bus.get(), kService, kPath, kManager, method, &e.e, &reply, "ss", unit.c_str(), "replace");
    Message m(reply);
    if (r < 0) return ActionResult::failed(call_error(what + ": " + method, e, r));
    const char* job_raw = nullptr;
    if ((r = sd_bus_message_read(m.get(), "o", &job_raw)) < 0)
        return ActionResult::failed(what + ": bad " + method + " reply: " + std::strerror(-r));
    const std::string job = job_raw;

    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (auto it = watch.finished.find(job); it != watch.finished.end()) {
            if (it->second == "done") return ActionResult::done(std::string(verb) + " job done");
            return ActionResult::failed(what + ": the " + verb + " job " + job + " finished with result '" + it->second +
                                        "' (see journalctl -u " + unit + ")");
        }
        r = sd_bus_process(bus.get(), nullptr);
        if (r < 0) return ActionResult::failed(what + ": D-Bus connection failed: " + std::strerror(-r));
        if (r > 0) continue;
        auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return ActionResult::failed(what + ": the " + verb + " job " + job + " did not finish within " +
                                        std::to_string(timeout.count()) + " ms");
        r = sd_bus_wait(bus.get(), static_cast<uint64_t>(left.count()));
        if (r < 0 && r != -EINTR) return ActionResult::failed(what + ": D-Bus wait failed: " + std::strerror(-r));
    }
}

}  // namespace

std::optional<std::string> unit_active_state(const std::string& unit, std::string* error) {
    std::string e;
    Bus bus = open_bus(e);
    std::optional<std::string> s;
    if (bus) s = active_state(bus.get(), unit, e);
    if (!s && error) *error = bus ? e : "cannot look up unit '" + unit + "': " + e;
    return s;
}

ActionResult start_unit(const std::string& unit, std::chrono::milliseconds timeout) {
    return run_job("StartUnit", "start", unit, timeout);
}

ActionResult stop_unit(const std::string& unit, std::chrono::milliseconds timeout) {
    return run_job("StopUnit", "stop", unit, timeout);
}

ActionResult start_units(const std::vector<std::string>& units, std::chrono::milliseconds timeout_each) {
    for (const auto& u : units)
        if (auto r = start_unit(u, timeout_each); !r) return r;
    return ActionResult::done(std::to_string(units.size()) + " unit(s) active");
}

ActionResult stop_units(const std::vector<std::string>& units, std::chrono::milliseconds timeout_each) {
    std::string errors;
    for (auto it = units.rbegin(); it != units.rend(); ++it)
        if (auto r = stop_unit(*it, timeout_each); !r) errors += (errors.empty() ? "" : "; ") + r.message();
    if (!errors.empty()) return ActionResult::failed(errors);
    return ActionResult::done(std::to_string(units.size()) + " unit(s) inactive");
}

}  // namespace haspool::actions
