// haspool-perform CONFIG NODE STEP...: performs the named steps, in order, through
// LinuxSystem and perform(), built from CONFIG by Plans' single-step builders for NODE, and
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

std::optional<Step> step_named(const Plans& plans, const config::Node& self, const std::string& name) {
    const config::Config& c = plans.config();
    const std::string dev = c.spool.md_device;
    auto arg = [&](const char* prefix) -> std::optional<std::string> {
        std::string p = prefix;
        if (name.rfind(p, 0) == 0) return name.substr(p.size());
        return std::nullopt;
    };
    if (name == "probe") return plans.probe_address(self);
    if (name == "fsck") return plans.fsck(dev);
    if (name == "mount") return plans.mount(dev);
    if (name == "add-address") return plans.add_address(self);
    if (name == "garp") return plans.send_garp(self);
    if (name == "remove-address") return plans.remove_address(self);
    if (name == "unmount") return plans.unmount(self);
    if (name == "fence") return plans.run_fence();
    const std::string raw = plans.raw_link();
    if (name == "mark-raw") return step::MarkRawWrites{"raw takeover by " + self.name + " (integration test)"};
    if (name == "clear-raw") return step::ClearRawWrites{"integration test"};
    if (name == "map-raw") return plans.map_raw(self);
    if (name == "unmap-raw") return plans.unmap_raw(self);
    if (name == "fsck-raw") return plans.fsck(raw);
    if (name == "mount-raw") return plans.mount(raw);
    if (auto h = arg("hook:")) {
        if (auto hook = plans.run_hook(self, *h)) return *hook;
        return step::RunHook{*h, {}, c.hooks.timeout, {}};  // none configured (or no such hook): as LinuxSystem finds it
    }
    if (auto u = arg("start-unit:")) return plans.start_unit(*u);
    if (auto u = arg("stop-unit:")) return plans.stop_unit(*u);
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
    LinuxSystem sys(NodeStateStore(c.cluster.state_dir, self->name), PersistedMark::raw_writes(c.cluster.state_dir),
                    self->role == config::Role::standby, nullptr);
    const Plans plans(c);
    sys.set_hook_situation("TAKEOVER", "integration test");
    for (int i = 3; i < argc; ++i) {
        auto s = step_named(plans, *self, argv[i]);
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
