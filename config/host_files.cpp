#include "config/host_files.hpp"

#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <fstream>
#include <sstream>

namespace haspool::config {

namespace {

// POSIX's SYMLOOP_MAX is at least 8; Linux stops at 40 links in one lookup.
constexpr int kMaxLinks = 40;

std::string strip_root(std::string root) {
    while (!root.empty() && root.back() == '/') root.pop_back();
    return root;
}

std::deque<std::string> components(const std::string& path) {
    std::deque<std::string> out;
    std::stringstream ss(path);
    for (std::string c; std::getline(ss, c, '/');)
        if (!c.empty()) out.push_back(c);
    return out;
}

std::string join(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) out += "/" + p;
    return out.empty() ? "/" : out;
}

bool host_path_exists(const std::string& root, const std::string& path) {
    struct stat st{};
    return ::lstat((strip_root(root) + resolve_host_path(root, path)).c_str(), &st) == 0;
}

// The *.conf entries of one modules-load.d directory, by name. An entry that exists but cannot
// be read (a link to /dev/null in a test's tree) still masks its name, with no text.
void list_modules_load(const std::string& root, const std::string& dir, std::vector<ModulesLoadFile>& out) {
    const std::string real = strip_root(root) + resolve_host_path(root, dir);
    DIR* d = ::opendir(real.c_str());
    if (!d) return;
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n.size() > 5 && n.compare(n.size() - 5, 5, ".conf") == 0) names.push_back(n);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) out.push_back({dir, n, read_host_file(root, dir + "/" + n).value_or("")});
}

// The running kernel has nbd built in: then nothing needs to load it.
bool nbd_built_in(const std::string& root) {
    struct utsname u{};
    if (::uname(&u) != 0) return false;
    auto text = read_host_file(root, std::string("/lib/modules/") + u.release + "/modules.builtin");
    if (!text) return false;
    std::istringstream in(*text);
    for (std::string line; std::getline(in, line);)
        if (line == "nbd.ko" || (line.size() > 7 && line.compare(line.size() - 7, 7, "/nbd.ko") == 0)) return true;
    return false;
}

}  // namespace

std::optional<std::string> read_host_file(const std::string& root, const std::string& path) {
    std::ifstream in(strip_root(root) + resolve_host_path(root, path), std::ios::binary);
    if (!in) return std::nullopt;
    std::stringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return ss.str();
}

std::string resolve_host_path(const std::string& root_arg, const std::string& path) {
    if (path.empty() || path[0] != '/') return path;
    const std::string root = strip_root(root_arg);
    std::deque<std::string> todo = components(path);
    std::vector<std::string> done;
    bool missing = false;  // from here on the path is kept as written
    int links = 0;
    while (!todo.empty()) {
        std::string c = std::move(todo.front());
        todo.pop_front();
        if (c == ".") continue;
        if (c == "..") {
            if (!done.empty()) done.pop_back();
            continue;
        }
        done.push_back(c);
        if (missing) continue;
        struct stat st{};
        const std::string here = root + join(done);
        if (::lstat(here.c_str(), &st) != 0) {
            missing = true;
            continue;
        }
        if (!S_ISLNK(st.st_mode)) continue;
        char buf[PATH_MAX];
        ssize_t n = ::readlink(here.c_str(), buf, sizeof buf - 1);
        if (n <= 0 || ++links > kMaxLinks) {
            missing = true;
            continue;
        }
        const std::string target(buf, static_cast<size_t>(n));
        done.pop_back();
        if (target[0] == '/') done.clear();
        auto t = components(target);
        todo.insert(todo.begin(), t.begin(), t.end());
    }
    return join(done);
}

DeploymentFacts read_host_files(const std::string& root) {
    DeploymentFacts f;
    const std::string shown_root = strip_root(root);
    f.mdadm_conf_path = shown_root + "/etc/mdadm/mdadm.conf";
    f.mdadm_conf = read_host_file(root, "/etc/mdadm/mdadm.conf");
    f.fstab_path = shown_root + "/etc/fstab";
    f.fstab = read_host_file(root, "/etc/fstab").value_or("");
    for (const auto& dir : modules_load_dirs()) list_modules_load(root, dir, f.modules_load);
    f.etc_modules = read_host_file(root, "/etc/modules");
    f.kernel_cmdline = read_host_file(root, "/proc/cmdline").value_or("");
    f.nbd_loaded = host_path_exists(root, "/sys/module/nbd");
    f.nbd_builtin = nbd_built_in(root);
    // sd_booted(): systemd is PID 1 exactly when this directory exists.
    f.systemd_running = host_path_exists(root, "/run/systemd/system");
    return f;
}

void resolve_host_paths(const std::string& root, const std::vector<std::string>& paths, DeploymentFacts& f) {
    for (const auto& p : paths) f.resolved[p] = resolve_host_path(root, p);
}

}  // namespace haspool::config
