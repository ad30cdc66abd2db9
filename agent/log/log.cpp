#include "agent/log/log.hpp"

#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

namespace haspool::log {
namespace {

std::atomic<Level> g_min_level{Level::info};
std::mutex g_mutex;  // guards g_sink and keeps plain lines whole across threads
Sink g_sink;

bool detect_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (!stream) return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st{};
    if (fstat(STDERR_FILENO, &st) != 0) return false;
    return static_cast<unsigned long long>(st.st_dev) == dev &&
           static_cast<unsigned long long>(st.st_ino) == ino;
}

// MESSAGE_ID is journald's own field (the catalog's key); every other key is haspool's.
std::string full_key(const std::string& key) {
    return key.rfind("HASPOOL_", 0) == 0 || key == "MESSAGE_ID" ? key : "HASPOOL_" + key;
}

void to_journal(const Record& r) {
    std::vector<std::string> lines;
    lines.reserve(r.fields.size() + 3);
    lines.push_back("MESSAGE=" + r.message);
    lines.push_back("PRIORITY=" + std::to_string(static_cast<int>(r.level)));
    lines.push_back("SYSLOG_IDENTIFIER=haspool");
    for (const auto& f : r.fields) lines.push_back(full_key(f.key) + "=" + f.value);
    std::vector<iovec> iov(lines.size());
    for (size_t i = 0; i < lines.size(); ++i) {
        iov[i].iov_base = lines[i].data();
        iov[i].iov_len = lines[i].size();
    }
    sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
}

void to_stderr(const Record& r) {
    using namespace std::chrono;
    auto now = system_clock::now();
    std::time_t t = system_clock::to_time_t(now);
    auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::fprintf(stderr, "%s.%03lldZ haspool[%d] %s: %s\n", stamp, static_cast<long long>(ms),
                 static_cast<int>(getpid()), level_name(r.level), r.message.c_str());
    std::fflush(stderr);
}

}  // namespace

const char* level_name(Level level) {
    switch (level) {
        case Level::critical: return "critical";
        case Level::error: return "error";
        case Level::warning: return "warning";
        case Level::notice: return "notice";
        case Level::info: return "info";
        case Level::debug: return "debug";
    }
    return "?";
}

std::optional<Level> parse_level(std::string_view name) {
    for (Level l : {Level::critical, Level::error, Level::warning, Level::notice, Level::info, Level::debug})
        if (name == level_name(l)) return l;
    return std::nullopt;
}

void set_min_level(Level level) { g_min_level = level; }
Level min_level() { return g_min_level; }

void set_sink(Sink sink) {
    std::lock_guard lock(g_mutex);
    g_sink = std::move(sink);
}

bool stderr_is_journal() {
    static const bool is_journal = detect_journal();
    return is_journal;
}

void write(Level level, std::string_view message, std::initializer_list<Field> fields) {
    write(level, message, std::vector<Field>(fields));
}

void write(Level level, std::string_view message, std::vector<Field> fields) {
    if (static_cast<int>(level) > static_cast<int>(g_min_level.load())) return;
    Record r{level, std::string(message), std::move(fields)};
    std::lock_guard lock(g_mutex);
    if (g_sink) {
        g_sink(r);
    } else if (stderr_is_journal()) {
        to_journal(r);
    } else {
        to_stderr(r);
    }
}

}  // namespace haspool::log
