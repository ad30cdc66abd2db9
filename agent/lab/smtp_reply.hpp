#pragma once
// The client side's view of an SMTP reply line (RFC 5321 4.2): "250-text" continues, "250 text"
// ends the reply. Pure, so the client's parsing is tested without a socket.
#include <string>
#include <string_view>

namespace haspool::mail {

struct ReplyLine {
    bool ok = false;   // a well-formed reply line
    int code = 0;      // 200..599
    bool last = true;  // "NNN " or "NNN" ends the reply; "NNN-" continues it
    std::string text;
};

ReplyLine parse_reply_line(std::string_view line);

// Data lines are dot-stuffed on the way out (RFC 5321 4.5.2); `body` uses "\n" line ends and
// the result uses CRLF and ends with the terminating ".".
std::string dot_stuff(std::string_view body);

}  // namespace haspool::mail
