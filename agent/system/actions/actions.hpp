#pragma once
// Every real-system action behind takeover and failback, for the code that wires them behind the
// agent's System interface. One header per concern; docs/actions.md describes them all.
#include "agent/system/actions/action_result.hpp"
#include "agent/system/address/arp_probe.hpp"
#include "agent/system/actions/command_runner.hpp"
#include "agent/system/actions/fence.hpp"
#include "agent/system/address/gratuitous_arp.hpp"
#include "agent/system/actions/hooks.hpp"
#include "agent/system/address/ipv4_address.hpp"
#include "agent/system/address/service_address.hpp"
#include "agent/system/actions/spool_filesystem.hpp"
#include "agent/system/actions/systemd_units.hpp"
