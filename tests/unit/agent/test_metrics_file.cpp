// metrics.textfile on a real filesystem: written whole through a temporary file and a rename,
// mode 0644 whatever the umask, the temporary never left behind; the worker writes the newest
// text, moves to a new path, and removes the file at a clean stop.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "../temp_dir.hpp"
#include "agent/daemon/metrics_file.hpp"

using namespace haspool::agent;
using haspool::test::TempDir;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Waits up to 5 s for `ok` (the worker writes on its own thread).
template <class F>
bool eventually(F ok) {
    for (int i = 0; i < 500; ++i) {
        if (ok()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return ok();
}

size_t entries(const fs::path& dir) { return static_cast<size_t>(std::distance(fs::directory_iterator(dir), {})); }

}  // namespace

TEST_CASE("metrics file: written whole, 0644, replaced, no temporary left") {
    TempDir d;
    const std::string f = (d.path / "haspool.prom").string();
    mode_t old = ::umask(077);
    CHECK(write_file_atomically(f, "haspool_generation 1\n") == "");
    ::umask(old);
    CHECK(read(f) == "haspool_generation 1\n");
    struct stat st {};
    REQUIRE(::stat(f.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0644);
    CHECK(write_file_atomically(f, "haspool_generation 2\n") == "");
    CHECK(read(f) == "haspool_generation 2\n");
    CHECK(entries(d.path) == 1);
}

TEST_CASE("metrics file: a missing directory is a sentence, and leaves nothing") {
    TempDir d;
    const std::string f = (d.path / "gone" / "haspool.prom").string();
    CHECK(write_file_atomically(f, "x 1\n") ==
          "cannot create " + (d.path / "gone" / ".haspool.prom.tmp").string() + ": No such file or directory");
    // A directory where the file should be: the rename fails, the temporary goes.
    fs::create_directory(d.path / "dir.prom");
    CHECK(write_file_atomically((d.path / "dir.prom").string(), "x 1\n").rfind("cannot rename ", 0) == 0);
    CHECK(entries(d.path) == 1);
}

TEST_CASE("metrics file: the worker writes the newest text, follows a new path, removes at stop") {
    TempDir d;
    const fs::path a = d.path / "a.prom", b = d.path / "b.prom";
    MetricsFile m("test: ");
    m.publish(a.string(), "v 1\n");
    m.publish(a.string(), "v 2\n");
    CHECK(eventually([&] { return read(a) == "v 2\n"; }));
    m.publish(b.string(), "v 3\n");  // a reload moved it: the old file goes once the new one is there
    CHECK(eventually([&] { return read(b) == "v 3\n" && !fs::exists(a); }));
    m.publish("", "");  // a reload turned it off
    CHECK(eventually([&] { return !fs::exists(b); }));
    m.publish(a.string(), "v 4\n");
    CHECK(eventually([&] { return read(a) == "v 4\n"; }));
    m.stop();
    CHECK_FALSE(fs::exists(a));
    CHECK(entries(d.path) == 0);
    m.publish(a.string(), "v 5\n");  // after stop: ignored
    std::this_thread::sleep_for(50ms);
    CHECK_FALSE(fs::exists(a));
}
