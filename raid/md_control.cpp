#include "raid/md_control.hpp"

#include <climits>
#include <cstdlib>

#include "raid/md_sysfs.hpp"

namespace haspool::raid {

std::vector<std::string> create_argv(const CreateRequest& r) {
    std::vector<std::string> a = {"mdadm", "--create", r.md_device, "--run", "--level=1", "--raid-devices=2",
                                  "--metadata=1.0", "--bitmap=internal", "--bitmap-chunk=" + r.bitmap_chunk};
    if (!r.name.empty()) a.push_back("--name=" + r.name);
    if (r.write_behind) a.push_back("--write-behind=" + std::to_string(*r.write_behind));
    a.push_back(r.local_member);
    a.push_back("--write-mostly");  // applies to the devices after it
    a.push_back(r.remote_member);
    return a;
}

std::optional<MdCondition> parse_condition(const std::string& s) {
    if (s == "clean") return MdCondition::clean;
    if (s == "degraded") return MdCondition::degraded;
    if (s == "idle") return MdCondition::idle;
    return std::nullopt;
}

MdControl::MdControl(CommandRunner& runner, std::string sysfs_root, std::chrono::milliseconds t)
    : runner_(runner), sysfs_root_(std::move(sysfs_root)), timeout_(t) {}

CommandResult MdControl::mdadm(const std::vector<std::string>& args, std::string* error) {
    std::vector<std::string> argv = {"mdadm"};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult r = runner_.run(argv, timeout_);
    if (error && (!r.error.empty() || r.exit_status != 0)) *error = describe_failure(argv, r);
    return r;
}

std::string MdControl::member_block_name(const std::string& member) const {
    char real[PATH_MAX];
    std::string p = realpath(member.c_str(), real) ? std::string(real) : member;
    return p.substr(p.find_last_of('/') + 1);
}

MdControl::ProbeResult MdControl::probe(const std::string& device) {
    ProbeResult p;
    // blkid -p probes the device itself (no cache); exit 2 = nothing found.
    std::vector<std::string> argv = {"blkid", "-p", "-o", "value", "-s", "TYPE", "-s", "PTTYPE", device};
    CommandResult r = runner_.run(argv, timeout_);
    if (r.error.empty() && r.exit_status == 2) return p;
    if (!r.error.empty() || r.exit_status != 0) {
        p.error = "cannot probe " + device + ": " + describe_failure(argv, r);
        return p;
    }
    p.holds = trim(r.output);
    for (char& c : p.holds)
        if (c == '\n') c = ' ';
    if (p.holds.empty()) p.holds = "unknown signature";
    return p;
}

std::string MdControl::create(const CreateRequest& r) {
    const std::string what = "creating " + r.md_device;
    if (r.md_device.empty() || r.local_member.empty() || r.remote_member.empty())
        return what + ": the array device and both members must be given";
    if (r.local_member == r.remote_member) return what + ": both members are " + r.local_member;
    if (r.write_behind && (*r.write_behind == 0 || *r.write_behind > 16383))
        return what + ": write-behind must be 1..16383";
    if (!r.force) {
        for (const auto& dev : {r.local_member, r.remote_member}) {
            ProbeResult p = probe(dev);
            if (!p.error.empty()) return what + ": " + p.error;
            if (!p.holds.empty())
                return what + ": refusing: " + dev + " holds " + p.holds + " (use --force to overwrite it)";
        }
    }
    std::vector<std::string> argv = create_argv(r);
    CommandResult res = runner_.run(argv, timeout_);
    if (!res.error.empty() || res.exit_status != 0) return what + ": " + describe_failure(argv, res);
    return {};
}

std::string MdControl::assemble(const std::string& md, const std::vector<std::string>& members, bool allow_degraded) {
    if (members.empty()) return "assembling " + md + ": no member given";
    std::vector<std::string> args = {"--assemble", md};
    if (allow_degraded) args.push_back("--run");
    args.insert(args.end(), members.begin(), members.end());
    std::string e;
    mdadm(args, &e);
    if (!e.empty()) return "assembling " + md + ": " + e;
    if (!allow_degraded) {
        StatusResult s = status(md);
        if (!s.error.empty()) return "assembling " + md + ": " + s.error;
        if (s.snapshot.degraded != 0)
            return "assembling " + md + ": it came up degraded (" + std::to_string(s.snapshot.degraded) +
                   " missing) though both members were given";
    }
    return {};
}

std::string MdControl::fail(const std::string& md, const std::string& member) {
    std::string e;
    mdadm({md, "--fail", member}, &e);
    return e.empty() ? e : "failing " + member + " in " + md + ": " + e;
}

std::string MdControl::remove(const std::string& md, const std::string& member) {
    std::string e;
    mdadm({md, "--remove", member}, &e);
    return e.empty() ? e : "removing " + member + " from " + md + ": " + e;
}

std::string MdControl::re_add(const std::string& md, const std::string& member, bool write_mostly) {
    std::string e;
    mdadm({md, "--re-add", member}, &e);
    if (!e.empty()) return "re-adding " + member + " to " + md + ": " + e;
    if (write_mostly) return set_write_mostly(md, member);
    return {};
}

std::string MdControl::zero_superblock(const std::string& member) {
    std::vector<std::string> argv = {"mdadm", "--zero-superblock", member};
    CommandResult r = runner_.run(argv, timeout_);
    if (r.error.empty() && (r.exit_status == 0 || r.exit_status == 4)) return {};  // 4: no superblock to wipe
    return "wiping the md superblock of " + member + ": " + describe_failure(argv, r);
}

std::string MdControl::add_full(const std::string& md, const std::string& member, bool write_mostly) {
    if (std::string e = zero_superblock(member); !e.empty()) return "adding " + member + " to " + md + " in full: " + e;
    std::string e;
    mdadm({md, "--add", member}, &e);
    if (!e.empty()) return "adding " + member + " to " + md + " in full: " + e;
    if (write_mostly) return set_write_mostly(md, member);
    return {};
}

std::string MdControl::set_write_mostly(const std::string& md, const std::string& member) {
    MdDirResult d = md_sysfs_dir(md, sysfs_root_);
    if (!d.error.empty()) return "marking " + member + " write-mostly: " + d.error;
    const std::string name = member_block_name(member);
    auto snap = read_md_snapshot(d.md_dir);
    if (snap.error.empty())
        if (const MdMember* m = snap.snapshot.member(name); m && m->state.write_mostly) return {};
    std::string e = write_member_state(d.md_dir, name, "writemostly");
    return e.empty() ? e : "marking " + member + " write-mostly in " + md + ": " + e;
}

std::string MdControl::stop(const std::string& md) {
    std::string e;
    mdadm({"--stop", md}, &e);
    return e.empty() ? e : "stopping " + md + ": " + e;
}

HealthResult MdControl::detail_test(const std::string& md) {
    HealthResult h;
    std::vector<std::string> argv = {"mdadm", "--detail", "--test", md};
    CommandResult r = runner_.run(argv, timeout_);
    if (!r.error.empty()) {
        h.error = describe_failure(argv, r);
        return h;
    }
    switch (r.exit_status) {
        case 0: h.health = MdHealth::ok; break;
        case 1: h.health = MdHealth::degraded; break;
        case 2: h.health = MdHealth::failed; break;
        default: h.health = MdHealth::error; h.error = describe_failure(argv, r); break;
    }
    return h;
}

StatusResult MdControl::status(const std::string& md) {
    StatusResult s;
    MdDirResult d = md_sysfs_dir(md, sysfs_root_);
    if (!d.error.empty()) {
        s.error = d.error;
        return s;
    }
    SnapshotResult snap = read_md_snapshot(d.md_dir);
    if (!snap.error.empty()) {
        s.error = snap.error;
        return s;
    }
    s.snapshot = snap.snapshot;
    CommandResult r = mdadm({"--detail", md}, nullptr);
    if (r.error.empty() && r.exit_status == 0)
        if (auto ev = parse_events(r.output)) s.snapshot.events = *ev;
    return s;
}

StatusResult MdControl::wait_until(const std::string& md, MdCondition c, std::chrono::milliseconds timeout) {
    StatusResult s;
    MdDirResult d = md_sysfs_dir(md, sysfs_root_);
    if (!d.error.empty()) {
        s.error = d.error;
        return s;
    }
    MdWatch watch(d.md_dir);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (std::string e = watch.arm(); !e.empty()) {
            s.error = e;
            return s;
        }
        SnapshotResult snap = read_md_snapshot(d.md_dir);
        if (!snap.error.empty()) {
            s.error = snap.error;
            return s;
        }
        s.snapshot = snap.snapshot;
        const MdSnapshot& m = s.snapshot;
        bool holds = c == MdCondition::clean    ? is_clean_mirror(m)
                     : c == MdCondition::degraded ? m.degraded > 0
                                                  : m.sync_action == "idle";
        if (holds) return s;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            s.error = "timed out after " + std::to_string(timeout.count()) + " ms waiting for " + md +
                      " (array_state " + to_string(m.array_state) + ", degraded " + std::to_string(m.degraded) +
                      ", sync_action " + m.sync_action + ")";
            return s;
        }
        if (std::string e = watch.wait(left); !e.empty()) {
            s.error = e;
            return s;
        }
    }
}

