#pragma once
// The cluster configuration: one YAML file, the same on both hosts.
//
// This header is the one place where defaults live: every member initializer below is the
// default the loader uses when the key is absent, and config/haspool.example.yaml documents the
// same values. Keep the two in step (tests/unit/config checks the example round-trips).
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace haspool::config {

using Millis = std::chrono::milliseconds;

enum class Role { primary, standby };
enum class Filesystem { ext2, ext3, ext4, xfs };
enum class FailbackPolicy { manual, automatic };
enum class NbdTls { off, required };

const char* to_string(Role r);
const char* to_string(Filesystem f);
const char* to_string(FailbackPolicy p);
const char* to_string(NbdTls t);

struct Node {
    std::string name;
    Role role = Role::primary;
    std::string hostname;                          // matched against gethostname(); default: name
    std::map<std::string, std::string> addresses;  // heartbeat path name -> this node's IP on it
    std::string spool_device;                      // X on the primary, Y on the standby
    std::string service_interface;                 // overrides service.interface for this node
};

struct Cluster {
    std::string name;
    std::string secret_file;  // HMAC-SHA256 key for peer messages; root-only (mode 0600/0400)
    // During a rotation only: a second key, accepted beside secret_file and used for signing once
    // the peer holds it too (docs/agent.md "Rotating the shared secret"). Empty: none.
    std::string secret_file_next;
    std::string state_dir = "/var/lib/haspool";
    std::string control_socket = "/run/haspool/control.sock";
    // Besides root, the members of this group may use the control socket (its primary or a
    // supplementary group, checked with SO_PEERCRED/SO_PEERGROUPS). Empty: root only.
    std::string control_group;
};

struct Heartbeat {
    uint16_t port = 5410;
    Millis interval{500};
    Millis dead_after{3000};    // silence on every path for this long = peer dead
    Millis stable_after{2000};  // a path must be good this long before it counts as back
    Millis max_clock_skew{30000};
    std::vector<std::string> paths;  // default: every path named in the nodes' addresses
};

// One pre-shared key of the NBD link's TLS (blockdev/tls_psk.hpp): `identity` is CLUSTER/KEYID.
// The key bytes are a secret: steps print the identity only.
struct NbdTlsKey {
    std::string identity;
    std::array<uint8_t, 32> key{};
};

struct Nbd {
    std::string path;                        // heartbeat path NBD runs over; default: first path
    std::string listen_address;              // default: the standby's address on `path`
    uint16_t port = 10809;
    std::vector<std::string> allowed_peers;  // default: the primary's address on `path`
    std::string export_name = "haspool";
    unsigned device_index = 0;               // /dev/nbdN on the primary
    unsigned connections = 1;
    uint32_t block_size = 4096;
    Millis io_timeout{20000};                // kernel NBD_ATTR_TIMEOUT; never 0 (docs/design.md §7)
    Millis dead_conn_timeout{3000};          // NBD_ATTR_DEAD_CONN_TIMEOUT; <= dead_after
    Millis timeout_margin{2000};             // slack in the zero-loss timing rule
    // required: STARTTLS with a key derived from the cluster secret, refused without it; the
    // primary hands the keyed socket to the kernel (kTLS). docs/security.md argues the default.
    NbdTls tls = NbdTls::off;
    // Not read from the file: the pre-shared keys of tls: required, which the daemon (and
    // `haspool plan`) derive from the cluster secret(s) after loading (agent/system/
    // nbd_tls_keys), in the order a client tries them: during a rotation the next secret's
    // first. Empty until then; the executor refuses tls: required without a key.
    std::vector<NbdTlsKey> tls_keys;
};

struct Spool {
    std::string md_device = "/dev/md/haspool";
    std::string md_name = "haspool";
    Filesystem filesystem = Filesystem::ext4;
    std::string mount_point = "/var/spool/mail";
    std::vector<std::string> mount_options;  // empty: the filesystem's defaults
    unsigned bitmap_chunk_kib = 0;           // 0: let mdadm choose
    unsigned write_behind = 0;               // 0: synchronous mirror (opt-in only)
    Millis fsck_timeout{600000};
    Millis mount_timeout{60000};
    // Opt-in (docs/agent.md "Raw takeover"): when a takeover cannot assemble Y as a degraded md,
    // serve Y's data area through a loop device instead of halting; the next failback then
    // copies all of Y onto X. Off: such a takeover halts and the operator decides.
    bool raw_mount_fallback = false;
};

struct Garp {
    unsigned count = 5;           // first burst, as IPaddr2/keepalived
    Millis interval{200};
    unsigned repeat_count = 5;    // second burst, as keepalived's garp_master_repeat
    Millis repeat_after{5000};
    Millis refresh{0};            // 0: no periodic refresh
};

struct Service {
    std::string address;     // the VIP, CIDR notation
    std::string interface;   // default interface for the VIP (per-node override possible)
    std::vector<std::string> units;
    Millis unit_timeout{90000};
    bool probe = true;       // duplicate-address probe before taking the VIP
    Millis probe_timeout{1000};
    Garp garp;
};

struct Hooks {
    std::vector<std::string> before_takeover;  // argv; empty: none
    std::vector<std::string> after_takeover;
    std::vector<std::string> before_handback;
    std::vector<std::string> after_handback;
    // Run on every state transition, asynchronously; never delays or fails anything (argv).
    std::vector<std::string> notify;
    Millis timeout{30000};
};

struct Fence {
    std::vector<std::string> command;  // argv; empty: no fencing
    Millis timeout{10000};
};

struct Failback {
    FailbackPolicy policy = FailbackPolicy::manual;
    Millis hold_off{60000};  // the returning primary must be stable this long first
};

// Prometheus metrics as a node_exporter textfile (docs/agent.md "Metrics").
struct Metrics {
    std::string textfile;  // absolute path, rewritten atomically every heartbeat interval; empty: off
};

struct Config {
    std::string source_file;
    Cluster cluster;
    std::vector<Node> nodes;
    Heartbeat heartbeat;
    Nbd nbd;
    Spool spool;
    Service service;
    Hooks hooks;
    Fence fence;
    Failback failback;
    Metrics metrics;

    const Node& primary() const;
    const Node& standby() const;
    const Node* find_node(const std::string& name) const;
    const Node& peer_of(const Node& self) const;
    std::string service_interface_of(const Node& n) const;
    std::string nbd_listen_address() const;
    // Fence time counted in the zero-loss timing rule: 0 when no fence is configured.
    Millis effective_fence_timeout() const;
};

}  // namespace haspool::config
