// The deployment checks' judgement (config/deployment_check.hpp), from facts only: each row
// starts from a correct deployment, changes one fact, and names the finding it expects.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>

#include "config/config_loader.hpp"
#include "config/deployment_check.hpp"

using namespace haspool::config;

namespace {

const std::string kPostconfParams =
    "queue_directory mail_spool_directory local_transport mailbox_transport mailbox_command home_mailbox";

Config make_config(const std::string& units = "[postfix@-.service, dovecot.service]",
                   const std::string& mount_point = "/var/spool/mail") {
    std::string yaml = "cluster: {name: c, secret_file: /etc/haspool/secret}\n"
                       "nodes:\n"
                       "  - {name: alpha, role: primary, spool_device: /dev/vdb, addresses: {r: 192.0.2.1}}\n"
                       "  - {name: beta, role: standby, spool_device: /dev/vdc, addresses: {r: 192.0.2.2}}\n"
                       "spool: {mount_point: " + mount_point + "}\n"
                       "service: {address: 198.51.100.25/24, interface: eth0, units: " + units + "}\n";
    auto r = load_string(yaml, "t.yaml");
    REQUIRE(r.errors.empty());
    return *r.config;
}

ToolOutput answer(const std::string& out, int status = 0) {
    ToolOutput t;
    t.end = ToolOutput::End::exited;
    t.exit_status = status;
    t.out = out;
    t.described = "'tool' exited with status " + std::to_string(status);
    return t;
}

// A probe command that never answered (killed at its timeout).
ToolOutput timed_out(const std::string& argv) {
    ToolOutput t;
    t.described = "'" + argv + "' timed out after 10000 ms";
    return t;
}

std::string postconf_out(const std::string& queue, const std::string& spool_dir, const std::string& extra = "") {
    return "queue_directory = " + queue + "\nmail_spool_directory = " + spool_dir +
           "\nlocal_transport = local:mail-a\nmailbox_transport =\nmailbox_command =\nhome_mailbox =\n" + extra;
}

// A deployment as docs/actions.md describes it: queue and mailboxes on the spool, units
// disabled, mdadm.conf with AUTO -all, no fstab line for the spool, nbd loaded at boot.
DeploymentFacts good_facts() {
    DeploymentFacts f;
    f.mdadm_conf = "DEVICE partitions\nAUTO -all\n";
    f.fstab = "UUID=1111 / ext4 errors=remount-ro 0 1\n/dev/sda2 /var ext4 defaults 0 2\n";
    f.modules_load = {{"/usr/lib/modules-load.d", "haspool.conf", "nbd\n"}};
    f.nbd_loaded = true;
    f.systemd_running = true;
    f.postconf["postfix@-.service"] = answer(postconf_out("/var/spool/mail/postfix", "/var/spool/mail"));
    f.unit_file_state["postfix@-.service"] = answer("enabled-runtime\n");  // Debian's postfix-instance-generator
    f.unit_file_state["dovecot.service"] = answer("disabled\n", 1);
    f.unit_file_state["postfix.service"] = answer("disabled\n", 1);
    return f;
}

enum class Kind { none, error, warning, note };

struct Row {
    const char* name;
    std::function<void(DeploymentFacts&)> change;
    Kind kind;
    std::string path;
    std::string fragment;
};

std::string dump(const HostReport& r) {
    std::string s;
    for (const auto& p : r.errors) s += "  error " + p.to_string() + "\n";
    for (const auto& p : r.warnings) s += "  warning " + p.to_string() + "\n";
    for (const auto& p : r.notes) s += "  note " + p.to_string() + "\n";
    return s.empty() ? "  (nothing)\n" : s;
}

void check_rows(const Config& c, const Node& self, const std::vector<Row>& rows) {
    for (const auto& row : rows) {
        DeploymentFacts f = good_facts();
        row.change(f);
        HostReport r = judge_deployment(c, self, f);
        INFO("row: " << row.name << "\n" << dump(r));
        if (row.kind == Kind::none) {
            CHECK(r.errors.empty());
            CHECK(r.warnings.empty());
            continue;
        }
        const auto& list = row.kind == Kind::error ? r.errors : row.kind == Kind::warning ? r.warnings : r.notes;
        REQUIRE(list.size() >= 1);
        bool found = false;
        for (const auto& p : list)
            if (p.path == row.path && p.message.find(row.fragment) != std::string::npos) found = true;
        CHECK(found);
        if (row.kind != Kind::error) CHECK(r.errors.empty());
    }
}

}  // namespace

