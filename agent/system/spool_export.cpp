#include "agent/system/spool_export.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <future>

#include <boost/asio/post.hpp>

#include "agent/system/actions/mount_holders.hpp"
#include "agent/system/actions/mountinfo.hpp"
#include "blockdev/tls_channel.hpp"

namespace haspool::agent {

namespace asio = boost::asio;

DeviceClaim device_claim(const std::string& device, const std::string& sysfs_root) {
    struct stat st {};
    if (::stat(device.c_str(), &st) != 0) return {{}, false, "cannot stat " + device + ": " + std::strerror(errno)};
    if (!S_ISBLK(st.st_mode)) return {};  // a file (tests): nothing can hold it the way md does
    const unsigned maj = ::major(st.st_rdev), min = ::minor(st.st_rdev);
    std::string error;
    if (auto mounts = actions::read_mountinfo(&error)) {
        for (const auto& m : *mounts)
            if (m.major == maj && m.minor == min) return {device + " is mounted at " + m.mount_point};
    } else {
        return {{}, false, "cannot read the mount table: " + error};
    }
    // /sys/dev/block/MAJ:MIN/holders lists what stacks on the device (md, dm): a takeover's
    // degraded md on Y shows up here.
    std::string names;
    for (const auto& h : actions::block_device_holders(maj, min, sysfs_root)) names += (names.empty() ? "" : ", ") + h;
    if (!names.empty()) return {device + " is held by " + names};
    // A loop device over Y (MapRaw) is not a holder in sysfs: its backing_file names Y.
    if (DIR* d = ::opendir((sysfs_root + "/block").c_str())) {
        std::string loops;
        while (dirent* e = ::readdir(d)) {
            std::string name = e->d_name;
            if (name.rfind("loop", 0) != 0) continue;
            std::ifstream in(sysfs_root + "/block/" + name + "/loop/backing_file");
            std::string backing;
            if (!std::getline(in, backing) || backing.empty()) continue;
            struct stat b {};
            if (::stat(backing.c_str(), &b) == 0 && S_ISBLK(b.st_mode) && b.st_rdev == st.st_rdev)
                loops += (loops.empty() ? "/dev/" : ", /dev/") + name;
        }
        ::closedir(d);
        if (!loops.empty()) return {device + " is the backing device of " + loops, true};
    }
    return {};
}

std::string device_claimed_by(const std::string& device, const std::string& sysfs_root) {
    DeviceClaim c = device_claim(device, sysfs_root);
    return c.what.empty() ? c.error : c.what;
}

namespace {

bool same(const ExportSpec& a, const ExportSpec& b) {
    return a.device == b.device && a.listen_address == b.listen_address && a.port == b.port &&
           a.export_name == b.export_name && a.allow == b.allow && a.description == b.description &&
           a.tls_required == b.tls_required && a.tls_keys == b.tls_keys;
}

nbd::NbdServer::Options options_from(const ExportSpec& spec,
                                     std::function<void(const std::string&, const std::string&)> on_event) {
    nbd::NbdServer::Options o;
    o.name = spec.export_name;
    o.description = spec.description;
    boost::system::error_code ec;
    o.listen = asio::ip::tcp::endpoint(asio::ip::make_address(spec.listen_address, ec), spec.port);
    for (const auto& a : spec.allow) {
        auto addr = asio::ip::make_address(a, ec);
        if (!ec) o.allow.push_back(addr);
    }
    o.on_event = std::move(on_event);
    return o;
}

// `before` plus a running server's counters.
SpoolExport::Counters sum(SpoolExport::Counters before, const nbd::ServerCounters& c) {
    before.requests += c.requests.load();
    before.bytes_read += c.bytes_read.load();
    before.bytes_written += c.bytes_written.load();
    before.io_errors += c.io_errors.load();
    before.rejected_requests += c.rejected_requests.load();
    before.rejected_connections += c.rejected_connections.load();
    before.sessions_started += c.sessions_started.load();
    return before;
}

// Runs f on the export's own io thread and waits for its result.
template <class F>
auto on_thread(asio::io_context& io, F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(io, [&task] { task(); });
    return result.get();
}

}  // namespace

SpoolExport::SpoolExport(std::function<void(const std::string&, const std::string&)> on_event)
    : on_event_(std::move(on_event)), work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}

SpoolExport::~SpoolExport() {
    stop();
    work_.reset();
    io_.stop();
    thread_.join();
}

