// haspool export: runs haspool's NBD server alone, in the foreground, exporting one device or
// file. SIGTERM/SIGINT close the sessions, flush the device and exit 0.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstring>
#include <iostream>

#include "agent/cli/cli.hpp"
#include "agent/cli/commands.hpp"
#include "blockdev/export_device.hpp"
#include "agent/log/log.hpp"
#include "blockdev/nbd_server.hpp"
#include "blockdev/tls_channel.hpp"
#include <fstream>
#include <sstream>

namespace haspool::cli {

namespace {

namespace asio = boost::asio;

// "ADDR:PORT", "[V6ADDR]:PORT"; nullopt (with `why`) when malformed.
std::optional<asio::ip::tcp::endpoint> parse_listen(const std::string& s, std::string& why) {
    auto colon = s.rfind(':');
    if (colon == std::string::npos || colon + 1 == s.size()) {
        why = "--listen '" + s + "' is not ADDR:PORT";
        return std::nullopt;
    }
    std::string host = s.substr(0, colon), port = s.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(host, ec);
    if (ec) {
        why = "--listen '" + s + "': '" + host + "' is not an IP address";
        return std::nullopt;
    }
    char* end = nullptr;
    unsigned long p = std::strtoul(port.c_str(), &end, 10);
    if (*end != '\0' || p > 65535) {
        why = "--listen '" + s + "': '" + port + "' is not a port number";
        return std::nullopt;
    }
    return asio::ip::tcp::endpoint(addr, uint16_t(p));
}

}  // namespace

int cmd_export(const std::vector<std::string>& args) {
    po::options_description opts("Options");
    opts.add_options()
        ("device,d", po::value<std::string>()->required()->value_name("PATH"), "block device or file to export")
        ("listen,l", po::value<std::string>()->required()->value_name("ADDR:PORT"), "address and port to listen on")
        ("name", po::value<std::string>()->default_value("haspool")->value_name("NAME"), "export name")
        ("read-only", "export read-only")
        ("allow", po::value<std::vector<std::string>>()->multitoken()->value_name("ADDR..."),
         "peer addresses allowed to connect (default: loopback only)")
        ("workers", po::value<unsigned>()->default_value(8)->value_name("N"), "requests in flight per connection")
        ("tls-psk", po::value<std::string>()->value_name("FILE"),
         "require TLS 1.3 with the pre-shared key in FILE (GnuTLS psktool format, identity:hexkey; "
         "`haspool tls-psk` writes the cluster's)")
        ("tls-identity", po::value<std::string>()->value_name("NAME"), "which identity of the PSK file (default: the first)");
    po::variables_map vm;
    if (auto rc = parse("export", "--device PATH --listen ADDR:PORT [--name NAME] [--read-only] [--allow ADDR...] [--tls-psk FILE]",
                        "Runs haspool's NBD server alone, in the foreground: fixed-newstyle NBD with flush and FUA\n"
                        "always on, multi-connection, structured replies offered. A writable export serves one\n"
                        "writer address at a time. With --tls-psk, every client must STARTTLS and prove the key\n"
                        "first. SIGTERM closes the sessions, flushes and exits 0.",
                        opts, args, vm))
        return *rc;
    std::string why;
    auto listen = parse_listen(vm["listen"].as<std::string>(), why);
    if (!listen) {
        std::cerr << "haspool export: " << why << "\n";
        return kExitUsage;
    }
    nbd::NbdServer::Options o;
    o.listen = *listen;
    o.name = vm["name"].as<std::string>();
    o.session.workers = std::max(1u, vm["workers"].as<unsigned>());
    if (vm.count("allow"))
        for (const auto& a : vm["allow"].as<std::vector<std::string>>()) {
            boost::system::error_code ec;
            auto addr = asio::ip::make_address(a, ec);
            if (ec) {
                std::cerr << "haspool export: --allow '" << a << "' is not an IP address\n";
                return kExitUsage;
            }
            o.allow.push_back(addr);
        }
    if (vm.count("tls-psk")) {
        const std::string file = vm["tls-psk"].as<std::string>();
        std::ifstream in(file);
        if (!in) {
            std::cerr << "haspool export: --tls-psk: cannot read " << file << ": " << std::strerror(errno) << "\n";
            return kExitFailure;
        }
        std::ostringstream content_buf;
        content_buf << in.rdbuf();
        std::string content = content_buf.str(), why;
        auto psk = nbd::parse_psk_file(content, vm.count("tls-identity") ? vm["tls-identity"].as<std::string>() : "", why);
        if (!psk) {
            std::cerr << "haspool export: --tls-psk " << file << ": " << why << "\n";
            return kExitFailure;
        }
        auto ctx = nbd::TlsContext::make(nbd::TlsContext::Side::server, *psk, why);
        if (!ctx) {
            std::cerr << "haspool export: " << why << "\n";
            return kExitFailure;
        }
        o.tls = std::move(ctx);
    }
    o.on_event = [](const std::string& kind, const std::string& msg) {
        if (kind == "refused" || kind == "accept-failed")
            log::warning(msg, {{"EVENT", "nbd-" + kind}});
        else
            log::info(msg, {{"EVENT", "nbd-" + kind}});
    };

    const std::string device = vm["device"].as<std::string>();
    auto opened = nbd::ExportDevice::open(device, vm.count("read-only") > 0);
    if (!opened.device) {
        log::error("haspool export: " + opened.error);
        return kExitFailure;
    }
    nbd::ExportDevice* dev = opened.device.get();
    const uint64_t size = dev->size();
    asio::io_context io;
    nbd::NbdServer server(io, std::move(opened.device), o);
    if (std::string e = server.start(); !e.empty()) {
        log::error("haspool export: " + e);
        return kExitFailure;
    }
    int rc = kExitOk;
    asio::signal_set signals(io, SIGTERM, SIGINT);
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        log::notice("stopping the NBD export on signal " + std::to_string(sig), {{"EVENT", "nbd-stop"}});
        server.stop();
        if (!dev->read_only())
            if (int e = dev->flush()) {
                log::error("haspool export: flushing '" + device + "' failed: " + std::strerror(e));
                rc = kExitFailure;
            }
        io.stop();
    });
    auto ep = server.local_endpoint();
    log::notice("exporting '" + device + "' (" + std::to_string(size) + " bytes" +
                    (dev->read_only() ? ", read-only" : "") + ") as '" + o.name + "' on " + ep.address().to_string() +
                    ":" + std::to_string(ep.port()) +
                    (o.allow.empty() ? " to loopback peers only" : " to " + std::to_string(o.allow.size()) + " allowed address(es)") +
                    (o.tls ? ", TLS required (PSK identity '" + o.tls->psk().identity + "')" : ""),
                {{"EVENT", "nbd-listen"}});
    io.run();
    return rc;
}

}  // namespace haspool::cli