TEST_CASE("a correct deployment has nothing to report") {
    Config c = make_config();
    HostReport r = judge_deployment(c, c.primary(), good_facts());
    INFO(dump(r));
    CHECK(r.errors.empty());
    CHECK(r.warnings.empty());
    CHECK(r.notes.empty());
    HostReport standby = judge_deployment(c, c.standby(), good_facts());
    CHECK(standby.errors.empty());
    CHECK(standby.warnings.empty());
}

TEST_CASE("postfix_instance: which units are postfix, and which instance") {
    CHECK(postfix_instance("postfix.service") == "-");
    CHECK(postfix_instance("postfix@-.service") == "-");
    CHECK(postfix_instance("postfix@postfix-out.service") == "postfix-out");
    CHECK_FALSE(postfix_instance("postfix@.service"));
    CHECK_FALSE(postfix_instance("postfix-resolvconf.service"));
    CHECK_FALSE(postfix_instance("dovecot.service"));
    CHECK_FALSE(postfix_instance("postfix@-.socket"));
}

TEST_CASE("probe_commands: postconf per postfix unit, systemctl only where systemd runs") {
    auto argvs = [](const std::vector<ProbeCommand>& cmds) {
        std::vector<std::string> out;
        for (const auto& c : cmds) {
            std::string s;
            for (const auto& w : c.argv) s += (s.empty() ? "" : " ") + w;
            out.push_back(s);
        }
        return out;
    };
    Config c = make_config();
    CHECK(argvs(probe_commands(c, true)) == std::vector<std::string>{
                                                "postconf -x " + kPostconfParams,
                                                "systemctl is-enabled postfix@-.service",
                                                "systemctl is-enabled dovecot.service",
                                                "systemctl is-enabled postfix.service",
                                            });
    CHECK(argvs(probe_commands(c, false)) == std::vector<std::string>{"postconf -x " + kPostconfParams});
    Config out = make_config("[postfix@postfix-out.service]");
    CHECK(argvs(probe_commands(out, false)) ==
          std::vector<std::string>{"postmulti -i postfix-out -x postconf -x " + kPostconfParams});
    Config wrapper = make_config("[postfix.service]");
    CHECK(argvs(probe_commands(wrapper, true)) == std::vector<std::string>{
                                                      "postconf -x " + kPostconfParams,
                                                      "systemctl is-enabled postfix.service",
                                                      "systemctl show --property=Type --value postfix.service",
                                                  });
    CHECK(probe_commands(make_config("[]"), true).empty());
}

TEST_CASE("parsers: fstab fields and escapes, postconf lines, at_or_below") {
    auto e = parse_fstab("# comment\n\n  /dev/md/haspool /var/spool/mail\\040x ext4 noatime,noauto 0 0\nshort line\n"
                         "tmpfs /tmp tmpfs\n");
    REQUIRE(e.size() == 2);
    CHECK(e[0].line == 3);
    CHECK(e[0].spec == "/dev/md/haspool");
    CHECK(e[0].file == "/var/spool/mail x");
    CHECK(e[0].has_option("noauto"));
    CHECK_FALSE(e[0].has_option("auto"));
    CHECK(e[1].line == 5);
    CHECK(e[1].options.empty());

    auto p = parse_postconf("queue_directory = /var/spool/postfix\nmailbox_command =\nweird line\n"
                            "mailbox_transport = lmtp:unix:private/dovecot-lmtp\n");
    CHECK(p["queue_directory"] == "/var/spool/postfix");
    CHECK(p["mailbox_command"].empty());
    CHECK(p["mailbox_transport"] == "lmtp:unix:private/dovecot-lmtp");
    CHECK(p.count("weird line") == 0);

    CHECK(at_or_below("/var/spool/mail", "/var/spool/mail"));
    CHECK(at_or_below("/var/spool/mail/postfix", "/var/spool/mail"));
    CHECK_FALSE(at_or_below("/var/spool/mailx", "/var/spool/mail"));
    CHECK_FALSE(at_or_below("/var/spool", "/var/spool/mail"));
    CHECK(at_or_below("/anything", "/"));
}

