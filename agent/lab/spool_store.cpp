#include "agent/lab/spool_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace haspool::mail {

namespace {

std::string errno_text(const std::string& what, const std::string& path) {
    return what + " " + path + ": " + std::strerror(errno);
}

std::string fsync_path(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno_text("cannot open directory", path);
    std::string e;
    if (::fsync(fd) != 0) e = errno_text("fsync of directory", path);
    ::close(fd);
    return e;
}

std::string make_dir(const std::string& path) {
    if (::mkdir(path.c_str(), 0750) == 0) {
        auto slash = path.find_last_of('/');
        return fsync_path(slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash));
    }
    if (errno != EEXIST) return errno_text("cannot create", path);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return path + " exists and is not a directory";
    return "";
}

std::string write_all(int fd, const std::string& s, const std::string& path) {
    std::size_t off = 0;
    while (off < s.size()) {
        ssize_t n = ::write(fd, s.data() + off, s.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_text("write to", path);
        off += static_cast<std::size_t>(n);
    }
    return "";
}

}  // namespace

std::string SpoolStore::prepare(const std::string& dir) {
    for (const std::string& d : {dir, dir + "/tmp", dir + "/new"})
        if (std::string e = make_dir(d); !e.empty()) return e;
    return "";
}

Delivered SpoolStore::store(const Envelope& env, const std::string& data) {
    using namespace std::chrono;
    const auto now = duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
    // maildir's unique name: time, pid and a per-process counter, host
    const std::string name = std::to_string(now / 1000000) + ".M" + std::to_string(now % 1000000) + "P" +
                             std::to_string(::getpid()) + "Q" + std::to_string(++seq_) + "." + hostname_;
    const std::string tmp = dir_ + "/tmp/" + name;
    const std::string dst = dir_ + "/new/" + name;

    std::string head = "Return-Path: <" + env.mail_from + ">\n";
    for (const auto& r : env.rcpt_to) head += "X-Haspool-Envelope-To: <" + r + ">\n";

    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) return {errno_text("cannot create", tmp), ""};
    std::string e = write_all(fd, head, tmp);
    if (e.empty()) e = write_all(fd, data, tmp);
    if (e.empty() && ::fsync(fd) != 0) e = errno_text("fsync of", tmp);
    if (::close(fd) != 0 && e.empty()) e = errno_text("close of", tmp);
    if (e.empty() && ::rename(tmp.c_str(), dst.c_str()) != 0) e = errno_text("cannot rename into", dst);
    if (e.empty()) e = fsync_path(dir_ + "/new");
    if (!e.empty()) {
        ::unlink(tmp.c_str());
        return {e, ""};
    }
    return {"", name};
}

}  // namespace haspool::mail
