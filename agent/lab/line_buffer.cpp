#include "agent/lab/line_buffer.hpp"

namespace haspool::mail {

LineBuffer::Next LineBuffer::next() {
    for (;;) {
        auto nl = buf_.find('\n');
        if (skipping_) {
            if (nl == std::string::npos) {
                buf_.clear();
                return {};
            }
            buf_.erase(0, nl + 1);
            skipping_ = false;
            continue;
        }
        if (nl == std::string::npos) {
            if (buf_.size() > max_) {
                buf_.clear();
                skipping_ = true;
                return {Kind::too_long, ""};
            }
            return {};
        }
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.size() > max_) return {Kind::too_long, ""};
        return {Kind::line, std::move(line)};
    }
}

}  // namespace haspool::mail