std::string SpoolExport::start(const ExportSpec& spec) {
    std::lock_guard lock(mu_);
    if (server_ && same(*running_, spec)) {
        server_->reengage();
        return "";
    }
    if (server_)
        if (std::string e = stop_locked(); !e.empty()) return "restarting the export with its new settings: " + e;
    device_ = spec.device;
    if (std::string held = device_claimed_by(device_); !held.empty())
        return "refusing to export " + device_ + ": " + held + " (this node serves from Y; exporting it would let " +
               "the primary write under the mounted filesystem)";
    std::shared_ptr<const nbd::TlsContext> tls;
    if (spec.tls_required) {
        // Refused rather than served in plain: the operator asked for an encrypted link.
        if (spec.tls_keys.empty())
            return "refusing to export " + device_ + ": nbd.tls is required and this node has no TLS key "
                   "(none was derived from cluster.secret_file)";
        std::string why;
        tls = nbd::TlsContext::make(nbd::TlsContext::Side::server, spec.tls_keys, why);
        if (!tls) return "cannot export " + device_ + " with TLS: " + why;
    }
    auto opened = nbd::ExportDevice::open(device_, false);
    if (!opened.device) return opened.error;
    dev_ = opened.device.get();
    return on_thread(io_, [&]() -> std::string {
        nbd::NbdServer::Options o = options_from(spec, on_event_);
        o.tls = tls;
        auto s = std::make_unique<nbd::NbdServer>(io_, std::move(opened.device), std::move(o));
        std::string e = s->start();
        if (!e.empty()) {
            dev_ = nullptr;
            return "cannot export " + device_ + ": " + e;
        }
        server_ = std::move(s);
        running_ = spec;
        return "";
    });
}

std::string SpoolExport::replace_tls_keys(const std::vector<nbd::TlsPsk>& keys) {
    std::lock_guard lock(mu_);
    if (!server_ || !running_ || !running_->tls_required || running_->tls_keys == keys) return "";
    if (keys.empty()) return "no TLS key to replace the export's keys with";
    std::string why;
    std::shared_ptr<const nbd::TlsContext> tls = nbd::TlsContext::make(nbd::TlsContext::Side::server, keys, why);
    if (!tls) return "the export's new TLS keys: " + why;
    if (!server_->replace_tls(tls)) return "the export does not run with TLS";
    running_->tls_keys = keys;
    return "";
}

std::string SpoolExport::stop() {
    std::lock_guard lock(mu_);
    return stop_locked();
}

std::string SpoolExport::stop_locked() {
    if (!server_) return "";
    return on_thread(io_, [&]() -> std::string {
        server_->stop();
        io_errors_before_ += server_->counters().io_errors.load();
        counters_before_ = sum(counters_before_, server_->counters());
        std::string e;
        if (int err = dev_->flush()) e = "flushing " + device_ + " after closing the export failed: " + std::strerror(err);
        server_.reset();  // closes Y
        dev_ = nullptr;
        running_.reset();
        return e;
    });
}

bool SpoolExport::running() const {
    // From the daemon's loop (status, metrics on every tick): as last_activity().
    std::unique_lock lock(mu_, std::try_to_lock);
    if (lock.owns_lock()) running_seen_ = server_ != nullptr;
    return running_seen_;
}

std::optional<std::chrono::steady_clock::time_point> SpoolExport::last_activity() const {
    // Called from the daemon's loop on every tick: never wait for a start/stop in progress.
    std::unique_lock lock(mu_, std::try_to_lock);
    if (lock.owns_lock() && server_ && server_->counters().requests.load() > 0) last_seen_ = server_->last_activity();
    return last_seen_;
}

uint64_t SpoolExport::io_errors() const {
    // From the daemon's loop on every tick, as last_activity().
    std::unique_lock lock(mu_, std::try_to_lock);
    if (lock.owns_lock()) io_errors_seen_ = io_errors_before_ + (server_ ? server_->counters().io_errors.load() : 0);
    return io_errors_seen_;
}

SpoolExport::Counters SpoolExport::counters() const {
    std::unique_lock lock(mu_, std::try_to_lock);
    if (lock.owns_lock()) counters_seen_ = server_ ? sum(counters_before_, server_->counters()) : counters_before_;
    return counters_seen_;
}

int SpoolExport::open_sessions() const {
    std::unique_lock lock(mu_, std::try_to_lock);
    if (lock.owns_lock()) sessions_seen_ = server_ ? server_->open_sessions() : 0;
    return sessions_seen_;
}

}  // namespace haspool::agent
