#pragma once
// The phase table both machines' tests run: every (state, running plan) sub-state, reached
// through the public API, crossed with every event; each failing row names itself.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "agent_test_support.hpp"

namespace haspool::agent::test {

struct PhaseRow {
    const char* event;
    const char* next;  // the phase after the event
    const char* steps;
};

// `phases`: {label, phase, in_flight, reach()}, where reach() returns {m, at}; `events`: name ->
// make(now). `expected`: the outcome per sub-state label; an event not listed keeps the phase and
// runs nothing.
template <class Phases, class Events>
void check_phase_table(const char* role, const Phases& phases, const Events& events,
                       std::map<std::string, std::vector<PhaseRow>> expected) {
    for (const auto& pc : phases) {
        {
            auto r = pc.reach();
            INFO("reaching: " << role << " " << pc.label);
            CHECK(to_string(r.m->phase()) == pc.phase);
            CHECK(r.m->in_flight().size() == pc.in_flight);
        }
        for (const auto& [event_name, make] : events) {
            auto r = pc.reach();
            PhaseRow want{event_name.c_str(), pc.phase, ""};
            for (const auto& row : expected[pc.label])
                if (event_name == row.event) want = row;
            TimePoint now = r.at + 100ms;
            auto d = r.m->handle(make(now), now);
            INFO("row: " << role << " " << pc.label << " x " << event_name << " -> " << to_string(r.m->phase()) << " ["
                         << step_names(d.steps) << "]");
            CHECK(to_string(r.m->phase()) == std::string(want.next));
            CHECK(step_names(d.steps) == want.steps);
            CHECK(r.m->state() == d.next);
        }
    }
}

}  // namespace haspool::agent::test
