#pragma once
// A blocking SMTP receiver: listens on ADDR:PORT, one thread per connection, each running an
// SmtpSession whose messages go to a SpoolStore. For the failover drill, where it stands in for
// the mail units (postfix in production) that the daemons start after a takeover.
#include <cstdint>
#include <string>

namespace haspool::mail {

struct ServerOptions {
    std::string host;      // numeric IPv4/IPv6 address to bind
    uint16_t port = 25;
    std::string spool_dir;
    std::string hostname;  // in the greeting and in stored names
    std::size_t max_message_bytes = 10 * 1024 * 1024;
    int idle_timeout_s = 300;  // RFC 5321 4.5.3.2.7: at least 5 minutes
};

// Runs until a fatal error (returned as text); prints "listening ADDR:PORT" on stdout once bound.
std::string run_smtp_server(const ServerOptions& o);

}  // namespace haspool::mail