TEST_CASE("postfix's queue must be on the mirrored spool, seen through symlinks on both sides") {
    Config c = make_config();
    auto queue = [](const std::string& q) {
        return [q](DeploymentFacts& f) { f.postconf["postfix@-.service"] = answer(postconf_out(q, "/var/spool/mail")); };
    };
    check_rows(c, c.primary(), {
        {"the queue where Debian puts it", queue("/var/spool/postfix"), Kind::error, "service.units[0]",
         "postfix@-.service queues mail in /var/spool/postfix (postconf queue_directory), outside the mirrored spool "
         "/var/spool/mail: postfix acknowledges a message (250 after DATA) once it is in its queue"},
        {"the fix is printed", queue("/var/spool/postfix"), Kind::error, "service.units[0]",
         "postconf -e queue_directory=/var/spool/mail/postfix"},
        {"below the spool", queue("/var/spool/mail/postfix"), Kind::none, "", ""},
        {"the spool itself", queue("/var/spool/mail"), Kind::none, "", ""},
        {"a name that only starts like the spool", queue("/var/spool/mailq"), Kind::error, "service.units[0]",
         "queues mail in /var/spool/mailq"},
        {"a trailing slash and dots", queue("/var/spool/mail/./postfix/"), Kind::none, "", ""},
        {"a symlink on the spool side: /var/spool/mail -> ../mail, queue in /var/mail",
         [](DeploymentFacts& f) {
             f.resolved["/var/spool/mail"] = "/var/mail";
             f.postconf["postfix@-.service"] = answer(postconf_out("/var/mail/postfix", "/var/mail"));
         },
         Kind::none, "", ""},
        {"a symlink on the queue side: /srv/queue -> /var/spool/mail/q",
         [](DeploymentFacts& f) {
             f.resolved["/srv/queue"] = "/var/spool/mail/q";
             f.postconf["postfix@-.service"] = answer(postconf_out("/srv/queue", "/var/spool/mail"));
         },
         Kind::none, "", ""},
        {"a symlink that leads out of the spool",
         [](DeploymentFacts& f) { f.resolved["/var/spool/mail/postfix"] = "/var/spool/postfix"; }, Kind::error,
         "service.units[0]", "queues mail in /var/spool/mail/postfix (which resolves to /var/spool/postfix)"},
        {"postconf is not installed",
         [](DeploymentFacts& f) {
             ToolOutput t;
             t.end = ToolOutput::End::missing;
             t.described = "postconf is not installed (not found in PATH=/usr/sbin)";
             f.postconf["postfix@-.service"] = t;
         },
         Kind::error, "service.units[0]",
         "postfix@-.service is in service.units but postconf is not installed (not found in PATH=/usr/sbin)"},
        {"postconf fails", [](DeploymentFacts& f) { f.postconf["postfix@-.service"] = answer("", 1); }, Kind::error,
         "service.units[0]", "cannot ask postfix@-.service's postfix instance where it queues mail: 'tool' exited with status 1"},
        {"postconf timed out", [](DeploymentFacts& f) { f.postconf["postfix@-.service"] = timed_out("postconf"); },
         Kind::error, "service.units[0]", "'postconf' timed out after 10000 ms"},
        {"postconf names no queue", [](DeploymentFacts& f) { f.postconf["postfix@-.service"] = answer("mailbox_command =\n"); },
         Kind::error, "service.units[0]", "postconf did not name an absolute queue_directory"},
    });
}

TEST_CASE("another postfix instance is asked through postmulti and told how to fix it") {
    Config c = make_config("[postfix@postfix-out.service]");
    DeploymentFacts f = good_facts();
    f.postconf.clear();
    f.postconf["postfix@postfix-out.service"] = answer(postconf_out("/var/spool/postfix-out", "/var/spool/mail"));
    f.unit_file_state["postfix@postfix-out.service"] = answer("disabled\n", 1);
    HostReport r = judge_deployment(c, c.primary(), f);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].message.find("postmulti -i postfix-out -x postconf -e queue_directory=/var/spool/mail/postfix") !=
          std::string::npos);
}

