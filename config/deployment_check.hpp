#pragma once
// The deployment checks of `check-config` on a node: does this host's setup keep every
// acknowledged message on the mirrored spool, and leave the spool, the array and the mail units
// to haspool? (docs/actions.md "Deployment checks" lists each check with its reason.)
//
// Pure: facts in, findings out. The facts are gathered elsewhere: the host's files and symlinks
// by config/host_files.hpp, the answers of postconf and systemctl by the cli's probe
// (agent/cli/deployment_probe.hpp). Nothing here reads the host, so every rule is unit-tested
// with tables (tests/unit/config/test_deployment_check.cpp).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/config_loader.hpp"

namespace haspool::config {

// Findings: errors make check-config exit 2 (and the daemons' ExecStartPre refuse to start);
// warnings and notes are printed and the check carries on.
struct HostReport {
    std::vector<Problem> errors;
    std::vector<Problem> warnings;
    std::vector<Problem> notes;  // what was not checked, and why
};

// What a probe command answered.
struct ToolOutput {
    enum class End {
        exited,   // ran to its end: exit_status and out are set
        missing,  // the program is not installed (not found in the probe's PATH)
        failed,   // could not be started, was killed or timed out
    };
    End end = End::failed;
    int exit_status = -1;
    std::string out;        // stdout
    std::string err;        // stderr
    std::string described;  // argv, exit status and output tail in one sentence, for messages
};

// A command the probe runs for the checks, and which fact its answer is.
struct ProbeCommand {
    enum class Kind {
        postconf,         // the postfix instance of `unit`: its queue and delivery parameters
        unit_file_state,  // `systemctl is-enabled unit`
        unit_type,        // `systemctl show --property=Type --value unit`
    };
    Kind kind;
    std::string unit;
    std::vector<std::string> argv;
};

// An entry of a modules-load.d directory (`name` ends in .conf), listed by the probe.
struct ModulesLoadFile {
    std::string dir;   // e.g. /usr/lib/modules-load.d
    std::string name;  // e.g. haspool.conf
    std::string text;  // empty when it is a link to /dev/null (masked) or unreadable
};

struct DeploymentFacts {
    std::string mdadm_conf_path = "/etc/mdadm/mdadm.conf";  // as printed (a test's root included)
    std::optional<std::string> mdadm_conf;                  // nullopt: the file is missing
    std::string fstab_path = "/etc/fstab";
    std::string fstab;
    // Every *.conf in the modules-load.d directories, in systemd's search order (modules_load_dirs()).
    std::vector<ModulesLoadFile> modules_load;
    std::optional<std::string> etc_modules;  // /etc/modules
    std::string kernel_cmdline;              // /proc/cmdline
    bool nbd_loaded = false;                 // /sys/module/nbd exists
    bool nbd_builtin = false;                // the running kernel has nbd built in (modules.builtin)
    bool systemd_running = false;            // /run/systemd/system exists (sd_booted())
    std::map<std::string, ToolOutput> postconf;         // by postfix unit
    std::map<std::string, ToolOutput> unit_file_state;  // by unit
    std::map<std::string, ToolOutput> unit_type;        // by unit
    // Absolute path -> the same path with every symlink resolved (a missing tail kept as
    // written): the probe fills it for paths_to_resolve().
    std::map<std::string, std::string> resolved;
    // By address (route_probe_addresses()): `ip -o route get ADDR`, how this host reaches the
    // other end of the NBD link.
    std::map<std::string, ToolOutput> routes;
    // By name (cluster.control_group): the group's id, nullopt when this host has no such group.
    std::map<std::string, std::optional<unsigned>> groups;
};

// modules-load.d(5)'s directories, highest priority first: a file in an earlier one masks the
// file of the same name in every later one.
const std::vector<std::string>& modules_load_dirs();

// The postfix instance a unit runs: "-" (the default instance) for postfix.service and
// postfix@-.service, NAME for postfix@NAME.service; nullopt for any other unit.
std::optional<std::string> postfix_instance(const std::string& unit);

// The commands whose answers the checks need: postconf for each postfix unit (systemd or not),
// and, when systemd runs, the unit-file state of every unit in service.units (plus
// postfix.service, which pulls postfix@ instances in at boot) and the type of postfix.service.
std::vector<ProbeCommand> probe_commands(const Config& c, bool systemd_running);

// Every path whose symlinks the checks must see through, given the files and command answers
// gathered so far: the mount point, the spool's devices, fstab's mount points and devices,
// postfix's queue and mailbox directories.
std::vector<std::string> paths_to_resolve(const Config& c, const Node& self, const DeploymentFacts& f);

// The NBD link's addresses whose route the probe asks for when nbd.tls is off (the judgement
// warns when the link is routed, docs/security.md): both ends on nbd.path, so either node asks
// the same; its own address answers "local".
std::vector<std::string> route_probe_addresses(const Config& c);

// The judgement.
HostReport judge_deployment(const Config& c, const Node& self, const DeploymentFacts& f);

// Parsers the judgement uses, exposed for their tests.
struct FstabEntry {
    int line = 0;
    std::string spec;  // device, UUID=..., LABEL=..., server:/path, tmpfs...
    std::string file;  // mount point (octal escapes such as \040 decoded)
    std::string type;
    std::vector<std::string> options;
    bool has_option(const std::string& o) const;
};
std::vector<FstabEntry> parse_fstab(const std::string& text);

// `postconf NAME...` output ("name = value" lines) as a map.
std::map<std::string, std::string> parse_postconf(const std::string& text);

// a equals b or lies below it; both absolute and normalized (no trailing '/').
bool at_or_below(const std::string& a, const std::string& b);

}  // namespace haspool::config
