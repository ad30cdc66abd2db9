#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>

#include "raid/md_control.hpp"

using namespace haspool::raid;

namespace {

// Records argv and answers from a script of results, in order.
struct FakeRunner : CommandRunner {
    std::vector<std::vector<std::string>> calls;
    std::deque<CommandResult> answers;
    CommandResult run(const std::vector<std::string>& argv, std::chrono::milliseconds) override {
        calls.push_back(argv);
        if (answers.empty()) return CommandResult{0, "", ""};
        CommandResult r = answers.front();
        answers.pop_front();
        return r;
    }
};

CreateRequest request() {
    CreateRequest r;
    r.md_device = "/dev/md/haspool";
    r.name = "haspool";
    r.local_member = "/dev/vda";
    r.remote_member = "/dev/nbd0";
    r.bitmap_chunk = "1M";
    return r;
}

}  // namespace

TEST_CASE("create: metadata 1.0, internal bitmap, only the NBD leg write-mostly") {
    std::vector<std::string> want = {"mdadm", "--create", "/dev/md/haspool", "--run", "--level=1",
                                     "--raid-devices=2", "--metadata=1.0", "--bitmap=internal",
                                     "--bitmap-chunk=1M", "--name=haspool", "/dev/vda", "--write-mostly", "/dev/nbd0"};
    CHECK(create_argv(request()) == want);
    CreateRequest wb = request();
    wb.write_behind = 256;
    auto a = create_argv(wb);
    CHECK(std::find(a.begin(), a.end(), "--write-behind=256") != a.end());
}

TEST_CASE("create probes both members and runs mdadm only when both are empty") {
    FakeRunner f;
    f.answers = {{2, "", ""}, {2, "", ""}, {0, "", ""}};  // blkid: nothing, nothing; mdadm ok
    MdControl md(f);
    CHECK(md.create(request()).empty());
    REQUIRE(f.calls.size() == 3);
    CHECK(f.calls[0][0] == "blkid");
    CHECK(f.calls[0].back() == "/dev/vda");
    CHECK(f.calls[1].back() == "/dev/nbd0");
    CHECK(f.calls[2][0] == "mdadm");
}

TEST_CASE("create refuses a member holding a filesystem, and changes nothing") {
    FakeRunner f;
    f.answers = {{0, "ext4\n", ""}};
    MdControl md(f);
    std::string e = md.create(request());
    CHECK(e == "creating /dev/md/haspool: refusing: /dev/vda holds ext4 (use --force to overwrite it)");
    CHECK(f.calls.size() == 1);  // no mdadm
}

TEST_CASE("create --force skips the probe") {
    FakeRunner f;
    MdControl md(f);
    CreateRequest r = request();
    r.force = true;
    CHECK(md.create(r).empty());
    REQUIRE(f.calls.size() == 1);
    CHECK(f.calls[0][1] == "--create");
}

TEST_CASE("create rejects bad requests before running anything") {
    FakeRunner f;
    MdControl md(f);
    CreateRequest same = request();
    same.remote_member = same.local_member;
    CHECK(md.create(same).find("both members are /dev/vda") != std::string::npos);
    CreateRequest wb = request();
    wb.write_behind = 0;
    CHECK(md.create(wb).find("write-behind") != std::string::npos);
    CHECK(f.calls.empty());
}

TEST_CASE("mdadm failures carry argv, status and the output's tail") {
    FakeRunner f;
    f.answers = {{1, "mdadm: Cannot get exclusive access to /dev/md/haspool:Perhaps a running process, mounted filesystem or active volume group?\n", ""}};
    MdControl md(f);
    std::string e = md.stop("/dev/md/haspool");
    CHECK(e.find("stopping /dev/md/haspool: 'mdadm --stop /dev/md/haspool' exited with status 1: mdadm: Cannot get exclusive") == 0);
}

