#include "agent/cli/cmd_debug_mail.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <csignal>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include "agent/cli/cli.hpp"
#include "blockdev/nbd_attach.hpp"
#include "agent/lab/smtp_client.hpp"
#include "agent/lab/smtp_server.hpp"

namespace haspool::cli {

namespace {

std::string this_hostname() {
    char h[256] = {};
    if (::gethostname(h, sizeof h - 1) != 0 || h[0] == '\0') return "localhost";
    return h;
}

std::string epoch_now() {
    using namespace std::chrono;
    auto ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    std::ostringstream o;
    o << ms / 1000 << "." << std::setw(3) << std::setfill('0') << ms % 1000;
    return o.str();
}

// SHA-256 of `data` in hex: each drill message carries the digest of its own body, so the
// drill can tell a stored message is byte-identical to the one acknowledged.
std::string sha256_hex(const std::string& data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
    std::ostringstream o;
    for (unsigned int i = 0; i < n; ++i) o << std::hex << std::setw(2) << std::setfill('0') << static_cast<int>(md[i]);
    return o.str();
}

// The body of message `seq`: its number, a line with a leading dot (dot-stuffing on the wire), and
// about `kib` KiB of lines that differ from message to message.
std::string drill_body(unsigned seq, unsigned kib) {
    std::ostringstream b;
    b << "Message " << seq << " of the failover drill.\n.this line starts with a dot (dot-stuffing)\n";
    uint64_t x = 0x9e3779b97f4a7c15ULL * (seq + 1);
    for (unsigned line = 0; line < kib * 16; ++line) {  // 16 lines of 64 bytes per KiB
        for (int i = 0; i < 63; ++i) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;  // xorshift: printable, varied, reproducible
            b << static_cast<char>('a' + x % 26);
        }
        b << "\n";
    }
    return b.str();
}

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_stop_signal(int) { g_stop = 1; }

}  // namespace

int debug_smtp_sink(const std::string& sub, const std::vector<std::string>& args) {
    po::options_description o("Options");
    o.add_options()("spool", po::value<std::string>()->required(), "maildir to store into (DIR/tmp, DIR/new; created)")
        ("listen", po::value<std::string>()->default_value("0.0.0.0:25"), "ADDR:PORT (numeric address)")
        ("hostname", po::value<std::string>(), "name in the greeting (default: this host's)")
        ("max-size", po::value<std::size_t>()->default_value(10 * 1024 * 1024), "largest message accepted, bytes");
    po::variables_map vm;
    if (auto rc = parse("debug " + sub, "--spool DIR [--listen ADDR:PORT]",
                        "A small SMTP receiver (RFC 5321: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT). Each\n"
                        "message is written to DIR/tmp, fsync'd, renamed into DIR/new and the directory fsync'd\n"
                        "before the 250 is sent. Runs in the foreground until killed. The failover drill's\n"
                        "stand-in for the mail units (production: postfix/dovecot via service.units).",
                        o, args, vm))
        return *rc;
    mail::ServerOptions so;
    if (std::string e = nbd::parse_host_port(vm["listen"].as<std::string>(), so.host, so.port); !e.empty()) {
        std::cerr << "haspool debug " << sub << ": --listen: " << e << "\n";
        return kExitUsage;
    }
    so.spool_dir = vm["spool"].as<std::string>();
    so.hostname = vm.count("hostname") ? vm["hostname"].as<std::string>() : this_hostname();
    so.max_message_bytes = vm["max-size"].as<std::size_t>();
    std::string e = mail::run_smtp_server(so);
    std::cerr << "haspool debug " << sub << ": " << e << "\n";
    return kExitFailure;
}

