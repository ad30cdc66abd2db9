#pragma once
// This node's machine, of either role, behind one interface (pure): the daemon starts it,
// hands it events and tells it the persisted lineage after steps, and never asks which role it
// runs. A thin wrapper over PrimaryMachine and StandbyMachine's public API; their decisions
// come back in the one form the daemon needs.
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "agent/core/primary_machine.hpp"
#include "agent/core/standby_machine.hpp"
#include "raid/md_status.hpp"

namespace haspool::agent {

// A decision of either machine.
struct NodeDecision {
    std::string state;  // the next state's name
    uint8_t wire = 0;   // ... and its wire byte
    std::vector<Step> steps;
    std::optional<TimePoint> wake_at;
    std::string reason;
    bool undo = false;  // Decision::undo_on_failure
    bool warn = false;
};

class NodeMachine {
public:
    // Both read `c` by reference for as long as they live: the daemon's one configuration.
    static NodeMachine primary(const config::Config& c, Lineage lineage, PrimaryMachine::Options o);
    // `raw_written`: the persisted mark of an earlier raw takeover is present.
    static NodeMachine standby(const config::Config& c, Lineage lineage, bool raw_written);

    bool standby() const { return std::holds_alternative<StandbyMachine>(m_); }
    const char* role() const { return standby() ? "standby" : "primary"; }

    // The first decision. `in_use` is what the standby found using Y at start (the primary has no
    // such question and ignores it).
    NodeDecision start(TimePoint now, const std::optional<StandbyMachine::SpoolInUse>& in_use);
    NodeDecision handle(const Event& e, TimePoint now);
    // The persisted lineage after steps changed it.
    void lineage_changed(const Lineage& l);

    // What our heartbeats say of the mirror. The primary: the machine's word, made worse (never
    // better) by what md shows (MIRRORED while the initial sync after --init still runs says
    // "resyncing", so the standby knows Y is incomplete). The standby has no mirror of its own:
    // it says whether Y was written outside md.
    // What is wrong with this node's disk, one sentence, or empty: X lost (primary), Y failed or
    // written outside md (standby). `haspool status` shows it.
    std::string disk_problem() const;
    MirrorHealth mirror_health(const std::optional<raid::MdSnapshot>& md) const;

private:
    template <class M, class... A>
    NodeMachine(std::in_place_type_t<M> which, A&&... a) : m_(which, std::forward<A>(a)...) {}

    std::variant<PrimaryMachine, StandbyMachine> m_;

public:
    // The primary's machine (nullptr on the standby): read-only views such as the failback preview.
    const PrimaryMachine* primary_machine() const { return std::get_if<PrimaryMachine>(&m_); }
};

}  // namespace haspool::agent
