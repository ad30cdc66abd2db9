#include "config/host_check.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace haspool::config {

std::string local_hostname() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) return {};
    return buf;
}

Identity identify_self(const Config& c, const std::optional<std::string>& node_flag,
                       const std::string& host_name) {
    std::string names;
    for (const auto& n : c.nodes) names += (names.empty() ? "" : ", ") + n.name;
    if (node_flag) {
        if (const Node* n = c.find_node(*node_flag)) return {n, "selected with --node " + *node_flag};
        return {nullptr, "--node " + *node_flag + " names none of the nodes (" + names + ")"};
    }
    std::string short_name = host_name.substr(0, host_name.find('.'));
    for (const auto& n : c.nodes)
        if (n.hostname == host_name || n.hostname == short_name)
            return {&n, "hostname '" + host_name + "' matches node " + n.name};
    return {nullptr, "this host ('" + host_name + "') is none of the nodes (" + names +
                         "); set nodes[].hostname or pass --node NAME"};
}

Secret read_secret(const std::string& file) {
    struct stat st{};
    if (stat(file.c_str(), &st) != 0)
        return {"", "cannot use secret file " + file + ": " + std::strerror(errno) +
                        " (create it with: head -c 32 /dev/urandom > " + file + "; chmod 600 " + file + ")"};
    if (!S_ISREG(st.st_mode)) return {"", "secret file " + file + " is not a regular file"};
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return {"", "secret file " + file + " is accessible by group or others (mode " + mode + "); run: chmod 600 " + file};
    }
    std::ifstream in(file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in && !in.eof()) return {"", "cannot read secret file " + file + ": " + std::strerror(errno)};
    std::string key = ss.str();
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
    if (key.size() < 16)
        return {"", "secret file " + file + " holds " + std::to_string(key.size()) +
                        " bytes; at least 16 are needed (head -c 32 /dev/urandom > " + file + ")"};
    return {key, ""};
}

Secrets read_secrets(const Cluster& c) {
    Secrets s;
    Secret cur = read_secret(c.secret_file);
    if (!cur.error.empty()) return {"", "", cur.error, "cluster.secret_file"};
    s.current = cur.key;
    if (c.secret_file_next.empty()) return s;
    Secret next = read_secret(c.secret_file_next);
    if (!next.error.empty()) return {"", "", next.error, "cluster.secret_file_next"};
    if (next.key == cur.key)
        return {"", "", "secret file " + c.secret_file_next + " holds the same key as " + c.secret_file +
                            ": put the new key in it (head -c 32 /dev/urandom > " + c.secret_file_next + ")",
                "cluster.secret_file_next"};
    s.next = next.key;
    return s;
}

HostReport check_host(const Config& c, const Node& self, const DeploymentFacts& facts) {
    HostReport r;
    Secrets s = read_secrets(c.cluster);
    if (!s.error.empty()) r.errors.push_back({s.field, s.error});
    struct stat st{};
    std::string idx = "nodes[" + std::to_string(&self - c.nodes.data()) + "].spool_device";
    if (stat(self.spool_device.c_str(), &st) != 0)
        r.errors.push_back({idx, self.spool_device + ": " + std::strerror(errno)});
    else if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
        r.errors.push_back({idx, self.spool_device + " is neither a block device nor a regular file"});
    if (const std::string& m = c.metrics.textfile; !m.empty()) {
        std::string dir = m.substr(0, m.find_last_of('/'));
        if (dir.empty()) dir = "/";
        if (stat(dir.c_str(), &st) != 0)
            r.errors.push_back({"metrics.textfile", "the directory " + dir + " of " + m + ": " + std::strerror(errno)});
        else if (!S_ISDIR(st.st_mode))
            r.errors.push_back({"metrics.textfile", dir + " (the directory of " + m + ") is not a directory"});
    }
    HostReport d = judge_deployment(c, self, facts);
    r.errors.insert(r.errors.end(), d.errors.begin(), d.errors.end());
    r.warnings.insert(r.warnings.end(), d.warnings.begin(), d.warnings.end());
    r.notes.insert(r.notes.end(), d.notes.begin(), d.notes.end());
    return r;
}

std::string describe(const Config& c) {
    std::ostringstream o;
    auto ms = [](Millis m) { return std::to_string(m.count()) + " ms"; };
    o << "cluster " << c.cluster.name << " (" << c.source_file << ")\n";
    for (const auto& n : c.nodes) {
        o << "  " << to_string(n.role) << " " << n.name << ": spool device " << n.spool_device;
        for (const auto& [p, a] : n.addresses) o << ", " << p << " " << a;
        o << "\n";
    }
    o << "  heartbeat: " << c.heartbeat.paths.size() << " path(s) on UDP " << c.heartbeat.port << ", every "
      << ms(c.heartbeat.interval) << ", dead after " << ms(c.heartbeat.dead_after) << "\n";
    o << "  nbd: export '" << c.nbd.export_name << "' on " << c.nbd_listen_address() << ":" << c.nbd.port
      << " -> /dev/nbd" << c.nbd.device_index << " on the primary; I/O timeout " << ms(c.nbd.io_timeout)
      << ", dead-connection timeout " << ms(c.nbd.dead_conn_timeout) << "\n";
    o << "  spool: " << c.spool.md_device << " (RAID-1, " << to_string(c.spool.filesystem) << ") on "
      << c.spool.mount_point << "\n";
    o << "  service: " << c.service.address << " on " << (c.service.interface.empty() ? "per-node interfaces" : c.service.interface);
    if (!c.service.units.empty()) {
        o << "; units";
        for (const auto& u : c.service.units) o << " " << u;
    }
    o << "\n  fence: " << (c.fence.command.empty() ? "none" : c.fence.command[0]) << "; failback: "
      << to_string(c.failback.policy) << " (hold-off " << ms(c.failback.hold_off) << ")\n";
    return o.str();
}

}  // namespace haspool::config
