#pragma once
// Checks that depend on the host a node runs on: which node we are, the secret file, the spool
// device, and the deployment around haspool (config/deployment_check.hpp: postfix's queue on
// the spool, mail units not started at boot, no auto-assembly or auto-mount of the spool,
// docs/design.md §3 rule 3; the nbd module at boot).
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/config_loader.hpp"
#include "config/deployment_check.hpp"

namespace haspool::config {

struct Identity {
    const Node* self = nullptr;  // null when this host is none of the nodes
    std::string why;             // how it was found, or why not
};

// `--node NAME` wins; otherwise the node whose hostname matches gethostname() (full or short).
Identity identify_self(const Config& c, const std::optional<std::string>& node_flag,
                       const std::string& host_name);
std::string local_hostname();

// Problems with the secret file and the spool device `self` needs, then the judgement of the
// deployment facts the caller gathered (config/host_files.hpp and the cli's probe).
HostReport check_host(const Config& c, const Node& self, const DeploymentFacts& facts);

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
