#include "agent/daemon/control_access.hpp"

#include <grp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace haspool::agent {

std::optional<PeerCredentials> peer_credentials(int fd, std::string& why) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        why = std::string("SO_PEERCRED: ") + std::strerror(errno);
        return std::nullopt;
    }
    PeerCredentials who{cred.pid, cred.uid, cred.gid, {}};
    // The kernel says how much room the list needs when it does not fit (ERANGE).
    std::vector<gid_t> groups(32);
    for (int attempt = 0; attempt < 2; ++attempt) {
        socklen_t bytes = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &bytes) == 0) {
            groups.resize(bytes / sizeof(gid_t));
            who.groups = std::move(groups);
            return who;
        }
        if (errno != ERANGE) break;
        groups.resize(bytes / sizeof(gid_t) + 1);
    }
    why = std::string("SO_PEERGROUPS: ") + std::strerror(errno);
    return std::nullopt;
}

std::optional<ControlAccess> resolve_control_access(const std::string& group, std::string& why) {
    if (group.empty()) return ControlAccess{};
    std::vector<char> buf(16384);
    ::group g{};
    ::group* found = nullptr;
    int rc = ::getgrnam_r(group.c_str(), &g, buf.data(), buf.size(), &found);
    if (rc != 0 || !found) {
        why = "cluster.control_group '" + group + "' is not a group on this host" +
              (rc != 0 ? std::string(" (") + std::strerror(rc) + ")" : std::string()) +
              "; create it (groupadd --system " + group + ") or remove the setting";
        return std::nullopt;
    }
    return ControlAccess{group, found->gr_gid};
}

std::optional<std::string> control_refusal(const PeerCredentials& who, const ControlAccess& access) {
    if (who.uid == 0) return std::nullopt;
    std::string uid = "uid " + std::to_string(who.uid);
    if (access.group.empty()) return uid + " is not root (cluster.control_group is not set: root only)";
    if (who.gid == access.gid || std::find(who.groups.begin(), who.groups.end(), access.gid) != who.groups.end())
        return std::nullopt;
    return uid + " is neither root nor in group " + access.group;
}

}  // namespace haspool::agent
