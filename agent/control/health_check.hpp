#pragma once
// `haspool status --check` (pure): one verdict on this node, for Nagios/Icinga-style monitors,
// as `mdadm --detail --test` gives one for an array. The daemon computes it from its status
// report (control line `status-check`); the CLI maps the word to the exit code.
//   0 "ok: ..."        the pair is redundant: A MIRRORED, or B EXPORTING under a MIRRORED A
//   1 "warning: ..."   serving without redundancy or in transition: degraded, resyncing, X lost,
//                      the standby serving, a takeover or handback running, the peer not heard
//   2 "critical: ..."  HALTED, SPLIT_BRAIN, or this node's disk failed (Y answers I/O errors);
//                      the CLI also says critical when the daemon cannot be reached
#include <string>

#include "agent/control/status_report.hpp"

namespace haspool::agent {

struct HealthCheck {
    int code = 0;      // 0 ok, 1 warning, 2 critical
    std::string line;  // "ok: alpha MIRRORED, in sync with beta (EXPORTING)\n"
};

HealthCheck health_check(const StatusReport& r);

}  // namespace haspool::agent