TEST_CASE("mailboxes: mail_spool_directory matters only when local(8) delivers into it") {
    Config c = make_config();
    auto with = [](const std::string& spool_dir, const std::string& extra = "", const std::string& transport = "local:mail-a") {
        return [=](DeploymentFacts& f) {
            f.postconf["postfix@-.service"] =
                answer("queue_directory = /var/spool/mail/postfix\nmail_spool_directory = " + spool_dir +
                       "\nlocal_transport = " + transport + "\n" + extra);
        };
    };
    check_rows(c, c.primary(), {
        {"Debian's /var/mail off the spool", with("/var/mail"), Kind::warning, "service.units[0]",
         "postfix@-.service delivers mailboxes into /var/mail (postconf mail_spool_directory), outside the mirrored spool "
         "/var/spool/mail: mail delivered there stays behind on this node at a failover"},
        {"maildir style, on the spool", with("/var/spool/mail/"), Kind::none, "", ""},
        {"/var/mail, which the spool's mount point resolves to",
         [&](DeploymentFacts& f) {
             with("/var/mail")(f);
             f.resolved["/var/spool/mail"] = "/var/mail";
         },
         Kind::none, "", ""},
        {"mailbox_transport hands delivery elsewhere",
         with("/var/mail", "mailbox_transport = lmtp:unix:private/dovecot-lmtp\n"), Kind::note, "service.units[0]",
         "hands mailbox delivery to mailbox_transport = lmtp:unix:private/dovecot-lmtp"},
        {"mailbox_command", with("/var/mail", "mailbox_command = /usr/lib/dovecot/dovecot-lda\n"), Kind::note,
         "service.units[0]", "mailbox_command = /usr/lib/dovecot/dovecot-lda"},
        {"home_mailbox", with("/var/mail", "home_mailbox = Maildir/\n"), Kind::note, "service.units[0]",
         "delivers into users' home directories (home_mailbox = Maildir/)"},
        {"maps only cover the recipients they list",
         with("/var/mail", "mailbox_transport_maps = hash:/etc/postfix/mt\n"), Kind::warning, "service.units[0]",
         "delivers mailboxes into /var/mail"},
        {"local_transport is not local(8)", with("/var/mail", "", "virtual"), Kind::note, "service.units[0]",
         "delivers local mail through local_transport = virtual, not local(8)"},
    });
}

TEST_CASE("postfix.service is refused where it is Debian's oneshot wrapper") {
    Config c = make_config("[postfix.service]");
    auto base = [](DeploymentFacts& f) {
        f.postconf.clear();
        f.postconf["postfix.service"] = answer(postconf_out("/var/spool/mail/postfix", "/var/spool/mail"));
    };
    check_rows(c, c.primary(), {
        {"Type=oneshot",
         [&](DeploymentFacts& f) {
             base(f);
             f.unit_type["postfix.service"] = answer("oneshot\n");
         },
         Kind::error, "service.units[0]",
         "postfix.service is a wrapper around postfix@-.service (Type=oneshot) that reports success even when postfix "
         "itself fails to start"},
        {"the fix is printed",
         [&](DeploymentFacts& f) {
             base(f);
             f.unit_type["postfix.service"] = answer("oneshot\n");
         },
         Kind::error, "service.units[0]", "list the instance instead: units: [postfix@-.service, ...]"},
        {"another distribution's postfix.service is the daemon",
         [&](DeploymentFacts& f) {
             base(f);
             f.unit_type["postfix.service"] = answer("forking\n");
         },
         Kind::none, "", ""},
        {"systemd cannot be asked",
         [&](DeploymentFacts& f) {
             base(f);
             f.systemd_running = false;
         },
         Kind::error, "service.units[0]",
         "postfix.service is a wrapper around postfix@-.service (as on Debian; its type could not be asked: systemd is "
         "not running here)"},
        {"systemctl show fails",
         [&](DeploymentFacts& f) {
             base(f);
             f.unit_type["postfix.service"] = answer("", 1);
         },
         Kind::error, "service.units[0]", "its type could not be asked: 'tool' exited with status 1"},
    });
}

