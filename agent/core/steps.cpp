#include "agent/core/steps.hpp"

#include <sstream>

namespace haspool::agent {
namespace {

template <class... F> struct overloaded : F... { using F::operator()...; };
template <class... F> overloaded(F...) -> overloaded<F...>;

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
    return s;
}

std::string ms(Millis m) { return std::to_string(m.count()) + "ms"; }

std::string env(const Environment& e) {
    std::string s;
    for (const auto& [k, v] : e) s += (s.empty() ? "" : " ") + k + "=" + v;
    return "env=[" + s + "]";
}

// Never the key bytes: the identities say which secret a key came from.
std::string tls(const NbdTlsSpec& t) {
    if (!t.required) return "";
    std::vector<std::string> ids;
    for (const auto& k : t.keys) ids.push_back(k.identity);
    return " tls_keys=[" + join(ids, " ") + "]";
}

std::string link(const NbdLink& l) {
    return "io_timeout=" + ms(l.io_timeout) + " dead_conn_timeout=" + ms(l.dead_conn_timeout) +
           " connections=" + std::to_string(l.connections) + " block_size=" + std::to_string(l.block_size) +
           " connect_timeout=" + ms(l.connect_timeout) + tls(l.tls);
}

std::string chunk(unsigned kib) { return kib ? std::to_string(kib) + "K" : std::string("mdadm's"); }

}  // namespace

std::string name_of(const Step& s) {
    return std::visit(overloaded{
        [](const step::StopExport&) { return "StopExport"; },
        [](const step::StartExport&) { return "StartExport"; },
        [](const step::RunFence&) { return "RunFence"; },
        [](const step::BumpGeneration&) { return "BumpGeneration"; },
        [](const step::AdoptGeneration&) { return "AdoptGeneration"; },
        [](const step::AttachNbd&) { return "AttachNbd"; },
        [](const step::DetachNbd&) { return "DetachNbd"; },
        [](const step::ReconnectNbd&) { return "ReconnectNbd"; },
        [](const step::AssembleDegraded&) { return "AssembleDegraded"; },
        [](const step::AssembleMirror&) { return "AssembleMirror"; },
        [](const step::StopMirror&) { return "StopMirror"; },
        [](const step::FailMember&) { return "FailMember"; },
        [](const step::ReAddMember&) { return "ReAddMember"; },
        [](const step::RestoreWriteMostly&) { return "RestoreWriteMostly"; },
        [](const step::MergeBitmap&) { return "MergeBitmap"; },
        [](const step::Fsck&) { return "Fsck"; },
        [](const step::Mount&) { return "Mount"; },
        [](const step::Unmount&) { return "Unmount"; },
        [](const step::ProbeAddress&) { return "ProbeAddress"; },
        [](const step::AddAddress&) { return "AddAddress"; },
        [](const step::SendGarp&) { return "SendGarp"; },
        [](const step::RemoveAddress&) { return "RemoveAddress"; },
        [](const step::StartUnit&) { return "StartUnit"; },
        [](const step::StopUnit&) { return "StopUnit"; },
        [](const step::RunHook&) { return "RunHook"; },
        [](const step::NotifyPeer&) { return "NotifyPeer"; },
        [](const step::DiscardGeneration&) { return "DiscardGeneration"; },
        [](const step::AddMemberFull&) { return "AddMemberFull"; },
        [](const step::MarkRawWrites&) { return "MarkRawWrites"; },
        [](const step::ClearRawWrites&) { return "ClearRawWrites"; },
        [](const step::MarkXLost&) { return "MarkXLost"; },
        [](const step::ClearXLost&) { return "ClearXLost"; },
        [](const step::MapRaw&) { return "MapRaw"; },
        [](const step::UnmapRaw&) { return "UnmapRaw"; },
        [](const step::AssembleFromRaw&) { return "AssembleFromRaw"; },
    }, s);
}

