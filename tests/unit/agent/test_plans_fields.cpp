// A step is the whole instruction: Plans fills every field an executor needs from the
// configuration it reads at that moment, so a changed configuration (a reload) is what the next
// plan carries. Each field is set to a value no default has, then found in the step.
#include <catch2/catch.hpp>

#include "agent_test_support.hpp"
#include "agent/core/plans.hpp"

using namespace haspool;
using namespace haspool::agent;
using namespace haspool::agent::test;

namespace {

config::Config unusual() {
    config::Config c = example_config();
    c.fence.command = {"/sbin/fence-peer", "--pdu", "pdu-1"};
    c.fence.timeout = Millis(4321);
    c.hooks.before_takeover = {"/bin/hook", "bt"};
    c.hooks.after_takeover = {"/bin/hook", "at"};
    c.hooks.before_handback = {"/bin/hook", "bh"};
    c.hooks.after_handback = {"/bin/hook", "ah"};
    c.hooks.timeout = Millis(2345);
    c.spool.filesystem = config::Filesystem::xfs;
    c.spool.mount_point = "/srv/mail";
    c.spool.mount_options = {"noatime", "nodev"};
    c.spool.fsck_timeout = Millis(111000);
    c.spool.mount_timeout = Millis(22000);
    c.spool.md_name = "spoolmd";
    c.spool.bitmap_chunk_kib = 128;
    c.spool.write_behind = 64;
    c.nbd.port = 10999;
    c.nbd.export_name = "spoolY";
    c.nbd.listen_address = "192.0.2.2";
    c.nbd.allowed_peers = {"192.0.2.1", "192.0.2.9"};
    c.nbd.io_timeout = Millis(31000);
    c.nbd.dead_conn_timeout = Millis(2500);
    c.nbd.connections = 4;
    c.nbd.block_size = 512;
    c.heartbeat.dead_after = Millis(12000);
    c.service.garp = {7, Millis(150), 3, Millis(4000), Millis(60000)};
    c.service.unit_timeout = Millis(45000);
    return c;
}

template <class T>
std::vector<T> all_of(const std::vector<Step>& steps) {
    std::vector<T> v;
    for (const auto& s : steps)
        if (const T* t = std::get_if<T>(&s)) v.push_back(*t);
    return v;
}

template <class T>
T only(const std::vector<Step>& steps) {
    auto v = all_of<T>(steps);
    REQUIRE(v.size() == 1);
    return v.front();
}

}  // namespace

TEST_CASE("plans: the fence step carries argv, timeout and the documented environment") {
    const config::Config c = unusual();
    auto f = only<step::RunFence>(Plans(c).takeover(false));
    CHECK(f.argv == c.fence.command);
    CHECK(f.timeout == Millis(4321));
    CHECK(f.peer == "alpha");
    CHECK(f.env == Environment{{"HASPOOL_PEER", "alpha"}, {"HASPOOL_NODE", "beta"}, {"HASPOOL_EVENT", "fence"}});
    CHECK(describe(f) == "RunFence argv=[/sbin/fence-peer --pdu pdu-1] timeout=4321ms "
                         "env=[HASPOOL_EVENT=fence HASPOOL_NODE=beta HASPOOL_PEER=alpha] peer=alpha");
}

TEST_CASE("plans: a hook step carries argv, timeout and who is who, on the node that runs it") {
    const config::Config c = unusual();
    Plans p(c);
    auto bt = all_of<step::RunHook>(p.takeover(false)).front();
    CHECK(bt.name == "before_takeover");
    CHECK(bt.argv == std::vector<std::string>{"/bin/hook", "bt"});
    CHECK(bt.timeout == Millis(2345));
    CHECK(bt.env == Environment{{"HASPOOL_EVENT", "before_takeover"}, {"HASPOOL_NODE", "beta"}, {"HASPOOL_PEER", "alpha"}});
    auto bh = all_of<step::RunHook>(p.handover()).front();
    CHECK(bh.argv == std::vector<std::string>{"/bin/hook", "bh"});
    CHECK(bh.env == Environment{{"HASPOOL_EVENT", "before_handback"}, {"HASPOOL_NODE", "alpha"}, {"HASPOOL_PEER", "beta"}});
    auto ah = all_of<step::RunHook>(p.handback()).back();
    CHECK(ah.env.at("HASPOOL_EVENT") == "after_handback");
    CHECK(ah.env.at("HASPOOL_NODE") == "beta");
}