TEST_CASE("mail units must not start at boot, and haspool must be able to start them") {
    Config c = make_config();
    auto dovecot = [](const std::string& state) {
        return [state](DeploymentFacts& f) { f.unit_file_state["dovecot.service"] = answer(state + "\n"); };
    };
    check_rows(c, c.primary(), {
        {"enabled", dovecot("enabled"), Kind::error, "service.units[1]",
         "dovecot.service is enabled at boot (systemctl is-enabled: enabled): it would start before haspool mounts the "
         "spool"},
        {"enabled: the fix", dovecot("enabled"), Kind::error, "service.units[1]", "Run: systemctl disable dovecot.service"},
        {"enabled-runtime: in /run only, or a generator's", dovecot("enabled-runtime"), Kind::warning, "service.units[1]",
         "cannot tell whether dovecot.service starts at boot (systemctl is-enabled: enabled-runtime): it is enabled in /run "
         "only"},
        {"disabled", dovecot("disabled"), Kind::none, "", ""},
        {"static", dovecot("static"), Kind::none, "", ""},
        {"linked", dovecot("linked"), Kind::none, "", ""},
        {"linked-runtime", dovecot("linked-runtime"), Kind::none, "", ""},
        {"transient", dovecot("transient"), Kind::none, "", ""},
        {"masked", dovecot("masked"), Kind::error, "service.units[1]",
         "dovecot.service is masked (systemctl is-enabled: masked): systemd refuses to start it, so every takeover would fail"},
        {"masked-runtime", dovecot("masked-runtime"), Kind::error, "service.units[1]", "systemctl unmask dovecot.service"},
        {"not-found", dovecot("not-found"), Kind::error, "service.units[1]", "dovecot.service is not installed on this host"},
        {"not installed, as systemd 252 says it",
         [](DeploymentFacts& f) {
             ToolOutput t = answer("", 1);
             t.err = "Failed to get unit file state for dovecot.service: No such file or directory\n";
             f.unit_file_state["dovecot.service"] = t;
         },
         Kind::error, "service.units[1]", "dovecot.service is not installed on this host (systemctl is-enabled: not-found)"},
        {"bad", dovecot("bad"), Kind::error, "service.units[1]", "systemd cannot load dovecot.service's unit file"},
        {"alias", dovecot("alias"), Kind::warning, "service.units[1]", "the name is an alias of another unit"},
        {"indirect", dovecot("indirect"), Kind::warning, "service.units[1]", "Also="},
        {"generated", dovecot("generated"), Kind::warning, "service.units[1]", "a generator made it"},
        {"a state from a newer systemd", dovecot("frobnicated"), Kind::warning, "service.units[1]",
         "says 'frobnicated', a state check-config does not know, ignoring"},
        {"systemctl failed",
         [](DeploymentFacts& f) { f.unit_file_state["dovecot.service"] = timed_out("systemctl is-enabled dovecot.service"); },
         Kind::warning, "service.units[1]", "cannot ask systemd whether dovecot.service starts at boot: 'systemctl"},
        {"the instance itself enabled",
         [](DeploymentFacts& f) { f.unit_file_state["postfix@-.service"] = answer("enabled\n"); }, Kind::error,
         "service.units[0]", "postfix@-.service is enabled at boot"},
        {"the instance enabled-runtime, as Debian's generator leaves every instance",
         [](DeploymentFacts& f) { f.unit_file_state["postfix@-.service"] = answer("enabled-runtime\n"); }, Kind::none, "", ""},
        {"postfix.service enabled pulls the instance in at boot",
         [](DeploymentFacts& f) { f.unit_file_state["postfix.service"] = answer("enabled\n"); }, Kind::error, "service.units",
         "postfix.service is enabled at boot (systemctl is-enabled: enabled) and pulls in postfix@-.service (Debian's "
         "postfix-instance-generator puts every instance in postfix.service.wants)"},
        {"postfix.service masked is fine: it pulls nothing in",
         [](DeploymentFacts& f) { f.unit_file_state["postfix.service"] = answer("masked\n", 1); }, Kind::none, "", ""},
        {"no postfix.service at all",
         [](DeploymentFacts& f) { f.unit_file_state["postfix.service"] = answer("not-found\n", 4); }, Kind::none, "", ""},
        {"no systemd: not checked, said so",
         [](DeploymentFacts& f) {
             f.systemd_running = false;
             f.unit_file_state["dovecot.service"] = answer("enabled\n");
         },
         Kind::note, "service.units", "systemd is not running on this host (no /run/systemd/system)"},
    });
}

