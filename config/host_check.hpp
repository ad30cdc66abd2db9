#pragma once
// Checks that depend on the host a node runs on: which node we are, the secret file, the spool
// device, and whether the OS would auto-assemble or auto-mount the spool behind our back
// (docs/design.md §3 rule 3).
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/config_loader.hpp"

namespace haspool::config {

struct Identity {
    const Node* self = nullptr;  // null when this host is none of the nodes
    std::string why;             // how it was found, or why not
};

// `--node NAME` wins; otherwise the node whose hostname matches gethostname() (full or short).
Identity identify_self(const Config& c, const std::optional<std::string>& node_flag,
                       const std::string& host_name);
std::string local_hostname();

// Problems with the files and devices `self` needs. `etc_root` prefixes /etc/... paths so
// tests can point at a fake tree ("" on a real host).
struct HostReport {
    std::vector<Problem> errors;
    std::vector<Problem> warnings;
};
HostReport check_host(const Config& c, const Node& self, const std::string& etc_root = "");

// Reads the shared key; fails (with a sentence) when the file is missing, empty, shorter than
// 16 bytes, or readable/writable by group or others.
struct Secret {
    std::string key;
    std::string error;
};
Secret read_secret(const std::string& file);

// The keys this node holds: cluster.secret_file and, when set, cluster.secret_file_next (each
// checked as by read_secret; the two must hold different keys). `field` names the key at fault.
struct Secrets {
    std::string current;
    std::string next;   // empty: no secret_file_next
    std::string error;  // empty: both usable
    std::string field;  // "cluster.secret_file" or "cluster.secret_file_next"
};
Secrets read_secrets(const Cluster& c);

// A short human summary of the roles and resources (check-config prints it).
std::string describe(const Config& c);

}  // namespace haspool::config
