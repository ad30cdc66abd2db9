#include "raid/command_runner.hpp"

#include <cstring>


namespace haspool::raid {

namespace {

std::string tail_lines(const std::string& s, int lines) {
    size_t pos = s.size();
    while (pos > 0 && (s[pos - 1] == '\n' || s[pos - 1] == ' ')) --pos;
    size_t end = pos;
    for (int i = 0; i < lines && pos > 0; ++i) {
        size_t nl = s.rfind('\n', pos - 1);
        pos = nl == std::string::npos ? 0 : nl;
        if (nl == std::string::npos) break;
    }
    std::string t = s.substr(pos, end - pos);
    while (!t.empty() && t.front() == '\n') t.erase(t.begin());
    for (char& c : t)
        if (c == '\n') c = ' ';
    return t;
}

}  // namespace

std::string join_argv(const std::vector<std::string>& argv) {
    std::string s;
    for (const auto& a : argv) {
        if (!s.empty()) s += ' ';
        s += a;
    }
    return s;
}

std::string describe_failure(const std::vector<std::string>& argv, const CommandResult& r) {
    std::string s = "'" + join_argv(argv) + "' ";
    if (!r.error.empty())
        s += r.error;
    else
        s += "exited with status " + std::to_string(r.exit_status);
    std::string t = tail_lines(r.output, 3);
    if (!t.empty()) s += ": " + t;
    return s;
}

}  // namespace haspool::raid
