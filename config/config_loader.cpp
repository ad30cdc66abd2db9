#include "config/config_loader.hpp"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>

namespace haspool::config {

std::string Problem::to_string() const {
    std::string s = path;
    if (line > 0) s += (s.empty() ? "" : " ") + std::string("(line ") + std::to_string(line) + ")";
    if (!s.empty()) s += ": ";
    return s + message;
}

bool is_ip_address(const std::string& s) {
    unsigned char buf[16];
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool is_cidr(const std::string& s) {
    auto slash = s.find('/');
    if (slash == std::string::npos) return false;
    std::string addr = s.substr(0, slash), len = s.substr(slash + 1);
    unsigned char buf[16];
    int max = 0;
    if (inet_pton(AF_INET, addr.c_str(), buf) == 1) max = 32;
    else if (inet_pton(AF_INET6, addr.c_str(), buf) == 1) max = 128;
    else return false;
    int n = -1;
    auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
    return ec == std::errc() && p == len.data() + len.size() && n >= 1 && n <= max;
}

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

std::string join_path(const std::string& base, const std::string& key) {
    return base.empty() ? key : base + "." + key;
}

// Walks the YAML tree, converting scalars and recording every problem with its path and mark.
class Reader {
public:
    explicit Reader(LoadResult& out) : out_(out) {}

    void error(const YAML::Node& at, const std::string& path, std::string msg) {
        add(out_.errors, at, path, std::move(msg));
    }
    void warning(const YAML::Node& at, const std::string& path, std::string msg) {
        add(out_.warnings, at, path, std::move(msg));
    }

    bool is_map(const YAML::Node& n, const std::string& path) {
        if (n.IsMap()) return true;
        error(n, path, std::string("must be a mapping (key: value lines), got ") + kind(n));
        return false;
    }

    // Reports keys of `map` not in `known`, suggesting the closest known key (typos).
    void check_keys(const YAML::Node& map, const std::string& path,
                    std::initializer_list<const char*> known) {
        for (const auto& kv : map) {
            std::string key = kv.first.Scalar();
            bool found = std::any_of(known.begin(), known.end(), [&](const char* k) { return key == k; });
            if (found) continue;
            std::string msg = "unknown key";
            size_t best = 3;
            std::string suggestion;
            for (const char* k : known) {
                size_t d = edit_distance(key, k);
                if (d < best) best = d, suggestion = k;
            }
            if (!suggestion.empty()) msg += " (did you mean '" + suggestion + "'?)";
            error(kv.first, join_path(path, key), msg);
        }
    }

    // Returns the child or an undefined node; reports a missing required key.
    YAML::Node child(const YAML::Node& map, const std::string& path, const char* key, bool required) {
        YAML::Node c = map.IsMap() ? map[key] : YAML::Node();
        if ((!c || c.IsNull()) && required) {
            error(map, join_path(path, key), "required key is missing");
            return YAML::Node(YAML::NodeType::Undefined);
        }
        if (c && c.IsNull()) return YAML::Node(YAML::NodeType::Undefined);
        return c;
    }

    void string(const YAML::Node& map, const std::string& path, const char* key, std::string& out,
                bool required = false) {
        YAML::Node c = child(map, path, key, required);
        if (!c) return;
        if (!c.IsScalar()) return error(c, join_path(path, key), std::string("must be a string, got ") + kind(c));
        out = c.Scalar();
        if (out.empty() && required) error(c, join_path(path, key), "must not be empty");
    }

    void absolute_path(const YAML::Node& map, const std::string& path, const char* key,
                       std::string& out, bool required = false) {
        std::string before = out;
        string(map, path, key, out, required);
        YAML::Node c = map.IsMap() ? map[key] : YAML::Node();
        if (c && c.IsScalar() && !out.empty() && out[0] != '/')
            error(c, join_path(path, key), "must be an absolute path (got '" + out + "')");
    }

    template <class Int>
    void integer(const YAML::Node& map, const std::string& path, const char* key, Int& out,
                 long long min, long long max) {
        YAML::Node c = child(map, path, key, false);
        if (!c) return;
        std::string p = join_path(path, key);
        long long v = 0;
        if (!c.IsScalar() || !parse_int(c.Scalar(), v))
            return error(c, p, std::string("must be a whole number, got ") + describe(c));
        if (v < min || v > max)
            return error(c, p, "must be between " + std::to_string(min) + " and " +
                                   std::to_string(max) + " (got " + std::to_string(v) + ")");
        out = static_cast<Int>(v);
    }

    void millis(const YAML::Node& map, const std::string& path, const char* key, Millis& out,
                long long min = 1, long long max = 24LL * 3600 * 1000) {
        long long v = out.count();
        integer(map, path, key, v, min, max);
        out = Millis(v);
    }

    void boolean(const YAML::Node& map, const std::string& path, const char* key, bool& out) {
        YAML::Node c = child(map, path, key, false);
        if (!c) return;
        bool v = false;
        if (!c.IsScalar() || !YAML::convert<bool>::decode(c, v))
            return error(c, join_path(path, key), std::string("must be true or false, got ") + describe(c));
        out = v;
    }

    // A list of strings; a lone string is accepted as a one-element list.
    void string_list(const YAML::Node& map, const std::string& path, const char* key,
                     std::vector<std::string>& out) {
        YAML::Node c = child(map, path, key, false);
        if (!c) return;
        std::string p = join_path(path, key);
        out.clear();
        if (c.IsScalar()) {
            out.push_back(c.Scalar());
            return;
        }
        if (!c.IsSequence()) return error(c, p, std::string("must be a list of strings, got ") + kind(c));
        for (size_t i = 0; i < c.size(); ++i) {
            if (!c[i].IsScalar()) {
                error(c[i], p + "[" + std::to_string(i) + "]", std::string("must be a string, got ") + kind(c[i]));
                continue;
            }
            out.push_back(c[i].Scalar());
        }
    }

    // An argv list whose first element is an absolute program path (no shell is involved).
    void command(const YAML::Node& map, const std::string& path, const char* key,
                 std::vector<std::string>& out) {
        string_list(map, path, key, out);
        YAML::Node c = map.IsMap() ? map[key] : YAML::Node();
        if (c && !out.empty() && (out[0].empty() || out[0][0] != '/'))
            error(c, join_path(path, key),
                  "the program must be an absolute path (got '" + out[0] +
                      "'); the command is an argv list, run without a shell");
    }

    template <class Enum>
    void enumeration(const YAML::Node& map, const std::string& path, const char* key, Enum& out,
                     std::initializer_list<std::pair<const char*, Enum>> table) {
        YAML::Node c = child(map, path, key, false);
        if (!c) return;
        std::string allowed;
        for (auto& [name, value] : table) {
            if (c.IsScalar() && c.Scalar() == name) {
                out = value;
                return;
            }
            allowed += allowed.empty() ? "" : ", ";
            allowed += name;
        }
        error(c, join_path(path, key), "must be one of " + allowed + " (got " + describe(c) + ")");
    }

    static const char* kind(const YAML::Node& n) {
        switch (n.Type()) {
            case YAML::NodeType::Map: return "a mapping";
            case YAML::NodeType::Sequence: return "a list";
            case YAML::NodeType::Scalar: return "a scalar";
            case YAML::NodeType::Null: return "nothing";
            default: return "nothing";
        }
    }

    static std::string describe(const YAML::Node& n) {
        return n.IsScalar() ? "'" + n.Scalar() + "'" : kind(n);
    }

private:
    static bool parse_int(const std::string& s, long long& v) {
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        return ec == std::errc() && p == s.data() + s.size() && !s.empty();
    }

    void add(std::vector<Problem>& list, const YAML::Node& at, const std::string& path, std::string msg) {
        Problem p{path, std::move(msg)};
        if (at.IsDefined()) {
            p.line = at.Mark().line >= 0 ? at.Mark().line + 1 : 0;
            p.column = at.Mark().column >= 0 ? at.Mark().column + 1 : 0;
        }
        list.push_back(std::move(p));
    }

    LoadResult& out_;
};

bool valid_interface_name(const std::string& s) {
    if (s.empty() || s.size() > 15 || s == "." || s == "..") return false;
    return std::none_of(s.begin(), s.end(), [](char c) { return c == '/' || c == ':' || isspace(static_cast<unsigned char>(c)); });
}

// What groupadd(8) accepts by default (shadow's NAME_REGEX, capitals allowed): a letter or '_',
// then letters, digits, '_' or '-', an optional final '$', at most 32 characters.
bool valid_group_name(const std::string& s) {
    if (s.empty() || s.size() > 32) return false;
    auto word = [](char c) { return isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; };
    if (!(isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
    std::string_view body(s);
    if (body.back() == '$') body.remove_suffix(1);
    return std::all_of(body.begin(), body.end(), word);
}

bool valid_unit_name(const std::string& s) {
    static const char* suffixes[] = {".service", ".socket", ".target", ".mount", ".timer", ".path"};
    for (const char* suf : suffixes) {
        std::string_view sv(suf);
        if (s.size() > sv.size() && s.compare(s.size() - sv.size(), sv.size(), sv) == 0) return true;
    }
    return false;
}

void read_cluster(Reader& r, const YAML::Node& n, Cluster& c) {
    if (!r.is_map(n, "cluster")) return;
    r.check_keys(n, "cluster", {"name", "secret_file", "secret_file_next", "state_dir", "control_socket",
                                      "control_group"});
    r.string(n, "cluster", "name", c.name, true);
    if (!c.name.empty() && (c.name.size() > 32 || c.name.find_first_of(" \t/") != std::string::npos))
        r.error(n["name"], "cluster.name", "must be at most 32 characters without spaces or '/' (got '" + c.name + "')");
    r.absolute_path(n, "cluster", "secret_file", c.secret_file, true);
    r.absolute_path(n, "cluster", "secret_file_next", c.secret_file_next);
    if (!c.secret_file_next.empty() && c.secret_file_next == c.secret_file)
        r.error(n["secret_file_next"], "cluster.secret_file_next",
                "names the same file as cluster.secret_file ('" + c.secret_file + "'); a rotation needs the new key in another file");
    r.absolute_path(n, "cluster", "state_dir", c.state_dir);
    r.absolute_path(n, "cluster", "control_socket", c.control_socket);
    r.string(n, "cluster", "control_group", c.control_group);
    if (!c.control_group.empty() && !valid_group_name(c.control_group))
        r.error(n["control_group"], "cluster.control_group",
                "must be a group name (a letter or '_', then letters, digits, '_' or '-', at most 32 characters; got '" +
                    c.control_group + "')");
}

void read_nodes(Reader& r, const YAML::Node& n, std::vector<Node>& nodes) {
    if (!n.IsSequence()) {
        r.error(n, "nodes", std::string("must be a list of the two nodes, got ") + Reader::kind(n));
        return;
    }
    for (size_t i = 0; i < n.size(); ++i) {
        std::string p = "nodes[" + std::to_string(i) + "]";
        const YAML::Node& m = n[i];
        if (!r.is_map(m, p)) continue;
        r.check_keys(m, p, {"name", "role", "hostname", "addresses", "spool_device", "service_interface"});
        Node node;
        r.string(m, p, "name", node.name, true);
        bool role_given = m["role"].IsDefined();
        r.enumeration(m, p, "role", node.role, {{"primary", Role::primary}, {"standby", Role::standby}});
        if (!role_given) r.error(m, p + ".role", "required key is missing");
        r.string(m, p, "hostname", node.hostname);
        if (node.hostname.empty()) node.hostname = node.name;
        r.absolute_path(m, p, "spool_device", node.spool_device, true);
        r.string(m, p, "service_interface", node.service_interface);
        if (!node.service_interface.empty() && !valid_interface_name(node.service_interface))
            r.error(m["service_interface"], p + ".service_interface", "is not a valid interface name ('" + node.service_interface + "')");
        YAML::Node a = r.child(m, p, "addresses", true);
        if (a && r.is_map(a, p + ".addresses")) {
            for (const auto& kv : a) {
                std::string path_name = kv.first.Scalar();
                std::string ap = p + ".addresses." + path_name;
                if (!kv.second.IsScalar()) {
                    r.error(kv.second, ap, std::string("must be an IP address, got ") + Reader::kind(kv.second));
                    continue;
                }
                if (!is_ip_address(kv.second.Scalar())) {
                    r.error(kv.second, ap, "is not an IPv4 or IPv6 address ('" + kv.second.Scalar() + "')");
                    continue;
                }
                node.addresses[path_name] = kv.second.Scalar();
            }
            if (a.size() == 0) r.error(a, p + ".addresses", "must name at least one path address");
        }
        nodes.push_back(std::move(node));
    }
}

void read_heartbeat(Reader& r, const YAML::Node& n, Heartbeat& h) {
    if (!r.is_map(n, "heartbeat")) return;
    r.check_keys(n, "heartbeat", {"port", "interval_ms", "dead_after_ms", "stable_after_ms", "max_clock_skew_ms", "paths"});
    r.integer(n, "heartbeat", "port", h.port, 1, 65535);
    r.millis(n, "heartbeat", "interval_ms", h.interval, 10, 60000);
    r.millis(n, "heartbeat", "dead_after_ms", h.dead_after, 30, 3600000);
    r.millis(n, "heartbeat", "stable_after_ms", h.stable_after, 0, 3600000);
    r.millis(n, "heartbeat", "max_clock_skew_ms", h.max_clock_skew, 100, 3600000);
    r.string_list(n, "heartbeat", "paths", h.paths);
}

void read_nbd(Reader& r, const YAML::Node& n, Nbd& b) {
    if (!r.is_map(n, "nbd")) return;
    r.check_keys(n, "nbd", {"path", "listen_address", "port", "allowed_peers", "export_name", "device_index",
                            "connections", "block_size", "io_timeout_ms", "dead_conn_timeout_ms", "timeout_margin_ms",
                            "tls"});
    r.string(n, "nbd", "path", b.path);
    r.string(n, "nbd", "listen_address", b.listen_address);
    if (!b.listen_address.empty() && !is_ip_address(b.listen_address))
        r.error(n["listen_address"], "nbd.listen_address", "is not an IPv4 or IPv6 address ('" + b.listen_address + "')");
    r.integer(n, "nbd", "port", b.port, 1, 65535);
    r.string_list(n, "nbd", "allowed_peers", b.allowed_peers);
    for (size_t i = 0; i < b.allowed_peers.size(); ++i)
        if (!is_ip_address(b.allowed_peers[i]))
            r.error(n["allowed_peers"], "nbd.allowed_peers[" + std::to_string(i) + "]",
                    "is not an IPv4 or IPv6 address ('" + b.allowed_peers[i] + "')");
    r.string(n, "nbd", "export_name", b.export_name);
    if (b.export_name.size() > 4096) r.error(n["export_name"], "nbd.export_name", "must be at most 4096 bytes (NBD limit)");
    r.integer(n, "nbd", "device_index", b.device_index, 0, 1023);
    r.integer(n, "nbd", "connections", b.connections, 1, 16);
    r.integer(n, "nbd", "block_size", b.block_size, 512, 65536);
    if (b.block_size & (b.block_size - 1))
        r.error(n["block_size"], "nbd.block_size", "must be a power of two (got " + std::to_string(b.block_size) + ")");
    r.millis(n, "nbd", "io_timeout_ms", b.io_timeout, 1000, 3600000);
    r.millis(n, "nbd", "dead_conn_timeout_ms", b.dead_conn_timeout, 0, 3600000);
    r.millis(n, "nbd", "timeout_margin_ms", b.timeout_margin, 0, 600000);
    r.enumeration(n, "nbd", "tls", b.tls, {{"off", NbdTls::off}, {"required", NbdTls::required}});
}

void read_spool(Reader& r, const YAML::Node& n, Spool& s) {
    if (!r.is_map(n, "spool")) return;
    r.check_keys(n, "spool", {"md_device", "md_name", "filesystem", "mount_point", "mount_options",
                              "bitmap_chunk_kib", "write_behind", "fsck_timeout_ms", "mount_timeout_ms",
                              "raw_mount_fallback"});
    r.absolute_path(n, "spool", "md_device", s.md_device);
    r.string(n, "spool", "md_name", s.md_name);
    r.enumeration(n, "spool", "filesystem", s.filesystem,
                  {{"ext4", Filesystem::ext4}, {"ext3", Filesystem::ext3}, {"ext2", Filesystem::ext2}, {"xfs", Filesystem::xfs}});
    r.absolute_path(n, "spool", "mount_point", s.mount_point);
    r.string_list(n, "spool", "mount_options", s.mount_options);
    r.integer(n, "spool", "bitmap_chunk_kib", s.bitmap_chunk_kib, 0, 4 * 1024 * 1024);
    if (s.bitmap_chunk_kib && (s.bitmap_chunk_kib < 4 || (s.bitmap_chunk_kib & (s.bitmap_chunk_kib - 1))))
        r.error(n["bitmap_chunk_kib"], "spool.bitmap_chunk_kib",
                "must be 0 (mdadm's choice) or a power of two of at least 4 (got " + std::to_string(s.bitmap_chunk_kib) + ")");
    r.integer(n, "spool", "write_behind", s.write_behind, 0, 16383);
    r.millis(n, "spool", "fsck_timeout_ms", s.fsck_timeout);
    r.millis(n, "spool", "mount_timeout_ms", s.mount_timeout);
    r.boolean(n, "spool", "raw_mount_fallback", s.raw_mount_fallback);
}

void read_service(Reader& r, const YAML::Node& n, Service& s) {
    if (!r.is_map(n, "service")) return;
    r.check_keys(n, "service", {"address", "interface", "units", "unit_timeout_ms", "probe", "probe_timeout_ms", "garp"});
    r.string(n, "service", "address", s.address, true);
    if (!s.address.empty() && !is_cidr(s.address))
        r.error(n["address"], "service.address", "must be an address with prefix length, e.g. 198.51.100.25/24 (got '" + s.address + "')");
    else if (!s.address.empty() && s.address.find(':') != std::string::npos)
        // The takeover announces the address with gratuitous ARP (IPv4 only): neighbour
        // discovery (DAD, unsolicited NAs) is not built yet, and a configuration the takeover
        // would refuse must fail here, before a node depends on it (issue 14 item 6).
        r.error(n["address"], "service.address",
                "is IPv6 (" + s.address + "): this build moves only IPv4 service addresses (gratuitous ARP; "
                "neighbour advertisements are not implemented); give an IPv4 address");
    r.string(n, "service", "interface", s.interface);
    if (!s.interface.empty() && !valid_interface_name(s.interface))
        r.error(n["interface"], "service.interface", "is not a valid interface name ('" + s.interface + "')");
    r.string_list(n, "service", "units", s.units);
    for (size_t i = 0; i < s.units.size(); ++i)
        if (!valid_unit_name(s.units[i]))
            r.error(n["units"], "service.units[" + std::to_string(i) + "]",
                    "is not a systemd unit name such as postfix@-.service (got '" + s.units[i] + "')");
    r.millis(n, "service", "unit_timeout_ms", s.unit_timeout);
    r.boolean(n, "service", "probe", s.probe);
    r.millis(n, "service", "probe_timeout_ms", s.probe_timeout, 100, 60000);
    YAML::Node g = r.child(n, "service", "garp", false);
    if (g && r.is_map(g, "service.garp")) {
        r.check_keys(g, "service.garp", {"count", "interval_ms", "repeat_count", "repeat_after_ms", "refresh_ms"});
        r.integer(g, "service.garp", "count", s.garp.count, 1, 100);
        r.millis(g, "service.garp", "interval_ms", s.garp.interval, 10, 60000);
        r.integer(g, "service.garp", "repeat_count", s.garp.repeat_count, 0, 100);
        r.millis(g, "service.garp", "repeat_after_ms", s.garp.repeat_after, 0, 3600000);
        r.millis(g, "service.garp", "refresh_ms", s.garp.refresh, 0, 86400000);
    }
}

void read_hooks(Reader& r, const YAML::Node& n, Hooks& h) {
    if (!r.is_map(n, "hooks")) return;
    r.check_keys(n, "hooks", {"before_takeover", "after_takeover", "before_handback", "after_handback", "notify", "timeout_ms"});
    r.command(n, "hooks", "before_takeover", h.before_takeover);
    r.command(n, "hooks", "after_takeover", h.after_takeover);
    r.command(n, "hooks", "before_handback", h.before_handback);
    r.command(n, "hooks", "after_handback", h.after_handback);
    r.command(n, "hooks", "notify", h.notify);
    r.millis(n, "hooks", "timeout_ms", h.timeout);
}

void read_fence(Reader& r, const YAML::Node& n, Fence& f) {
    if (!r.is_map(n, "fence")) return;
    r.check_keys(n, "fence", {"command", "timeout_ms"});
    r.command(n, "fence", "command", f.command);
    r.millis(n, "fence", "timeout_ms", f.timeout);
}

void read_failback(Reader& r, const YAML::Node& n, Failback& f) {
    if (!r.is_map(n, "failback")) return;
    r.check_keys(n, "failback", {"policy", "hold_off_ms"});
    r.enumeration(n, "failback", "policy", f.policy,
                  {{"manual", FailbackPolicy::manual}, {"auto", FailbackPolicy::automatic}});
    r.millis(n, "failback", "hold_off_ms", f.hold_off, 0, 86400000);
}

void read_metrics(Reader& r, const YAML::Node& n, Metrics& m) {
    if (!r.is_map(n, "metrics")) return;
    r.check_keys(n, "metrics", {"textfile"});
    r.absolute_path(n, "metrics", "textfile", m.textfile);
    const std::string& f = m.textfile;
    if (!f.empty() && f[0] == '/' && f.back() == '/')
        r.error(n["textfile"], "metrics.textfile", "must name a file, not a directory (got '" + f + "')");
    else if (!f.empty() && f[0] == '/' && (f.size() < 5 || f.compare(f.size() - 5, 5, ".prom") != 0))
        r.warning(n["textfile"], "metrics.textfile",
                  "node_exporter's textfile collector reads only files ending in .prom (got '" + f + "')");
}

bool primaries_ok(const Config& c) {
    int p = 0, s = 0;
    for (const auto& n : c.nodes) (n.role == Role::primary ? p : s)++;
    return p == 1 && s == 1;
}

std::string ms(Millis m) { return std::to_string(m.count()); }

// Rules that relate several keys. They run on whatever parsed, so one bad key does not hide
// the others.
void cross_check(Reader& r, const YAML::Node& root, Config& c) {
    const YAML::Node nodes_y = root["nodes"];
    if (nodes_y && nodes_y.IsSequence()) {
        if (c.nodes.size() != 2)
            r.error(nodes_y, "nodes", "must list exactly two nodes, one primary and one standby (got " + std::to_string(c.nodes.size()) + ")");
        int primaries = 0, standbys = 0;
        std::set<std::string> names, hostnames;
        for (size_t i = 0; i < c.nodes.size(); ++i) {
            const Node& nd = c.nodes[i];
            (nd.role == Role::primary ? primaries : standbys)++;
            if (!nd.name.empty() && !names.insert(nd.name).second)
                r.error(nodes_y[i], "nodes[" + std::to_string(i) + "].name", "duplicates another node's name ('" + nd.name + "')");
            if (!nd.hostname.empty() && !hostnames.insert(nd.hostname).second)
                r.error(nodes_y[i], "nodes[" + std::to_string(i) + "].hostname", "duplicates another node's hostname ('" + nd.hostname + "')");
        }
        if (c.nodes.size() == 2 && (primaries != 1 || standbys != 1))
            r.error(nodes_y, "nodes", "must have one node with role primary and one with role standby (got " +
                                          std::to_string(primaries) + " primary, " + std::to_string(standbys) + " standby)");
    }

    // Heartbeat paths: default to every path named by the nodes; each node needs an address on each.
    const YAML::Node hb = root["heartbeat"];
    if (c.heartbeat.paths.empty()) {
        std::set<std::string> all;
        for (const auto& nd : c.nodes)
            for (const auto& [p, a] : nd.addresses) all.insert(p);
        c.heartbeat.paths.assign(all.begin(), all.end());
    }
    if (c.heartbeat.paths.empty() && !c.nodes.empty())
        r.error(hb ? hb : root, "heartbeat.paths", "no heartbeat path: give each node an address under 'addresses'");
    for (size_t i = 0; i < c.nodes.size(); ++i) {
        std::set<std::string> mine;
        for (const auto& [p, a] : c.nodes[i].addresses) mine.insert(p);
        for (const auto& p : c.heartbeat.paths)
            if (!c.nodes[i].addresses.count(p))
                r.error(nodes_y[i], "nodes[" + std::to_string(i) + "].addresses." + p,
                        "node '" + c.nodes[i].name + "' has no address on heartbeat path '" + p + "'");
    }
    if (c.nodes.size() == 2)
        for (const auto& [p, a] : c.nodes[0].addresses) {
            auto it = c.nodes[1].addresses.find(p);
            if (it != c.nodes[1].addresses.end() && it->second == a)
                r.error(nodes_y[1], "nodes[1].addresses." + p, "is the same address as nodes[0]'s on path '" + p + "' (" + a + ")");
        }

    // Timing (docs/design.md §7).
    if (c.heartbeat.dead_after < 3 * c.heartbeat.interval)
        r.error(hb["dead_after_ms"] ? hb["dead_after_ms"] : hb, "heartbeat.dead_after_ms",
                "must be at least 3 × interval_ms (got " + ms(c.heartbeat.dead_after) + " with interval " + ms(c.heartbeat.interval) + ")");
    const YAML::Node nbd = root["nbd"];
    if (c.nbd.dead_conn_timeout > c.heartbeat.dead_after)
        r.error(nbd["dead_conn_timeout_ms"] ? nbd["dead_conn_timeout_ms"] : nbd, "nbd.dead_conn_timeout_ms",
                "must be at most heartbeat.dead_after_ms (got " + ms(c.nbd.dead_conn_timeout) + " with dead_after " +
                    ms(c.heartbeat.dead_after) + "): a reconnect must not outlive the peer's death verdict");
    Millis bound = c.heartbeat.dead_after + c.effective_fence_timeout() + c.nbd.timeout_margin;
    if (c.nbd.io_timeout <= bound)
        r.error(nbd["io_timeout_ms"] ? nbd["io_timeout_ms"] : (nbd ? nbd : root), "nbd.io_timeout_ms",
                "must be greater than heartbeat.dead_after_ms + fence.timeout_ms + nbd.timeout_margin_ms = " +
                    ms(c.heartbeat.dead_after) + " + " + ms(c.effective_fence_timeout()) + " + " + ms(c.nbd.timeout_margin) +
                    " = " + ms(bound) + " ms (got " + ms(c.nbd.io_timeout) +
                    "): otherwise the primary could acknowledge a write the standby never received before the standby takes over");

    // NBD path and addresses.
    if (c.nbd.path.empty() && !c.heartbeat.paths.empty()) c.nbd.path = c.heartbeat.paths.front();
    if (!c.nbd.path.empty() &&
        std::find(c.heartbeat.paths.begin(), c.heartbeat.paths.end(), c.nbd.path) == c.heartbeat.paths.end())
        r.error(nbd["path"], "nbd.path", "names no heartbeat path ('" + c.nbd.path + "')");
    if (c.nbd.allowed_peers.empty() && c.nodes.size() == 2 && primaries_ok(c)) {
        auto it = c.primary().addresses.find(c.nbd.path);
        if (it != c.primary().addresses.end()) c.nbd.allowed_peers.push_back(it->second);
    }

    // Service interface: every node needs one.
    const YAML::Node svc = root["service"];
    if (c.service.interface.empty())
        for (size_t i = 0; i < c.nodes.size(); ++i)
            if (c.nodes[i].service_interface.empty())
                r.error(svc ? svc : root, "service.interface",
                        "required unless every node sets service_interface (node '" + c.nodes[i].name + "' does not)");

    if (c.nbd.tls == NbdTls::required && c.cluster.name.find(':') != std::string::npos)
        r.error(root["cluster"]["name"], "cluster.name",
                "is the TLS key's identity with nbd.tls: required, and may not contain ':' (got '" + c.cluster.name + "')");

    if (c.spool.write_behind > 0)
        r.warning(root["spool"]["write_behind"], "spool.write_behind",
                  "write-behind lets the primary acknowledge writes the standby has not stored: a takeover can lose them");
    if (c.spool.raw_mount_fallback)
        r.warning(root["spool"]["raw_mount_fallback"], "spool.raw_mount_fallback",
                  "a takeover that cannot assemble Y as md serves Y outside md: nothing records what X misses, so "
                  "the next failback copies the whole spool onto X (full resync)");
    if (c.fence.command.empty() && root["fence"])
        r.warning(root["fence"], "fence.command", "no fence command: takeover relies on heartbeats and the address probe alone");
}

}  // namespace

LoadResult load_string(std::string_view yaml, const std::string& source_name) {
    LoadResult out;
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
        out.errors.push_back({"", source_name + ":" + std::to_string(e.mark.line + 1) + ":" +
                                      std::to_string(e.mark.column + 1) + ": YAML syntax error: " + e.msg,
                              e.mark.line + 1, e.mark.column + 1});
        return out;
    }
    Reader r(out);
    if (!root.IsMap()) {
        out.errors.push_back({"", source_name + ": the file must be a YAML mapping with keys cluster, nodes, heartbeat, ..."});
        return out;
    }
    Config c;
    c.source_file = source_name;
    r.check_keys(root, "", {"cluster", "nodes", "heartbeat", "nbd", "spool", "service", "hooks", "fence", "failback",
                         "metrics"});
    auto section = [&](const char* key, bool required, auto&& fn) {
        YAML::Node n = r.child(root, "", key, required);
        if (n) fn(n);
    };
    try {
        section("cluster", true, [&](const YAML::Node& n) { read_cluster(r, n, c.cluster); });
        section("nodes", true, [&](const YAML::Node& n) { read_nodes(r, n, c.nodes); });
        section("heartbeat", false, [&](const YAML::Node& n) { read_heartbeat(r, n, c.heartbeat); });
        section("nbd", false, [&](const YAML::Node& n) { read_nbd(r, n, c.nbd); });
        section("spool", false, [&](const YAML::Node& n) { read_spool(r, n, c.spool); });
        section("service", true, [&](const YAML::Node& n) { read_service(r, n, c.service); });
        section("hooks", false, [&](const YAML::Node& n) { read_hooks(r, n, c.hooks); });
        section("fence", false, [&](const YAML::Node& n) { read_fence(r, n, c.fence); });
        section("failback", false, [&](const YAML::Node& n) { read_failback(r, n, c.failback); });
        section("metrics", false, [&](const YAML::Node& n) { read_metrics(r, n, c.metrics); });
        cross_check(r, root, c);
    } catch (const YAML::Exception& e) {
        out.errors.push_back({"", source_name + ": unexpected YAML structure: " + e.msg, e.mark.line + 1, e.mark.column + 1});
    }
    std::stable_sort(out.errors.begin(), out.errors.end(),
                     [](const Problem& a, const Problem& b) { return a.line < b.line; });
    if (out.errors.empty()) out.config = std::move(c);
    return out;
}

LoadResult load_file(const std::string& file) {
    std::ifstream in(file);
    if (!in) {
        LoadResult out;
        out.errors.push_back({"", "cannot read " + file + ": " + std::strerror(errno)});
        return out;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return load_string(ss.str(), file);
}

}  // namespace haspool::config
