// haspool drill: the mail-spool failover drill in the VM lab (scripts/drill). The drill is a
// host-side script (it boots two QEMU guests, so it needs the source tree: the guest image is
// built from scripts/vm and the lab helpers live in tests/vm); this command finds it and runs it
// with this binary as the haspool under test, passing its arguments and exit status through.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "agent/cli/cli.hpp"
#include "agent/cli/commands.hpp"

namespace haspool::cli {

namespace {

namespace fs = std::filesystem;

// Where scripts/drill may be: $HASPOOL_SOURCE_DIR, the tree this binary was built from, and
// three levels above the binary (build/agent/cli/haspool -> the checkout).
std::vector<fs::path> candidate_trees(const fs::path& self) {
    std::vector<fs::path> v;
    if (const char* env = std::getenv("HASPOOL_SOURCE_DIR"); env && *env) v.emplace_back(env);
#ifdef HASPOOL_BUILT_FROM
    v.emplace_back(HASPOOL_BUILT_FROM);
#endif
    if (!self.empty()) v.push_back(self.parent_path().parent_path().parent_path().parent_path());
    return v;
}

}  // namespace

int cmd_drill(const std::vector<std::string>& args) {
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
        std::cout << "Usage: haspool drill [--keep-going]\n\n"
                     "Runs the mail-spool failover drill (as root, needs qemu-system-x86_64): two QEMU guests on a\n"
                     "bridge in a private network namespace, `haspool primary` and `haspool standby` in them,\n"
                     "numbered mail sent over SMTP to the service address, the primary's QEMU SIGKILLed\n"
                     "mid-stream, sending continued until the standby serves. Reports the downtime, messages\n"
                     "acknowledged, messages found in the standby's spool, acknowledged messages lost, and the\n"
                     "standby's takeover time. Exit 0 only when no acknowledged message was lost.\n"
                     "The script is scripts/drill in the source tree ($HASPOOL_SOURCE_DIR overrides).\n";
        return kExitOk;
    }
    std::error_code ec;
    fs::path self = fs::read_symlink("/proc/self/exe", ec);
    std::vector<fs::path> tried;
    for (const fs::path& top : candidate_trees(self)) {
        fs::path script = top / "scripts" / "drill";
        tried.push_back(script);
        if (::access(script.c_str(), X_OK) != 0) continue;
        fs::path root = fs::canonical(top, ec);
        ::setenv("HASPOOL_SOURCE_DIR", (ec ? top : root).c_str(), 1);
        if (!self.empty()) ::setenv("HASPOOL", self.c_str(), 1);
        std::vector<std::string> argv{script.string()};
        argv.insert(argv.end(), args.begin(), args.end());
        std::vector<char*> cargv;
        for (auto& a : argv) cargv.push_back(a.data());
        cargv.push_back(nullptr);
        ::execv(script.c_str(), cargv.data());
        std::cerr << "haspool drill: cannot run " << script << ": " << std::strerror(errno) << "\n";
        return kExitFailure;
    }
    std::cerr << "haspool drill: the drill script was not found (it needs haspool's source tree: scripts/drill,\n"
                 "scripts/vm, tests/vm); looked for:\n";
    for (const auto& t : tried) std::cerr << "  " << t.string() << "\n";
    std::cerr << "set HASPOOL_SOURCE_DIR to a haspool checkout\n";
    return kExitFailure;
}

}  // namespace haspool::cli