TEST_CASE("fstab: lines that mount the spool, by mount point or device, through symlinks") {
    Config c = make_config();
    auto fstab = [](const std::string& line, std::map<std::string, std::string> links = {}) {
        return [=](DeploymentFacts& f) {
            f.fstab += line + "\n";
            for (const auto& [k, v] : links) f.resolved[k] = v;
        };
    };
    const std::map<std::string, std::string> debian = {{"/var/spool/mail", "/var/mail"}};
    const std::map<std::string, std::string> assembled = {{"/dev/md/haspool", "/dev/md127"}};
    check_rows(c, c.primary(), {
        {"the spool's mount point", fstab("/dev/md/haspool /var/spool/mail ext4 defaults 0 2"), Kind::error,
         "spool.mount_point",
         "/etc/fstab line 3 would mount the spool at boot: '/dev/md/haspool /var/spool/mail' mounts on spool.mount_point "
         "/var/spool/mail. Only haspool mounts the spool"},
        {"noauto", fstab("/dev/md/haspool /var/spool/mail ext4 noauto 0 0"), Kind::none, "", ""},
        {"noauto with x-systemd.automount", fstab("/dev/md/haspool /var/spool/mail ext4 noauto,x-systemd.automount 0 0"),
         Kind::error, "spool.mount_point", "x-systemd.automount mounts it on first access"},
        {"/var/mail where the spool is /var/spool/mail -> ../mail",
         fstab("/dev/sdb1 /var/mail ext4 defaults 0 2", debian), Kind::error, "spool.mount_point",
         "'/dev/sdb1 /var/mail' mounts on spool.mount_point /var/spool/mail (both resolve to /var/mail)"},
        {"UUID= of the assembled array",
         fstab("UUID=4f2a /srv/mail ext4 defaults 0 2", {{"/dev/disk/by-uuid/4f2a", "/dev/md127"}, {"/dev/md/haspool", "/dev/md127"}}),
         Kind::error, "spool.mount_point",
         "'UUID=4f2a /srv/mail' names the spool's array /dev/md/haspool (both resolve to /dev/md127)"},
        {"LABEL= of something else", fstab("LABEL=backup /srv/backup ext4 defaults 0 2", assembled), Kind::none, "", ""},
        {"the md device by its kernel name", fstab("/dev/md127 /srv/mail ext4 defaults 0 2", assembled), Kind::error,
         "spool.mount_point", "names the spool's array /dev/md/haspool (both resolve to /dev/md127)"},
        {"/dev/md/NAME", fstab("/dev/md/haspool /srv/mail ext4 defaults 0 2"), Kind::error, "spool.mount_point",
         "'/dev/md/haspool /srv/mail' names the spool's array /dev/md/haspool"},
        {"this node's disk X", fstab("/dev/vdb /srv/x ext4 defaults 0 2"), Kind::error, "spool.mount_point",
         "names this node's spool disk (an array member) /dev/vdb"},
        {"a disk mounted inside the spool", fstab("/dev/sdc1 /var/spool/mail/archive ext4 defaults 0 2"), Kind::warning,
         "spool.mount_point", "/etc/fstab line 3 mounts /var/spool/mail/archive inside the spool"},
        {"inside the spool, noauto", fstab("/dev/sdc1 /var/spool/mail/archive ext4 noauto 0 0"), Kind::warning,
         "spool.mount_point", "inside the spool"},
        {"inside the spool through a symlink",
         fstab("/dev/sdc1 /var/mail/archive ext4 defaults 0 2", debian), Kind::warning, "spool.mount_point",
         "mounts /var/mail/archive inside the spool (spool.mount_point /var/spool/mail (which resolves to /var/mail))"},
        {"a name that only starts like the spool", fstab("/dev/sdc1 /var/spool/mailarchive ext4 defaults 0 2"), Kind::none,
         "", ""},
        {"/var on its own disk, mounted at boot", fstab("/dev/sda3 /var/spool ext4 defaults 0 2"), Kind::none, "", ""},
        {"a parent mounted by hand", fstab("/dev/sda3 /var/spool ext4 noauto 0 0"), Kind::warning, "spool.mount_point",
         "mounts /var/spool, which holds the spool (spool.mount_point /var/spool/mail), possibly after haspool mounted the "
         "spool (noauto: mounted by hand)"},
        {"a parent with nofail", fstab("/dev/sda3 /var/spool ext4 nofail 0 2"), Kind::warning, "spool.mount_point",
         "nofail: the boot does not wait for it"},
        {"a parent over NFS", fstab("nas:/spool /var/spool nfs4 defaults 0 0"), Kind::warning, "spool.mount_point",
         "a network filesystem"},
        {"swap", fstab("/dev/sda4 none swap sw 0 0"), Kind::none, "", ""},
        {"tmpfs elsewhere", fstab("tmpfs /tmp tmpfs defaults 0 0"), Kind::none, "", ""},
        {"commented out", fstab("# /dev/md/haspool /var/spool/mail ext4 defaults 0 2"), Kind::none, "", ""},
    });
    // The reverse: the spool is configured at the link's target, fstab names the link.
    Config at_target = make_config("[postfix@-.service, dovecot.service]", "/var/mail");
    check_rows(at_target, at_target.primary(), {
        {"/var/spool/mail in fstab, spool.mount_point /var/mail",
         fstab("/dev/sdb1 /var/spool/mail ext4 defaults 0 2", debian), Kind::error, "spool.mount_point",
         "'/dev/sdb1 /var/spool/mail' mounts on spool.mount_point /var/mail (both resolve to /var/mail)"},
    });
}

