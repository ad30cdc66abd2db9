#pragma once
// The server side of SMTP (RFC 5321), the subset a mail receiver needs: greeting, EHLO/HELO,
// MAIL, RCPT, DATA (dot-unstuffing), RSET, NOOP, QUIT, VRFY (252), and sane errors. Pure: it
// takes one line at a time (without its CRLF) and returns the reply lines to send; the caller
// owns the socket. A message is handed to `Deliver` when its final "." arrives, and the 250 is
// answered only after Deliver returned success — the drill's durability promise rests on that.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace haspool::mail {

struct Envelope {
    std::string helo;                     // the client's EHLO/HELO argument
    std::string mail_from;                // reverse-path without the <>; empty for the null sender
    std::vector<std::string> rcpt_to;     // forward-paths without the <>
};

struct Delivered {
    std::string error;  // empty: stored durably
    std::string id;     // the stored message's name, quoted in the 250 reply
};

// Stores a complete message (lines joined with "\n", dots already unstuffed). Must not return
// success before the message is durable.
using Deliver = std::function<Delivered(const Envelope&, const std::string& data)>;

struct SessionOutput {
    std::vector<std::string> lines;  // reply lines, without CRLF
    bool close = false;              // close the connection after sending them
};

class SmtpSession {
  public:
    static constexpr std::size_t kMaxCommandLine = 512;   // RFC 5321 4.5.3.1.4, incl. CRLF
    static constexpr std::size_t kMaxTextLine = 1000;     // RFC 5321 4.5.3.1.6, incl. CRLF
    static constexpr std::size_t kMaxRecipients = 100;    // RFC 5321 4.5.3.1.8 minimum

    SmtpSession(std::string hostname, Deliver deliver, std::size_t max_message_bytes);

    std::string greeting() const;
    // One line from the client, CRLF (or a bare LF) removed.
    SessionOutput on_line(std::string_view line);
    // The client sent a line longer than the limits without an end: the caller drops the rest.
    SessionOutput on_line_too_long();

    bool in_data() const { return state_ == State::data; }

  private:
    enum class State {
        fresh,      // connected, no EHLO/HELO yet
        ready,      // greeted, no transaction
        mail,       // MAIL accepted, waiting for RCPT
        rcpt,       // at least one RCPT accepted
        data,       // reading the message until "."
    };
    SessionOutput command(std::string_view line);
    SessionOutput data_line(std::string_view line);
    SessionOutput mail_from(std::string_view args);
    SessionOutput rcpt_to(std::string_view args);
    void reset_transaction();

    std::string hostname_;
    Deliver deliver_;
    std::size_t max_message_bytes_;
    State state_ = State::fresh;
    Envelope envelope_;
    std::string data_;
    bool data_too_big_ = false;
    bool data_line_too_long_ = false;
};

// "<user@host>" [SP params] -> the path without brackets; nullopt-like: ok=false on bad syntax.
struct PathArg {
    bool ok = false;
    std::string path;
    std::string params;  // ESMTP parameters after the path, as given
};
PathArg parse_path_arg(std::string_view args);

// The value of SIZE=N among ESMTP parameters, or -1 when absent or malformed.
long long size_param(std::string_view params);

}  // namespace haspool::mail