std::string to_string(const Step& s) {
    std::string params = std::visit(overloaded{
        [](const step::StopExport&) { return std::string(); },
        [](const step::StartExport& e) { return std::string(e.tls.required ? "tls=required" : ""); },
        [](const step::RunFence& f) { return "argv=[" + join(f.argv, " ") + "] timeout=" + ms(f.timeout); },
        [](const step::BumpGeneration& b) { return "reason=\"" + b.reason + "\""; },
        [](const step::AdoptGeneration& a) { return "generation=" + to_string(a.lineage.current) + " reason=\"" + a.reason + "\""; },
        [](const step::AttachNbd& a) {
            return "server=" + a.address + ":" + std::to_string(a.port) + " export=" + a.export_name +
                   " dev=/dev/nbd" + std::to_string(a.index) + (a.link.tls.required ? " tls=required" : "");
        },
        [](const step::DetachNbd& d) { return "dev=/dev/nbd" + std::to_string(d.index); },
        [](const step::ReconnectNbd& a) {
            return "server=" + a.address + ":" + std::to_string(a.port) + " export=" + a.export_name +
                   " dev=/dev/nbd" + std::to_string(a.index) + (a.link.tls.required ? " tls=required" : "");
        },
        [](const step::AssembleDegraded& a) { return "md=" + a.md + " dev=" + a.dev; },
        [](const step::AssembleMirror& a) {
            return "md=" + a.md + " local=" + a.local + " remote=" + a.remote + (a.create ? " create" : "") +
                   (a.create && a.force ? " force" : "");
        },
        [](const step::StopMirror& m) { return "md=" + m.md; },
        [](const step::FailMember& m) { return "md=" + m.md + " dev=" + m.dev; },
        [](const step::ReAddMember& m) { return "md=" + m.md + " dev=" + m.dev; },
        [](const step::RestoreWriteMostly& m) { return "md=" + m.md + " dev=" + m.dev; },
        [](const step::MergeBitmap& m) { return "md=" + m.md + " from=" + m.from; },
        [](const step::Fsck& f) { return "dev=" + f.dev + " fs=" + config::to_string(f.fs) + " timeout=" + ms(f.timeout); },
        [](const step::Mount& m) {
            return "dev=" + m.dev + " dir=" + m.dir + " fs=" + config::to_string(m.fs) +
                   (m.options.empty() ? "" : " options=" + join(m.options, ","));
        },
        [](const step::Unmount& u) { return "dir=" + u.dir; },
        [](const step::ProbeAddress& p) { return "if=" + p.interface + " addr=" + p.cidr + " timeout=" + ms(p.timeout); },
        [](const step::AddAddress& a) { return "if=" + a.interface + " addr=" + a.cidr; },
        [](const step::SendGarp& g) {
            return "if=" + g.interface + " addr=" + g.cidr + " count=" + std::to_string(g.count) + " interval=" + ms(g.interval);
        },
        [](const step::RemoveAddress& a) { return "if=" + a.interface + " addr=" + a.cidr; },
        [](const step::StartUnit& u) { return "unit=" + u.name + " timeout=" + ms(u.timeout); },
        [](const step::StopUnit& u) { return "unit=" + u.name + " timeout=" + ms(u.timeout); },
        [](const step::RunHook& h) { return "hook=" + h.name + " argv=[" + join(h.argv, " ") + "] timeout=" + ms(h.timeout); },
        [](const step::NotifyPeer& n) { return std::string("message=") + to_string(n.message); },
        [](const step::DiscardGeneration& d) {
            return "generation=" + to_string(d.generation) + " reason=\"" + d.reason + "\"";
        },
        [](const step::AddMemberFull& m) { return "md=" + m.md + " dev=" + m.dev; },
        [](const step::MarkRawWrites& m) { return "reason=\"" + m.reason + "\""; },
        [](const step::ClearRawWrites& m) { return "reason=\"" + m.reason + "\""; },
        [](const step::MarkXLost& m) { return "dev=" + m.dev + " reason=\"" + m.reason + "\""; },
        [](const step::ClearXLost& m) { return "reason=\"" + m.reason + "\""; },
        [](const step::MapRaw& m) { return "dev=" + m.dev + " link=" + m.link; },
        [](const step::UnmapRaw& m) { return "dev=" + m.dev + " link=" + m.link; },
        [](const step::AssembleFromRaw& m) { return "md=" + m.md + " dev=" + m.dev; },
    }, s);
    return params.empty() ? name_of(s) : name_of(s) + " " + params;
}

