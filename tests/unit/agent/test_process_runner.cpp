#include <catch2/catch.hpp>

#include "agent/system/process_runner.hpp"

using namespace haspool::raid;
using haspool::agent::ProcessRunner;
using std::chrono::milliseconds;

TEST_CASE("a command's status and combined output come back") {
    ProcessRunner p;
    auto r = p.run({"sh", "-c", "echo out; echo err >&2; exit 3"}, milliseconds(5000));
    CHECK(r.exit_status == 3);
    CHECK(r.error.empty());
    CHECK(r.output.find("out") != std::string::npos);
    CHECK(r.output.find("err") != std::string::npos);
    CHECK(describe_failure({"sh", "-c", "x"}, r).find("'sh -c x' exited with status 3: ") == 0);
}

TEST_CASE("a missing program is reported as not started") {
    ProcessRunner p;
    auto r = p.run({"/nonexistent/haspool-no-such-tool"}, milliseconds(5000));
    CHECK(r.error.rfind("could not be started: ", 0) == 0);
}

TEST_CASE("a command past its timeout is killed") {
    ProcessRunner p;
    auto r = p.run({"sleep", "30"}, milliseconds(100));
    CHECK(r.exit_status == -1);
    CHECK(r.error.find("timed out after 100 ms") != std::string::npos);
}
