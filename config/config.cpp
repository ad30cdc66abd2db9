#include "config/config.hpp"

#include <stdexcept>

namespace haspool::config {

const char* to_string(Role r) { return r == Role::primary ? "primary" : "standby"; }

const char* to_string(Filesystem f) {
    switch (f) {
        case Filesystem::ext2: return "ext2";
        case Filesystem::ext3: return "ext3";
        case Filesystem::ext4: return "ext4";
        case Filesystem::xfs: return "xfs";
    }
    return "?";
}

const char* to_string(FailbackPolicy p) { return p == FailbackPolicy::automatic ? "auto" : "manual"; }
const char* to_string(NbdTls t) { return t == NbdTls::required ? "required" : "off"; }

const Node* Config::find_node(const std::string& name) const {
    for (const auto& n : nodes)
        if (n.name == name) return &n;
    return nullptr;
}

static const Node& node_with_role(const std::vector<Node>& nodes, Role r) {
    for (const auto& n : nodes)
        if (n.role == r) return n;
    throw std::logic_error(std::string("validated config has no ") + to_string(r));
}

const Node& Config::primary() const { return node_with_role(nodes, Role::primary); }
const Node& Config::standby() const { return node_with_role(nodes, Role::standby); }

const Node& Config::peer_of(const Node& self) const {
    return self.role == Role::primary ? standby() : primary();
}

std::string Config::service_interface_of(const Node& n) const {
    return n.service_interface.empty() ? service.interface : n.service_interface;
}

std::string Config::nbd_listen_address() const {
    if (!nbd.listen_address.empty()) return nbd.listen_address;
    auto it = standby().addresses.find(nbd.path);
    return it == standby().addresses.end() ? std::string() : it->second;
}

Millis Config::effective_fence_timeout() const {
    return fence.command.empty() ? Millis(0) : fence.timeout;
}

}  // namespace haspool::config
