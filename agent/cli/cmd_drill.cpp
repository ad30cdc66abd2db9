// haspool drill: the mail-spool failover drill in the VM lab (scripts/drill). The drill is a
// host-side script (it boots two QEMU guests from an image built by scripts/vm, with the lab
// helpers of tests/vm): it needs a haspool source tree, or the copy of those files the Debian
// package installs (HASPOOL_LAB_DIR, at their source-tree paths). This command finds it and runs
// it with this binary as the haspool under test, passing its arguments and exit status through.
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

// Both from agent/cli/CMakeLists.txt (the install prefix's datadir and localstatedir).
constexpr const char* kLabDir = HASPOOL_LAB_DIR;
constexpr const char* kLabVmCache = HASPOOL_LAB_VM_CACHE;

// Where scripts/drill may be, in this order: $HASPOOL_SOURCE_DIR, the tree this binary was built
// from, three levels above the binary (build/agent/cli/haspool -> the checkout), and the lab
// files the package installs.
std::vector<fs::path> candidate_trees(const fs::path& self) {
    std::vector<fs::path> v;
    if (const char* env = std::getenv("HASPOOL_SOURCE_DIR"); env && *env) v.emplace_back(env);
#ifdef HASPOOL_BUILT_FROM
    v.emplace_back(HASPOOL_BUILT_FROM);
#endif
    if (!self.empty()) v.push_back(self.parent_path().parent_path().parent_path().parent_path());
    v.emplace_back(kLabDir);
    return v;
}

}  // namespace

int cmd_drill(const std::vector<std::string>& args) {
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
        std::cout << "Usage: haspool drill [--deb FILE] [--json FILE] [--rounds a,b,c,d,e]\n\n"
                     "Runs the mail-spool failover drill on real postfix (as root; needs qemu-system-x86_64,\n"
                     "qemu-img and mmdebstrap): two Debian 12 guests (systemd, udev, postfix) on a bridge in a\n"
                     "private network namespace, set up by docs/quickstart.md's own commands with haspool\n"
                     "installed from its package. Numbered, checksummed mail flows to the service address\n"
                     "through five rounds: a) the primary's power cut, b) failback, c) switchover there and\n"
                     "back, d) `systemctl restart` of the serving daemon, e) the standby's power cut and\n"
                     "return. After each, every acknowledged message must be on the serving node, intact, and\n"
                     "no sample may show both guests holding the spool or the address. Reports per round the\n"
                     "downtime, acknowledged, found, lost, duplicates, overlaps and haspool's steps (read from\n"
                     "the journal). Exit 0 only with nothing lost and no overlap.\n"
                     "  --deb FILE     the package for the guests (default: scripts/package in a source tree,\n"
                     "                 dpkg-repack of the installed package otherwise)\n"
                     "  --json FILE    also write the report as JSON\n"
                     "  --rounds LIST  run only these rounds (in their order)\n"
                     "The script is scripts/drill, looked for in $HASPOOL_SOURCE_DIR, then in the source tree\n"
                     "this binary was built from, then in the files the Debian package installs: "
                  << kLabDir << "\n"
                     "(from there, the guest image cache is $HASPOOL_VM_CACHE, default " << kLabVmCache << ").\n";
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
        // scripts/vm/build-image caches below its own tree by default: below /usr for the
        // package's lab files (however they were named), so those get a cache in /var instead.
        std::error_code same_ec;
        if (fs::equivalent(top, kLabDir, same_ec)) ::setenv("HASPOOL_VM_CACHE", kLabVmCache, 0);
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
                 "scripts/vm, tests/vm; or the Debian package's copy in "
              << kLabDir << "); looked for:\n";
    for (const auto& t : tried) std::cerr << "  " << t.string() << "\n";
    std::cerr << "install the haspool package or set HASPOOL_SOURCE_DIR to a haspool checkout\n";
    return kExitFailure;
}

}  // namespace haspool::cli
