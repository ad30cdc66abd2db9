#include "blockdev/nbd_netlink.hpp"

#include <linux/nbd-netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include <functional>

namespace haspool::nbd {

namespace {

struct SockDeleter {
    void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct MsgDeleter {
    void operator()(nl_msg* m) const { nlmsg_free(m); }
};
using SockPtr = std::unique_ptr<nl_sock, SockDeleter>;
using MsgPtr = std::unique_ptr<nl_msg, MsgDeleter>;

std::string nl_error(const std::string& what, int nl_rc) {
    return what + ": " + nl_geterror(nl_rc);
}

// A connected generic-netlink socket and the nbd family's id.
struct Family {
    SockPtr sock;
    int id = -1;
    std::string error;
};

Family open_family() {
    Family f;
    f.sock.reset(nl_socket_alloc());
    if (!f.sock) {
        f.error = "cannot allocate a netlink socket";
        return f;
    }
    if (int rc = genl_connect(f.sock.get()); rc < 0) {
        f.error = nl_error("cannot connect to generic netlink", rc);
        return f;
    }
    f.id = genl_ctrl_resolve(f.sock.get(), NBD_GENL_FAMILY_NAME);
    if (f.id < 0)
        f.error = nl_error("the kernel has no \"" NBD_GENL_FAMILY_NAME
                           "\" generic-netlink family (is the nbd module loaded?)", f.id);
    return f;
}

MsgPtr new_command(const Family& f, uint8_t cmd) {
    MsgPtr msg(nlmsg_alloc());
    if (msg && !genlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, f.id, 0, 0, cmd, NBD_GENL_VERSION))
        msg.reset();
    return msg;
}

// Puts NBD_ATTR_SOCKETS { NBD_SOCK_ITEM { NBD_SOCK_FD } ... }.
int put_sockets(nl_msg* msg, const std::vector<int>& fds) {
    nlattr* socks = nla_nest_start(msg, NBD_ATTR_SOCKETS);
    if (!socks) return -NLE_NOMEM;
    for (int fd : fds) {
        nlattr* item = nla_nest_start(msg, NBD_SOCK_ITEM);
        if (!item) return -NLE_NOMEM;
        if (int rc = nla_put_u32(msg, NBD_SOCK_FD, static_cast<uint32_t>(fd)); rc < 0) return rc;
        nla_nest_end(msg, item);
    }
    nla_nest_end(msg, socks);
    return 0;
}

// Sends `msg` and waits for the kernel's ack, handing every reply message to `on_reply`.
std::string transact(Family& f, MsgPtr msg, const std::string& what,
                     const std::function<void(nlmsghdr*)>& on_reply = {}) {
    struct Ctx {
        const std::function<void(nlmsghdr*)>* on_reply;
        bool done = false;
    } ctx{&on_reply};
    nl_cb* cb = nl_cb_alloc(NL_CB_DEFAULT);
    if (!cb) return what + ": cannot allocate netlink callbacks";
    nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, [](nl_msg* m, void* arg) {
        auto* c = static_cast<Ctx*>(arg);
        if (*c->on_reply) (*c->on_reply)(nlmsg_hdr(m));
        return static_cast<int>(NL_OK);
    }, &ctx);
    nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, [](nl_msg*, void* arg) {
        static_cast<Ctx*>(arg)->done = true;
        return static_cast<int>(NL_STOP);
    }, &ctx);
    std::string error;
    if (int rc = nl_send_auto(f.sock.get(), msg.get()); rc < 0) {
        error = nl_error(what + ": cannot send the request", rc);
    } else {
        while (!ctx.done) {
            // a kernel error (NLMSG_ERROR with errno) comes back as a negative NLE_* code
            if (int r = nl_recvmsgs(f.sock.get(), cb); r < 0) {
                error = nl_error(what + " failed", r);
                break;
            }
        }
    }
    nl_cb_put(cb);
    return error;
}

std::string describe_device(uint32_t index) { return "/dev/nbd" + std::to_string(index); }

}  // namespace

std::string validate(const KernelConnectRequest& r) {
    if (r.socket_fds.empty()) return "no socket to hand to the kernel";
    for (int fd : r.socket_fds)
        if (fd < 0) return "invalid socket descriptor " + std::to_string(fd);
    if (r.size_bytes == 0) return "export size is 0 bytes";
    const uint64_t bs = r.block_size_bytes;
    if (bs < 512 || bs > 4096 || (bs & (bs - 1)) != 0)
        return "block size " + std::to_string(bs) + " is not a power of two between 512 and 4096";
    if (r.size_bytes % bs != 0)
        return "export size " + std::to_string(r.size_bytes) + " is not a multiple of the block size " +
               std::to_string(bs);
    if (r.io_timeout.count() <= 0)
        return "the I/O timeout must be set (0 lets a dead peer hang every write forever)";
    if (r.dead_conn_timeout.count() < 0) return "negative dead-connection timeout";
    return {};
}

