#!/usr/bin/env bash
# The service address between two network namespaces joined by a veth pair: the peer (A) and
# the node taking the address (B). Real rtnetlink, real AF_PACKET ARP, the peer's real
# neighbour table; tcpdump in A sees the gratuitous ARPs.
source "$(dirname "$0")/../../lib.sh"
source "$(dirname "$0")/lib_actions.sh"
requires_root
requires ip tcpdump

A=hs-$RANDOM$RANDOM-a
B=hs-$RANDOM$RANDOM-b
veth_namespaces "$A" "$B"
VIP=192.0.2.100
in_b() { local name=$1; shift; run_capture "$name" ip netns exec "$B" "$HASPOOL_ACTION" "$@"; }
state_b() { ip -n "$B" -4 -o addr show dev vB | sed 's/ *valid_lft.*//'; }

# --- duplicate-address probe: nobody has the VIP -> free
in_b probe-free probe vB "$VIP/24" 600
expect_rc 0 probe-free
expect_in probe-free out "ok: no answer to 3 ARP probes for $VIP on vB within 600 ms"

# --- the peer holds the VIP -> in use, naming the peer's MAC, and B adds nothing
ip -n "$A" addr add "$VIP/32" dev vA
in_b probe-taken probe vB "$VIP/24" 600
expect_rc 1 probe-taken
expect_in probe-taken err "service address $VIP is in use: $MAC_A answered the duplicate-address probe on vB; refusing to take it"
ip -n "$A" addr del "$VIP/32" dev vA

# --- the peer probing for the VIP at the same time (arping -D, as a second contender would) is a
#     conflict too (RFC 5227 2.1.1)
if command -v arping >/dev/null; then
    start_bg arping ip netns exec "$A" arping -D -I vA -c 100 "$VIP"  # one probe a second
    arping_pid=$last_pid
    in_b probe-contended probe vB "$VIP/24" 2500
    expect_rc 1 probe-contended
    expect_in probe-contended err "service address $VIP is in use: $MAC_A is probing for it at the same time on vB"
    stop_pid "$arping_pid"
else
    log "arping missing: the simultaneous-probe case is skipped"
fi

# --- the peer remembers the VIP at an old MAC (the failed primary's), as after a real failure
ip -n "$A" neigh replace "$VIP" lladdr 02:00:00:00:00:99 dev vA nud stale
before=$(state_b)

# capture ARP in the peer namespace
start_bg tcpdump ip netns exec "$A" tcpdump -i vA -n -U -w "$T_DIR/arp.pcap" arp
wait_for 10 grep -q "listening on" "$T_DIR/tcpdump.log"

# --- add: the VIP appears on B's interface; a second add changes nothing
in_b add1 addr-add vB "$VIP/24"
expect_rc 0 add1
expect_in add1 out "ok: added"
ip -n "$B" -4 -o addr show dev vB | grep -q "inet $VIP/24 brd 192.0.2.255 " || fail "VIP not on vB: $(state_b)"
in_b add2 addr-add vB "$VIP/24"
expect_rc 0 add2
expect_in add2 out "ok: already present"
[ "$(ip -n "$B" -4 -o addr show dev vB | grep -c "inet $VIP/")" = 1 ] || fail "VIP added twice: $(state_b)"
in_b show addr-show vB "$VIP/24"
expect_in show out "ok: present/24"

# --- another prefix length for the same address is someone else's configuration: refused
in_b add-other-prefix addr-add vB "$VIP/25"
expect_rc 1 add-other-prefix
expect_in add-other-prefix err "refusing: $VIP/24 is already configured there with another prefix length"

# --- gratuitous ARP: a burst of 3 every 100 ms, 2 more after 500 ms
in_b garp garp vB "$VIP/24" 3 100 2 500
expect_rc 0 garp
expect_in garp out "ok: sent 5 gratuitous ARP"
garps_seen() {
    tcpdump -r "$T_DIR/arp.pcap" -n -e 2>/dev/null |
        grep -c "^.* $MAC_B > ff:ff:ff:ff:ff:ff, ethertype ARP .*Request who-has $VIP tell $VIP,"
}
garps_at_least() { [ "$(garps_seen)" -ge "$1" ]; }
wait_for 10 garps_at_least 5
# --- with a refresh the announcements go on after the bursts (stopped here after 5)
in_b garp-refresh garp vB "$VIP/24" 2 50 0 0 100 5
expect_rc 0 garp-refresh
expect_in garp-refresh out "ok: sent 5 gratuitous ARP"
wait_for 10 garps_at_least 10
# ... and the peer's neighbour entry for the VIP now points at B
ip -n "$A" neigh show "$VIP" dev vA | grep -q "lladdr $MAC_B " ||
    fail "peer's neighbour entry: '$(ip -n "$A" neigh show "$VIP" dev vA)', expected $MAC_B"

# --- remove: the interface is as it was; a second remove changes nothing
in_b del1 addr-del vB "$VIP/24"
expect_rc 0 del1
expect_in del1 out "ok: removed"
[ "$(state_b)" = "$before" ] || fail "after removal: '$(state_b)', before: '$before'"
in_b del2 addr-del vB "$VIP/24"
expect_rc 0 del2
expect_in del2 out "ok: not present"

# --- errors name the interface
in_b add-noif addr-add nosuch0 "$VIP/24"
expect_rc 1 add-noif
expect_in add-noif err "cannot add $VIP/24 to nosuch0: interface 'nosuch0':"
ip -n "$B" link set vB down
in_b probe-down probe vB "$VIP/24" 300
expect_rc 1 probe-down
expect_in probe-down err "duplicate-address probe for $VIP failed: interface 'vB': interface is down"
in_b garp-down garp vB "$VIP/24" 1 100 0 0
expect_rc 1 garp-down
expect_in garp-down err "interface 'vB': interface is down"
run_capture ipv6 "$HASPOOL_ACTION" addr-add vB 2001:db8::1/64
expect_rc 1 ipv6
expect_in ipv6 err "only IPv4 service addresses are supported"
log "ok"
