// libFuzzer target for the drill's SMTP receiver (agent/lab): the bytes a client sends, split
// into lines by LineBuffer and answered by SmtpSession exactly as smtp_server.cpp does, with a
// message store that succeeds or fails as the input says.
//
// Input: mode u8 | the client's bytes.
//   mode bit 0: the store fails (the receiver must answer 451, not 250);
//   mode bits 1-7: the stream also arrives in pieces of that many bytes (0: one piece only).
//
// What must hold: every reply line is "NNN text" or, inside a multi-line reply, "NNN-text",
// with one code per reply; a message is stored only after DATA, with a sender, 1 to 100
// recipients, at most the size limit and no line over 998 bytes, and its text is exactly the
// data lines with their leading dot removed; "250 ... stored" answers a store that succeeded
// and nothing else; the conversation is the same whichever way TCP splits the stream.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "agent/lab/line_buffer.hpp"
#include "agent/lab/smtp_session.hpp"

using namespace haspool::mail;

namespace {

constexpr std::size_t kMaxMessage = 4096;

void check(bool ok) {
    if (!ok) std::abort();
}

bool digit(char c) { return c >= '0' && c <= '9'; }

void check_reply(const std::vector<std::string>& lines) {
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string& l = lines[i];
        check(l.size() >= 3 && l[0] >= '2' && l[0] <= '5' && digit(l[1]) && digit(l[2]));
        check(l.compare(0, 3, lines[0], 0, 3) == 0);
        const bool last = i + 1 == lines.size();
        if (l.size() > 3) check(l[3] == (last ? ' ' : '-'));
        else check(last);
    }
}

// One conversation; returns its transcript (replies and stored messages) for comparison.
std::string converse(std::string_view bytes, std::size_t piece, bool store_fails) {
    std::string transcript;
    bool stored = false;
    std::string expected;  // the message as the data lines make it
    bool data_ok = true;   // no overlong line in this message
    SmtpSession s(
        "mx.fuzz",
        [&](const Envelope& e, const std::string& data) {
            check(!e.rcpt_to.empty() && e.rcpt_to.size() <= SmtpSession::kMaxRecipients);
            check(data.size() <= kMaxMessage && data == expected && data_ok);
            std::size_t at = 0;
            for (std::size_t nl; (nl = data.find('\n', at)) != std::string::npos; at = nl + 1)
                check(nl - at + 2 <= SmtpSession::kMaxTextLine);
            transcript += "stored from <" + e.mail_from + "> " + std::to_string(data.size()) + " bytes\n";
            stored = !store_fails;
            return store_fails ? Delivered{"disk full", ""} : Delivered{"", "m1"};
        },
        kMaxMessage);
    LineBuffer lines(SmtpSession::kMaxTextLine);
    transcript += s.greeting() + "\n";
    bool open = true;
    if (piece == 0) piece = bytes.size();
    for (std::size_t at = 0; open && at < bytes.size(); at += piece) {
        lines.append(bytes.substr(at, piece));
        for (;;) {
            LineBuffer::Next l = lines.next();
            if (l.kind == LineBuffer::Kind::none) break;
            const bool in_data = s.in_data();
            if (in_data && l.kind == LineBuffer::Kind::line && l.line != ".") {
                std::string_view text = l.line;
                if (!text.empty() && text.front() == '.') text.remove_prefix(1);
                expected.append(text).push_back('\n');
                if (text.size() + 2 > SmtpSession::kMaxTextLine) data_ok = false;
            }
            if (in_data && l.kind == LineBuffer::Kind::too_long) data_ok = false;
            stored = false;
            SessionOutput out = l.kind == LineBuffer::Kind::line ? s.on_line(l.line) : s.on_line_too_long();
            check_reply(out.lines);
            for (const auto& r : out.lines) {
                const bool says_stored = r.rfind("250 2.0.0 Ok: stored as ", 0) == 0;
                check(says_stored == (in_data && stored));
                transcript += r + "\n";
            }
            if (!in_data && s.in_data()) expected.clear(), data_ok = true;  // DATA accepted: a new message
            if (out.close) open = false;
            if (!open) break;
        }
    }
    return transcript;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const bool store_fails = data[0] & 1;
    const std::size_t piece = data[0] >> 1;
    const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
    const std::string whole = converse(bytes, 0, store_fails);
    if (piece) check(converse(bytes, piece, store_fails) == whole);
    return 0;
}
