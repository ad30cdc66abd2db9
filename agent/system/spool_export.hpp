#pragma once
// The standby's NBD export of Y (docs/design.md §1, §4): haspool's NBD server (blockdev/nbd_server.hpp)
// embedded in the standby daemon, on its own io_context thread so that the step runner's
// StartExport/StopExport can start and stop it without touching the daemon's loop.
//
// Safety: Y is exported only while nothing else holds it. start() refuses while Y is mounted or
// claimed by a holder (the degraded md a takeover assembled on it): the primary must never write
// to a Y this node serves from. stop() closes every session and the listener, flushes Y and
// closes it, so a takeover's md sees Y's final state and the primary's kernel cannot reconnect.
#include <chrono>
#include <memory>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include "blockdev/nbd_server.hpp"
#include "blockdev/tls_psk.hpp"

namespace haspool::agent {

// What on this node uses `device` so that it must not be exported now: mounted ("mounted at
// /mnt/spool"), stacked on (md/dm: "held by md127"), or the backing device of a loop device (the
// raw takeover's mapping of Y: "the backing device of /dev/loop3", which sysfs does not list as a
// holder). `what` is empty when nothing uses it. `sysfs_root` is a seam for tests.
struct DeviceClaim {
    std::string what;
    bool by_loop = false;  // the raw mapping: the spool is served through a loop device over it
    std::string error;     // could not tell (no such device, no mount table): `what` is empty
};
DeviceClaim device_claim(const std::string& device, const std::string& sysfs_root = "/sys");
// device_claim(...).what, or its error: why `device` must not be exported now, "" when it may.
std::string device_claimed_by(const std::string& device, const std::string& sysfs_root = "/sys");

// What to export, and to whom: the StartExport step carries exactly this (agent/core/plans.cpp).
struct ExportSpec {
    std::string device;          // Y
    std::string listen_address;  // nbd.listen_address (default: the standby's address on nbd.path)
    uint16_t port = 10809;
    std::string export_name;
    std::vector<std::string> allow;  // the only peers admitted (default: the primary's address on nbd.path)
    std::string description;
    // nbd.tls: required: STARTTLS with any of these keys, every other option refused. The keys
    // are the ones this daemon derived from its secrets; a spec without them is refused.
    bool tls_required = false;
    std::vector<nbd::TlsPsk> tls_keys;
};

class SpoolExport {
public:
    // `on_event` is told about sessions.
    explicit SpoolExport(std::function<void(const std::string& event, const std::string& message)> on_event);
    ~SpoolExport();
    SpoolExport(const SpoolExport&) = delete;
    SpoolExport& operator=(const SpoolExport&) = delete;

    // Idempotent: "" when the export runs (already, as `spec` says, or now), else why it cannot.
    // An export already running with another spec (a reload changed it) is restarted with this one.
    std::string start(const ExportSpec& spec);
    // Idempotent: closes the sessions and the listener, flushes and closes Y. "" or an error.
    std::string stop();
    // A reload's keys (a secret rotation) for a running export under nbd.tls: required: new
    // handshakes use them, open sessions are not touched (the primary's kernel keeps its link).
    // Nothing to do ("") when no TLS export runs; an error when the keys are unusable, and the
    // export keeps the keys it had.
    std::string replace_tls_keys(const std::vector<nbd::TlsPsk>& keys);

    // running(), open_sessions(), last_activity(), io_errors() and counters() are read from the
    // daemon's loop on every tick: they never wait for a start/stop in progress and then say what
    // they said last.
    bool running() const;
    // Newest request served (any connection), or nullopt when none yet; thread-safe.
    std::optional<std::chrono::steady_clock::time_point> last_activity() const;
    int open_sessions() const;
    // Requests on Y answered with an I/O error since this object was made (every export it ran):
    // the standby's sign that Y fails under the export (docs/faults.md, loss of Y); thread-safe.
    uint64_t io_errors() const;
    // The NBD server's counters summed over every export this object ran (metrics.textfile);
    // thread-safe, never waits for a start/stop in progress (then: the last count read).
    struct Counters {
        uint64_t requests = 0, bytes_read = 0, bytes_written = 0, io_errors = 0, rejected_requests = 0,
                 rejected_connections = 0, sessions_started = 0;
    };
    Counters counters() const;

private:
    std::string stop_locked();
    std::function<void(const std::string&, const std::string&)> on_event_;
    std::optional<ExportSpec> running_;  // what server_ exports; guarded by mu_
    std::string device_;
    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    std::thread thread_;
    mutable std::mutex mu_;
    std::unique_ptr<nbd::NbdServer> server_;
    nbd::ExportDevice* dev_ = nullptr;  // owned by server_
    mutable std::optional<std::chrono::steady_clock::time_point> last_seen_;  // guarded by mu_
    uint64_t io_errors_before_ = 0;  // the I/O errors of the exports stopped so far; guarded by mu_
    mutable uint64_t io_errors_seen_ = 0;  // the last count read (when mu_ was busy); guarded by mu_
    mutable bool running_seen_ = false;  // as io_errors_seen_
    mutable int sessions_seen_ = 0;      // as io_errors_seen_
    Counters counters_before_;  // the counters of the exports stopped so far; guarded by mu_
    mutable Counters counters_seen_;  // as io_errors_seen_
};

}  // namespace haspool::agent
