// `haspool plan failback` on a live cluster (issue 15 item 7): the plan from the primary's
// machine as it stands, and the figures rendered for the operator.
#include <catch2/catch.hpp>

#include "agent_test_support.hpp"
#include "agent/control/failback_preview.hpp"

using namespace haspool;
using namespace haspool::agent;
using namespace haspool::agent::test;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<PrimaryMachine> standing_by(MirrorHealth y_md = MirrorHealth::unknown, bool x_lost = false) {
    PrimaryMachine::Options o;
    o.x_lost = x_lost;
    auto m = std::make_unique<PrimaryMachine>(example_config(), base_lineage(), o);
    m->start(t0);
    PeerStatus b = standby_says(StandbyState::ACTIVE, base_lineage().bumped(true));
    b.md = y_md;
    m->handle(event::HeartbeatReceived{b, heard(t0 + 500ms, t0)}, t0 + 500ms);
    REQUIRE(m->state() == PrimaryState::STANDING_BY);
    return m;
}

FailbackPreviewFacts facts(const PrimaryMachine& m) {
    FailbackPreviewFacts f;
    f.primary = "alpha";
    f.standby = "beta";
    f.plan = preview_failback(example_config(), m);
    return f;
}

}  // namespace

TEST_CASE("failback preview: from STANDING_BY, the handback and failback plans with the bitmap union") {
    auto m = standing_by();
    FailbackPreview p = preview_failback(example_config(), *m);
    CHECK(p.why_not.empty());
    CHECK(p.full_copy.empty());
    CHECK(step_names(p.failback).find("MergeBitmap") != std::string::npos);
    CHECK(step_names(p.failback).find("ReAddMember") != std::string::npos);
    CHECK(step_names(p.failback).find("AddMemberFull") == std::string::npos);
    CHECK(step_names(p.handback).find("StopMirror") != std::string::npos);
    CHECK(m->state() == PrimaryState::STANDING_BY);  // nothing changed
}

TEST_CASE("failback preview: a full copy when Y was written raw or X is lost, and why") {
    FailbackPreview raw = preview_failback(example_config(), *standing_by(MirrorHealth::raw_written));
    CHECK(raw.full_copy.find("Y was written outside md") == 0);
    CHECK(step_names(raw.failback).find("AddMemberFull") != std::string::npos);
    FailbackPreview lost = preview_failback(example_config(), *standing_by(MirrorHealth::unknown, true));
    CHECK(lost.full_copy.find("md had failed X") == 0);
}

TEST_CASE("failback preview: none outside STANDING_BY") {
    PrimaryMachine m(example_config(), base_lineage(), PrimaryMachine::Options{});
    m.start(t0);
    FailbackPreviewFacts f;
    f.primary = "alpha";
    f.standby = "beta";
    f.plan = preview_failback(example_config(), m);
    CHECK(f.plan.why_not == "alpha is WAIT_PEER, not STANDING_BY: there is no service on beta to fail back from");
    CHECK(render_failback_preview(f) ==
          "no failback to preview: alpha is WAIT_PEER, not STANDING_BY: there is no service on beta to fail back from\n");
}

TEST_CASE("failback preview: the copy between the larger bitmap and the sum, the time at md's speed, the downtime") {
    auto m = standing_by();
    FailbackPreviewFacts f = facts(*m);
    f.x = BitmapFigures{3, 128, 1 << 20, {}};
    f.y = BitmapFigures{10, 128, 1 << 20, {}};
    f.speed_bytes_per_second = 4 << 20;
    f.last_handback = 1900ms;
    f.last_failback = 1300ms;
    std::string t = render_failback_preview(f);
    INFO(t);
    CHECK(t.rfind("failback preview (asked alpha's daemon and beta's):\n  on beta (standby), the handback:\n    1. ", 0) == 0);
    CHECK(t.find("\n  on alpha (primary), the failback:\n    1. ") != std::string::npos);
    CHECK(t.find("\n  md will copy: between 10.0 MiB and 13.0 MiB of 128.0 MiB, in chunks of 1024 KiB (X 3 of 128 "
                 "chunk(s) dirty; Y 10 of 128 chunk(s) dirty; md copies their union)\n") != std::string::npos);
    CHECK(t.find("\n  copy time: about 2.5s to 3.2s at 4.0 MiB/s (md's last measured resync speed), with mail served "
                 "meanwhile\n") != std::string::npos);
    CHECK(t.find("\n  handback downtime: about 3.2s as last time (beta's HANDBACK 1.9s + alpha's FAILBACK 1.3s)\n") !=
          std::string::npos);
}

TEST_CASE("failback preview: what is unknown is said, never guessed") {
    auto m = standing_by();
    FailbackPreviewFacts f = facts(*m);
    f.x = BitmapFigures{0, 0, 0, "examining the bitmap of /dev/vda: mdadm exited 1"};
    std::string t = render_failback_preview(f);
    INFO(t);
    CHECK(t.rfind("failback preview (asked alpha's daemon):", 0) == 0);
    CHECK(t.find("  md will copy: unknown (X's bitmap: examining the bitmap of /dev/vda: mdadm exited 1; Y's bitmap: "
                 "beta did not answer; md copies their union)\n") != std::string::npos);
    CHECK(t.find("  copy time: md has not measured a resync speed since this daemon started\n") != std::string::npos);
    CHECK(t.find("  handback downtime: not measured yet (no handback on beta since its daemon started)\n") != std::string::npos);
    f.y = BitmapFigures{7, 64, 1 << 20, {}};
    t = render_failback_preview(f);
    CHECK(t.find("  md will copy: at least 7.0 MiB (the other bitmap is unknown) of 64.0 MiB") != std::string::npos);
    // A full copy: the device's size.
    auto raw = standing_by(MirrorHealth::raw_written);
    FailbackPreviewFacts full = facts(*raw);
    full.y = BitmapFigures{7, 64, 1 << 20, {}};
    CHECK(render_failback_preview(full).find("  md will copy: all of it, 64.0 MiB (X is added in full: Y was written outside md") !=
          std::string::npos);
}