TEST_CASE("mdadm.conf must keep the OS from assembling the spool") {
    Config c = make_config();
    check_rows(c, c.primary(), {
        {"missing", [](DeploymentFacts& f) { f.mdadm_conf.reset(); }, Kind::warning, "spool.md_device",
         "/etc/mdadm/mdadm.conf is missing"},
        {"AUTO +all", [](DeploymentFacts& f) { f.mdadm_conf = "AUTO +all\n"; }, Kind::warning, "spool.md_device",
         "has no 'AUTO -all'"},
        {"AUTO -all among others", [](DeploymentFacts& f) { f.mdadm_conf = "AUTO +imsm -all\n"; }, Kind::none, "", ""},
    });
}

TEST_CASE("the nbd module at boot, on the primary") {
    Config c = make_config();
    auto modules = [](std::vector<ModulesLoadFile> files, bool loaded = true) {
        return [=](DeploymentFacts& f) {
            f.modules_load = files;
            f.nbd_loaded = loaded;
        };
    };
    check_rows(c, c.primary(), {
        {"the package's file", modules({{"/usr/lib/modules-load.d", "haspool.conf", "nbd\n"}}), Kind::none, "", ""},
        {"/lib on a system without merged /usr", modules({{"/lib/modules-load.d", "haspool.conf", "# for haspool\nnbd\n"}}),
         Kind::none, "", ""},
        {"the admin's own file", modules({{"/etc/modules-load.d", "local.conf", "loop\nnbd\n"}}), Kind::none, "", ""},
        {"loaded now, nothing at boot", modules({}), Kind::warning, "nbd",
         "the nbd module is loaded now, but nothing loads it at boot: after a reboot this primary cannot attach /dev/nbd0"},
        {"not loaded at all", modules({}, false), Kind::warning, "nbd",
         "the nbd module is not loaded, and nothing loads it at boot"},
        {"the fix", modules({}, false), Kind::warning, "nbd", "run modprobe nbd and add a line 'nbd' to /etc/modules-load.d/haspool.conf"},
        {"masked by a file of the same name in /etc",
         modules({{"/etc/modules-load.d", "haspool.conf", ""}, {"/usr/lib/modules-load.d", "haspool.conf", "nbd\n"}}),
         Kind::warning, "nbd",
         "/etc/modules-load.d/haspool.conf masks /usr/lib/modules-load.d/haspool.conf, which lists nbd"},
        {"masked by /run",
         modules({{"/run/modules-load.d", "haspool.conf", "loop\n"}, {"/usr/lib/modules-load.d", "haspool.conf", "nbd\n"}}),
         Kind::warning, "nbd", "/run/modules-load.d/haspool.conf masks"},
        {"a commented line", modules({{"/etc/modules-load.d", "x.conf", "# nbd\n; nbd\n"}}), Kind::warning, "nbd",
         "nothing loads it at boot"},
        {"/etc/modules with arguments",
         [](DeploymentFacts& f) {
             f.modules_load.clear();
             f.etc_modules = "# /etc/modules\nloop\nnbd nbds_max=4\n";
         },
         Kind::none, "", ""},
        {"the kernel command line",
         [](DeploymentFacts& f) {
             f.modules_load.clear();
             f.kernel_cmdline = "BOOT_IMAGE=/vmlinuz root=/dev/vda1 modules-load=loop,nbd quiet\n";
         },
         Kind::none, "", ""},
        {"built into the kernel",
         [](DeploymentFacts& f) {
             f.modules_load.clear();
             f.nbd_builtin = true;
         },
         Kind::none, "", ""},
    });
    // The standby serves its export from userspace: no nbd module needed there.
    check_rows(c, c.standby(), {{"standby", modules({}, false), Kind::none, "", ""}});
}

