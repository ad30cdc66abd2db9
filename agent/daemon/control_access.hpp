#pragma once
// Who may use the control socket: root, and the members of cluster.control_group.
//
// Two fences, so that neither alone has to be perfect. The filesystem's: the socket is 0600
// (root only) or 0660 root:GROUP, in a directory of 0700 or 0750 root:GROUP when haspool makes
// it. And this one: every connection's caller, as the kernel recorded it at connect()
// (SO_PEERCRED for the uid and primary gid, SO_PEERGROUPS for the supplementary groups), is
// admitted only when it is root or in the group. The second fence holds where the first does
// not: a directory made beforehand with a looser mode, or the moment between bind() and chmod().
// The credentials are the kernel's, not the caller's word, and a caller cannot change them after
// connecting.
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace haspool::agent {

// The caller of a connected unix socket as the kernel saw it at connect().
struct PeerCredentials {
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;               // primary group
    std::vector<gid_t> groups;   // supplementary groups
};

// Reads SO_PEERCRED and SO_PEERGROUPS; nullopt with `why` when the kernel does not answer.
std::optional<PeerCredentials> peer_credentials(int fd, std::string& why);

// cluster.control_group as this host knows it. `group` empty: root only.
struct ControlAccess {
    std::string group;
    gid_t gid = 0;
};

// Resolves cluster.control_group ("" gives root only); nullopt with `why` for a group this host
// lacks.
std::optional<ControlAccess> resolve_control_access(const std::string& group, std::string& why);

// nullopt: admitted. Otherwise why not, as the caller is told it after "refused: ".
std::optional<std::string> control_refusal(const PeerCredentials& who, const ControlAccess& access);

}  // namespace haspool::agent
