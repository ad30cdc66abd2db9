// systemd_units against a private dbus-daemon with a small fake org.freedesktop.systemd1
// (sd-bus vtables): StartUnit/StopUnit with "replace", waiting for JobRemoved, its result,
// a job that never finishes, a signal that overtakes its reply, an unknown unit.
// The real systemd is exercised in the VM lab.
#include <catch2/catch.hpp>

#include <boost/process.hpp>
#include <systemd/sd-bus.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/system/actions/systemd_units.hpp"

using namespace haspool::actions;
using namespace std::chrono_literals;
namespace bp = boost::process;

namespace {

constexpr const char* kManagerPath = "/org/freedesktop/systemd1";
constexpr const char* kUnitPrefix = "/org/freedesktop/systemd1/unit";

// How each fake unit's jobs end.
struct FakeUnit {
    std::string state = "inactive";
    std::string start_result = "done";   // "" = the job never finishes
    bool signal_before_reply = false;
};

class FakeSystemd {
public:
    explicit FakeSystemd(const std::string& address) {
        units_["good.service"] = {};
        units_["broken.service"] = {"inactive", "failed"};
        units_["hang.service"] = {"inactive", ""};
        units_["quick.service"] = {"inactive", "done", true};
        REQUIRE(sd_bus_new(&bus_) >= 0);
        REQUIRE(sd_bus_set_address(bus_, address.c_str()) >= 0);
        REQUIRE(sd_bus_set_bus_client(bus_, 1) >= 0);
        REQUIRE(sd_bus_start(bus_) >= 0);
        REQUIRE(sd_bus_add_object_vtable(bus_, nullptr, kManagerPath, "org.freedesktop.systemd1.Manager",
                                         kManagerVtable, this) >= 0);
        REQUIRE(sd_bus_add_fallback_vtable(bus_, nullptr, kUnitPrefix, "org.freedesktop.systemd1.Unit", kUnitVtable,
                                           nullptr, this) >= 0);
        REQUIRE(sd_bus_request_name(bus_, "org.freedesktop.systemd1", 0) >= 0);
        thread_ = std::thread([this] {
            while (!stop_) {
                if (sd_bus_process(bus_, nullptr) > 0) continue;
                sd_bus_wait(bus_, 50000);
            }
        });
    }
    ~FakeSystemd() {
        stop_ = true;
        thread_.join();
        sd_bus_flush_close_unref(bus_);
    }
    std::vector<std::string> calls() {
        std::lock_guard<std::mutex> l(mu_);
        return calls_;
    }
    std::string state(const std::string& unit) {
        std::lock_guard<std::mutex> l(mu_);
        return units_[unit].state;
    }

private:
    static FakeSystemd& self(void* u) { return *static_cast<FakeSystemd*>(u); }

    static int get_unit(sd_bus_message* m, void* u, sd_bus_error* err) {
        const char* name = nullptr;
        if (int r = sd_bus_message_read(m, "s", &name); r < 0) return r;
        std::lock_guard<std::mutex> l(self(u).mu_);
        if (!self(u).units_.count(name))
            return sd_bus_error_setf(err, "org.freedesktop.systemd1.NoSuchUnit", "Unit %s not loaded.", name);
        char* path = nullptr;
        sd_bus_path_encode(kUnitPrefix, name, &path);
        int r = sd_bus_reply_method_return(m, "o", path);
        std::free(path);
        return r;
    }

