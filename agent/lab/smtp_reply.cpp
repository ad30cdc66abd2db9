#include "agent/lab/smtp_reply.hpp"

namespace haspool::mail {

ReplyLine parse_reply_line(std::string_view line) {
    ReplyLine r;
    if (line.size() < 3) return r;
    if (line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9') return r;
    r.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (line.size() == 3) {
        r.ok = true;
        return r;
    }
    if (line[3] != ' ' && line[3] != '-') return r;
    r.last = line[3] == ' ';
    r.text = std::string(line.substr(4));
    r.ok = true;
    return r;
}

std::string dot_stuff(std::string_view body) {
    std::string out;
    out.reserve(body.size() + body.size() / 32 + 8);
    while (!body.empty()) {
        auto nl = body.find('\n');
        std::string_view line = body.substr(0, nl);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!line.empty() && line.front() == '.') out.push_back('.');
        out.append(line);
        out.append("\r\n");
        if (nl == std::string_view::npos) break;
        body.remove_prefix(nl + 1);
    }
    out.append(".\r\n");
    return out;
}

}  // namespace haspool::mail
