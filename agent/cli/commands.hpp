#pragma once
// One function per `haspool` command; the table in commands.cpp maps names to them.
#include <string>
#include <vector>

namespace haspool::cli {

int cmd_check_config(const std::vector<std::string>& args);
int cmd_export(const std::vector<std::string>& args);
int cmd_daemon(const std::string& role, const std::vector<std::string>& args);
int cmd_plan(const std::vector<std::string>& args);
int cmd_status(const std::vector<std::string>& args);
int cmd_events(const std::vector<std::string>& args);
int cmd_switchover(const std::vector<std::string>& args);
int cmd_failback(const std::vector<std::string>& args);
int cmd_replace_disk(const std::vector<std::string>& args);
int cmd_resolve(const std::vector<std::string>& args);
int cmd_debug(const std::vector<std::string>& args);
int cmd_drill(const std::vector<std::string>& args);
int cmd_tls_psk(const std::vector<std::string>& args);

}  // namespace haspool::cli
