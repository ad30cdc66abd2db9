#include "config/deployment_check.hpp"

#include <algorithm>
#include <iterator>
#include <sstream>

namespace haspool::config {

namespace {

// What postconf is asked: the queue, and what decides where local(8) puts a mailbox.
const std::vector<std::string> kPostconfParameters = {"queue_directory",   "mail_spool_directory", "local_transport",
                                                      "mailbox_transport", "mailbox_command",      "home_mailbox"};

std::string trim(const std::string& s) {
    const char* ws = " \t\r\n";
    auto b = s.find_first_not_of(ws);
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

std::string first_line(const std::string& s) { return trim(s.substr(0, s.find('\n'))); }

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

// "/a//b/./c/../d/" -> "/a/b/d": lexical only (the probe resolves symlinks).
std::string clean(const std::string& path) {
    if (path.empty() || path[0] != '/') return path;
    std::vector<std::string> parts;
    std::stringstream ss(path);
    for (std::string p; std::getline(ss, p, '/');) {
        if (p.empty() || p == ".") continue;
        if (p == "..") {
            if (!parts.empty()) parts.pop_back();
            continue;
        }
        parts.push_back(p);
    }
    std::string out;
    for (const auto& p : parts) out += "/" + p;
    return out.empty() ? "/" : out;
}

// The path with its symlinks resolved, as the probe found it. A path it was not asked about is
// seen through its longest resolved ancestor (/var/spool/mail/x under /var/spool/mail -> /var/mail
// is /var/mail/x), else lexically.
std::string resolved(const DeploymentFacts& f, const std::string& path) {
    if (auto it = f.resolved.find(path); it != f.resolved.end()) return clean(it->second);
    const std::string p = clean(path);
    std::string best_key, best_value;
    for (const auto& [k, v] : f.resolved) {
        const std::string ck = clean(k);
        if (ck.size() > best_key.size() && at_or_below(p, ck)) {
            best_key = ck;
            best_value = clean(v);
        }
    }
    if (best_key.empty()) return p;
    return clean(best_value + "/" + (best_key == "/" ? p : p.substr(best_key.size())));
}

// "/var/spool/mail" or "/var/spool/mail (which resolves to /var/mail)".
std::string shown(const DeploymentFacts& f, const std::string& path) {
    std::string r = resolved(f, path);
    return r == clean(path) ? path : path + " (which resolves to " + r + ")";
}

std::string unit_path(const Config& c, const std::string& unit) {
    for (size_t i = 0; i < c.service.units.size(); ++i)
        if (c.service.units[i] == unit) return "service.units[" + std::to_string(i) + "]";
    return "service.units";
}

// The device an fstab spec names, as a path whose symlinks the probe can resolve; "" for
// specs that are no local device (tmpfs, proc, server:/export).
std::string device_path(const std::string& spec) {
    static const std::pair<const char*, const char*> tags[] = {{"UUID=", "/dev/disk/by-uuid/"},
                                                               {"LABEL=", "/dev/disk/by-label/"},
                                                               {"PARTUUID=", "/dev/disk/by-partuuid/"},
                                                               {"PARTLABEL=", "/dev/disk/by-partlabel/"},
                                                               {"ID=", "/dev/disk/by-id/"}};
    for (const auto& [tag, dir] : tags)
        if (starts_with(spec, tag)) {
            std::string v = spec.substr(std::string(tag).size());
            if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
            return v.empty() ? std::string() : dir + v;
        }
    return !spec.empty() && spec[0] == '/' ? spec : std::string();
}

// systemd's fstype_is_network(): such mounts wait for the network (remote-fs.target), which
// haspool's units are not ordered after.
bool network_filesystem(const std::string& type) {
    static const char* types[] = {"afs",  "cifs",  "smb3", "smbfs", "sshfs", "fuse.sshfs", "ncpfs",  "ncp",
                                  "nfs",  "nfs4",  "gfs",  "gfs2",  "glusterfs", "fuse.glusterfs", "pvfs2",
                                  "ocfs2", "lustre", "davfs", "fuse.davfs", "ceph", "fuse.ceph", "9p"};
    return std::find(std::begin(types), std::end(types), type) != std::end(types);
}

// ---------------------------------------------------------------------------------------------
// mdadm.conf must say "AUTO -all" (or otherwise exclude our array) so nothing assembles X or Y
// alone at boot (docs/design.md §3 rule 3). A warning, not an error: mdadm.conf can exclude the
// array in ways this string check does not follow (ARRAY <ignore>, per-metadata AUTO lists).
void check_mdadm_conf(const Config& c, const DeploymentFacts& f, HostReport& r) {
    if (!f.mdadm_conf || trim(*f.mdadm_conf).empty()) {
        r.warnings.push_back({"spool.md_device", f.mdadm_conf_path +
                                                     " is missing: the OS may auto-assemble the spool array at boot; add the line 'AUTO -all'"});
        return;
    }
    std::istringstream in(*f.mdadm_conf);
    bool auto_off = false;
    for (std::string line; std::getline(in, line);) {
        std::istringstream w(line);
        std::string first, rest;
        w >> first;
        if (first != "AUTO") continue;
        while (w >> rest)
            if (rest == "-all") auto_off = true;
    }
    if (!auto_off)
        r.warnings.push_back({"spool.md_device", f.mdadm_conf_path + " has no 'AUTO -all': the OS may auto-assemble " +
                                                     c.spool.md_device + " from one leg at boot (docs/design.md §3 rule 3)"});
}

// ---------------------------------------------------------------------------------------------
// fstab, compared by resolved paths on both sides (Debian's /var/spool/mail is a symlink to
// ../mail: a line for /var/mail mounts the spool just the same).
//
// A line that mounts the spool (its mount point or its device) at boot is an error: nothing
// legitimate needs it, and at boot it either hangs on an array that is not assembled or, worse,
// mounts one leg behind haspool's back (docs/design.md §3 rule 3). Lines that could hide the
// spool, or be hidden by it, are warnings: they lose nothing by themselves.
void check_fstab(const Config& c, const Node& self, const DeploymentFacts& f, HostReport& r) {
    const std::string mp = resolved(f, c.spool.mount_point);
    struct Device {
        std::string path, why;
    };
    std::vector<Device> spool_devices = {{c.spool.md_device, "the spool's array"},
                                         {"/dev/md/" + c.spool.md_name, "the spool's array"},
                                         {self.spool_device, "this node's spool disk (an array member)"}};
    for (const auto& e : parse_fstab(f.fstab)) {
        if (e.type == "swap" || e.file.empty() || e.file[0] != '/') continue;
        const std::string where = f.fstab_path + " line " + std::to_string(e.line);
        const std::string entry = "'" + e.spec + " " + e.file + "'";
        const bool automount = e.has_option("x-systemd.automount");
        const bool at_boot = !e.has_option("noauto") || automount;
        const std::string file = resolved(f, e.file);

        std::string hit;  // why this line mounts the spool
        if (file == mp)
            hit = entry + " mounts on spool.mount_point " + c.spool.mount_point +
                  (file == clean(e.file) && file == clean(c.spool.mount_point) ? "" : " (both resolve to " + mp + ")");
        if (std::string dev = device_path(e.spec); hit.empty() && !dev.empty()) {
            std::string dev_r = resolved(f, dev);
            for (const auto& d : spool_devices)
                if (dev_r == resolved(f, d.path)) {
                    hit = entry + " names " + d.why + " " + d.path +
                          (dev_r == clean(d.path) && dev_r == clean(dev) ? "" : " (both resolve to " + dev_r + ")");
                    break;
                }
        }
        if (!hit.empty()) {
            if (at_boot)
                r.errors.push_back({"spool.mount_point",
                                    where + " would mount the spool at boot" +
                                        (automount ? " (x-systemd.automount mounts it on first access, noauto or not)" : "") +
                                        ": " + hit + ". Only haspool mounts the spool, on the node that serves, after assembling "
                                        "the mirror and fsck (docs/design.md §3 rule 3); remove the line" +
                                        (automount ? "" : " or add noauto")});
            continue;
        }
        if (file != mp && at_or_below(file, mp)) {
            r.warnings.push_back({"spool.mount_point",
                                  where + " mounts " + shown(f, e.file) + " inside the spool (spool.mount_point " +
                                      shown(f, c.spool.mount_point) +
                                      "): haspool's mount of the spool hides it, or, mounted later, it hides part of the spool "
                                      "and what is written there is not mirrored; mount it elsewhere"});
            continue;
        }
        // A filesystem holding the spool's mount point is normal (/var on its own disk) when it
        // is mounted before haspool starts; one mounted later covers the mounted spool.
        std::vector<std::string> late;
        if (e.has_option("noauto") && !automount) late.push_back("noauto: mounted by hand");
        if (e.has_option("nofail")) late.push_back("nofail: the boot does not wait for it");
        if (e.has_option("_netdev") || network_filesystem(e.type)) late.push_back("a network filesystem");
        if (file != "/" && at_or_below(mp, file) && !late.empty()) {
            std::string why;
            for (const auto& l : late) why += (why.empty() ? "" : "; ") + l;
            r.warnings.push_back({"spool.mount_point",
                                  where + " mounts " + shown(f, e.file) + ", which holds the spool (spool.mount_point " +
                                      shown(f, c.spool.mount_point) + "), possibly after haspool mounted the spool (" + why +
                                      "): mounted then, it hides the spool; mount it at boot before haspool starts, or move the spool"});
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Postfix acknowledges a message once it is in queue_directory (docs/design.md §7): a queue off
// the mirrored spool loses acknowledged mail at every failover, so it is an error. Where
// local(8) puts mailboxes is a warning: delivered mail is no longer postfix's promise, and
// mailboxes may live in a store this check cannot see (dovecot's mail_location, say).
void check_postfix_instance(const Config& c, const std::string& unit, const std::string& instance,
                            const DeploymentFacts& f, HostReport& r) {
    const std::string path = unit_path(c, unit);
    auto it = f.postconf.find(unit);
    if (it == f.postconf.end()) return;
    const ToolOutput& t = it->second;
    if (t.end == ToolOutput::End::missing) {
        r.errors.push_back({path, unit + " is in service.units but " + t.described +
                                      ": check-config cannot see where postfix queues mail, and a takeover could not start "
                                      "postfix; install postfix, or remove the unit"});
        return;
    }
    if (t.end != ToolOutput::End::exited || t.exit_status != 0) {
        r.errors.push_back({path, "cannot ask " + unit + "'s postfix instance where it queues mail: " + t.described +
                                      "; fix postfix's configuration (postfix check)"});
        return;
    }
    auto p = parse_postconf(t.out);
    const std::string queue = p["queue_directory"];
    if (queue.empty() || queue[0] != '/') {
        r.errors.push_back({path, "postconf did not name an absolute queue_directory for " + unit + ": " + t.described});
        return;
    }
    const std::string mp = resolved(f, c.spool.mount_point);
    const std::string set = instance == "-" ? "postconf -e" : "postmulti -i " + instance + " -x postconf -e";
    if (!at_or_below(resolved(f, queue), mp))
        r.errors.push_back({path, unit + " queues mail in " + shown(f, queue) +
                                      " (postconf queue_directory), outside the mirrored spool " +
                                      shown(f, c.spool.mount_point) +
                                      ": postfix acknowledges a message (250 after DATA) once it is in its queue, so every queued "
                                      "message would be lost at a failover (docs/design.md §7). Move the queue onto the spool on "
                                      "both nodes, with postfix stopped and the spool mounted: " +
                                      set + " queue_directory=" + clean(c.spool.mount_point) + "/postfix"});

    // local(8)'s precedence (postconf(5)): aliases, .forward, mailbox_transport_maps,
    // mailbox_transport, mailbox_command_maps, mailbox_command, home_mailbox,
    // mail_spool_directory. The *_maps only cover the recipients they list; the others still
    // reach the parameters below them, so they make nothing irrelevant.
    const std::string local_transport = p["local_transport"];
    const std::string transport_name = local_transport.substr(0, local_transport.find(':'));
    if (!local_transport.empty() && transport_name != "local") {
        r.notes.push_back({path, unit + " delivers local mail through local_transport = " + local_transport +
                                     ", not local(8): where that stores mail is not checked; it must be on the spool"});
        return;
    }
    for (const char* k : {"mailbox_transport", "mailbox_command"})
        if (!p[k].empty()) {
            r.notes.push_back({path, unit + " hands mailbox delivery to " + k + " = " + p[k] +
                                         ": where that stores mail is not checked; it must be on the spool"});
            return;
        }
    if (!p["home_mailbox"].empty()) {
        r.notes.push_back({path, unit + " delivers into users' home directories (home_mailbox = " + p["home_mailbox"] +
                                     "): not checked; they must be on the spool for delivered mail to survive a failover"});
        return;
    }
    const std::string spool_dir = p["mail_spool_directory"];
    if (!spool_dir.empty() && spool_dir[0] == '/' && !at_or_below(resolved(f, spool_dir), mp))
        r.warnings.push_back({path, unit + " delivers mailboxes into " + shown(f, spool_dir) +
                                        " (postconf mail_spool_directory), outside the mirrored spool " +
                                        shown(f, c.spool.mount_point) +
                                        ": mail delivered there stays behind on this node at a failover; set mail_spool_directory "
                                        "below " + clean(c.spool.mount_point) + " (" + set +
                                        " mail_spool_directory=...), or deliver into a store on the spool (mailbox_transport)"});
}

// Debian's postfix.service is Type=oneshot, ExecStart=/bin/true: it "starts" whether or not
// postfix@-.service does (docs/design.md §7), so a takeover would report the service up while
// no postfix runs. Other distributions' postfix.service is the daemon itself (Type=forking):
// systemd's answer decides; without it, the unit is refused as on Debian, haspool's platform.
void check_postfix_wrapper(const Config& c, const DeploymentFacts& f, HostReport& r) {
    if (std::find(c.service.units.begin(), c.service.units.end(), "postfix.service") == c.service.units.end()) return;
    std::string type, unknown = "systemd is not running here";
    if (auto it = f.unit_type.find("postfix.service"); it != f.unit_type.end()) {
        const ToolOutput& t = it->second;
        if (t.end == ToolOutput::End::exited && t.exit_status == 0) type = first_line(t.out);
        if (type.empty()) unknown = t.described;
    }
    if (!type.empty() && type != "oneshot") return;
    r.errors.push_back({unit_path(c, "postfix.service"),
                        "postfix.service is a wrapper around postfix@-.service (" +
                            (type.empty() ? "as on Debian; its type could not be asked: " + unknown : std::string("Type=oneshot")) +
                            ") that reports success even when postfix itself fails to start, "
                            "so a takeover would count the mail service as up while no postfix runs (docs/design.md §7); list "
                            "the instance instead: units: [postfix@-.service, ...]"});
}

// ---------------------------------------------------------------------------------------------
// `systemctl is-enabled` states (systemctl(1)) by what they mean for a unit haspool starts
// itself once the spool is mounted.
enum class BootMeaning {
    stays_off,  // disabled, static, linked, transient: nothing starts it at boot
    at_boot,    // enabled (links in /etc): it starts before haspool has mounted the spool, and on the standby
    masked,     // StartUnit is refused: every takeover would fail at the units step
    not_found,  // not installed: every takeover would fail at the units step
    bad,        // systemd cannot load its unit file
    // enabled-runtime (links in /run: `enable --runtime` is gone after a reboot, but a
    // generator makes its links again at every boot), alias, indirect, generated: whether it
    // starts at boot depends on another unit or a generator.
    unclear,
};

std::optional<BootMeaning> meaning_of(const std::string& state) {
    static const std::map<std::string, BootMeaning> table = {
        {"enabled", BootMeaning::at_boot},      {"enabled-runtime", BootMeaning::unclear},
        {"disabled", BootMeaning::stays_off},   {"static", BootMeaning::stays_off},
        {"linked", BootMeaning::stays_off},     {"linked-runtime", BootMeaning::stays_off},
        {"transient", BootMeaning::stays_off},  {"masked", BootMeaning::masked},
        {"masked-runtime", BootMeaning::masked}, {"not-found", BootMeaning::not_found},
        {"bad", BootMeaning::bad},              {"alias", BootMeaning::unclear},
        {"indirect", BootMeaning::unclear},     {"generated", BootMeaning::unclear},
    };
    auto it = table.find(state);
    if (it == table.end()) return std::nullopt;
    return it->second;
}

const char* unclear_reason(const std::string& state) {
    if (state == "alias") return "the name is an alias of another unit, whose state decides; list that unit's own name";
    if (state == "indirect") return "it is not enabled itself, but units named in its Also= (or other instances) may be";
    if (state == "enabled-runtime")
        return "it is enabled in /run only: systemctl enable --runtime does not survive a reboot, but a generator's link is "
               "made again at every boot (systemctl show -p WantedBy UNIT names what pulls it in)";
    return "a generator made it (for an /etc/init.d script: update-rc.d NAME disable keeps it from starting at boot)";
}

// Runs the is-enabled answer through the table; nullopt (with a warning) when there is none.
std::optional<std::pair<std::string, BootMeaning>> unit_state(const Config& c, const std::string& unit,
                                                              const DeploymentFacts& f, HostReport& r) {
    auto it = f.unit_file_state.find(unit);
    if (it == f.unit_file_state.end()) return std::nullopt;
    const ToolOutput& t = it->second;
    std::string state = t.end == ToolOutput::End::exited ? first_line(t.out) : "";
    // systemd 252 (Debian 12) answers an unknown unit with "Failed to get unit file state for
    // UNIT: No such file or directory" on stderr; newer ones print "not-found".
    if (state.empty() && t.end == ToolOutput::End::exited && t.err.find("No such file or directory") != std::string::npos)
        state = "not-found";
    if (state.empty()) {
        r.warnings.push_back({unit_path(c, unit), "cannot ask systemd whether " + unit + " starts at boot: " + t.described + ", ignoring"});
        return std::nullopt;
    }
    auto m = meaning_of(state);
    if (!m) {
        r.warnings.push_back({unit_path(c, unit), "systemctl is-enabled " + unit + " says '" + state +
                                                      "', a state check-config does not know, ignoring"});
        return std::nullopt;
    }
    return std::make_pair(state, *m);
}

void check_units(const Config& c, const DeploymentFacts& f, HostReport& r) {
    if (c.service.units.empty()) return;
    if (!f.systemd_running) {
        r.notes.push_back({"service.units", "systemd is not running on this host (no /run/systemd/system): whether the "
                                            "units start at boot is not checked"});
        return;
    }
    for (const auto& unit : c.service.units) {
        const std::string path = unit_path(c, unit);
        auto s = unit_state(c, unit, f, r);
        if (!s) continue;
        const auto& [state, meaning] = *s;
        // On Debian every postfix@ instance is enabled-runtime: postfix-instance-generator links
        // it into postfix.service.wants at every boot. Whether that starts it is postfix.service's
        // state, judged below.
        if (state == "enabled-runtime" && unit != "postfix.service" && postfix_instance(unit)) continue;
        switch (meaning) {
        case BootMeaning::stays_off:
            break;
        case BootMeaning::at_boot:
            r.errors.push_back({path, unit + " is enabled at boot (systemctl is-enabled: " + state +
                                          "): it would start before haspool mounts the spool, writing into the bare directory "
                                          "under it, and on the standby too; haspool starts it once the spool is mounted. Run: "
                                          "systemctl disable " + unit});
            break;
        case BootMeaning::masked:
            r.errors.push_back({path, unit + " is masked (systemctl is-enabled: " + state +
                                          "): systemd refuses to start it, so every takeover would fail at the units step. Run: "
                                          "systemctl unmask " + unit + " (and leave it disabled)"});
            break;
        case BootMeaning::not_found:
            r.errors.push_back({path, unit + " is not installed on this host (systemctl is-enabled: " + state +
                                          "): every takeover would fail to start it; install it or remove it from service.units"});
            break;
        case BootMeaning::bad:
            r.errors.push_back({path, "systemd cannot load " + unit + "'s unit file (systemctl is-enabled: " + state +
                                          "): a takeover would fail to start it; see systemctl status " + unit});
            break;
        case BootMeaning::unclear:
            r.warnings.push_back({path, "cannot tell whether " + unit + " starts at boot (systemctl is-enabled: " + state +
                                            "): " + unclear_reason(state)});
            break;
        }
    }
    // Debian's postfix-instance-generator puts every postfix@ instance in postfix.service.wants:
    // an enabled postfix.service starts them at boot, whatever the instance's own state.
    bool has_instance = false;
    for (const auto& unit : c.service.units)
        if (unit != "postfix.service" && postfix_instance(unit)) has_instance = true;
    if (!has_instance || std::find(c.service.units.begin(), c.service.units.end(), "postfix.service") != c.service.units.end())
        return;
    std::string instances;
    for (const auto& unit : c.service.units)
        if (unit != "postfix.service" && postfix_instance(unit)) instances += (instances.empty() ? "" : ", ") + unit;
    auto s = unit_state(c, "postfix.service", f, r);
    if (!s) return;
    const auto& [state, meaning] = *s;
    if (meaning == BootMeaning::at_boot)
        r.errors.push_back({"service.units", "postfix.service is enabled at boot (systemctl is-enabled: " + state + ") and pulls in " +
                                                 instances +
                                                 " (Debian's postfix-instance-generator puts every instance in "
                                                 "postfix.service.wants): postfix would start before haspool mounts the spool, and "
                                                 "on the standby too. Run: systemctl disable postfix.service"});
    else if (meaning == BootMeaning::unclear)
        r.warnings.push_back({"service.units", "cannot tell whether postfix.service, which pulls in " + instances +
                                                   " at boot, is enabled (systemctl is-enabled: " + state + "): " +
                                                   unclear_reason(state)});
}

// ---------------------------------------------------------------------------------------------
// The primary attaches the standby's export as /dev/nbdN through the kernel's nbd module.
//
// A warning, not an error. Without the module the primary's AttachNbd fails and it retries from
// WAIT_PEER, never serving X alone (agent/core/primary_machine.cpp, connect_result), so nothing
// acknowledged is lost: the cost is an outage after a reboot, which the agent's log names ("is
// the nbd module loaded?"). And the module can be loaded by routes this check does not see (an
// initramfs, a unit running modprobe, a kernel that loads nbd on its first netlink request: the
// module declares its genetlink family alias since 2023, Debian 12's 6.1 kernel does not). An
// error would keep the daemon from starting (check-config is its ExecStartPre) on a host where
// it works right now.
bool lists_module(const std::string& text, const std::string& module, bool etc_modules_syntax) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        line = trim(line);
        if (line.empty() || line[0] == '#' || line[0] == ';') continue;
        // /etc/modules allows "name arguments"; modules-load.d one name per line.
        std::string name = etc_modules_syntax ? line.substr(0, line.find_first_of(" \t")) : line;
        std::replace(name.begin(), name.end(), '-', '_');
        if (name == module) return true;
    }
    return false;
}

bool cmdline_loads(const std::string& cmdline, const std::string& module) {
    std::istringstream in(cmdline);
    for (std::string w; in >> w;) {
        auto eq = w.find('=');
        if (eq == std::string::npos) continue;
        std::string key = w.substr(0, eq);
        std::replace(key.begin(), key.end(), '-', '_');
        if (key != "modules_load" && key != "rd.modules_load") continue;
        std::stringstream list(w.substr(eq + 1));
        for (std::string m; std::getline(list, m, ',');) {
            std::replace(m.begin(), m.end(), '-', '_');
            if (m == module) return true;
        }
    }
    return false;
}

void check_nbd_module(const Config& c, const Node& self, const DeploymentFacts& f, HostReport& r) {
    if (self.role != Role::primary || f.nbd_builtin) return;
    std::map<std::string, const ModulesLoadFile*> effective;  // name -> the file that counts
    std::string masked;                                       // "A masks B" for a masked file listing nbd
    for (const auto& file : f.modules_load) {
        auto [it, first] = effective.emplace(file.name, &file);
        if (!first && masked.empty() && lists_module(file.text, "nbd", false))
            masked = it->second->dir + "/" + it->second->name + " masks " + file.dir + "/" + file.name +
                     ", which lists nbd (modules-load.d(5): a file in /etc overrides the same name in /run and /usr/lib)";
    }
    for (const auto& [name, file] : effective)
        if (lists_module(file->text, "nbd", false)) return;
    if (f.etc_modules && lists_module(*f.etc_modules, "nbd", true)) return;
    if (cmdline_loads(f.kernel_cmdline, "nbd")) return;
    const std::string dev = "/dev/nbd" + std::to_string(c.nbd.device_index);
    const std::string fix = "add a line 'nbd' to /etc/modules-load.d/haspool.conf (the haspool package installs "
                            "/usr/lib/modules-load.d/haspool.conf with it; a file of that name in /etc replaces it)";
    const std::string why = "after a reboot this primary cannot attach " + dev +
                            " and waits without serving until someone runs modprobe nbd (Debian 12's kernel does not load it "
                            "on demand)";
    if (f.nbd_loaded)
        r.warnings.push_back({"nbd", "the nbd module is loaded now, but nothing loads it at boot" +
                                         (masked.empty() ? std::string() : " (" + masked + ")") + ": " + why + "; " + fix});
    else
        r.warnings.push_back({"nbd", "the nbd module is not loaded, and nothing loads it at boot" +
                                         (masked.empty() ? std::string() : " (" + masked + ")") + ": " + why +
                                         "; run modprobe nbd and " + fix});
}

}  // namespace

bool FstabEntry::has_option(const std::string& o) const {
    return std::find(options.begin(), options.end(), o) != options.end();
}

std::vector<FstabEntry> parse_fstab(const std::string& text) {
    // fstab(5): fields separated by blanks; spaces inside a field written as \040 (octal).
    auto decode = [](const std::string& s) {
        std::string out;
        for (size_t i = 0; i < s.size(); ++i) {
            if (s[i] == '\\' && i + 3 < s.size() &&
                std::all_of(s.begin() + i + 1, s.begin() + i + 4, [](char d) { return d >= '0' && d <= '7'; })) {
                out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
                i += 3;
            } else {
                out += s[i];
            }
        }
        return out;
    };
    std::vector<FstabEntry> out;
    std::istringstream in(text);
    int no = 0;
    for (std::string line; std::getline(in, line);) {
        ++no;
        std::istringstream w(line);
        FstabEntry e;
        e.line = no;
        if (!(w >> e.spec) || e.spec[0] == '#') continue;
        std::string opts;
        if (!(w >> e.file >> e.type)) continue;
        w >> opts;
        e.spec = decode(e.spec);
        e.file = decode(e.file);
        std::stringstream os(opts);
        for (std::string o; std::getline(os, o, ',');)
            if (!o.empty()) e.options.push_back(o);
        out.push_back(std::move(e));
    }
    return out;
}

std::map<std::string, std::string> parse_postconf(const std::string& text) {
    std::map<std::string, std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        std::string name = trim(line.substr(0, eq));
        if (name.empty() || name.find_first_of(" \t") != std::string::npos) continue;
        out[name] = trim(line.substr(eq + 1));
    }
    return out;
}

bool at_or_below(const std::string& a, const std::string& b) {
    if (b == "/") return !a.empty() && a[0] == '/';
    return a == b || (a.size() > b.size() && starts_with(a, b) && a[b.size()] == '/');
}

const std::vector<std::string>& modules_load_dirs() {
    static const std::vector<std::string> dirs = {"/etc/modules-load.d", "/run/modules-load.d",
                                                  "/usr/local/lib/modules-load.d", "/usr/lib/modules-load.d",
                                                  "/lib/modules-load.d"};
    return dirs;
}

std::optional<std::string> postfix_instance(const std::string& unit) {
    if (unit == "postfix.service") return "-";
    const std::string prefix = "postfix@", suffix = ".service";
    if (unit.size() > prefix.size() + suffix.size() && starts_with(unit, prefix) &&
        unit.compare(unit.size() - suffix.size(), suffix.size(), suffix) == 0)
        return unit.substr(prefix.size(), unit.size() - prefix.size() - suffix.size());
    return std::nullopt;
}

std::vector<ProbeCommand> probe_commands(const Config& c, bool systemd_running) {
    std::vector<ProbeCommand> out;
    auto asked = [&](ProbeCommand::Kind k, const std::string& unit) {
        return std::any_of(out.begin(), out.end(), [&](const ProbeCommand& p) { return p.kind == k && p.unit == unit; });
    };
    bool instance = false;
    for (const auto& unit : c.service.units) {
        if (auto inst = postfix_instance(unit); inst && !asked(ProbeCommand::Kind::postconf, unit)) {
            // What Debian's postfix@.service itself runs for the instance (configure-instance.sh):
            // postconf for "-", postmulti -x postconf for the others.
            std::vector<std::string> argv = {"postconf", "-x"};
            if (*inst != "-") argv = {"postmulti", "-i", *inst, "-x", "postconf", "-x"};
            argv.insert(argv.end(), kPostconfParameters.begin(), kPostconfParameters.end());
            out.push_back({ProbeCommand::Kind::postconf, unit, argv});
            if (unit != "postfix.service") instance = true;
        }
        if (systemd_running && !asked(ProbeCommand::Kind::unit_file_state, unit))
            out.push_back({ProbeCommand::Kind::unit_file_state, unit, {"systemctl", "is-enabled", unit}});
    }
    if (!systemd_running) return out;
    if (instance && !asked(ProbeCommand::Kind::unit_file_state, "postfix.service"))
        out.push_back({ProbeCommand::Kind::unit_file_state, "postfix.service", {"systemctl", "is-enabled", "postfix.service"}});
    if (std::find(c.service.units.begin(), c.service.units.end(), "postfix.service") != c.service.units.end())
        out.push_back({ProbeCommand::Kind::unit_type, "postfix.service",
                       {"systemctl", "show", "--property=Type", "--value", "postfix.service"}});
    return out;
}

std::vector<std::string> paths_to_resolve(const Config& c, const Node& self, const DeploymentFacts& f) {
    std::vector<std::string> out;
    auto add = [&](const std::string& p) {
        if (!p.empty() && p[0] == '/' && std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
    };
    add(c.spool.mount_point);
    add(c.spool.md_device);
    add("/dev/md/" + c.spool.md_name);
    add(self.spool_device);
    for (const auto& e : parse_fstab(f.fstab)) {
        add(e.file);
        add(device_path(e.spec));
    }
    for (const auto& [unit, t] : f.postconf) {
        if (t.end != ToolOutput::End::exited) continue;
        auto p = parse_postconf(t.out);
        add(p["queue_directory"]);
        add(p["mail_spool_directory"]);
    }
    return out;
}

std::vector<std::string> route_probe_addresses(const Config& c) {
    std::vector<std::string> out;
    if (c.nbd.tls != NbdTls::off || c.nodes.size() != 2) return out;
    for (const Node* n : {&c.primary(), &c.standby()}) {
        std::string a = n == &c.standby() ? c.nbd_listen_address() : "";
        if (a.empty())
            if (auto it = n->addresses.find(c.nbd.path); it != n->addresses.end()) a = it->second;
        if (!a.empty() && std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
    }
    return out;
}

namespace {
// nbd.tls: off is the default for a direct link (docs/security.md); across a router, every
// network between the nodes can read the spool's blocks and, by taking the primary's address,
// write Y. `ip -o route get` names a gateway ("via GW") for a routed destination.
void check_nbd_tls(const Config& c, const DeploymentFacts& f, HostReport& r) {
    if (c.nbd.tls != NbdTls::off) return;
    std::string routed;  // "ADDR (via GW)", for each end reached through a router
    for (const auto& [addr, t] : f.routes) {
        if (t.end != ToolOutput::End::exited || t.exit_status != 0) continue;
        std::istringstream words(t.out);
        std::vector<std::string> w{std::istream_iterator<std::string>(words), std::istream_iterator<std::string>()};
        auto via = std::find(w.begin(), w.end(), "via");
        if (via == w.end() || via + 1 == w.end()) continue;
        routed += (routed.empty() ? "" : ", ") + addr + " (via " + *(via + 1) + ")";
    }
    if (!routed.empty())
        r.warnings.push_back({"nbd.tls", "is off, and the NBD link is routed: " + routed +
                                             "; anyone on the networks in between can read every mail written to the "
                                             "spool and, taking the primary's address, write to Y; set nbd.tls: "
                                             "required on both nodes (docs/security.md)"});
}

// cluster.control_group names who besides root may use the control socket. The daemon resolves
// it when it creates the socket and refuses to start without it, so an unknown group is an
// error here, before the daemon's ExecStartPre, with the command that fixes it.
void check_control_group(const Config& c, const DeploymentFacts& f, HostReport& r) {
    if (c.cluster.control_group.empty()) return;
    auto g = f.groups.find(c.cluster.control_group);
    if (g != f.groups.end() && g->second) return;
    r.errors.push_back({"cluster.control_group",
                        "names the group '" + c.cluster.control_group +
                            "', which this host does not have; create it (groupadd --system " + c.cluster.control_group +
                            ") and add the operators to it, or remove the setting (root only)"});
}
}  // namespace

HostReport judge_deployment(const Config& c, const Node& self, const DeploymentFacts& f) {
    HostReport r;
    check_mdadm_conf(c, f, r);
    check_fstab(c, self, f, r);
    check_postfix_wrapper(c, f, r);
    for (const auto& unit : c.service.units)
        if (auto inst = postfix_instance(unit)) check_postfix_instance(c, unit, *inst, f, r);
    check_units(c, f, r);
    check_nbd_module(c, self, f, r);
    check_nbd_tls(c, f, r);
    check_control_group(c, f, r);
    return r;
}

}  // namespace haspool::config