int debug_smtp_send(const std::string& sub, const std::vector<std::string>& args) {
    po::options_description o("Options");
    o.add_options()("connect", po::value<std::string>()->required(), "the server, ADDR:PORT (numeric address)")
        ("from", po::value<std::string>()->default_value("drill@haspool.invalid"), "envelope sender")
        ("to", po::value<std::string>()->default_value("postmaster@haspool.invalid"), "envelope recipient")
        ("run", po::value<std::string>()->default_value("drill"), "run tag, in each message's X-Haspool-Drill-Run")
        ("count", po::value<unsigned>()->default_value(1), "messages to send (0: until a stop condition)")
        ("interval-ms", po::value<unsigned>()->default_value(200), "pause between messages")
        ("connect-timeout-ms", po::value<unsigned>()->default_value(1000), "TCP connect limit per attempt")
        ("timeout-ms", po::value<unsigned>()->default_value(10000), "limit per reply")
        ("stop-after-recovered", po::value<unsigned>()->default_value(0),
         "stop once this many messages were accepted after a failure that followed an acceptance")
        ("max-seconds", po::value<unsigned>()->default_value(0), "stop after this long (0: no limit)")
        ("body-kib", po::value<unsigned>()->default_value(0), "about this many KiB of filler in each body");
    po::variables_map vm;
    if (auto rc = parse("debug " + sub, "--connect ADDR:PORT [--count N] ...",
                        "Sends numbered messages over SMTP and prints one line per attempt:\n"
                        "  seq=N accepted|failed start=EPOCH time=EPOCH stage=STAGE reply=TEXT\n"
                        "'accepted' means the server answered 250 to the end of DATA. Each message carries\n"
                        "X-Haspool-Drill-Run, X-Haspool-Drill-Seq and X-Haspool-Drill-Sum (the SHA-256 of its\n"
                        "body). SIGTERM or SIGINT ends the run after the message in flight. Exit 0 when the\n"
                        "last attempt was accepted, 1 otherwise.",
                        o, args, vm))
        return *rc;
    mail::SendRequest r;
    if (std::string e = nbd::parse_host_port(vm["connect"].as<std::string>(), r.host, r.port); !e.empty()) {
        std::cerr << "haspool debug " << sub << ": --connect: " << e << "\n";
        return kExitUsage;
    }
    r.helo = this_hostname();
    r.from = vm["from"].as<std::string>();
    r.to = vm["to"].as<std::string>();
    r.connect_timeout = std::chrono::milliseconds(vm["connect-timeout-ms"].as<unsigned>());
    r.io_timeout = std::chrono::milliseconds(vm["timeout-ms"].as<unsigned>());
    const std::string run = vm["run"].as<std::string>();
    const unsigned count = vm["count"].as<unsigned>();
    const unsigned recovered_want = vm["stop-after-recovered"].as<unsigned>();
    const unsigned max_s = vm["max-seconds"].as<unsigned>();
    if (count == 0 && recovered_want == 0 && max_s == 0) {
        std::cerr << "haspool debug " << sub << ": --count 0 needs --stop-after-recovered or --max-seconds\n";
        return kExitUsage;
    }
    const unsigned body_kib = vm["body-kib"].as<unsigned>();
    std::signal(SIGTERM, on_stop_signal);
    std::signal(SIGINT, on_stop_signal);
    const auto t0 = std::chrono::steady_clock::now();
    bool seen_accept = false, seen_failure_after_accept = false, last_ok = false;
    unsigned recovered = 0;
    for (unsigned seq = 1; (count == 0 || seq <= count) && !g_stop; ++seq) {
        const std::string text = drill_body(seq, body_kib);
        std::ostringstream body;
        body << "From: <" << r.from << ">\nTo: <" << r.to << ">\nSubject: haspool drill message " << seq
             << "\nMessage-ID: <" << run << "." << seq << "@haspool.invalid>\nX-Haspool-Drill-Run: " << run
             << "\nX-Haspool-Drill-Seq: " << seq << "\nX-Haspool-Drill-Sum: " << sha256_hex(text) << "\n\n" << text;
        r.body = body.str();
        const std::string start = epoch_now();
        mail::SendResult s = mail::smtp_send(r);
        std::cout << "seq=" << seq << (s.accepted ? " accepted" : " failed") << " start=" << start
                  << " time=" << epoch_now() << " stage=" << s.stage << " reply=" << s.detail << std::endl;
        last_ok = s.accepted;
        if (s.accepted) {
            if (seen_failure_after_accept) ++recovered;
            seen_accept = true;
        } else if (seen_accept) {
            seen_failure_after_accept = true;
        }
        if (recovered_want > 0 && recovered >= recovered_want) break;
        if (max_s > 0 && std::chrono::steady_clock::now() - t0 >= std::chrono::seconds(max_s)) break;
        if (!g_stop && (count == 0 || seq < count))
            std::this_thread::sleep_for(std::chrono::milliseconds(vm["interval-ms"].as<unsigned>()));
    }
    return last_ok ? kExitOk : kExitFailure;
}

}  // namespace haspool::cli