KernelConnectResult kernel_connect(const KernelConnectRequest& r) {
    KernelConnectResult result;
    const std::string what = "NBD_CMD_CONNECT" + (r.index ? " for " + describe_device(*r.index) : std::string());
    if (std::string e = validate(r); !e.empty()) {
        result.error = what + ": " + e;
        return result;
    }
    Family f = open_family();
    if (!f.error.empty()) {
        result.error = what + ": " + f.error;
        return result;
    }
    MsgPtr msg = new_command(f, NBD_CMD_CONNECT);
    if (!msg) {
        result.error = what + ": cannot build the message";
        return result;
    }
    int rc = 0;
    nl_msg* m = msg.get();
    if (r.index) rc = rc < 0 ? rc : nla_put_u32(m, NBD_ATTR_INDEX, *r.index);
    rc = rc < 0 ? rc : nla_put_u64(m, NBD_ATTR_SIZE_BYTES, r.size_bytes);
    rc = rc < 0 ? rc : nla_put_u64(m, NBD_ATTR_BLOCK_SIZE_BYTES, r.block_size_bytes);
    rc = rc < 0 ? rc : nla_put_u64(m, NBD_ATTR_SERVER_FLAGS, r.server_flags);
    rc = rc < 0 ? rc : nla_put_u64(m, NBD_ATTR_TIMEOUT, static_cast<uint64_t>(r.io_timeout.count()));
    rc = rc < 0 ? rc : nla_put_u64(m, NBD_ATTR_DEAD_CONN_TIMEOUT, static_cast<uint64_t>(r.dead_conn_timeout.count()));
    if (!r.backend_identifier.empty())
        rc = rc < 0 ? rc : nla_put_string(m, NBD_ATTR_BACKEND_IDENTIFIER, r.backend_identifier.c_str());
    rc = rc < 0 ? rc : put_sockets(m, r.socket_fds);
    if (rc < 0) {
        result.error = nl_error(what + ": cannot build the message", rc);
        return result;
    }
    std::optional<uint32_t> index;
    result.error = transact(f, std::move(msg), what, [&](nlmsghdr* hdr) {
        nlattr* attrs[NBD_ATTR_MAX + 1] = {};
        if (genlmsg_parse(hdr, 0, attrs, NBD_ATTR_MAX, nullptr) == 0 && attrs[NBD_ATTR_INDEX])
            index = nla_get_u32(attrs[NBD_ATTR_INDEX]);
    });
    if (result.error.empty()) {
        result.index = index ? index : r.index;
        if (!result.index) result.error = what + ": the kernel did not say which device it configured";
    }
    return result;
}

std::string kernel_reconfigure(uint32_t index, const std::string& backend_identifier, const std::vector<int>& fds,
                               std::optional<std::chrono::seconds> io_timeout,
                               std::optional<std::chrono::seconds> dead_conn_timeout) {
    const std::string what = "NBD_CMD_RECONFIGURE for " + describe_device(index);
    if (fds.empty() && !io_timeout && !dead_conn_timeout) return what + ": nothing to change";
    for (int fd : fds)
        if (fd < 0) return what + ": invalid socket descriptor " + std::to_string(fd);
    if (io_timeout && io_timeout->count() <= 0) return what + ": the I/O timeout must stay above 0";
    Family f = open_family();
    if (!f.error.empty()) return what + ": " + f.error;
    MsgPtr msg = new_command(f, NBD_CMD_RECONFIGURE);
    if (!msg) return what + ": cannot build the message";
    int rc = nla_put_u32(msg.get(), NBD_ATTR_INDEX, index);
    if (!backend_identifier.empty())
        rc = rc < 0 ? rc : nla_put_string(msg.get(), NBD_ATTR_BACKEND_IDENTIFIER, backend_identifier.c_str());
    if (io_timeout) rc = rc < 0 ? rc : nla_put_u64(msg.get(), NBD_ATTR_TIMEOUT, static_cast<uint64_t>(io_timeout->count()));
    if (dead_conn_timeout)
        rc = rc < 0 ? rc : nla_put_u64(msg.get(), NBD_ATTR_DEAD_CONN_TIMEOUT, static_cast<uint64_t>(dead_conn_timeout->count()));
    if (!fds.empty()) rc = rc < 0 ? rc : put_sockets(msg.get(), fds);
    if (rc < 0) return nl_error(what + ": cannot build the message", rc);
    return transact(f, std::move(msg), what);
}

std::string kernel_disconnect(uint32_t index) {
    const std::string what = "NBD_CMD_DISCONNECT for " + describe_device(index);
    Family f = open_family();
    if (!f.error.empty()) return what + ": " + f.error;
    MsgPtr msg = new_command(f, NBD_CMD_DISCONNECT);
    if (!msg) return what + ": cannot build the message";
    if (int rc = nla_put_u32(msg.get(), NBD_ATTR_INDEX, index); rc < 0)
        return nl_error(what + ": cannot build the message", rc);
    return transact(f, std::move(msg), what);
}

