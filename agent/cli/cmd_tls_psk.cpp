// haspool tls-psk: prints this cluster's NBD TLS keys (nbd.tls: required) as a GnuTLS PSK file,
// derived from the secret files, so another client (nbdinfo, qemu, nbd-client) can be pointed at
// a node's export to look, or `haspool export --tls-psk` can stand in for a standby's export.
// The output is a secret: it goes to stdout only, never to a file this command creates.
#include <iostream>

#include "agent/cli/cli.hpp"
#include "agent/cli/commands.hpp"
#include "agent/system/nbd_tls_keys.hpp"
#include "config/host_check.hpp"

namespace haspool::cli {

int cmd_tls_psk(const std::vector<std::string>& args) {
    po::options_description opts("Options");
    add_config_options(opts);
    po::variables_map vm;
    if (auto rc = parse("tls-psk", "[--config FILE]",
                        "Prints the pre-shared keys of the NBD link's TLS (nbd.tls: required) as GnuTLS\n"
                        "psktool lines, identity:hexkey: one for cluster.secret_file and, during a rotation,\n"
                        "one for cluster.secret_file_next. Each is derived from its secret (HKDF-SHA256) under\n"
                        "the identity CLUSTER/KEYID, KEYID being the key id heartbeats carry. The output is\n"
                        "as secret as the secret files: redirect it to a file of mode 0600. For example\n"
                        "  umask 077; haspool tls-psk > /root/haspool.psk\n"
                        "  nbdinfo 'nbds://CLUSTER%2FKEYID@standby/haspool?tls-psk-file=/root/haspool.psk'",
                        opts, args, vm))
        return *rc;
    auto cfg = load_config_or_report(vm);
    if (!cfg) return kExitUsage;
    config::Secrets s = config::read_secrets(cfg->cluster);
    if (!s.error.empty()) {
        std::cerr << "haspool tls-psk: " << s.field << ": " << s.error << "\n";
        return kExitFailure;
    }
    std::string why;
    auto keys = agent::nbd_tls_keys(cfg->cluster.name, s.current, s.next, why);
    if (keys.empty()) {
        std::cerr << "haspool tls-psk: " << why << "\n";
        return kExitFailure;
    }
    if (cfg->nbd.tls == config::NbdTls::off)
        std::cerr << "haspool tls-psk: note: nbd.tls is off in " << vm["config"].as<std::string>()
                  << ": the daemons do not use these keys until it is 'required' (haspool export --tls-psk can)\n";
    for (const auto& k : keys) std::cout << nbd::psk_file_line(k) << "\n";
    return kExitOk;
}

}  // namespace haspool::cli
