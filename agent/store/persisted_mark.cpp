#include "agent/store/persisted_mark.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "agent/store/node_state.hpp"

namespace haspool::agent {

PersistedMark::Loaded PersistedMark::load() const {
    Loaded l;
    std::ifstream in(path());
    if (!in) {
        if (errno == ENOENT) return l;
        l.marked = true;
        l.error = "cannot read " + path() + ": " + std::strerror(errno) + "; counted as marked (the safe side: a full copy)";
        return l;
    }
    l.marked = true;
    std::getline(in, l.reason);
    return l;
}

std::string PersistedMark::set(const std::string& reason, int64_t unix_time) const {
    return write_file_durably(dir_, name_, word_ + " " + std::to_string(unix_time) + " " + reason + "\n" + explanation_);
}

std::string PersistedMark::clear() const {
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
