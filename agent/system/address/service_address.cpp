#include "agent/system/address/service_address.hpp"

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>

namespace haspool::actions {

namespace {

struct SockFree {
    void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct CacheFree {
    void operator()(nl_cache* c) const { nl_cache_free(c); }
};
struct LinkFree {
    void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
struct AddrFree {
    void operator()(rtnl_addr* a) const { rtnl_addr_put(a); }
};
struct NlAddrFree {
    void operator()(nl_addr* a) const { nl_addr_put(a); }
};
using Sock = std::unique_ptr<nl_sock, SockFree>;
using NlAddr = std::unique_ptr<nl_addr, NlAddrFree>;

std::string nl_error(int err) { return nl_geterror(err); }

Sock connect_route(std::string& error) {
    Sock s(nl_socket_alloc());
    if (!s) {
        error = "cannot allocate a netlink socket";
        return nullptr;
    }
    if (int err = nl_connect(s.get(), NETLINK_ROUTE); err < 0) {
        error = "cannot connect to rtnetlink: " + nl_error(err);
        return nullptr;
    }
    return s;
}

int interface_index(nl_sock* s, const std::string& interface, std::string& error) {
    rtnl_link* raw = nullptr;
    if (int err = rtnl_link_get_kernel(s, 0, interface.c_str(), &raw); err < 0) {
        error = "interface '" + interface + "': " + nl_error(err);
        return 0;
    }
    std::unique_ptr<rtnl_link, LinkFree> link(raw);
    return rtnl_link_get_ifindex(link.get());
}

NlAddr ipv4(const std::array<uint8_t, 4>& bytes, unsigned prefix) {
    NlAddr a(nl_addr_build(AF_INET, bytes.data(), bytes.size()));
    if (a) nl_addr_set_prefixlen(a.get(), static_cast<int>(prefix));
    return a;
}

struct Lookup {
    bool present = false;
    unsigned prefix = 0;
};

std::optional<Lookup> lookup(nl_sock* s, int ifindex, const Ipv4Cidr& address, std::string& error) {
    nl_cache* raw = nullptr;
    if (int err = rtnl_addr_alloc_cache(s, &raw); err < 0) {
        error = "cannot list addresses: " + nl_error(err);
        return std::nullopt;
    }
    std::unique_ptr<nl_cache, CacheFree> cache(raw);
    Lookup l;
    for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
        auto* a = reinterpret_cast<rtnl_addr*>(o);
        if (rtnl_addr_get_family(a) != AF_INET || rtnl_addr_get_ifindex(a) != ifindex) continue;
        nl_addr* local = rtnl_addr_get_local(a);
        if (!local || nl_addr_get_len(local) != 4) continue;
        if (std::memcmp(nl_addr_get_binary_addr(local), address.address.data(), 4) != 0) continue;
        l.present = true;
        l.prefix = static_cast<unsigned>(rtnl_addr_get_prefixlen(a));
        break;
    }
    return l;
}

}  // namespace

namespace {

// The interface and what it holds now, read over one rtnetlink socket.
struct Target {
    Sock sock;
    int ifindex = 0;
    Lookup found;
};

std::optional<Target> open_target(const std::string& interface, const Ipv4Cidr& address, std::string& error) {
    Target t;
    t.sock = connect_route(error);
    if (!t.sock) return std::nullopt;
    t.ifindex = interface_index(t.sock.get(), interface, error);
    if (!t.ifindex) return std::nullopt;
    auto l = lookup(t.sock.get(), t.ifindex, address, error);
    if (!l) return std::nullopt;
    t.found = *l;
    return t;
}

// The rtnl_addr for address/prefix on ifindex (with the broadcast address when `with_broadcast`).
std::unique_ptr<rtnl_addr, AddrFree> address_object(int ifindex, const Ipv4Cidr& address, unsigned prefix,
                                                    bool with_broadcast) {
    std::unique_ptr<rtnl_addr, AddrFree> a(rtnl_addr_alloc());
    NlAddr local = ipv4(address.address, prefix);
    if (!a || !local) return nullptr;
    rtnl_addr_set_ifindex(a.get(), ifindex);
    rtnl_addr_set_family(a.get(), AF_INET);
    // set_local copies the prefix length from the nl_addr; set it explicitly afterwards anyway.
    rtnl_addr_set_local(a.get(), local.get());
    rtnl_addr_set_prefixlen(a.get(), static_cast<int>(prefix));
    if (auto brd = address.broadcast(); with_broadcast && brd) {
        NlAddr b = ipv4(*brd, 32);
        if (b) rtnl_addr_set_broadcast(a.get(), b.get());
    }
    return a;
}

}  // namespace

std::optional<AddressState> query_address(const std::string& interface, const Ipv4Cidr& address, std::string* error) {
    std::string e;
    auto t = open_target(interface, address, e);
    if (!t) {
        if (error) *error = e;
        return std::nullopt;
    }
    return AddressState{t->found.present, t->found.prefix};
}

ActionResult ensure_address_present(const std::string& interface, const Ipv4Cidr& address) {
    const std::string what = "cannot add " + address.text() + " to " + interface + ": ";
    std::string e;
    auto t = open_target(interface, address, e);
    if (!t) return ActionResult::failed(what + e);
    if (t->found.present) {
        if (t->found.prefix != address.prefix)
            return ActionResult::failed(what + "refusing: " + address.address_text() + "/" +
                                        std::to_string(t->found.prefix) +
                                        " is already configured there with another prefix length");
        return ActionResult::done("already present");
    }
    auto a = address_object(t->ifindex, address, address.prefix, true);
    if (!a) return ActionResult::failed(what + "out of memory");
    if (int err = rtnl_addr_add(t->sock.get(), a.get(), NLM_F_EXCL); err < 0)
        return ActionResult::failed(what + "rtnetlink RTM_NEWADDR: " + nl_error(err));

    auto after = lookup(t->sock.get(), t->ifindex, address, e);
    if (!after || !after->present)
        return ActionResult::failed(what + "the kernel accepted the address but does not list it" +
                                    (e.empty() ? std::string() : ": " + e));
    return ActionResult::done("added");
}

ActionResult ensure_address_absent(const std::string& interface, const Ipv4Cidr& address) {
    const std::string what = "cannot remove " + address.text() + " from " + interface + ": ";
    std::string e;
    auto t = open_target(interface, address, e);
    if (!t) return ActionResult::failed(what + e);
    if (!t->found.present) return ActionResult::done("not present");
    auto a = address_object(t->ifindex, address, t->found.prefix, false);
    if (!a) return ActionResult::failed(what + "out of memory");
    if (int err = rtnl_addr_delete(t->sock.get(), a.get(), 0); err < 0)
        return ActionResult::failed(what + "rtnetlink RTM_DELADDR: " + nl_error(err));
    return ActionResult::done("removed");
}

}  // namespace haspool::actions
