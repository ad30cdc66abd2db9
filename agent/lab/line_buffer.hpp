#pragma once
// Splits a byte stream into lines ending in LF (a preceding CR is dropped), with a length cap:
// a line longer than `max` is reported once as too long and its remainder discarded up to its
// end, so a client cannot make the receiver buffer without bound. Pure.
#include <cstddef>
#include <string>
#include <string_view>

namespace haspool::mail {

class LineBuffer {
  public:
    explicit LineBuffer(std::size_t max) : max_(max) {}

    enum class Kind { none, line, too_long };
    struct Next {
        Kind kind = Kind::none;
        std::string line;
    };

    void append(std::string_view bytes) { buf_.append(bytes); }
    // The next complete line (or a too-long notice); Kind::none when more bytes are needed.
    Next next();

  private:
    std::size_t max_;
    std::string buf_;
    bool skipping_ = false;  // discarding the rest of an overlong line
};

}  // namespace haspool::mail