KernelStatusResult kernel_status(std::optional<uint32_t> index) {
    KernelStatusResult result;
    const std::string what = "NBD_CMD_STATUS" + (index ? " for " + describe_device(*index) : std::string());
    Family f = open_family();
    if (!f.error.empty()) {
        result.error = what + ": " + f.error;
        return result;
    }
    MsgPtr msg = new_command(f, NBD_CMD_STATUS);
    if (!msg) {
        result.error = what + ": cannot build the message";
        return result;
    }
    if (index)
        if (int rc = nla_put_u32(msg.get(), NBD_ATTR_INDEX, *index); rc < 0) {
            result.error = nl_error(what + ": cannot build the message", rc);
            return result;
        }
    // Reply: NBD_ATTR_DEVICE_LIST { NBD_DEVICE_ITEM { NBD_DEVICE_INDEX u32, NBD_DEVICE_CONNECTED u8 } ... }
    result.error = transact(f, std::move(msg), what, [&](nlmsghdr* hdr) {
        nlattr* attrs[NBD_ATTR_MAX + 1] = {};
        if (genlmsg_parse(hdr, 0, attrs, NBD_ATTR_MAX, nullptr) != 0 || !attrs[NBD_ATTR_DEVICE_LIST]) return;
        nlattr* item;
        int rem;
        nla_for_each_nested(item, attrs[NBD_ATTR_DEVICE_LIST], rem) {
            if (nla_type(item) != NBD_DEVICE_ITEM) continue;
            nlattr* dev[NBD_DEVICE_ATTR_MAX + 1] = {};
            if (nla_parse_nested(dev, NBD_DEVICE_ATTR_MAX, item, nullptr) != 0 || !dev[NBD_DEVICE_INDEX]) continue;
            KernelDeviceStatus s;
            s.index = nla_get_u32(dev[NBD_DEVICE_INDEX]);
            s.connected = dev[NBD_DEVICE_CONNECTED] && nla_get_u8(dev[NBD_DEVICE_CONNECTED]) != 0;
            result.devices.push_back(s);
        }
    });
    return result;
}

struct LinkDeadWatch::Impl {
    SockPtr sock;
    std::vector<uint32_t> pending;
};

LinkDeadWatch::LinkDeadWatch(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LinkDeadWatch::~LinkDeadWatch() = default;

LinkDeadWatch::OpenResult LinkDeadWatch::open() {
    OpenResult result;
    const std::string what = "subscribing to the nbd netlink group \"" NBD_GENL_MCAST_GROUP_NAME "\"";
    Family f = open_family();
    if (!f.error.empty()) {
        result.error = what + ": " + f.error;
        return result;
    }
    int group = genl_ctrl_resolve_grp(f.sock.get(), NBD_GENL_FAMILY_NAME, NBD_GENL_MCAST_GROUP_NAME);
    if (group < 0) {
        result.error = nl_error(what, group);
        return result;
    }
    nl_socket_disable_seq_check(f.sock.get());  // notifications carry no sequence of ours
    if (int rc = nl_socket_add_membership(f.sock.get(), group); rc < 0) {
        result.error = nl_error(what, rc);
        return result;
    }
    if (int rc = nl_socket_set_nonblocking(f.sock.get()); rc < 0) {
        result.error = nl_error(what, rc);
        return result;
    }
    auto impl = std::make_unique<Impl>();
    impl->sock = std::move(f.sock);
    nl_socket_modify_cb(impl->sock.get(), NL_CB_VALID, NL_CB_CUSTOM, [](nl_msg* m, void* arg) {
        auto* self = static_cast<Impl*>(arg);
        nlmsghdr* hdr = nlmsg_hdr(m);
        auto* gh = static_cast<genlmsghdr*>(nlmsg_data(hdr));
        if (gh->cmd != NBD_CMD_LINK_DEAD) return static_cast<int>(NL_OK);
        nlattr* attrs[NBD_ATTR_MAX + 1] = {};
        if (genlmsg_parse(hdr, 0, attrs, NBD_ATTR_MAX, nullptr) == 0 && attrs[NBD_ATTR_INDEX])
            self->pending.push_back(nla_get_u32(attrs[NBD_ATTR_INDEX]));
        return static_cast<int>(NL_OK);
    }, impl.get());
    result.watch.reset(new LinkDeadWatch(std::move(impl)));
    return result;
}

int LinkDeadWatch::fd() const { return nl_socket_get_fd(impl_->sock.get()); }

LinkDeadWatch::ReadResult LinkDeadWatch::read_link_dead() {
    ReadResult result;
    for (;;) {
        int rc = nl_recvmsgs_default(impl_->sock.get());
        if (rc == -NLE_AGAIN || rc == -NLE_BUSY) break;
        if (rc < 0) {
            result.error = nl_error("reading nbd netlink notifications", rc);
            break;
        }
    }
    result.dead_indexes.swap(impl_->pending);
    return result;
}

}  // namespace haspool::nbd