    static int job(sd_bus_message* m, void* u, sd_bus_error* err, bool start) {
        const char *name = nullptr, *mode = nullptr;
        if (int r = sd_bus_message_read(m, "ss", &name, &mode); r < 0) return r;
        FakeSystemd& s = self(u);
        std::unique_lock<std::mutex> l(s.mu_);
        s.calls_.push_back(std::string(start ? "StartUnit " : "StopUnit ") + name + " " + mode);
        auto it = s.units_.find(name);
        if (it == s.units_.end())
            return sd_bus_error_setf(err, "org.freedesktop.systemd1.NoSuchUnit", "Unit %s not found.", name);
        FakeUnit& unit = it->second;
        uint32_t id = ++s.next_job_;
        std::string job_path = std::string(kManagerPath) + "/job/" + std::to_string(id);
        std::string result = start ? unit.start_result : "done";
        if (!result.empty()) unit.state = !start ? "inactive" : result == "done" ? "active" : "failed";
        bool early = unit.signal_before_reply;
        l.unlock();
        auto emit = [&] {
            if (!result.empty())
                sd_bus_emit_signal(sd_bus_message_get_bus(m), kManagerPath, "org.freedesktop.systemd1.Manager",
                                   "JobRemoved", "uoss", id, job_path.c_str(), name, result.c_str());
        };
        if (early) emit();
        int r = sd_bus_reply_method_return(m, "o", job_path.c_str());
        if (!early) emit();
        return r;
    }
    static int start_unit(sd_bus_message* m, void* u, sd_bus_error* e) { return job(m, u, e, true); }
    static int stop_unit(sd_bus_message* m, void* u, sd_bus_error* e) { return job(m, u, e, false); }
    static int subscribe(sd_bus_message* m, void*, sd_bus_error*) { return sd_bus_reply_method_return(m, ""); }

    static int active_state(sd_bus*, const char* path, const char*, const char*, sd_bus_message* reply, void* u,
                            sd_bus_error* err) {
        char* name = nullptr;
        if (sd_bus_path_decode(path, kUnitPrefix, &name) <= 0)
            return sd_bus_error_setf(err, SD_BUS_ERROR_UNKNOWN_OBJECT, "no unit at %s", path);
        std::string n = name;
        std::free(name);
        std::lock_guard<std::mutex> l(self(u).mu_);
        return sd_bus_message_append(reply, "s", self(u).units_[n].state.c_str());
    }

    static const sd_bus_vtable kManagerVtable[];
    static const sd_bus_vtable kUnitVtable[];