TEST_CASE("fail, remove, re-add and assemble build mdadm's argv") {
    FakeRunner f;
    MdControl md(f);
    CHECK(md.fail("/dev/md/haspool", "/dev/nbd0").empty());
    CHECK(md.remove("/dev/md/haspool", "failed").empty());
    CHECK(md.re_add("/dev/md/haspool", "/dev/nbd0", false).empty());
    CHECK(md.assemble("/dev/md/haspool", {"/dev/vda"}, true).empty());
    REQUIRE(f.calls.size() == 4);
    CHECK(f.calls[0] == std::vector<std::string>{"mdadm", "/dev/md/haspool", "--fail", "/dev/nbd0"});
    CHECK(f.calls[1] == std::vector<std::string>{"mdadm", "/dev/md/haspool", "--remove", "failed"});
    CHECK(f.calls[2] == std::vector<std::string>{"mdadm", "/dev/md/haspool", "--re-add", "/dev/nbd0"});
    CHECK(f.calls[3] == std::vector<std::string>{"mdadm", "--assemble", "/dev/md/haspool", "--run", "/dev/vda"});
    CHECK_FALSE(md.assemble("/dev/md/haspool", {}, true).empty());
}

TEST_CASE("add_full wipes the superblock before --add, so mdadm cannot turn it into a re-add") {
    FakeRunner f;
    MdControl md(f);
    CHECK(md.add_full("/dev/md/haspool", "/dev/vda", false).empty());
    REQUIRE(f.calls.size() == 2);
    CHECK(f.calls[0] == std::vector<std::string>{"mdadm", "--zero-superblock", "/dev/vda"});
    CHECK(f.calls[1] == std::vector<std::string>{"mdadm", "/dev/md/haspool", "--add", "/dev/vda"});
    for (const auto& c : f.calls) CHECK(std::find(c.begin(), c.end(), "--re-add") == c.end());
}

TEST_CASE("zero_superblock: no superblock (status 4) is done, a busy device is refused and nothing is added") {
    FakeRunner f;
    f.answers = {{4, "mdadm: Unrecognised md component device - /dev/nbd0\n", ""}, {0, "", ""}};
    MdControl md(f);
    CHECK(md.add_full("/dev/md/haspool", "/dev/nbd0", false).empty());
    CHECK(f.calls.size() == 2);

    FakeRunner busy;
    busy.answers = {{2, "mdadm: Couldn't open /dev/vda for write - not zeroing\n", ""}};
    MdControl md2(busy);
    std::string e = md2.add_full("/dev/md/haspool", "/dev/vda", false);
    CHECK(e.find("adding /dev/vda to /dev/md/haspool in full: wiping the md superblock of /dev/vda: "
                 "'mdadm --zero-superblock /dev/vda' exited with status 2") == 0);
    CHECK(busy.calls.size() == 1);  // no --add after a failed wipe

    FakeRunner add_fails;
    add_fails.answers = {{0, "", ""}, {1, "mdadm: /dev/md/haspool has failed so using --add cannot work\n", ""}};
    MdControl md3(add_fails);
    CHECK(md3.add_full("/dev/md/haspool", "/dev/vda", false).find("'mdadm /dev/md/haspool --add /dev/vda' exited with status 1") !=
          std::string::npos);
}

TEST_CASE("detail --test exit codes map to health") {
    FakeRunner f;
    f.answers = {{0, "", ""}, {1, "", ""}, {2, "", ""}, {4, "mdadm: cannot open /dev/md/x", ""}, {-1, "", "timed out"}};
    MdControl md(f);
    CHECK(md.detail_test("/dev/md/x").health == MdHealth::ok);
    CHECK(md.detail_test("/dev/md/x").health == MdHealth::degraded);
    CHECK(md.detail_test("/dev/md/x").health == MdHealth::failed);
    auto e = md.detail_test("/dev/md/x");
    CHECK(e.health == MdHealth::error);
    CHECK(e.error.find("cannot open") != std::string::npos);
    auto t = md.detail_test("/dev/md/x");
    CHECK(t.health == MdHealth::error);
    CHECK(t.error.find("timed out") != std::string::npos);
}

TEST_CASE("conditions parse by name") {
    CHECK(parse_condition("clean") == MdCondition::clean);
    CHECK(parse_condition("degraded") == MdCondition::degraded);
    CHECK(parse_condition("idle") == MdCondition::idle);
    CHECK_FALSE(parse_condition("happy"));
}