BitmapSummaryResult MdControl::examine_bitmap(const std::string& member) {
    std::vector<std::string> argv = {"mdadm", "--examine-bitmap", member};
    CommandResult r = runner_.run(argv, timeout_);
    BitmapSummaryResult b;
    if (!r.error.empty() || r.exit_status != 0) {
        b.error = "examining the bitmap of " + member + ": " + describe_failure(argv, r);
        return b;
    }
    b = parse_examine_bitmap(r.output);
    if (!b.error.empty()) b.error = "examining the bitmap of " + member + ": " + b.error;
    return b;
}

std::string MdControl::merge_bitmap_from(const std::string& md, const std::string& member, uint64_t* marked) {
    const std::string what = "merging " + member + "'s bitmap into " + md;
    OnDiskBitmapResult b = read_member_bitmap(member);
    if (!b.error.empty()) return what + ": " + b.error;
    MdDirResult d = md_sysfs_dir(md, sysfs_root_);
    if (!d.error.empty()) return what + ": " + d.error;
    if (marked) *marked = b.bitmap->dirty_chunks();
    if (b.bitmap->dirty.empty()) return {};
    // One write per range keeps each under a page (sysfs store limit).
    for (const auto& r : b.bitmap->dirty)
        if (std::string e = write_bitmap_set_bits(d.md_dir, format_set_bits({r})); !e.empty()) return what + ": " + e;
    return {};
}

}  // namespace haspool::raid