std::string describe(const Step& s) {
    std::string more = std::visit(overloaded{
        [](const step::StartExport& e) {
            return "dev=" + e.dev + " listen=" + e.listen_address + ":" + std::to_string(e.port) + " export=" +
                   e.export_name + " allow=[" + join(e.allow, " ") + "] description=\"" + e.description + "\"" + tls(e.tls);
        },
        [](const step::RunFence& f) { return env(f.env) + " peer=" + f.peer; },
        [](const step::AttachNbd& a) { return link(a.link) + " md=" + a.md; },
        [](const step::ReconnectNbd& a) { return link(a.link); },
        [](const step::AssembleMirror& a) {
            return "name=" + a.name + " bitmap_chunk=" + chunk(a.bitmap_chunk_kib) +
                   " write_behind=" + std::to_string(a.write_behind) +
                   (a.create ? " mkfs=[" + join(a.mkfs, " ") + "] mkfs_timeout=" + ms(a.mkfs_timeout) : "");
        },
        [](const step::Fsck& f) { return "dir=" + f.dir; },
        [](const step::Mount& m) { return "timeout=" + ms(m.timeout); },
        [](const step::Unmount& u) { return "devices=[" + join(u.devices, " ") + "]"; },
        [](const step::SendGarp& g) {
            return "repeat_count=" + std::to_string(g.repeat_count) + " repeat_after=" + ms(g.repeat_after) +
                   " refresh=" + ms(g.refresh);
        },
        [](const step::RunHook& h) { return env(h.env); },
        [](const step::MapRaw& m) { return std::string("fs=") + config::to_string(m.fs); },
        [](const step::AssembleFromRaw& a) {
            return "name=" + a.name + " bitmap_chunk=" + chunk(a.bitmap_chunk_kib) + " fs=" + config::to_string(a.fs);
        },
        [](const auto&) { return std::string(); },
    }, s);
    std::string line = to_string(s);
    return more.empty() ? line : line + " " + more;
}

std::optional<Step> undo_of(const Step& s) {
    return std::visit(overloaded{
        [](const step::AttachNbd& a) -> std::optional<Step> { return step::DetachNbd{a.index}; },
        [](const step::AssembleDegraded& a) -> std::optional<Step> { return step::StopMirror{a.md}; },
        [](const step::AssembleMirror& a) -> std::optional<Step> { return step::StopMirror{a.md}; },
        [](const step::AssembleFromRaw& a) -> std::optional<Step> { return step::StopMirror{a.md}; },
        [](const step::MapRaw& m) -> std::optional<Step> { return step::UnmapRaw{m.dev, m.link}; },
        [](const step::Mount& m) -> std::optional<Step> { return step::Unmount{m.dir, {m.dev}}; },
        [](const step::AddAddress& a) -> std::optional<Step> { return step::RemoveAddress{a.interface, a.cidr}; },
        [](const step::StartUnit& u) -> std::optional<Step> { return step::StopUnit{u.name, u.timeout}; },
        [](const auto&) -> std::optional<Step> { return std::nullopt; },
    }, s);
}

std::string transcript(const std::vector<Step>& steps) {
    std::ostringstream o;
    for (size_t i = 0; i < steps.size(); ++i) o << i + 1 << ". " << to_string(steps[i]) << "\n";
    return o.str();
}

}  // namespace haspool::agent
