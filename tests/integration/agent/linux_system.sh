#!/usr/bin/env bash
# LinuxSystem through perform(), with steps built from a config as Plans builds them: the serving
# half of a takeover on a loop device holding a dirty ext4 and a veth pair into a peer network
# namespace — ProbeAddress (free) -> Fsck -> Mount -> AddAddress -> SendGarp -> RunHook, then the
# undo RemoveAddress -> Unmount. Real effects are checked (mountinfo, `ip addr`, the peer's
# neighbour entry and tcpdump), each step runs twice (idempotence), and the probe fails when the
# peer holds the VIP.
# The steps run under `nsenter --net` (network namespace only): `ip netns exec` would also give
# the process a private mount namespace, and the spool mount would vanish with it.
source "$(dirname "$0")/../../lib.sh"
source "$(dirname "$0")/../actions/lib_actions.sh"
requires_root
requires ip nsenter tcpdump losetup mkfs.ext4 debugfs dumpe2fs
: "${HASPOOL_PERFORM:?HASPOOL_PERFORM must point at the haspool-perform test driver}"

A=hls-$RANDOM$RANDOM-a   # the peer (the failed primary's side of the wire)
B=hls-$RANDOM$RANDOM-b   # the node taking over
veth_namespaces "$A" "$B"
VIP=192.0.2.100

# The spool: a dirty ext4 (errors recorded, a wrong free-block count) that fsck must repair.
new_loop DEV 64M
mkfs.ext4 -q -F "$DEV" || fail "mkfs.ext4 $DEV"
debugfs -w -R 'ssv state 2' "$DEV" >/dev/null 2>&1
debugfs -w -R 'ssv free_blocks_count 1234' "$DEV" >/dev/null 2>&1
dumpe2fs -h "$DEV" 2>/dev/null | grep -q 'Filesystem state: *not clean with errors' || fail "could not make $DEV dirty"
SPOOL=$T_DIR/spool
mkdir -p "$SPOOL"
defer umount "$SPOOL"   # only if a failure left it mounted

# The hook records its environment; the step must hand over the documented variables.
cat >"$T_DIR/hook.sh" <<SH
#!/bin/sh
env | grep '^HASPOOL_' | sort >"$T_DIR/hook.env"
SH
chmod 755 "$T_DIR/hook.sh"

head -c 32 /dev/urandom >"$T_DIR/secret"; chmod 600 "$T_DIR/secret"
# The spool "md device" is the loop device: every plan mounts spool.md_device.
cat >"$T_DIR/haspool.yaml" <<YAML
cluster:
  name: mailspool
  secret_file: $T_DIR/secret
  state_dir: $T_DIR/state
  control_socket: $T_DIR/haspool.sock
nodes:
  - name: alpha
    role: primary
    spool_device: /dev/vdb
    service_interface: vA
    addresses: {replication: 198.51.100.1, service: 192.0.2.1}
  - name: beta
    role: standby
    spool_device: /dev/vdb
    service_interface: vB
    addresses: {replication: 198.51.100.2, service: 192.0.2.2}
spool:
  md_device: $DEV
  filesystem: ext4
  mount_point: $SPOOL
  mount_options: [noatime]
service:
  address: $VIP/24
  probe_timeout_ms: 600
  garp: {count: 3, interval_ms: 100}
hooks:
  after_takeover: [$T_DIR/hook.sh]
YAML

# perform NAME STEP...: haspool-perform as beta, in B's network namespace, captured as NAME.
perform() {
    local name=$1; shift
    run_capture "$name" nsenter --net="/run/netns/$B" "$HASPOOL_PERFORM" "$T_DIR/haspool.yaml" beta "$@"
}
vip_on_b() { ip -n "$B" -4 -o addr show dev vB | grep -c "inet $VIP/24 " || true; }

# --- the probe fails when the peer holds the VIP, and nothing is taken
ip -n "$A" addr add "$VIP/32" dev vA
perform probe-taken probe
expect_rc 1 probe-taken
expect_in probe-taken out "ProbeAddress: FAILED: service address $VIP is in use: $MAC_A answered"
[ "$(vip_on_b)" = 0 ] || fail "the VIP was added although the probe failed"
ip -n "$A" addr del "$VIP/32" dev vA

# The peer remembers the VIP at the failed primary's MAC, as after a real failure.
ip -n "$A" neigh replace "$VIP" lladdr 02:00:00:00:00:99 dev vA nud stale
start_bg tcpdump ip netns exec "$A" tcpdump -i vA -n -U -w "$T_DIR/arp.pcap" arp
wait_for 10 grep -q "listening on" "$T_DIR/tcpdump.log"

