#pragma once
// The host's files the deployment checks look at, read below a root: "" on a real host, a
// test's fake tree otherwise (check-config --etc-root). Symlinks are resolved inside that root,
// an absolute link target meaning root + target, so a test's /var/spool/mail -> ../mail behaves
// as on the host. The judgement of what is read is pure: config/deployment_check.hpp.
#include <optional>
#include <string>
#include <vector>

#include "config/deployment_check.hpp"

namespace haspool::config {

// The file's contents; nullopt when it does not exist or cannot be read.
std::optional<std::string> read_host_file(const std::string& root, const std::string& path);

// `path` (absolute) with every symlink in it resolved inside `root`, ".." and "." folded; the
// part from the first component that does not exist on is kept as written (a queue directory
// on a spool that is not mounted here). A loop of links ends the resolution where it was.
std::string resolve_host_path(const std::string& root, const std::string& path);

// mdadm.conf, fstab, the modules-load.d directories, /etc/modules, /proc/cmdline, whether nbd
// is loaded or built in, whether systemd runs. Commands and path resolution come after.
DeploymentFacts read_host_files(const std::string& root);

// Fills f.resolved for every path in `paths`.
void resolve_host_paths(const std::string& root, const std::vector<std::string>& paths, DeploymentFacts& f);

}  // namespace haspool::config
