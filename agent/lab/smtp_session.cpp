#include "agent/lab/smtp_session.hpp"

#include <algorithm>
#include <cctype>

namespace haspool::mail {

namespace {

std::string upper(std::string_view s) {
    std::string u(s);
    std::transform(u.begin(), u.end(), u.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return u;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// True when `line` starts with `prefix` (case-insensitively).
bool starts_with_ci(std::string_view line, std::string_view prefix) {
    if (line.size() < prefix.size()) return false;
    return upper(line.substr(0, prefix.size())) == prefix;
}

SessionOutput reply(std::string line, bool close = false) { return {{std::move(line)}, close}; }

}  // namespace

PathArg parse_path_arg(std::string_view args) {
    PathArg r;
    args = trim(args);
    if (args.empty() || args.front() != '<') return r;
    auto end = args.find('>');
    if (end == std::string_view::npos) return r;
    std::string_view path = args.substr(1, end - 1);
    // A source route (@a,@b:user@host) is accepted and ignored, as RFC 5321 4.1.2 asks.
    if (!path.empty() && path.front() == '@') {
        auto colon = path.find(':');
        if (colon == std::string_view::npos) return r;
        path = path.substr(colon + 1);
    }
    for (char c : path)
        if (c == ' ' || c == '<' || c == '>' || static_cast<unsigned char>(c) < 0x20) return r;
    std::string_view rest = args.substr(end + 1);
    if (!rest.empty() && rest.front() != ' ') return r;
    r.ok = true;
    r.path = std::string(path);
    r.params = std::string(trim(rest));
    return r;
}

long long size_param(std::string_view params) {
    while (!params.empty()) {
        auto sp = params.find(' ');
        std::string_view p = params.substr(0, sp);
        if (starts_with_ci(p, "SIZE=")) {
            std::string_view v = p.substr(5);
            if (v.empty() || v.size() > 18) return -1;
            long long n = 0;
            for (char c : v) {
                if (c < '0' || c > '9') return -1;
                n = n * 10 + (c - '0');
            }
            return n;
        }
        if (sp == std::string_view::npos) break;
        params = trim(params.substr(sp + 1));
    }
    return -1;
}

SmtpSession::SmtpSession(std::string hostname, Deliver deliver, std::size_t max_message_bytes)
    : hostname_(std::move(hostname)), deliver_(std::move(deliver)), max_message_bytes_(max_message_bytes) {}

std::string SmtpSession::greeting() const { return "220 " + hostname_ + " ESMTP haspool smtp-sink"; }

void SmtpSession::reset_transaction() {
    envelope_.mail_from.clear();
    envelope_.rcpt_to.clear();
    data_.clear();
    data_too_big_ = false;
    data_line_too_long_ = false;
    if (state_ != State::fresh) state_ = State::ready;
}

SessionOutput SmtpSession::on_line(std::string_view line) {
    return state_ == State::data ? data_line(line) : command(line);
}

SessionOutput SmtpSession::on_line_too_long() {
    if (state_ == State::data) {
        data_line_too_long_ = true;  // keep reading to the final "." and refuse the message then
        return {};
    }
    return reply("500 5.5.2 Line too long");
}

SessionOutput SmtpSession::data_line(std::string_view line) {
    if (line == ".") {
        SessionOutput out;
        if (data_line_too_long_)
            out = reply("500 5.5.2 Message has a line longer than " + std::to_string(kMaxTextLine) + " bytes; not stored");
        else if (data_too_big_)
            out = reply("552 5.3.4 Message exceeds the size limit of " + std::to_string(max_message_bytes_) + " bytes; not stored");
        else {
            Delivered d = deliver_(envelope_, data_);
            out = d.error.empty() ? reply("250 2.0.0 Ok: stored as " + d.id)
                                  : reply("451 4.3.0 Cannot store the message: " + d.error);
        }
        reset_transaction();
        return out;
    }
    // Dot-unstuffing (RFC 5321 4.5.2): a leading "." of a data line was added by the client.
    if (!line.empty() && line.front() == '.') line.remove_prefix(1);
    if (line.size() + 2 > kMaxTextLine) data_line_too_long_ = true;
    if (data_.size() + line.size() + 1 > max_message_bytes_) data_too_big_ = true;
    if (!data_too_big_ && !data_line_too_long_) {
        data_.append(line);
        data_.push_back('\n');
    }
    return {};
}

SessionOutput SmtpSession::mail_from(std::string_view args) {
    if (state_ == State::fresh) return reply("503 5.5.1 Send EHLO or HELO first");
    if (state_ != State::ready) return reply("503 5.5.1 Nested MAIL command");
    PathArg p = parse_path_arg(args);
    if (!p.ok) return reply("501 5.5.4 Syntax: MAIL FROM:<address>");
    long long size = size_param(p.params);
    if (size >= 0 && static_cast<unsigned long long>(size) > max_message_bytes_)
        return reply("552 5.3.4 Message size exceeds the limit of " + std::to_string(max_message_bytes_) + " bytes");
    envelope_.mail_from = p.path;
    state_ = State::mail;
    return reply("250 2.1.0 Ok");
}

SessionOutput SmtpSession::rcpt_to(std::string_view args) {
    if (state_ != State::mail && state_ != State::rcpt) return reply("503 5.5.1 Need MAIL before RCPT");
    PathArg p = parse_path_arg(args);
    if (!p.ok || p.path.empty()) return reply("501 5.5.4 Syntax: RCPT TO:<address>");
    if (envelope_.rcpt_to.size() >= kMaxRecipients) return reply("452 4.5.3 Too many recipients");
    envelope_.rcpt_to.push_back(p.path);
    state_ = State::rcpt;
    return reply("250 2.1.5 Ok");
}

SessionOutput SmtpSession::command(std::string_view line) {
    if (line.size() + 2 > kMaxCommandLine) return reply("500 5.5.2 Line too long");
    std::string_view verb_end = line.substr(0, line.find(' '));
    std::string verb = upper(verb_end);
    std::string_view args = verb_end.size() < line.size() ? trim(line.substr(verb_end.size() + 1)) : std::string_view{};

    if (verb == "EHLO" || verb == "HELO") {
        if (args.empty()) return reply("501 5.5.4 Syntax: " + verb + " domain");
        state_ = State::ready;  // EHLO/HELO also resets the transaction (RFC 5321 4.1.4)
        reset_transaction();
        envelope_.helo = std::string(args);
        if (verb == "HELO") return reply("250 " + hostname_);
        return {{"250-" + hostname_ + " greets " + envelope_.helo, "250-8BITMIME",
                 "250-SIZE " + std::to_string(max_message_bytes_), "250 ENHANCEDSTATUSCODES"},
                false};
    }
    if (starts_with_ci(line, "MAIL FROM:")) return mail_from(line.substr(10));
    if (starts_with_ci(line, "RCPT TO:")) return rcpt_to(line.substr(8));
    if (verb == "MAIL" || verb == "RCPT") return reply("501 5.5.4 Syntax: " + verb + (verb == "MAIL" ? " FROM:<address>" : " TO:<address>"));
    if (verb == "DATA") {
        if (!args.empty()) return reply("501 5.5.4 DATA takes no arguments");
        if (state_ == State::mail) return reply("554 5.5.1 No valid recipients");
        if (state_ != State::rcpt) return reply("503 5.5.1 Need MAIL and RCPT before DATA");
        state_ = State::data;
        data_.clear();
        return reply("354 End data with <CR><LF>.<CR><LF>");
    }
    if (verb == "RSET") {
        reset_transaction();
        return reply("250 2.0.0 Ok");
    }
    if (verb == "NOOP") return reply("250 2.0.0 Ok");
    if (verb == "QUIT") return reply("221 2.0.0 " + hostname_ + " closing connection", true);
    if (verb == "VRFY") return reply("252 2.5.2 Cannot VRFY; send the message and we will try");
    if (verb.empty()) return reply("500 5.5.2 Empty command");
    return reply("500 5.5.2 Command not recognized: " + verb.substr(0, 16));
}

}  // namespace haspool::mail
