// haspool-perform CONFIG NODE STEP...: performs the named steps, in order, through
// LinuxSystem and perform(), built from CONFIG exactly as Plans builds them for NODE, and
// prints one line per step: "<Step>: ok" or "<Step>: FAILED: <error>". Exit 0 when every step
// succeeded, 1 at the first failure (the rest are not run), 2 on bad usage or config.
// STEP is one of probe, fsck, mount, add-address, garp, remove-address, unmount, hook:<name>,
// start-unit:<name>, stop-unit:<name>, fence; and the raw takeover's mark-raw, clear-raw, map-raw,
// unmap-raw, fsck-raw, mount-raw (the spool device mapped as Plans::takeover_raw maps it).
// Used by tests/integration/agent/linux_system.sh (run inside a network namespace).
#include <iostream>
#include <optional>
#include <string>

#include "config/config_loader.hpp"
#include "agent/system/linux_system.hpp"
#include "agent/core/plans.hpp"

using namespace haspool;
using namespace haspool::agent;

namespace {

std::optional<Step> step_named(const config::Config& c, const config::Node& self, const std::string& name) {
    const std::string dev = c.spool.md_device;
    const std::string ifname = c.service_interface_of(self);
    auto arg = [&](const char* prefix) -> std::optional<std::string> {
        std::string p = prefix;
        if (name.rfind(p, 0) == 0) return name.substr(p.size());
        return std::nullopt;
    };
    if (name == "probe") return step::ProbeAddress{ifname, c.service.address, c.service.probe_timeout};
    if (name == "fsck") return step::Fsck{dev, c.spool.filesystem, c.spool.fsck_timeout};
    if (name == "mount") return step::Mount{dev, c.spool.mount_point, c.spool.filesystem, c.spool.mount_options};
    if (name == "add-address") return step::AddAddress{ifname, c.service.address};
    if (name == "garp") return step::SendGarp{ifname, c.service.address, c.service.garp.count, c.service.garp.interval};
    if (name == "remove-address") return step::RemoveAddress{ifname, c.service.address};
    if (name == "unmount") return step::Unmount{c.spool.mount_point};
    if (name == "fence") return step::RunFence{c.fence.command, c.fence.timeout};
    const std::string raw = Plans(c).raw_link();
    if (name == "mark-raw") return step::MarkRawWrites{"raw takeover by " + self.name + " (integration test)"};
    if (name == "clear-raw") return step::ClearRawWrites{"integration test"};
    if (name == "map-raw") return step::MapRaw{self.spool_device, raw};
    if (name == "unmap-raw") return step::UnmapRaw{self.spool_device, raw};
    if (name == "fsck-raw") return step::Fsck{raw, c.spool.filesystem, c.spool.fsck_timeout};
    if (name == "mount-raw") return step::Mount{raw, c.spool.mount_point, c.spool.filesystem, c.spool.mount_options};
    if (auto h = arg("hook:")) return step::RunHook{*h, {"unused"}, c.hooks.timeout};
    if (auto u = arg("start-unit:")) return step::StartUnit{*u, c.service.unit_timeout};
    if (auto u = arg("stop-unit:")) return step::StopUnit{*u, c.service.unit_timeout};
    return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::cerr << "usage: haspool-perform CONFIG NODE STEP...\n";
        return 2;
    }
    auto loaded = config::load_file(argv[1]);
    if (!loaded.config) {
        for (const auto& p : loaded.errors) std::cerr << "config: " << p.message << "\n";
        return 2;
    }
    const config::Config& c = *loaded.config;
    const config::Node* self = c.find_node(argv[2]);
    if (!self) {
        std::cerr << "no node '" << argv[2] << "' in " << argv[1] << "\n";
        return 2;
    }
    LinuxSystem sys(c, self->name, NodeStateStore(c.cluster.state_dir, self->name),
                    self->role == config::Role::standby, nullptr);
    sys.set_hook_situation("TAKEOVER", "integration test");
    for (int i = 3; i < argc; ++i) {
        auto s = step_named(c, *self, argv[i]);
        if (!s) {
            std::cerr << "unknown step '" << argv[i] << "'\n";
            return 2;
        }
        StepResult r = perform(sys, *s);
        if (!r.ok) {
            std::cout << name_of(*s) << ": FAILED: " << r.error << std::endl;
            return 1;
        }
        std::cout << name_of(*s) << ": ok" << std::endl;
    }
    return 0;
}