# --- the serving half of a takeover, each step twice (a re-run after a partial takeover)
for run in 1 2; do
    perform "takeover-$run" probe probe fsck fsck mount mount add-address add-address garp garp \
        hook:after_takeover hook:after_takeover
    expect_rc 0 "takeover-$run"
    for s in ProbeAddress Fsck Mount AddAddress SendGarp RunHook; do
        [ "$(grep -c "^$s: ok$" "$T_DIR/takeover-$run.out")" = 2 ] || fail "takeover-$run: $s not ok twice: $(cat "$T_DIR/takeover-$run.out")"
    done
    [ "$(mounted_at "$SPOOL")" = "$DEV ext4" ] || fail "takeover-$run: mountinfo at $SPOOL: '$(mounted_at "$SPOOL")'"
    [ "$(vip_on_b)" = 1 ] || fail "takeover-$run: VIP on vB $(vip_on_b) times: $(ip -n "$B" -4 -o addr show dev vB)"
    awk -v d="$SPOOL" '$5 == d { print $6 }' /proc/self/mountinfo | grep -q noatime || fail "mounted without noatime"
    # (run 2's Fsck finds the spool mounted where we mount it and leaves it alone)
done

# The hook saw the documented environment.
grep -qx "HASPOOL_EVENT=after_takeover" "$T_DIR/hook.env" || fail "hook env: $(cat "$T_DIR/hook.env")"
grep -qx "HASPOOL_NODE=beta" "$T_DIR/hook.env" || fail "hook env: $(cat "$T_DIR/hook.env")"
grep -qx "HASPOOL_PEER=alpha" "$T_DIR/hook.env" || fail "hook env: $(cat "$T_DIR/hook.env")"
grep -qx "HASPOOL_STATE=TAKEOVER" "$T_DIR/hook.env" || fail "hook env: $(cat "$T_DIR/hook.env")"

# The gratuitous ARPs reached the peer: 2 runs x 2 SendGarp x 3 = 12 on the wire, and the peer's
# neighbour entry for the VIP now points at B.
garps_seen() {
    tcpdump -r "$T_DIR/arp.pcap" -n -e 2>/dev/null |
        grep -c "^.* $MAC_B > ff:ff:ff:ff:ff:ff, ethertype ARP .*Request who-has $VIP tell $VIP,"
}
garps_at_least() { [ "$(garps_seen)" -ge "$1" ]; }
wait_for 10 garps_at_least 12
ip -n "$A" neigh show "$VIP" dev vA | grep -q "lladdr $MAC_B " ||
    fail "peer's neighbour entry: '$(ip -n "$A" neigh show "$VIP" dev vA)', expected $MAC_B"

# --- the undo, each step twice
for run in 1 2; do
    perform "undo-$run" remove-address remove-address unmount unmount
    expect_rc 0 "undo-$run"
    [ "$(grep -c ": ok$" "$T_DIR/undo-$run.out")" = 4 ] || fail "undo-$run: $(cat "$T_DIR/undo-$run.out")"
    [ -z "$(mounted_at "$SPOOL")" ] || fail "undo-$run: still mounted: $(mounted_at "$SPOOL")"
    [ "$(vip_on_b)" = 0 ] || fail "undo-$run: VIP still on vB"
done

# Run 1's Fsck repaired the spool before mounting it.
dumpe2fs -h "$DEV" 2>/dev/null | grep -q 'Filesystem state: *clean$' ||
    fail "not repaired: $(dumpe2fs -h "$DEV" 2>/dev/null | grep state)"

# --- Fsck refuses the spool device while it is mounted anywhere but the spool's mount point
mkdir -p "$T_DIR/elsewhere"
mount "$DEV" "$T_DIR/elsewhere" || fail "mount $DEV elsewhere"
defer umount "$T_DIR/elsewhere"
perform fsck-elsewhere fsck
expect_rc 1 fsck-elsewhere
expect_in fsck-elsewhere out "Fsck: FAILED: refusing to check '$DEV': it is mounted on '$T_DIR/elsewhere'"
umount "$T_DIR/elsewhere"

# --- Unmount refuses a filesystem that is not the spool's
new_loop OTHER 16M
mkfs.ext4 -q -F "$OTHER" || fail "mkfs.ext4 $OTHER"
mount "$OTHER" "$SPOOL" || fail "mount $OTHER"
perform unmount-other unmount
expect_rc 1 unmount-other
expect_in unmount-other out "Unmount: FAILED: cannot unmount '$SPOOL': refusing"
umount "$SPOOL"
log "ok"
