#include "agent/daemon/metrics_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "agent/log/log.hpp"

namespace haspool::agent {

namespace {

std::string failed(const std::string& what, const std::string& file) {
    const int err = errno;
    return what + " " + file + ": " + std::strerror(err);
}

// ".NAME.tmp" beside NAME.
std::string temporary_of(const std::string& path) {
    size_t slash = path.find_last_of('/');
    std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
    return dir + "." + path.substr(slash == std::string::npos ? 0 : slash + 1) + ".tmp";
}

}  // namespace

std::string write_file_atomically(const std::string& path, const std::string& text) {
    const std::string tmp = temporary_of(path);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return failed("cannot create", tmp);
    std::string error;
    // Readable by node_exporter's user whatever the daemon's umask.
    if (::fchmod(fd, 0644) != 0) error = failed("cannot chmod", tmp);
    for (size_t done = 0; error.empty() && done < text.size();) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) error = failed("cannot write", tmp);
        else done += static_cast<size_t>(n);
    }
    if (error.empty() && ::fsync(fd) != 0) error = failed("cannot fsync", tmp);
    if (::close(fd) != 0 && error.empty()) error = failed("cannot close", tmp);
    if (error.empty() && ::rename(tmp.c_str(), path.c_str()) != 0) error = failed("cannot rename " + tmp + " to", path);
    if (!error.empty()) ::unlink(tmp.c_str());
    return error;
}

MetricsFile::MetricsFile(std::string prefix) : prefix_(std::move(prefix)), worker_([this] { work(); }) {}

MetricsFile::~MetricsFile() { stop(); }

void MetricsFile::publish(std::string path, std::string text) {
    {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        pending_ = Pending{std::move(path), std::move(text)};
    }
    cv_.notify_one();
}

void MetricsFile::stop() {
    {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        stopping_ = true;
        pending_.reset();
    }
    cv_.notify_all();
    worker_.join();
    remove_written();
}

void MetricsFile::work() {
    for (;;) {
        Pending p;
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [this] { return stopping_ || pending_; });
            if (stopping_) return;
            p = std::move(*pending_);
            pending_.reset();
        }
        write(p);
    }
}

void MetricsFile::write(const Pending& p) {
    if (p.path.empty()) return remove_written();
    std::string e = write_file_atomically(p.path, p.text);
    if (e.empty()) {
        if (p.path != written_) remove_written();
        written_ = p.path;
        if (!failing_.empty())
            log::info(prefix_ + "metrics: " + p.path + " is written again", {{"EVENT", "metrics-written"}});
        failing_.clear();
    } else if (e != failing_) {
        log::warning(prefix_ + "metrics: " + e + " (nothing depends on it; retried every interval)",
                     {{"EVENT", "metrics-failed"}});
        failing_ = e;
    }
}

void MetricsFile::remove_written() {
    if (written_.empty()) return;
    if (::unlink(written_.c_str()) != 0 && errno != ENOENT)
        log::warning(prefix_ + "metrics: " + failed("cannot remove", written_) + ", ignoring", {{"EVENT", "metrics-failed"}});
    written_.clear();
}

}  // namespace haspool::agent
