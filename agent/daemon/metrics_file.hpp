#pragma once
// metrics.textfile (docs/agent.md "Metrics"): the status report's Prometheus text
// (agent/control/metrics_text.hpp) for node_exporter's textfile collector. A textfile rather than
// an HTTP endpoint: no listening socket, so nothing new to attack or to firewall.
//
// The file is replaced atomically, so the collector never reads half of it: the text goes to a
// temporary file in the same directory (".NAME.tmp", which the collector skips: it reads only
// *.prom), is fsync'd, then renamed over NAME. The daemon's loop never waits for the disk: it
// hands the newest text to one worker thread, which writes only the newest (a text that was
// not written yet is replaced by the next). A failure is logged once, and so is the recovery;
// nothing depends on the file.
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace haspool::agent {

// Writes `text` to `path` as above; "" or why not (a sentence naming the file and errno's text).
std::string write_file_atomically(const std::string& path, const std::string& text);

class MetricsFile {
public:
    // `prefix` starts each log line ("standby beta: ").
    explicit MetricsFile(std::string prefix);
    // As stop(): the file written last is removed.
    ~MetricsFile();
    MetricsFile(const MetricsFile&) = delete;
    MetricsFile& operator=(const MetricsFile&) = delete;

    // Never blocks on the disk. An empty `path` (metrics.textfile unset, by a reload) removes the
    // file written before; so does a new path, once the new file is written.
    void publish(std::string path, std::string text);
    // A clean stop: drops what was not written yet, waits for the write in progress, removes the
    // file written last. Idempotent.
    void stop();

private:
    struct Pending {
        std::string path, text;
    };
    void work();
    void write(const Pending& p);
    void remove_written();

    std::string prefix_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::optional<Pending> pending_;  // guarded by mu_
    bool stopping_ = false;           // guarded by mu_
    // The worker's own (and stop()'s, once the worker has ended):
    std::string written_;             // the path of the file written last; empty: none
    std::string failing_;             // the last failure logged; empty: the last write went well
    std::thread worker_;
};

}  // namespace haspool::agent
