// haspool debug SUBCOMMAND: the mirror's real low-level operations one at a time (kernel NBD
// over netlink, md RAID-1), for the VM lab and for an operator repairing by hand. The daemons
// call the same functions (blockdev/nbd_attach.hpp, raid/md_control.hpp).
#include <poll.h>

#include <iostream>
#include <map>

#include "agent/cli/cli.hpp"
#include "agent/cli/cmd_debug_mail.hpp"
#include "agent/cli/commands.hpp"
#include "agent/system/process_runner.hpp"
#include "raid/md_control.hpp"
#include "raid/md_sysfs.hpp"
#include "blockdev/nbd_attach.hpp"
#include "blockdev/nbd_netlink.hpp"
#include "agent/system/spool_export.hpp"

namespace haspool::cli {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

int failed(const std::string& sub, const std::string& error) {
    std::cerr << "haspool debug " << sub << ": " << error << "\n";
    return kExitFailure;
}

void print_snapshot(const raid::MdSnapshot& s) {
    std::cout << "device=" << s.kernel_name << "\nlevel=" << s.level << "\narray_state=" << to_string(s.array_state)
              << "\nraid_disks=" << s.raid_disks << "\ndegraded=" << s.degraded << "\nsync_action=" << s.sync_action
              << "\nsync_completed=";
    if (s.sync_completed)
        std::cout << s.sync_completed->done_sectors << "/" << s.sync_completed->total_sectors;
    else
        std::cout << "none";
    std::cout << "\nevents=" << s.events << "\nhealth=" << to_string(raid::health(s)) << "\n";
    for (const auto& m : s.members)
        std::cout << "member." << m.block_device << "=" << m.state.text << " slot="
                  << (m.slot ? std::to_string(*m.slot) : std::string("none")) << "\n";
}

void add_nbd_connect_options(po::options_description& o) {
    o.add_options()("connect", po::value<std::string>()->required(), "the export, ADDR:PORT")
        ("name", po::value<std::string>()->default_value(""), "export name")
        ("connections", po::value<unsigned>()->default_value(1), "sockets to hand over")
        ("connect-timeout", po::value<unsigned>()->default_value(30), "seconds to keep retrying the TCP connect");
}

std::optional<nbd::AttachRequest> attach_request(const po::variables_map& vm, const std::string& sub) {
    nbd::AttachRequest r;
    if (std::string e = nbd::parse_host_port(vm["connect"].as<std::string>(), r.host, r.port); !e.empty()) {
        std::cerr << "haspool debug " << sub << ": --connect: " << e << "\n";
        return std::nullopt;
    }
    r.export_name = vm["name"].as<std::string>();
    r.connections = vm["connections"].as<unsigned>();
    r.connect_timeout = seconds(vm["connect-timeout"].as<unsigned>());
    return r;
}

int nbd_attach(const std::string& sub, const std::vector<std::string>& args) {
    po::options_description o("Options");
    add_nbd_connect_options(o);
    o.add_options()("index", po::value<uint32_t>(), "use /dev/nbdI (default: the kernel picks)")
        ("io-timeout", po::value<unsigned>()->default_value(20), "NBD_ATTR_TIMEOUT, seconds (> 0)")
        ("dead-timeout", po::value<unsigned>()->default_value(3), "NBD_ATTR_DEAD_CONN_TIMEOUT, seconds")
        ("block-size", po::value<uint64_t>(), "logical block size (default: the export's preferred)");
    po::variables_map vm;
    if (auto rc = parse("debug " + sub, "--connect ADDR:PORT [--name N] [--index I] ...",
                        "Connects to an NBD export, handshakes, and hands the socket to the kernel over netlink\n"
                        "(NBD_CMD_CONNECT). Prints the device.", o, args, vm))
        return *rc;
    auto r = attach_request(vm, sub);
    if (!r) return kExitUsage;
    if (vm.count("index")) r->index = vm["index"].as<uint32_t>();
    r->io_timeout = seconds(vm["io-timeout"].as<unsigned>());
    r->dead_conn_timeout = seconds(vm["dead-timeout"].as<unsigned>());
    if (vm.count("block-size")) r->block_size = vm["block-size"].as<uint64_t>();
    if (r->io_timeout.count() == 0) {
        std::cerr << "haspool debug " << sub << ": --io-timeout must be above 0 (0 lets a dead peer hang writes forever)\n";
        return kExitUsage;
    }
    nbd::AttachResult a = nbd::attach(*r);
    if (!a.error.empty()) return failed(sub, a.error);
    std::cout << "/dev/nbd" << *a.index << " size=" << a.size_bytes << " flags=0x" << std::hex << a.transmission_flags
              << std::dec << "\n";
    return kExitOk;
}

int nbd_reconnect(const std::string& sub, const std::vector<std::string>& args) {
    po::options_description o("Options");
    add_nbd_connect_options(o);
    o.add_options()("index", po::value<uint32_t>()->required(), "the device, /dev/nbdI");
    po::variables_map vm;
    if (auto rc = parse("debug " + sub, "--index I --connect ADDR:PORT [--name N]",
                        "Connects and handshakes afresh and hands the socket to /dev/nbdI (NBD_CMD_RECONFIGURE);\n"
                        "the kernel accepts it only in place of a socket it has marked dead.", o, args, vm))
        return *rc;
    auto r = attach_request(vm, sub);
    if (!r) return kExitUsage;
    if (std::string e = nbd::reconnect(vm["index"].as<uint32_t>(), *r); !e.empty()) return failed(sub, e);
    return kExitOk;
}

int nbd_detach(const std::string& sub, const std::vector<std::string>& args) {
    po::options_description o("Options");
    o.add_options()("index", po::value<uint32_t>()->required(), "the device, /dev/nbdI");
    po::variables_map vm;
    if (auto rc = parse("debug " + sub, "--index I", "Disconnects /dev/nbdI (NBD_CMD_DISCONNECT).", o, args, vm)) return *rc;
    if (std::string e = nbd::detach(vm["index"].as<uint32_t>()); !e.empty()) return failed(sub, e);
    return kExitOk;
}

int nbd_status(const std::string& sub, const std::vector<std::string>& args) {
    po::options_description o("Options");
    o.add_options()("index", po::value<uint32_t>(), "only /dev/nbdI");
    po::variables_map vm;
    if (auto rc = parse("debug " + sub, "[--index I]", "Prints the kernel's NBD_CMD_STATUS: one 'nbdI connected|disconnected' line per device.", o, args, vm))
        return *rc;
    std::optional<uint32_t> idx;
    if (vm.count("index")) idx = vm["index"].as<uint32_t>();
    nbd::KernelStatusResult s = nbd::kernel_status(idx);
    if (!s.error.empty()) return failed(sub, s.error);
    for (const auto& d : s.devices) std::cout << "nbd" << d.index << " " << (d.connected ? "connected" : "disconnected") << "\n";
    return kExitOk;
}

int nbd_watch(const std::string& sub, const std::vector<std::string>& args) {
    po::options_description o("Options");
    o.add_options()("timeout", po::value<unsigned>()->default_value(60), "seconds to listen")
        ("count", po::value<unsigned>()->default_value(0), "stop after this many events (0: until the timeout)");
    po::variables_map vm;
    if (auto rc = parse("debug " + sub, "[--timeout S] [--count N]",
                        "Listens on the nbd netlink multicast group and prints 'link-dead /dev/nbdI' for each\n"
                        "NBD_CMD_LINK_DEAD. Prints 'listening' once subscribed. Exit 0 if any event came, 1 if none.", o, args, vm))
        return *rc;
    auto w = nbd::LinkDeadWatch::open();
    if (!w.watch) return failed(sub, w.error);
    std::cout << "listening" << std::endl;
    const auto deadline = std::chrono::steady_clock::now() + seconds(vm["timeout"].as<unsigned>());
    const unsigned want = vm["count"].as<unsigned>();
    unsigned seen = 0;
    while (want == 0 || seen < want) {
        auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{w.watch->fd(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        auto ev = w.watch->read_link_dead();
        if (!ev.error.empty()) return failed(sub, ev.error);
        for (uint32_t i : ev.dead_indexes) {
            std::cout << "link-dead /dev/nbd" << i << std::endl;
            ++seen;
        }
    }
    return seen > 0 ? kExitOk : kExitFailure;
}

// md subcommands share --md and --member.
int md_command(const std::string& sub, const std::vector<std::string>& args) {
    po::options_description o("Options");
    o.add_options()("md", po::value<std::string>()->required(), "the array, e.g. /dev/md/haspool")
        ("member", po::value<std::vector<std::string>>()->multitoken(), "member device(s)");
    if (sub == "md-create")
        o.add_options()("local", po::value<std::string>()->required(), "the local leg X")
            ("remote", po::value<std::string>()->required(), "the NBD leg (added --write-mostly)")
            ("name", po::value<std::string>()->default_value("haspool"), "array name")
            ("bitmap-chunk", po::value<std::string>()->default_value("64M"), "bitmap chunk size")
            ("write-behind", po::value<unsigned>(), "opt in to write-behind to the NBD leg (N writes)")
            ("force", "create even over a filesystem or an old array");
    if (sub == "md-assemble") o.add_options()("degraded", "start with the members that are there (--run)");
    if (sub == "md-re-add") o.add_options()("no-write-mostly", "do not restore write-mostly");
    if (sub == "md-status") o.add_options()("test", "exit like mdadm --detail --test: 0 ok, 1 degraded, 2 failed, 4 error");
    if (sub == "md-wait")
        o.add_options()("until", po::value<std::string>()->required(), "clean | degraded | idle")
            ("timeout", po::value<unsigned>()->default_value(300), "seconds");
    if (sub == "md-merge-bitmap") o.add_options()("from", po::value<std::string>()->required(), "the stopped member whose dirty chunks to add");
    po::variables_map vm;
    if (auto rc = parse("debug " + sub, "--md DEV ...", "md RAID-1 operation '" + sub + "' (see haspool debug --help).", o, args, vm))
        return *rc;
    const std::string md = vm["md"].as<std::string>();
    std::vector<std::string> members;
    if (vm.count("member")) members = vm["member"].as<std::vector<std::string>>();
    auto one_member = [&]() -> std::optional<std::string> {
        if (members.size() == 1) return members[0];
        std::cerr << "haspool debug " << sub << ": give exactly one --member\n";
        return std::nullopt;
    };
    agent::ProcessRunner runner;
    raid::MdControl mdc(runner);
    std::string e;
    if (sub == "md-create") {
        raid::CreateRequest r;
        r.md_device = md;
        r.name = vm["name"].as<std::string>();
        r.local_member = vm["local"].as<std::string>();
        r.remote_member = vm["remote"].as<std::string>();
        r.bitmap_chunk = vm["bitmap-chunk"].as<std::string>();
        if (vm.count("write-behind")) r.write_behind = vm["write-behind"].as<unsigned>();
        r.force = vm.count("force") > 0;
        e = mdc.create(r);
    } else if (sub == "md-assemble") {
        e = mdc.assemble(md, members, vm.count("degraded") > 0);
    } else if (sub == "md-fail" || sub == "md-remove" || sub == "md-re-add" || sub == "md-write-mostly") {
        auto m = one_member();
        if (!m) return kExitUsage;
        e = sub == "md-fail"     ? mdc.fail(md, *m)
            : sub == "md-remove" ? mdc.remove(md, *m)
            : sub == "md-re-add" ? mdc.re_add(md, *m, vm.count("no-write-mostly") == 0)
                                 : mdc.set_write_mostly(md, *m);
    } else if (sub == "md-stop") {
        e = mdc.stop(md);
    } else if (sub == "md-status") {
        if (vm.count("test")) {
            raid::HealthResult h = mdc.detail_test(md);
            std::cout << "health=" << to_string(h.health) << "\n";
            if (!h.error.empty()) std::cerr << "haspool debug " << sub << ": " << h.error << "\n";
            return static_cast<int>(h.health);
        }
        raid::StatusResult s = mdc.status(md);
        if (!s.error.empty()) return failed(sub, s.error);
        print_snapshot(s.snapshot);
    } else if (sub == "md-wait") {
        auto c = raid::parse_condition(vm["until"].as<std::string>());
        if (!c) {
            std::cerr << "haspool debug " << sub << ": --until must be clean, degraded or idle\n";
            return kExitUsage;
        }
        raid::StatusResult s = mdc.wait_until(md, *c, seconds(vm["timeout"].as<unsigned>()));
        print_snapshot(s.snapshot);
        e = s.error;
    } else if (sub == "md-merge-bitmap") {
        uint64_t marked = 0;
        e = mdc.merge_bitmap_from(md, vm["from"].as<std::string>(), &marked);
        if (e.empty()) std::cout << "marked=" << marked << "\n";
    }
    return e.empty() ? kExitOk : failed(sub, e);
}

int md_examine_bitmap(const std::string& sub, const std::vector<std::string>& args) {
    po::options_description o("Options");
    o.add_options()("member", po::value<std::string>()->required(), "a member device");
    po::variables_map vm;
    if (auto rc = parse("debug " + sub, "--member DEV",
                        "Prints what mdadm --examine-bitmap says and which chunks the member's own bitmap marks dirty.", o, args, vm))
        return *rc;
    agent::ProcessRunner runner;
    raid::MdControl mdc(runner);
    const std::string m = vm["member"].as<std::string>();
    auto x = mdc.examine_bitmap(m);
    if (!x.error.empty()) return failed(sub, x.error);
    auto d = raid::read_member_bitmap(m);
    if (!d.error.empty()) return failed(sub, d.error);
    std::cout << "events=" << x.summary->events << "\nchunk_bytes=" << x.summary->chunk_bytes << "\nbits=" << x.summary->bits
              << "\ndirty=" << x.summary->dirty << "\nondisk_dirty=" << d.bitmap->dirty_chunks()
              << "\nondisk_ranges=" << raid::format_set_bits(d.bitmap->dirty) << "\n";
    return kExitOk;
}

int device_claim_command(const std::string& sub, const std::vector<std::string>& args) {
    po::options_description o("Options");
    o.add_options()("device", po::value<std::string>()->required(), "the block device (Y on the standby)");
    po::variables_map vm;
    if (auto rc = parse("debug " + sub, "--device DEV",
                        "What uses DEV on this node so that the standby must not export it (mounted, md/dm on "
                        "it, a loop device over it). Exit 0 and 'free' when nothing does; 1 with what does.",
                        o, args, vm))
        return *rc;
    agent::DeviceClaim c = agent::device_claim(vm["device"].as<std::string>());
    if (!c.error.empty()) return failed(sub, c.error);
    if (c.what.empty()) {
        std::cout << "free\n";
        return kExitOk;
    }
    std::cout << "in use: " << c.what << (c.by_loop ? " (the raw mapping)" : "") << "\n";
    return 1;
}

struct Sub {
    const char* summary;
    int (*run)(const std::string&, const std::vector<std::string>&);
};

const std::map<std::string, Sub>& subcommands() {
    static const std::map<std::string, Sub> table = {
        {"nbd-attach", {"connect, handshake and NBD_CMD_CONNECT a socket to /dev/nbdI", nbd_attach}},
        {"nbd-reconnect", {"fresh socket for a dead slot (NBD_CMD_RECONFIGURE)", nbd_reconnect}},
        {"nbd-detach", {"NBD_CMD_DISCONNECT /dev/nbdI", nbd_detach}},
        {"nbd-status", {"NBD_CMD_STATUS of the devices", nbd_status}},
        {"nbd-watch", {"print NBD_CMD_LINK_DEAD notifications", nbd_watch}},
        {"md-create", {"create the RAID-1 (metadata 1.0, bitmap, NBD leg write-mostly)", md_command}},
        {"md-assemble", {"assemble from the given members (--degraded: from what is there)", md_command}},
        {"md-fail", {"mark a member faulty", md_command}},
        {"md-remove", {"remove a member (or 'failed'/'detached')", md_command}},
        {"md-re-add", {"re-add a member (bitmap resync) and restore write-mostly", md_command}},
        {"md-write-mostly", {"mark a member write-mostly", md_command}},
        {"md-stop", {"stop the array", md_command}},
        {"md-status", {"the array's state from sysfs (--test: mdadm's exit codes)", md_command}},
        {"md-wait", {"wait (poll POLLPRI) until clean|degraded|idle", md_command}},
        {"md-examine-bitmap", {"a member's bitmap: mdadm -X and its dirty chunks", md_examine_bitmap}},
        {"md-merge-bitmap", {"mark a stopped member's dirty chunks in the running array", md_command}},
        {"device-claim", {"what on this node uses a device (why the standby would not export it)", device_claim_command}},
        {"smtp-sink", {"SMTP receiver storing each message durably before its 250 (the drill's)", debug_smtp_sink}},
        {"smtp-send", {"send numbered messages over SMTP, one result line each (the drill's)", debug_smtp_send}},
    };
    return table;
}

}  // namespace

int cmd_debug(const std::vector<std::string>& args) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        std::ostream& o = args.empty() ? std::cerr : std::cout;
        o << "Usage: haspool debug SUBCOMMAND [OPTIONS]   (SUBCOMMAND --help for its options)\n\n"
             "Single low-level steps of the mirror, as root (kernel NBD over netlink, md RAID-1):\n";
        for (const auto& [name, s] : subcommands())
            o << "  " << name << std::string(name.size() < 19 ? 19 - name.size() : 1, ' ') << s.summary << "\n";
        return args.empty() ? kExitUsage : kExitOk;
    }
    auto it = subcommands().find(args[0]);
    if (it == subcommands().end()) {
        std::cerr << "haspool debug: unknown subcommand '" << args[0] << "'; see 'haspool debug --help'\n";
        return kExitUsage;
    }
    return it->second.run(args[0], std::vector<std::string>(args.begin() + 1, args.end()));
}

}  // namespace haspool::cli
