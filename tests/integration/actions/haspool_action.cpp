// haspool-action: drives one real-system action from a shell test (tests/integration/actions).
// Not installed; the agent calls the same library functions through its System interface.
// Prints "ok: NOTE" (exit 0) or "error: MESSAGE" (exit 1); usage errors exit 2.
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "agent/system/actions/actions.hpp"

using namespace haspool::actions;
namespace config = haspool::config;

namespace {

const char* kUsage =
    "usage: haspool-action VERB ARGS...\n"
    "  run TIMEOUT_MS -- ARGV...\n"
    "  fsck DEVICE TYPE [xfs-repair]\n"
    "  mount DEVICE DIR TYPE [OPT,OPT...]\n"
    "  check-mount DEVICE DIR TYPE\n"
    "  umount DEVICE DIR\n"
    "  addr-add|addr-del|addr-show IFACE CIDR\n"
    "  probe IFACE CIDR TIMEOUT_MS\n"
    "  garp IFACE CIDR COUNT INTERVAL_MS REPEAT_COUNT REPEAT_AFTER_MS [REFRESH_MS STOP_AFTER]\n"
    "  unit-start|unit-stop UNIT TIMEOUT_MS | unit-state UNIT\n"
    "  hook EVENT TIMEOUT_MS NODE PEER STATE GENERATION REASON -- ARGV...\n"
    "  fence PEER TIMEOUT_MS -- ARGV...\n";

int usage() {
    std::cerr << kUsage;
    return 2;
}

int report(const ActionResult& r) {
    if (r) {
        std::cout << "ok: " << r.message() << "\n";
        return 0;
    }
    std::cerr << "error: " << r.message() << "\n";
    return 1;
}

std::chrono::milliseconds ms(const std::string& s) { return std::chrono::milliseconds(std::stol(s)); }

std::optional<config::Filesystem> fs_type(const std::string& s) {
    for (auto f : {config::Filesystem::ext2, config::Filesystem::ext3, config::Filesystem::ext4, config::Filesystem::xfs})
        if (s == config::to_string(f)) return f;
    return std::nullopt;
}

// Everything after "--".
std::vector<std::string> after_dashes(const std::vector<std::string>& a, std::size_t from) {
    for (std::size_t i = from; i < a.size(); ++i)
        if (a[i] == "--") return {a.begin() + static_cast<long>(i) + 1, a.end()};
    return {};
}

std::optional<Ipv4Cidr> cidr_or_report(const std::string& s) {
    std::string e;
    auto c = parse_ipv4_cidr(s, &e);
    if (!c) std::cerr << "error: " << e << "\n";
    return c;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> a(argv + 1, argv + argc);
    if (a.empty()) return usage();
    const std::string& verb = a[0];
    try {
        if (verb == "run" && a.size() >= 4) {
            CommandSpec cmd;
            cmd.argv = after_dashes(a, 2);
            cmd.timeout = ms(a[1]);
            auto r = run_command(cmd);
            std::cout << "elapsed_ms=" << r.elapsed.count() << "\n";
            return report(r.succeeded() ? ActionResult::done(r.describe()) : ActionResult::failed(r.describe()));
        }
        if (verb == "fsck" && a.size() >= 3) {
            auto t = fs_type(a[2]);
            if (!t) return usage();
            FilesystemSpec s{a[1], *t};
            s.xfs_repair = a.size() > 3 && a[3] == "xfs-repair";
            return report(check_filesystem(s));
        }
        if (verb == "mount" && a.size() >= 4) {
            auto t = fs_type(a[3]);
            if (!t) return usage();
            FilesystemSpec s{a[1], *t, a[2]};
            if (a.size() > 4) {
                std::string o = a[4];
                for (std::size_t p = 0; p <= o.size();) {
                    auto c = o.find(',', p);
                    if (c == std::string::npos) c = o.size();
                    s.mount_options.push_back(o.substr(p, c - p));
                    p = c + 1;
                }
            }
            return report(ensure_mounted(s));
        }
        if (verb == "check-mount" && a.size() == 4) {  // the takeover's order: fsck, then mount
            auto t = fs_type(a[3]);
            if (!t) return usage();
            FilesystemSpec s{a[1], *t, a[2]};
            auto r = check_filesystem(s);
            if (!r) return report(r);
            report(r);
            return report(ensure_mounted(s));
        }
        if (verb == "umount" && a.size() == 3) {
            FilesystemSpec s{a[1], config::Filesystem::ext4, a[2]};
            return report(ensure_unmounted(s));
        }
        if ((verb == "addr-add" || verb == "addr-del" || verb == "addr-show") && a.size() == 3) {
            auto c = cidr_or_report(a[2]);
            if (!c) return 1;
            if (verb == "addr-add") return report(ensure_address_present(a[1], *c));
            if (verb == "addr-del") return report(ensure_address_absent(a[1], *c));
            std::string e;
            auto st = query_address(a[1], *c, &e);
            if (!st) return report(ActionResult::failed(e));
            return report(ActionResult::done(st->present ? "present/" + std::to_string(st->present_prefix) : "absent"));
        }
        if (verb == "probe" && a.size() == 4) {
            auto c = cidr_or_report(a[2]);
            if (!c) return 1;
            return report(require_address_free(a[1], *c, ms(a[3])));
        }
        if (verb == "garp" && (a.size() == 7 || a.size() == 9)) {
            auto c = cidr_or_report(a[2]);
            if (!c) return 1;
            config::Garp g;
            g.count = static_cast<unsigned>(std::stoul(a[3]));
            g.interval = ms(a[4]);
            g.repeat_count = static_cast<unsigned>(std::stoul(a[5]));
            g.repeat_after = ms(a[6]);
            // With a refresh the schedule never ends by itself: stop after STOP_AFTER sends.
            unsigned stop_after = 0;
            if (a.size() == 9) {
                g.refresh = ms(a[7]);
                stop_after = static_cast<unsigned>(std::stoul(a[8]));
            }
            std::string e;
            auto sender = GarpSender::open(a[1], *c, &e);
            if (!sender) return report(ActionResult::failed(e));
            boost::asio::io_context io;
            std::string first_error;
            GarpAnnouncer* announcer = nullptr;
            GarpAnnouncer ann(io, std::move(*sender), garp_schedule(g), [&](const ActionResult& r) {
                if (!r && first_error.empty()) first_error = r.message();
                if (!r || (stop_after && announcer->sent() >= stop_after)) announcer->stop();
            });
            announcer = &ann;
            ann.start();
            io.run();  // returns when the schedule is done or stopped
            if (!first_error.empty()) return report(ActionResult::failed(first_error));
            return report(ActionResult::done("sent " + std::to_string(ann.sent()) + " gratuitous ARP"));
        }
        if ((verb == "unit-start" || verb == "unit-stop") && a.size() == 3)
            return report(verb == "unit-start" ? start_unit(a[1], ms(a[2])) : stop_unit(a[1], ms(a[2])));
        if (verb == "unit-state" && a.size() == 2) {
            std::string e;
            auto s = unit_active_state(a[1], &e);
            return report(s ? ActionResult::done(*s) : ActionResult::failed(e));
        }
        if (verb == "hook" && a.size() >= 10) {
            config::Hooks h;
            h.timeout = ms(a[2]);
            HookEvent ev;
            if (a[1] == "before_takeover") ev = HookEvent::before_takeover;
            else if (a[1] == "after_takeover") ev = HookEvent::after_takeover;
            else if (a[1] == "before_handback") ev = HookEvent::before_handback;
            else if (a[1] == "after_handback") ev = HookEvent::after_handback;
            else return usage();
            auto cmd = after_dashes(a, 8);
            switch (ev) {
            case HookEvent::before_takeover: h.before_takeover = cmd; break;
            case HookEvent::after_takeover: h.after_takeover = cmd; break;
            case HookEvent::before_handback: h.before_handback = cmd; break;
            case HookEvent::after_handback: h.after_handback = cmd; break;
            }
            HookContext ctx{a[3], a[4], a[5], std::stoull(a[6]), a[7]};
            return report(run_hook(HookCommand{ev, hook_command(h, ev), hook_environment(ev, ctx), h.timeout}));
        }
        if (verb == "fence" && a.size() >= 4) {
            return report(fence_peer(FenceCommand{after_dashes(a, 3), fence_environment(a[1], "self"), ms(a[2]), a[1]}));
        }
    } catch (const std::exception& e) {
        std::cerr << "error: bad argument: " << e.what() << "\n";
        return 2;
    }
    return usage();
}
