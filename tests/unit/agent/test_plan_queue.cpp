// The batches in flight (agent/core/plan_queue.hpp): one outcome per batch, oldest first; at
// most one batch awaited; a released plan's outcome decides nothing.
#include <catch2/catch.hpp>

#include "agent/core/plan_queue.hpp"

using namespace haspool::agent;

namespace {
enum class TestPlan { none, main, other, side };
}

TEST_CASE("plan queue: outcomes come back in the order the batches were queued") {
    PlanQueue<TestPlan> q;
    CHECK(q.awaited() == TestPlan::none);
    CHECK_FALSE(q.pop());
    q.queued(TestPlan::side, false);
    q.queued(TestPlan::main, true);
    CHECK(q.size() == 2);
    CHECK(q.awaited() == TestPlan::main);
    auto first = q.pop();
    REQUIRE(first);
    CHECK(first->plan == TestPlan::side);  // the side batch queued first reports first
    CHECK_FALSE(first->awaited);
    CHECK(q.awaited() == TestPlan::main);
    auto second = q.pop();
    REQUIRE(second);
    CHECK(second->plan == TestPlan::main);
    CHECK(second->awaited);
    CHECK(q.awaited() == TestPlan::none);
    CHECK(q.size() == 0);
}

TEST_CASE("plan queue: a new awaited plan releases the one before, release leaves only side batches") {
    PlanQueue<TestPlan> q;
    q.queued(TestPlan::main, true);
    q.queued(TestPlan::other, true);
    CHECK(q.awaited() == TestPlan::other);
    auto left_behind = q.pop();
    REQUIRE(left_behind);
    CHECK(left_behind->plan == TestPlan::main);
    CHECK_FALSE(left_behind->awaited);  // its outcome decides nothing
    q.release();
    CHECK(q.awaited() == TestPlan::none);
    CHECK(q.size() == 1);  // still to come, awaited by nobody
}