TEST_CASE("plans: a changed configuration is what the next plan carries") {
    config::Config c = example_config();
    Plans p(c);  // reads c by reference, as the machines' Plans read the daemon's configuration
    CHECK(all_of<step::RunFence>(p.takeover(false)).empty());
    CHECK(all_of<step::RunHook>(p.takeover(false)).empty());
    c.fence.command = {"/sbin/fence-b"};
    c.hooks.before_takeover = {"/bin/hook-b"};
    CHECK(only<step::RunFence>(p.takeover(false)).argv == std::vector<std::string>{"/sbin/fence-b"});
    CHECK(all_of<step::RunHook>(p.takeover(false)).front().argv == std::vector<std::string>{"/bin/hook-b"});
    c.fence.command = {"/sbin/fence-c"};
    CHECK(only<step::RunFence>(p.takeover(false)).argv == std::vector<std::string>{"/sbin/fence-c"});
}

TEST_CASE("plans: fsck, mount and unmount carry the spool's filesystem, options, timeouts and devices") {
    const config::Config c = unusual();
    Plans p(c);
    auto steps = p.takeover(false);
    auto f = only<step::Fsck>(steps);
    CHECK(f.dev == c.spool.md_device);
    CHECK(f.fs == config::Filesystem::xfs);
    CHECK(f.timeout == Millis(111000));
    CHECK(f.dir == "/srv/mail");
    auto m = only<step::Mount>(steps);
    CHECK(m.dir == "/srv/mail");
    CHECK(m.fs == config::Filesystem::xfs);
    CHECK(m.options == std::vector<std::string>{"noatime", "nodev"});
    CHECK(m.timeout == Millis(22000));
    // The standby may unmount the array or, after a raw takeover, the raw mapping; the primary the array.
    auto ub = only<step::Unmount>(p.handback());
    CHECK(ub.dir == "/srv/mail");
    CHECK(ub.devices == std::vector<std::string>{c.spool.md_device, p.raw_link()});
    CHECK(only<step::Unmount>(p.handover()).devices == std::vector<std::string>{c.spool.md_device});
    // The undo of a Mount unmounts exactly what it mounted.
    auto u = std::get<step::Unmount>(*undo_of(m));
    CHECK(u.dir == "/srv/mail");
    CHECK(u.devices == std::vector<std::string>{c.spool.md_device});
    auto raw_mount = only<step::Mount>(p.takeover_raw());
    CHECK(std::get<step::Unmount>(*undo_of(raw_mount)).devices == std::vector<std::string>{p.raw_link()});
}

TEST_CASE("plans: the mirror's creation carries md's name, bitmap, write-behind and the mkfs command") {
    const config::Config c = unusual();
    auto a = only<step::AssembleMirror>(Plans(c).connect(false, true));
    CHECK(a.create);
    CHECK(a.name == "spoolmd");
    CHECK(a.bitmap_chunk_kib == 128);
    CHECK(a.write_behind == 64);
    CHECK(a.mkfs == std::vector<std::string>{"mkfs.xfs", "-q", c.spool.md_device});
    CHECK(a.mkfs_timeout == Millis(111000));
    config::Config e = unusual();
    e.spool.filesystem = config::Filesystem::ext3;
    CHECK(only<step::AssembleMirror>(Plans(e).connect(false, true)).mkfs ==
          std::vector<std::string>{"mke2fs", "-q", "-t", "ext3", "-E", "lazy_itable_init=0,lazy_journal_init=0", e.spool.md_device});
    auto r = only<step::AssembleFromRaw>(Plans(c).failback(base_lineage().bumped(true), false, true));
    CHECK(r.name == "spoolmd");
    CHECK(r.bitmap_chunk_kib == 128);
    CHECK(r.fs == config::Filesystem::xfs);
    CHECK(only<step::MapRaw>(Plans(c).takeover_raw()).fs == config::Filesystem::xfs);
}