TEST_CASE("paths_to_resolve: what the checks compare") {
    Config c = make_config();
    DeploymentFacts f = good_facts();
    f.fstab = "UUID=4f2a /srv/mail ext4 defaults 0 2\ntmpfs /tmp tmpfs defaults 0 0\n";
    auto paths = paths_to_resolve(c, c.primary(), f);
    for (const char* p : {"/var/spool/mail", "/dev/md/haspool", "/dev/vdb", "/srv/mail", "/dev/disk/by-uuid/4f2a", "/tmp",
                          "/var/spool/mail/postfix"})
        CHECK(std::find(paths.begin(), paths.end(), p) != paths.end());
    CHECK(std::find(paths.begin(), paths.end(), "tmpfs") == paths.end());
}

TEST_CASE("nbd.tls off on a routed NBD link is a warning, on a direct link, or with tls required, nothing") {
    Config c = make_config();
    CHECK(route_probe_addresses(c) == std::vector<std::string>{"192.0.2.1", "192.0.2.2"});
    DeploymentFacts f = good_facts();
    f.routes["192.0.2.2"] = answer("192.0.2.2 dev eth1 src 192.0.2.1 uid 0 \\    cache \n");
    f.routes["192.0.2.1"] = answer("local 192.0.2.1 dev lo src 192.0.2.1 uid 0 \\    cache <local> \n");
    HostReport direct = judge_deployment(c, c.primary(), f);
    INFO(dump(direct));
    CHECK(direct.warnings.empty());

    f.routes["192.0.2.2"] = answer("192.0.2.2 via 203.0.113.1 dev eth1 src 10.0.0.1 uid 0 \\    cache \n");
    HostReport routed = judge_deployment(c, c.primary(), f);
    INFO(dump(routed));
    REQUIRE(routed.warnings.size() == 1);
    CHECK(routed.warnings[0].path == "nbd.tls");
    CHECK(routed.warnings[0].message.find("the NBD link is routed: 192.0.2.2 (via 203.0.113.1);") != std::string::npos);
    CHECK(routed.errors.empty());

    // A route lookup that failed says nothing either way.
    f.routes["192.0.2.2"] = answer("", 2);
    CHECK(judge_deployment(c, c.primary(), f).warnings.empty());

    c.nbd.tls = NbdTls::required;
    CHECK(route_probe_addresses(c).empty());
    f.routes["192.0.2.2"] = answer("192.0.2.2 via 203.0.113.1 dev eth1 src 10.0.0.1 uid 0 \\    cache \n");
    CHECK(judge_deployment(c, c.primary(), f).warnings.empty());
}

TEST_CASE("cluster.control_group: a group this host lacks is an error with the groupadd that fixes it") {
    Config c = make_config();
    DeploymentFacts f = good_facts();
    CHECK(judge_deployment(c, c.primary(), f).errors.empty());  // unset: root only, nothing to check

    c.cluster.control_group = "haspool-ops";
    f.groups["haspool-ops"] = 998;
    HostReport known = judge_deployment(c, c.primary(), f);
    INFO(dump(known));
    CHECK(known.errors.empty());

    f.groups["haspool-ops"] = std::nullopt;
    HostReport unknown = judge_deployment(c, c.primary(), f);
    INFO(dump(unknown));
    REQUIRE(unknown.errors.size() == 1);
    CHECK(unknown.errors[0].path == "cluster.control_group");
    CHECK(unknown.errors[0].message.find("'haspool-ops', which this host does not have; create it "
                                         "(groupadd --system haspool-ops)") != std::string::npos);

    f.groups.clear();  // never looked up counts as unknown, never as admitted
    CHECK(judge_deployment(c, c.primary(), f).errors.size() == 1);
}
