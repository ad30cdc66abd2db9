#include "raid/md_status.hpp"

#include <charconv>
#include <cstdlib>
#include <sstream>

namespace haspool::raid {

std::string trim(const std::string& s) {
    const char* ws = " \t\r\n";
    size_t b = s.find_first_not_of(ws);
    if (b == std::string::npos) return {};
    size_t e = s.find_last_not_of(ws);
    return s.substr(b, e - b + 1);
}

namespace {

std::optional<uint64_t> to_u64(const std::string& s) {
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

struct StateName {
    ArrayState state;
    const char* name;
};
constexpr StateName kStates[] = {
    {ArrayState::clear, "clear"},           {ArrayState::inactive, "inactive"},
    {ArrayState::suspended, "suspended"},   {ArrayState::readonly, "readonly"},
    {ArrayState::read_auto, "read-auto"},   {ArrayState::clean, "clean"},
    {ArrayState::active, "active"},         {ArrayState::write_pending, "write-pending"},
    {ArrayState::active_idle, "active-idle"}, {ArrayState::broken, "broken"},
};

}  // namespace

ArrayState parse_array_state(const std::string& text) {
    const std::string t = trim(text);
    for (const auto& s : kStates)
        if (t == s.name) return s.state;
    return ArrayState::unknown;
}

const char* to_string(ArrayState state) {
    for (const auto& s : kStates)
        if (s.state == state) return s.name;
    return "unknown";
}

std::optional<SyncProgress> parse_sync_completed(const std::string& text) {
    const std::string t = trim(text);
    size_t slash = t.find('/');
    if (slash == std::string::npos) return std::nullopt;  // "none" or "delayed"
    auto done = to_u64(trim(t.substr(0, slash)));
    auto total = to_u64(trim(t.substr(slash + 1)));
    if (!done || !total) return std::nullopt;
    return SyncProgress{*done, *total};
}

std::optional<uint64_t> parse_sync_speed(const std::string& text) {
    return to_u64(trim(text));  // "none" is not a number
}

MemberState parse_member_state(const std::string& text) {
    MemberState m;
    m.text = trim(text);
    std::stringstream ss(m.text);
    std::string flag;
    while (std::getline(ss, flag, ',')) {
        flag = trim(flag);
        if (flag == "faulty") m.faulty = true;
        else if (flag == "in_sync") m.in_sync = true;
        else if (flag == "write_mostly") m.write_mostly = true;
        else if (flag == "blocked") m.blocked = true;
        else if (flag == "spare") m.spare = true;
        else if (flag == "write_error") m.write_error = true;
        else if (flag == "want_replacement") m.want_replacement = true;
        else if (flag == "replacement") m.replacement = true;
    }
    return m;
}

std::optional<BlockIo> parse_block_stat(const std::string& text) {
    // Documentation/ABI/stable/sysfs-block: read I/Os, read merges, read sectors, read ticks,
    // write I/Os, write merges, write sectors, write ticks, in_flight, ...
    std::istringstream in(text);
    uint64_t f[9];
    for (auto& v : f) {
        std::string w;
        if (!(in >> w) || w.empty() || w.find_first_not_of("0123456789") != std::string::npos || w.size() > 19) return std::nullopt;
        v = std::strtoull(w.c_str(), nullptr, 10);
    }
    return BlockIo{f[0], f[2], f[4], f[6], f[8]};
}

MdSnapshot parse_md_snapshot(const MdSysfsText& t) {
    MdSnapshot s;
    s.kernel_name = t.kernel_name;
    s.array_state = parse_array_state(t.array_state);
    if (t.level) s.level = trim(*t.level);
    if (t.raid_disks) s.raid_disks = static_cast<unsigned>(std::strtoul(trim(*t.raid_disks).c_str(), nullptr, 10));
    if (t.degraded) s.degraded = static_cast<unsigned>(std::strtoul(trim(*t.degraded).c_str(), nullptr, 10));
    if (t.sync_action) s.sync_action = trim(*t.sync_action);
    if (t.sync_completed) s.sync_completed = parse_sync_completed(*t.sync_completed);
    if (t.sync_speed) s.sync_speed_kib = parse_sync_speed(*t.sync_speed);
    for (const auto& d : t.members) {
        MdMember m;
        m.block_device = d.dir.substr(4);
        if (d.state) m.state = parse_member_state(*d.state);
        if (d.slot) {
            std::string v = trim(*d.slot);
            if (!v.empty() && v != "none") m.slot = static_cast<unsigned>(std::strtoul(v.c_str(), nullptr, 10));
        }
        if (d.stat) m.io = parse_block_stat(*d.stat);
        s.members.push_back(m);
    }
    return s;
}

const MdMember* MdSnapshot::member(const std::string& block_device) const {
    for (const auto& m : members)
        if (m.block_device == block_device) return &m;
    return nullptr;
}

MdHealth health(const MdSnapshot& s) {
    // mdadm --detail --test: 2 when the array cannot work, 1 when it works with missing legs.
    if (s.array_state == ArrayState::clear || s.array_state == ArrayState::inactive ||
        s.array_state == ArrayState::broken || s.array_state == ArrayState::unknown)
        return MdHealth::error;
    unsigned working = 0;
    for (const auto& m : s.members)
        if (m.state.in_sync && !m.state.faulty) ++working;
    if (s.raid_disks > 0 && s.degraded >= s.raid_disks) return MdHealth::failed;
    if (working == 0) return MdHealth::failed;
    if (s.degraded > 0) return MdHealth::degraded;
    return MdHealth::ok;
}

const char* to_string(MdHealth h) {
    switch (h) {
        case MdHealth::ok: return "ok";
        case MdHealth::degraded: return "degraded";
        case MdHealth::failed: return "failed";
        case MdHealth::error: return "error";
    }
    return "error";
}

bool is_clean_mirror(const MdSnapshot& s) {
    if (s.degraded != 0 || s.sync_action != "idle" || s.raid_disks < 2) return false;
    unsigned working = 0;
    for (const auto& m : s.members)
        if (m.state.in_sync && !m.state.faulty) ++working;
    return working >= s.raid_disks;
}

}  // namespace haspool::raid
