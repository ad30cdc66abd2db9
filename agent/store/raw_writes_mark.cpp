#include "agent/store/raw_writes_mark.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "agent/store/node_state.hpp"

namespace haspool::agent {

RawWritesMark::Loaded RawWritesMark::load() const {
    Loaded l;
    std::ifstream in(path());
    if (!in) {
        if (errno == ENOENT) return l;
        l.marked = true;
        l.error = "cannot read " + path() + ": " + std::strerror(errno) + "; counted as marked (a full copy at failback)";
        return l;
    }
    l.marked = true;
    std::getline(in, l.reason);
    return l;
}

std::string RawWritesMark::set(const std::string& reason, int64_t unix_time) const {
    return write_file_durably(dir_, "raw-writes",
                              "raw-written " + std::to_string(unix_time) + " " + reason +
                                  "\n# Y was written outside md: the next failback must copy all of Y onto X.\n"
                                  "# Removed by haspool once the primary reports X rebuilt in full.\n");
}

std::string RawWritesMark::clear() const {
    if (::unlink(path().c_str()) != 0) {
        if (errno == ENOENT) return {};
        return "cannot remove " + path() + ": " + std::strerror(errno);
    }
    int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return "cannot open " + dir_ + " to sync it: " + std::strerror(errno);
    int rc = ::fsync(dfd);
    std::string e = rc != 0 ? "fsync " + dir_ + ": " + std::strerror(errno) : "";
    ::close(dfd);
    return e;
}

}  // namespace haspool::agent
