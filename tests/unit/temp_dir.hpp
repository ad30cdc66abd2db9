#pragma once
// A private directory under /tmp for one test, removed with everything in it afterwards.
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace haspool::test {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/haspool-test-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    // Writes `text` to path/name (creating directories) with `mode`; returns the file's path.
    std::filesystem::path write(const std::string& name, const std::string& text, mode_t mode = 0600) {
        std::filesystem::path p = path / name;
        std::filesystem::create_directories(p.parent_path());
        std::ofstream(p) << text;
        ::chmod(p.c_str(), mode);
        return p;
    }
};

}  // namespace haspool::test