TEST_CASE("plans: the NBD attach and reconnect carry the kernel client's settings") {
    const config::Config c = unusual();
    Plans p(c);
    auto a = only<step::AttachNbd>(p.connect(false, false));
    CHECK(a.address == "192.0.2.2");
    CHECK(a.port == 10999);
    CHECK(a.export_name == "spoolY");
    CHECK(a.md == c.spool.md_device);
    CHECK(a.link.io_timeout == Millis(31000));
    CHECK(a.link.dead_conn_timeout == Millis(2500));
    CHECK(a.link.connections == 4);
    CHECK(a.link.block_size == 512);
    CHECK(a.link.connect_timeout == Millis(12000));  // max(dead_after, 10 s)
    auto r = only<step::ReconnectNbd>(p.reconnect());
    CHECK(r.link.io_timeout == Millis(31000));
    CHECK(r.link.connections == 4);
    CHECK(r.link.connect_timeout == Millis(2500));  // only the dead-connection timeout is ours
}

TEST_CASE("plans: the export of Y carries its device, address, name and the peers it admits") {
    const config::Config c = unusual();
    auto e = only<step::StartExport>(Plans(c).export_y());
    CHECK(e.dev == c.standby().spool_device);
    CHECK(e.listen_address == "192.0.2.2");
    CHECK(e.port == 10999);
    CHECK(e.export_name == "spoolY");
    CHECK(e.allow == std::vector<std::string>{"192.0.2.1", "192.0.2.9"});
    CHECK(e.description == "haspool spool Y of beta");
    config::Config d = example_config();
    d.nbd.allowed_peers.clear();  // as made in code, without the loader's default
    CHECK(only<step::StartExport>(Plans(d).export_y()).allow == std::vector<std::string>{"192.0.2.1"});
}

TEST_CASE("plans: the gratuitous ARP carries service.garp's whole schedule, units their timeout") {
    const config::Config c = unusual();
    Plans p(c);
    auto g = only<step::SendGarp>(p.takeover(false));
    CHECK(g.count == 7);
    CHECK(g.interval == Millis(150));
    CHECK(g.repeat_count == 3);
    CHECK(g.repeat_after == Millis(4000));
    CHECK(g.refresh == Millis(60000));
    for (const auto& u : all_of<step::StartUnit>(p.takeover(false))) CHECK(u.timeout == Millis(45000));
    for (const auto& u : all_of<step::StopUnit>(p.handback())) CHECK(u.timeout == Millis(45000));
}

TEST_CASE("plans: describe() renders what to_string() leaves out, to_string() stays one transcript line") {
    const config::Config c = unusual();
    auto m = only<step::Mount>(Plans(c).takeover(false));
    CHECK(to_string(m) == "Mount dev=/dev/md/haspool dir=/srv/mail fs=xfs options=noatime,nodev");
    CHECK(describe(m) == "Mount dev=/dev/md/haspool dir=/srv/mail fs=xfs options=noatime,nodev timeout=22000ms");
    CHECK(describe(step::StopExport{}) == "StopExport");
}

TEST_CASE("plans: nbd.tls: required puts the daemon's keys on both ends, transcripts name identities, never bytes") {
    config::Config c = example_config();
    CHECK_FALSE(only<step::StartExport>(Plans(c).export_y()).tls.required);
    CHECK_FALSE(Plans(c).attach_nbd().link.tls.required);
    c.nbd.tls = config::NbdTls::required;
    config::NbdTlsKey k{"mailspool/00112233aabbccdd", {}};
    k.key.fill(0xab);
    c.nbd.tls_keys = {k};
    auto e = only<step::StartExport>(Plans(c).export_y());
    CHECK(e.tls.required);
    REQUIRE(e.tls.keys.size() == 1);
    CHECK(e.tls.keys[0].identity == k.identity);
    CHECK(e.tls.keys[0].key == k.key);
    auto a = Plans(c).attach_nbd();
    auto r = Plans(c).reconnect_nbd();
    CHECK(a.link.tls.required);
    CHECK(r.link.tls.required);
    CHECK(a.link.tls.keys.size() == 1);
    CHECK(r.link.tls.keys.size() == 1);
    for (const Step& s : std::vector<Step>{e, a, r}) {
        INFO(describe(s));
        CHECK_THAT(to_string(s), Catch::Contains("tls=required"));
        CHECK_THAT(describe(s), Catch::Contains("tls_keys=[mailspool/00112233aabbccdd]"));
        CHECK_THAT(describe(s), !Catch::Contains("abab") && !Catch::Contains("ABAB"));
    }
}
