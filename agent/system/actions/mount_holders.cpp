#include "agent/system/actions/mount_holders.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>

namespace haspool::actions {

namespace {

bool on_device(const std::string& path, unsigned major, unsigned minor) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return false;
    return ::major(st.st_dev) == major && ::minor(st.st_dev) == minor;
}

bool is_device_node(const std::string& path, unsigned major, unsigned minor) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) return false;
    return ::major(st.st_rdev) == major && ::minor(st.st_rdev) == minor;
}

std::vector<std::string> numeric_entries(const std::string& dir) {
    std::vector<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (!n.empty() && std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; }))
            out.emplace_back(n);
    }
    ::closedir(d);
    return out;
}

// PIDs or fd numbers in numeric order (readdir's order is the hash order of the directory).
std::vector<std::pair<long, std::string>> sorted_numeric_entries(const std::string& dir) {
    std::vector<std::pair<long, std::string>> out;
    for (auto& e : numeric_entries(dir)) out.emplace_back(std::stol(e), std::move(e));
    std::sort(out.begin(), out.end());
    return out;
}

std::string read_comm(const std::string& pid_dir) {
    std::ifstream in(pid_dir + "/comm");
    std::string s;
    std::getline(in, s);
    return s.empty() ? "?" : s;
}

}  // namespace

std::optional<std::pair<unsigned, unsigned>> maps_line_device(std::string_view line) {
    // address perms offset dev inode [path]
    std::string_view fields[5];
    std::size_t pos = 0;
    for (auto& f : fields) {
        while (pos < line.size() && line[pos] == ' ') ++pos;
        std::size_t end = line.find(' ', pos);
        if (end == std::string_view::npos) end = line.size();
        f = line.substr(pos, end - pos);
        pos = end;
    }
    auto colon = fields[3].find(':');
    if (colon == std::string_view::npos || fields[4].empty() || fields[4] == "0") return std::nullopt;
    unsigned maj = 0, min = 0;
    auto a = fields[3].substr(0, colon), b = fields[3].substr(colon + 1);
    auto r1 = std::from_chars(a.data(), a.data() + a.size(), maj, 16);
    auto r2 = std::from_chars(b.data(), b.data() + b.size(), min, 16);
    if (r1.ec != std::errc() || r1.ptr != a.data() + a.size() || r2.ec != std::errc() || r2.ptr != b.data() + b.size())
        return std::nullopt;
    return std::make_pair(maj, min);
}

std::vector<MountHolder> find_mount_holders(unsigned major, unsigned minor, const std::string& proc) {
    std::vector<MountHolder> out;
    for (const auto& [num, name] : sorted_numeric_entries(proc)) {
        const std::string dir = proc + "/" + name;
        std::set<std::string> hows;
        std::vector<std::string> ordered;
        auto add = [&](std::string how) {
            if (hows.insert(how).second) ordered.push_back(std::move(how));
        };
        for (const char* link : {"cwd", "root", "exe"})
            if (on_device(dir + "/" + link, major, minor)) add(link);
        for (const auto& [n, fd] : sorted_numeric_entries(dir + "/fd"))
            if (on_device(dir + "/fd/" + fd, major, minor)) add("fd " + fd);
        std::ifstream maps(dir + "/maps");
        for (std::string line; std::getline(maps, line);) {
            auto dev = maps_line_device(line);
            if (dev && dev->first == major && dev->second == minor) {
                auto slash = line.find('/');
                add("mmap " + (slash == std::string::npos ? std::string("?") : line.substr(slash)));
            }
        }
        if (ordered.empty()) continue;
        std::string comm = read_comm(dir);
        for (auto& how : ordered) out.push_back({static_cast<pid_t>(num), comm, std::move(how)});
    }
    return out;
}

std::vector<MountHolder> find_device_openers(unsigned major, unsigned minor, const std::string& proc) {
    std::vector<MountHolder> out;
    for (const auto& [num, name] : sorted_numeric_entries(proc)) {
        const std::string dir = proc + "/" + name;
        std::string comm;
        for (const auto& [n, fd] : sorted_numeric_entries(dir + "/fd")) {
            if (!is_device_node(dir + "/fd/" + fd, major, minor)) continue;
            if (comm.empty()) comm = read_comm(dir);
            out.push_back({static_cast<pid_t>(num), comm, "fd " + fd});
        }
    }
    return out;
}

std::vector<std::string> block_device_holders(unsigned major, unsigned minor, const std::string& sysfs_root) {
    std::vector<std::string> out;
    const std::string dir = sysfs_root + "/dev/block/" + std::to_string(major) + ":" + std::to_string(minor) + "/holders";
    if (DIR* d = ::opendir(dir.c_str())) {
        while (dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') out.emplace_back(e->d_name);
        ::closedir(d);
    }
    return out;
}

std::string describe_holders(const std::vector<MountHolder>& holders) {
    if (holders.empty()) return "no process found";
    std::string s;
    std::size_t shown = 0;
    for (const auto& h : holders) {
        if (shown == 12) {
            s += ", and " + std::to_string(holders.size() - shown) + " more";
            break;
        }
        if (!s.empty()) s += ", ";
        s += "pid " + std::to_string(h.pid) + " (" + h.command + ": " + h.how + ")";
        ++shown;
    }
    return s;
}

}  // namespace haspool::actions
