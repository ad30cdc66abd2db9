#pragma once
// The status report as Prometheus metrics (pure), in the text exposition format 0.0.4 that
// node_exporter's textfile collector reads (docs/agent.md "Metrics"): every family with its
// `# HELP` and `# TYPE` lines, names `haspool_...`, base units (`_seconds`, `_bytes`, `_ratio`),
// counters ending in `_total`. A family without a sample on this node (md on the standby, the
// export on the primary, a path never heard) is left out whole. The daemon writes the text
// to metrics.textfile (agent/daemon/metrics_file.hpp); tests/integration/check_metrics.py
// parses it back.
#include <string>

#include "agent/control/status_report.hpp"

namespace haspool::agent {

// Many lines, each ending in "\n".
std::string render_metrics(const StatusReport& r);

// A label value as the format quotes it: backslash, double quote and newline escaped.
std::string metric_label_value(const std::string& s);

}  // namespace haspool::agent
