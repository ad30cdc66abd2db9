// libFuzzer target for md's status as sysfs shows it: the attribute parsers (array_state,
// sync_completed, dev-*/state), the snapshot they make (parse_md_snapshot, what
// read_md_snapshot returns) and what the primary's machine reads from a snapshot.
//
// Input: "name:value" lines, as `grep -r . /sys/block/md127/md/` prints them without the
// directory ("array_state:clean", "dev-vda/state:in_sync"); each value gets the newline sysfs
// ends it with. Names other than the attributes read_md_snapshot reads are ignored.
//
// What must hold: a known array state reads back as its own name; a parsed sync_completed
// prints and parses back to itself; a member flag is set only when its word is in the list;
// the snapshot has one member per dev-* directory; a clean mirror is never degraded or failed;
// the sync percent the heartbeat carries is at most 100 (the peer's decoder refuses more, see
// agent/peer/heartbeat_codec.cpp); two equal snapshots are no transition.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "agent/core/md_transitions.hpp"
#include "raid/md_status.hpp"

using namespace haspool::raid;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

bool has_word(const std::string& list, const std::string& word) {
    std::size_t at = 0;
    for (;;) {
        std::size_t comma = list.find(',', at);
        if (trim(list.substr(at, comma == std::string::npos ? std::string::npos : comma - at)) == word) return true;
        if (comma == std::string::npos) return false;
        at = comma + 1;
    }
}

void check_value(const std::string& v) {
    ArrayState a = parse_array_state(v);
    if (a != ArrayState::unknown) check(trim(v) == to_string(a) && parse_array_state(to_string(a)) == a);

    if (auto p = parse_sync_completed(v)) {
        check(v.find('/') != std::string::npos);
        auto again = parse_sync_completed(std::to_string(p->done_sectors) + " / " + std::to_string(p->total_sectors));
        check(again && again->done_sectors == p->done_sectors && again->total_sectors == p->total_sectors);
    }

    MemberState m = parse_member_state(v);
    check(m.text == trim(v));
    const std::pair<bool, const char*> flags[] = {
        {m.faulty, "faulty"}, {m.in_sync, "in_sync"}, {m.write_mostly, "write_mostly"}, {m.blocked, "blocked"},
        {m.spare, "spare"}, {m.write_error, "write_error"}, {m.want_replacement, "want_replacement"},
        {m.replacement, "replacement"}};
    for (const auto& [set, word] : flags) check(set == has_word(m.text, word));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    MdSysfsText t;
    t.kernel_name = "md127";
    while (!in.empty()) {
        std::size_t nl = in.find('\n');
        std::string_view line = in.substr(0, nl);
        in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        const std::string name(line.substr(0, colon)), value = std::string(line.substr(colon + 1)) + "\n";
        check_value(value);
        if (name == "array_state") t.array_state = value;
        else if (name == "level") t.level = value;
        else if (name == "raid_disks") t.raid_disks = value;
        else if (name == "degraded") t.degraded = value;
        else if (name == "sync_action") t.sync_action = value;
        else if (name == "sync_completed") t.sync_completed = value;
        else if (name.rfind("dev-", 0) == 0 && name.find('/') != std::string::npos) {
            const std::string dir = name.substr(0, name.find('/')), attr = name.substr(dir.size() + 1);
            MdSysfsText::Member* m = nullptr;
            for (auto& x : t.members)
                if (x.dir == dir) m = &x;
            if (!m) m = &t.members.emplace_back(MdSysfsText::Member{dir, {}, {}});
            if (attr == "state") m->state = value;
            else if (attr == "slot") m->slot = value;
        }
    }

    const MdSnapshot s = parse_md_snapshot(t);
    check(s.kernel_name == "md127" && s.members.size() == t.members.size());
    for (std::size_t i = 0; i < s.members.size(); ++i) check("dev-" + s.members[i].block_device == t.members[i].dir);
    const MdHealth h = health(s);
    if (is_clean_mirror(s)) check(h != MdHealth::degraded && h != MdHealth::failed);
    if (h == MdHealth::ok) check(s.degraded == 0);
    check(haspool::agent::sync_percent_of(s) <= 100);
    check(haspool::agent::md_transitions(s, s).empty());
    (void)haspool::agent::md_transitions(std::nullopt, s);
    (void)haspool::agent::mirror_health_of(s);
    return 0;
}
