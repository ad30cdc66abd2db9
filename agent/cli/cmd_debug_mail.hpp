#pragma once
// `haspool debug smtp-sink` and `haspool debug smtp-send`: the failover drill's mail receiver
// (stand-in for the mail units) and its sender.
#include <string>
#include <vector>

namespace haspool::cli {

int debug_smtp_sink(const std::string& sub, const std::vector<std::string>& args);
int debug_smtp_send(const std::string& sub, const std::vector<std::string>& args);

}  // namespace haspool::cli
