// libFuzzer target for the configuration loader: YAML text in, a Config or every problem out.
//
// Input: the YAML file's text.
//
// What must hold: no exception escapes; a Config exactly when there is no error; every problem
// is a sentence, and the line it names lies in the file; a Config that loads keeps every rule
// the loader promises the agents (docs/design.md §7): a rotation's next key in another file than
// the current key; two nodes, one primary and one standby, with distinct names and hostnames
// and an address on every heartbeat path; NBD on one of those paths, with a listen address and
// allowed peers; an interface for the service address on each node; the timing rules
// (dead_after >= 3 x interval, dead_conn_timeout <= dead_after,
// io_timeout > dead_after + fence timeout + margin).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config/config_loader.hpp"

using namespace haspool::config;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

void check_problems(const std::vector<Problem>& list, int lines) {
    for (const auto& p : list) {
        check(!p.message.empty() && !p.to_string().empty());
        check(p.line >= 0 && p.line <= lines + 1 && p.column >= 0);
    }
}

void check_config(const Config& c) {
    check(c.nodes.size() == 2 && c.nodes[0].role != c.nodes[1].role);
    check(c.nodes[0].name != c.nodes[1].name && c.nodes[0].hostname != c.nodes[1].hostname);
    const Node& p = c.primary();
    const Node& s = c.standby();
    check(&c.peer_of(p) == &s && &c.peer_of(s) == &p);
    check(!c.cluster.name.empty() && c.cluster.secret_file.rfind('/', 0) == 0);
    // A rotation's second key is another file (docs/agent.md "Rotating the shared secret").
    check(c.cluster.secret_file_next.empty() ||
          (c.cluster.secret_file_next.rfind('/', 0) == 0 && c.cluster.secret_file_next != c.cluster.secret_file));
    check(!c.heartbeat.paths.empty());
    for (const auto& n : c.nodes) {
        check(!n.name.empty() && n.spool_device.rfind('/', 0) == 0);
        for (const auto& path : c.heartbeat.paths) check(n.addresses.count(path) && is_ip_address(n.addresses.at(path)));
        check(!c.service_interface_of(n).empty());
    }
    check(std::find(c.heartbeat.paths.begin(), c.heartbeat.paths.end(), c.nbd.path) != c.heartbeat.paths.end());
    check(is_ip_address(c.nbd_listen_address()));
    check(!c.nbd.allowed_peers.empty());
    for (const auto& a : c.nbd.allowed_peers) check(is_ip_address(a));
    check(is_cidr(c.service.address));
    check(c.nbd.block_size >= 512 && (c.nbd.block_size & (c.nbd.block_size - 1)) == 0);
    check(c.heartbeat.dead_after >= 3 * c.heartbeat.interval);
    check(c.nbd.dead_conn_timeout <= c.heartbeat.dead_after);
    check(c.nbd.io_timeout > c.heartbeat.dead_after + c.effective_fence_timeout() + c.nbd.timeout_margin);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    LoadResult r = load_string(text, "fuzz.yaml");
    check(r.config.has_value() == r.errors.empty());
    const int lines = int(std::count(text.begin(), text.end(), '\n')) + 1;
    check_problems(r.errors, lines);
    check_problems(r.warnings, lines);
    if (r.config) check_config(*r.config);
    return 0;
}
