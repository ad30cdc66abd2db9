#!/usr/bin/env bash
# Two heartbeat paths of different latency (issue 14 item 4). Two real daemons in namespaces
# (lib_pair.sh); the "service" path runs through a userspace UDP relay in beta's namespace that
# holds every datagram, both ways, for RELAY_MS (this kernel has no netem). Each node's file
# names the relay as the peer's address on that path: alpha sends to 198.51.100.14 and hears
# beta from there; beta sends to 198.51.100.15 and hears alpha from there. The replication path
# stays direct. So every tick the fast path's datagram, sent later in the same run, overtakes
# the slow path's.
#   - for STEADY_S seconds, every status of both nodes shows both paths up and no datagram
#     dropped as replayed (a reordered, authentic datagram is accepted once);
#   - the slow path's round trip shows the relay's delay;
#   - a captured genuine datagram replayed on either path, towards either node, is still
#     dropped and counted as replayed, and changes nothing.
source "$(dirname "$0")/../lib.sh"

PAIR_UNITS="[]"
source "$(dirname "$0")/lib_pair.sh"
RELAY_MS=500     # more than INTERVAL_MS: the slow path is a whole tick behind
STEADY_S=6

# The relay's two addresses live in beta's namespace.
ip -n "$NB" addr add 198.51.100.14/24 dev vs-b
ip -n "$NB" addr add 198.51.100.15/32 dev lo
sed -i 's/service: 198.51.100.12}/service: 198.51.100.14}/' "$T_DIR/alpha.yaml"
sed -i 's/service: 198.51.100.11}/service: 198.51.100.15}/' "$T_DIR/beta.yaml"
grep -qF 198.51.100.14 "$T_DIR/alpha.yaml" && grep -qF 198.51.100.15 "$T_DIR/beta.yaml" ||
    fail "could not point the service path at the relay: $(cat "$T_DIR/alpha.yaml")"
start_bg relay ip netns exec "$NB" python3 "$HASPOOL_SOURCE_DIR/tests/integration/udp_delay_relay.py" "$RELAY_MS" \
    198.51.100.14:5410=198.51.100.11:5410 198.51.100.15:5410=198.51.100.12:5410 "$T_DIR/relay.ready"
wait_for 15 test -e "$T_DIR/relay.ready"

pair_start

# Steady: both paths up on both nodes at every sample, nothing dropped as replayed.
end=$((SECONDS + STEADY_S))
samples=0
while [ "$SECONDS" -lt "$end" ]; do
    for node in alpha beta; do
        out=$(status_check "$node" 'paths["replication"]["alive"]' 'paths["service"]["alive"]' \
            'dropped.get("replayed", 0) == 0' 'dropped.get("too-old", 0) == 0' 2>&1) || fail "$node: $out"
    done
    samples=$((samples + 1))
    sleep 0.3
done
rtt=$(status_json beta | python3 -c 'import json,sys; print({p["name"]: p["rtt_ms"] for p in json.load(sys.stdin)["peer"]["paths"]})')
log "steady for ${STEADY_S}s ($samples samples per node): both paths up on both nodes, none replayed; beta's rtt: $rtt"
status_check beta 'paths["service"]["rtt_ms"] is not None and paths["service"]["rtt_ms"] >= 2 * '"$RELAY_MS" ||
    fail "the slow path's round trip does not show the relay's delay: $(status beta)"
grep -F "SUSPECT" "$T_DIR/beta.log" && fail "beta went SUSPECT: $(cat "$T_DIR/beta.log")"

# replay NODE_NS SRC DST IFACE: one captured genuine datagram sent again from SRC to DST.
replay() {
    ip netns exec "$1" python3 "$HASPOOL_SOURCE_DIR/tests/integration/forge_datagrams.py" "$2" "$3" 5410 "$4" replayed \
        >>"$T_DIR/forge.out" 2>&1 || fail "forger: $(cat "$T_DIR/forge.out")"
}
replayed_is() { status_check "$1" "dropped.get(\"replayed\", 0) == $2"; }
# Towards beta: direct on replication; through the relay on service (it comes out delayed).
replay "$NA" 192.0.2.1 192.0.2.2 vr-a
wait_for 5 replayed_is beta 1
replay "$NA" 198.51.100.11 198.51.100.14 vs-a
wait_for 5 replayed_is beta 2
# Towards alpha: direct on replication; on service as the relay's side would send it.
replay "$NB" 192.0.2.2 192.0.2.1 vr-b
wait_for 5 replayed_is alpha 1
replay "$NB" 198.51.100.14 198.51.100.11 vs-b
wait_for 5 replayed_is alpha 2
sleep 1
for node in alpha beta; do
    status_check "$node" 'dropped.get("replayed", 0) == 2' 'paths["replication"]["alive"]' 'paths["service"]["alive"]' ||
        fail "$node after the replays: $(status "$node")"
done
status_has beta "standby beta: EXPORTING" || fail "the replays moved beta: $(status beta)"
log "replays on both paths towards both nodes: counted as replayed (2 each), both paths still up"
log "ok"
