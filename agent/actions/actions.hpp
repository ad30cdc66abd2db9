#pragma once
// Every real-system action behind takeover and failback, for the code that wires them behind the
// agent's System interface. One header per concern; docs/actions.md describes them all.
#include "action_result.hpp"
#include "arp_probe.hpp"
#include "command_runner.hpp"
#include "fence.hpp"
#include "gratuitous_arp.hpp"
#include "hooks.hpp"
#include "ipv4_address.hpp"
#include "service_address.hpp"
#include "spool_filesystem.hpp"
#include "systemd_units.hpp"
