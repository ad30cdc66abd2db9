#include "agent/system/actions/mountinfo.hpp"

#include <charconv>
#include <fstream>
#include <sstream>

namespace haspool::actions {

namespace {

// proc(5): space, tab, newline and backslash appear as \040, \011, \012, \134.
std::string unescape(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size()) {
            auto oct = s.substr(i + 1, 3);
            if (oct[0] >= '0' && oct[0] <= '3' && oct[1] >= '0' && oct[1] <= '7' &&
                oct[2] >= '0' && oct[2] <= '7') {
                out += static_cast<char>((oct[0] - '0') * 64 + (oct[1] - '0') * 8 + (oct[2] - '0'));
                i += 3;
                continue;
            }
        }
        out += s[i];
    }
    return out;
}

std::vector<std::string_view> split_spaces(std::string_view line) {
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') ++i;
        std::size_t j = i;
        while (j < line.size() && line[j] != ' ') ++j;
        if (j > i) words.push_back(line.substr(i, j - i));
        i = j;
    }
    return words;
}

template <class T>
bool to_number(std::string_view s, T& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

std::optional<MountEntry> parse_line(std::string_view line, std::string& why) {
    auto w = split_spaces(line);
    // Fields 1-6, optional fields, the "-" separator, then fstype, source, super options.
    std::size_t sep = 6;
    while (sep < w.size() && w[sep] != "-") ++sep;
    if (w.size() < 7 || sep >= w.size() || w.size() < sep + 3) {
        why = "expected at least 10 fields with a '-' separator";
        return std::nullopt;
    }
    MountEntry e;
    auto colon = w[2].find(':');
    if (!to_number(w[0], e.mount_id) || !to_number(w[1], e.parent_id) || colon == std::string_view::npos ||
        !to_number(w[2].substr(0, colon), e.major) || !to_number(w[2].substr(colon + 1), e.minor)) {
        why = "bad mount id, parent id or major:minor";
        return std::nullopt;
    }
    e.root = unescape(w[3]);
    e.mount_point = unescape(w[4]);
    e.mount_options = std::string(w[5]);
    e.fstype = unescape(w[sep + 1]);
    e.source = unescape(w[sep + 2]);
    e.super_options = sep + 3 < w.size() ? std::string(w[sep + 3]) : std::string();
    return e;
}

}  // namespace

std::optional<std::vector<MountEntry>> parse_mountinfo(std::string_view text, std::string* error) {
    std::vector<MountEntry> out;
    std::size_t lineno = 0, pos = 0;
    while (pos < text.size()) {
        std::size_t nl = text.find('\n', pos);
        std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        ++lineno;
        if (line.empty()) continue;
        std::string why;
        auto e = parse_line(line, why);
        if (!e) {
            if (error) *error = "mountinfo line " + std::to_string(lineno) + ": " + why + ": '" + std::string(line) + "'";
            return std::nullopt;
        }
        out.push_back(std::move(*e));
    }
    return out;
}

std::optional<std::vector<MountEntry>> read_mountinfo(std::string* error, const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        if (error) *error = "cannot read " + path;
        return std::nullopt;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string why;
    auto r = parse_mountinfo(ss.str(), &why);
    if (!r && error) *error = path + ": " + why;
    return r;
}

const MountEntry* find_mount_at(const std::vector<MountEntry>& mounts, const std::string& mount_point) {
    const MountEntry* top = nullptr;
    for (const auto& m : mounts)  // later lines are mounted on top of earlier ones
        if (m.mount_point == mount_point) top = &m;
    return top;
}

std::vector<const MountEntry*> find_mounts_of(const std::vector<MountEntry>& mounts, unsigned major, unsigned minor) {
    std::vector<const MountEntry*> out;
    for (const auto& m : mounts)
        if (m.major == major && m.minor == minor) out.push_back(&m);
    return out;
}

}  // namespace haspool::actions
