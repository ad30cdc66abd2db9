#!/usr/bin/env bash
# haspool's NBD client handshake against nbdkit (memory plugin), nbd-server (with and without
# flush/FUA) and haspool's own server, all on 127.0.0.1.
source "$(dirname "$0")/../../lib.sh"
requires nbdkit nbd-server
: "${NBD_PROBE:?NBD_PROBE must point at nbd_handshake_probe}"

# nbdkit memory plugin: GO with block sizes.
port=$(free_port)
start_bg nbdkit nbdkit -f -i 127.0.0.1 -p "$port" memory 64M
wait_for 10 nbdinfo --size "nbd://127.0.0.1:$port"
run_capture nbdkit-go "$NBD_PROBE" 127.0.0.1 "$port" ""
expect_rc 0 nbdkit-go
expect_in nbdkit-go out "size=67108864"

# nbd-server with flush and FUA on: accepted; -d serves one connection per run.
img="$T_DIR/ns.img"
truncate -s 32M "$img"
nbd_server_conf() {  # nbd_server_conf PORT FLUSH
    cat <<CONF
[generic]
listenaddr = 127.0.0.1
port = $1
allowlist = true
[disk]
exportname = $img
flush = $2
fua = $2
CONF
}
port=$(free_port)
nbd_server_conf "$port" true >"$T_DIR/ns-flush.conf"
start_bg nbd-server-flush nbd-server -C "$T_DIR/ns-flush.conf" -d
wait_for 10 listening "$port"   # (not a test connection: -d serves exactly one)
run_capture ns-flush "$NBD_PROBE" 127.0.0.1 "$port" disk
expect_rc 0 ns-flush
expect_in ns-flush out "size=33554432"
grep -q 'flags=0x[0-9a-f]*' "$T_DIR/ns-flush.out" || fail "no flags in $(cat "$T_DIR/ns-flush.out")"

# nbd-server as shipped (flush and FUA off): refused with a reason.
port=$(free_port)
nbd_server_conf "$port" false >"$T_DIR/ns-noflush.conf"
start_bg nbd-server-noflush nbd-server -C "$T_DIR/ns-noflush.conf" -d
wait_for 10 listening "$port"
run_capture ns-noflush "$NBD_PROBE" 127.0.0.1 "$port" disk
expect_rc 1 ns-noflush
expect_in ns-noflush err "does not offer NBD_FLAG_SEND_FLUSH"

# haspool's own server, and an unknown export name there.
port=$(free_port)
start_bg haspool "$HASPOOL" export --device "$img" --listen "127.0.0.1:$port" --name disk-y
wait_for 10 nbdinfo --size "nbd://127.0.0.1:$port/disk-y"
run_capture own "$NBD_PROBE" 127.0.0.1 "$port" disk-y
expect_rc 0 own
expect_in own out "size=33554432 flags=0x"
expect_in own out "max_block=33554432"
run_capture own-unknown "$NBD_PROBE" 127.0.0.1 "$port" nosuch
expect_rc 1 own-unknown
expect_in own-unknown err "NBD_REP_ERR_UNKNOWN: no export named 'nosuch'"
log "ok"
