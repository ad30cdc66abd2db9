#pragma once
// The node daemon: wires the pure machines to the world. One io_context runs the heartbeat
// links, a tick timer (send heartbeats, resend requests, report silence, watchdog), one
// steady_timer armed from the machine's wake_at, signals (SIGTERM stop, SIGHUP reload) and the
// control socket (status and operator commands). Steps run on one worker thread through the
// System, so heartbeats keep flowing while a takeover runs.
#include <string>

#include "config/config.hpp"

namespace haspool::agent {

struct DaemonOptions {
    std::string config_file;
    bool init = false;        // create this node's state file first (first start only)
    bool force_solo = false;  // primary: serve from X without hearing the standby
    bool force = false;       // primary, with init: create the md array even over a filesystem
};

// Runs until SIGTERM/SIGINT; returns the process exit status.
int run_daemon(const config::Config& cfg, const std::string& self_name, const DaemonOptions& opt);

}  // namespace haspool::agent