    sd_bus* bus_ = nullptr;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::mutex mu_;
    std::map<std::string, FakeUnit> units_;
    std::vector<std::string> calls_;
    uint32_t next_job_ = 0;
};

const sd_bus_vtable FakeSystemd::kManagerVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("GetUnit", "s", "o", FakeSystemd::get_unit, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("StartUnit", "ss", "o", FakeSystemd::start_unit, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("StopUnit", "ss", "o", FakeSystemd::stop_unit, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Subscribe", "", "", FakeSystemd::subscribe, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_SIGNAL("JobRemoved", "uoss", 0),
    SD_BUS_VTABLE_END};

const sd_bus_vtable FakeSystemd::kUnitVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("ActiveState", "s", FakeSystemd::active_state, 0, 0),
    SD_BUS_VTABLE_END};

// A private dbus-daemon (no service directories, so nothing is ever activated), stopped by PID.
class PrivateBus {
public:
    PrivateBus() {
        char tmpl[] = "/tmp/haspool-bus-XXXXXX";
        dir_ = mkdtemp(tmpl);
        std::ofstream(dir_ + "/bus.conf")
            << "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
               " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
               "<busconfig><listen>unix:path=" << dir_ << "/bus</listen><auth>EXTERNAL</auth>"
               "<policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>"
               "<allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>\n";
        auto exe = bp::search_path("dbus-daemon");
        REQUIRE_FALSE(exe.empty());  // scripts/install-deps installs it
        daemon_ = bp::child(exe, "--config-file=" + dir_ + "/bus.conf", "--nofork", "--print-address=1",
                            bp::std_out > out_);
        REQUIRE(std::getline(out_, address_));
        setenv("DBUS_SYSTEM_BUS_ADDRESS", address_.c_str(), 1);
    }
    ~PrivateBus() {
        unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
        std::error_code ec;
        daemon_.terminate(ec);
        daemon_.wait(ec);
        std::remove((dir_ + "/bus.conf").c_str());
        std::remove((dir_ + "/bus").c_str());
        rmdir(dir_.c_str());
    }
    const std::string& address() const { return address_; }

private:
    std::string dir_, address_;
    bp::ipstream out_;
    bp::child daemon_;
};

// Each case gets its own bus and fake systemd.
struct OnFakeSystemd {
    PrivateBus bus;
    FakeSystemd systemd{bus.address()};
};

}  // namespace

TEST_CASE_METHOD(OnFakeSystemd, "start_unit starts with mode replace, waits for the job, and is idempotent") {
    auto r = start_unit("good.service", 5s);
    INFO(r.message());
    REQUIRE(r.ok());
    CHECK(r.message() == "start job done");
    CHECK(systemd.state("good.service") == "active");
    std::string err;
    CHECK(unit_active_state("good.service", &err) == std::optional<std::string>("active"));
    auto again = start_unit("good.service", 5s);
    CHECK(again.ok());
    CHECK(again.message() == "already active");
    CHECK(systemd.calls() == std::vector<std::string>{"StartUnit good.service replace"});
}

TEST_CASE_METHOD(OnFakeSystemd, "stop_unit stops an active unit and does nothing to an inactive one") {
    REQUIRE(start_unit("good.service", 5s).ok());
    auto r = stop_unit("good.service", 5s);
    CHECK(r.ok());
    CHECK(systemd.state("good.service") == "inactive");
    auto again = stop_unit("good.service", 5s);
    CHECK(again.ok());
    CHECK(again.message() == "already inactive");
    CHECK(systemd.calls() == std::vector<std::string>{"StartUnit good.service replace", "StopUnit good.service replace"});
}

TEST_CASE_METHOD(OnFakeSystemd, "a job whose result is not done fails with the result") {
    auto r = start_unit("broken.service", 5s);
    CHECK_FALSE(r.ok());
    CHECK_THAT(r.message(), Catch::Contains("cannot start unit 'broken.service': the start job "
                                            "/org/freedesktop/systemd1/job/1 finished with result 'failed'"));
}

TEST_CASE_METHOD(OnFakeSystemd, "a job that never finishes fails at the timeout") {
    auto r = start_unit("hang.service", 300ms);
    CHECK_FALSE(r.ok());
    CHECK_THAT(r.message(), Catch::Contains("the start job /org/freedesktop/systemd1/job/1 did not finish within 300 ms"));
}

TEST_CASE_METHOD(OnFakeSystemd, "a JobRemoved that arrives before the StartUnit reply is not missed") {
    auto r = start_unit("quick.service", 5s);
    INFO(r.message());
    CHECK(r.ok());
}

TEST_CASE_METHOD(OnFakeSystemd, "an unknown unit fails with systemd's error") {
    std::string err;
    CHECK(unit_active_state("nosuch.service", &err) == std::optional<std::string>("inactive"));
    auto r = start_unit("nosuch.service", 5s);
    CHECK_FALSE(r.ok());
    CHECK_THAT(r.message(), Catch::Contains("org.freedesktop.systemd1.NoSuchUnit: Unit nosuch.service not found."));
}

TEST_CASE_METHOD(OnFakeSystemd, "start_units stops at the first failure, stop_units goes through all in reverse") {
    auto r = start_units({"good.service", "broken.service", "quick.service"}, 5s);
    CHECK_FALSE(r.ok());
    CHECK(systemd.state("quick.service") == "inactive");
    auto s = stop_units({"good.service", "broken.service"}, 5s);
    CHECK(s.ok());
    CHECK(systemd.calls() == std::vector<std::string>{"StartUnit good.service replace", "StartUnit broken.service replace",
                                                      "StopUnit broken.service replace", "StopUnit good.service replace"});
}
