#!/usr/bin/env bash
# NBD over TLS 1.3 with a pre-shared key (nbd.tls: required, issue 17), against other people's
# implementations on 127.0.0.1:
#   - haspool's server ('haspool export --tls-psk') driven by nbdinfo, nbdcopy, qemu-img and
#     qemu-io with tls-creds-psk: byte-identical data;
#   - refused: a plain client, a wrong key, the right key under another identity, a client
#     that never sends STARTTLS; each refusal logged with its reason; the disk unchanged;
#   - haspool's client handshake (nbd_handshake_probe --tls-psk, userspace TLS) against qemu-nbd
#     and nbdkit serving with the same PSK file, and refused by them with a wrong key.
source "$(dirname "$0")/../../lib.sh"
requires nbdinfo nbdcopy qemu-io qemu-img qemu-nbd nbdkit
[ -n "${NBD_PROBE:-}" ] && [ -x "$NBD_PROBE" ] || fail "NBD_PROBE not set"

hexkey() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }
id=lab/4f2a
mkdir -p "$T_DIR/good" "$T_DIR/bad" "$T_DIR/other"
echo "$id:$(hexkey)" >"$T_DIR/good/keys.psk"
echo "$id:$(hexkey)" >"$T_DIR/bad/keys.psk"                             # same identity, wrong key
echo "other/1:$(cut -d: -f2 "$T_DIR/good/keys.psk")" >"$T_DIR/other/keys.psk"  # right key, other identity
chmod 600 "$T_DIR"/*/keys.psk

size=$((64 << 20))
img="$T_DIR/y.img"
head -c "$size" /dev/urandom >"$img"
port=$(free_port)
start_bg export "$HASPOOL" export --device "$img" --listen "127.0.0.1:$port" --name disk-y \
    --tls-psk "$T_DIR/good/keys.psk"
wait_for 10 listening "$port"
# The identity is cluster/keyid as the daemons use it; a URI's user part spells '/' as %2F.
uri() { echo "nbds://${2//\//%2F}@127.0.0.1:$port/disk-y?tls-psk-file=$T_DIR/$1/keys.psk"; }

# Refused first, and the disk is what it was before.
before=$(sha256sum <"$img")
run_capture plain nbdinfo --size "nbd://127.0.0.1:$port/disk-y"
[ "$rc" != 0 ] || fail "a plain client was served"
run_capture wrong-key nbdinfo --size "$(uri bad "$id")"
[ "$rc" != 0 ] || fail "a wrong key was accepted"
run_capture other-id nbdinfo --size "$(uri other other/1)"
[ "$rc" != 0 ] || fail "another identity was accepted"
run_capture qemu-plain qemu-io -f raw -c 'write -P 0x11 0 64k' "nbd://127.0.0.1:$port/disk-y"
[ "$rc" != 0 ] || fail "qemu-io without TLS wrote"
# A client that is told TLS is required and asks for the export by NBD_OPT_EXPORT_NAME anyway.
run_capture probe-plain "$NBD_PROBE" 127.0.0.1 "$port" disk-y
[ "$rc" != 0 ] || fail "haspool's client without TLS was served"
expect_in probe-plain err "TLS is required"
[ "$(sha256sum <"$img")" = "$before" ] || fail "the disk changed under refused clients"
for why in "client gave up after being told TLS is required" \
           "the client's key is not this cluster's (PSK binder does not verify)" \
           "client offered PSK identity 'other/1'"; do
    grep -qF "$why" "$T_DIR/export.log" || fail "no refusal logged for: $why ($(grep refused "$T_DIR/export.log" | tail -5))"
done
[ "$(grep -c 'refused connection' "$T_DIR/export.log")" -ge 4 ] ||
    fail "fewer than four refusals logged: $(grep refused "$T_DIR/export.log")"

# Served with the key: nbdinfo, nbdcopy both ways, qemu-io/qemu-img through tls-creds-psk.
run_capture info nbdinfo --size "$(uri good "$id")"
expect_rc 0 info
[ "$(cat "$T_DIR/info.out")" = "$size" ] || fail "nbdinfo over TLS: $(cat "$T_DIR/info.out")"
head -c "$size" /dev/urandom >"$T_DIR/src.img"
run_capture copy-in nbdcopy --flush "$T_DIR/src.img" "$(uri good "$id")"
expect_rc 0 copy-in
run_capture copy-out nbdcopy "$(uri good "$id")" "$T_DIR/out.img"
expect_rc 0 copy-out
want=$(sha256sum <"$T_DIR/src.img")
[ "$(sha256sum <"$T_DIR/out.img")" = "$want" ] || fail "nbdcopy over TLS: round trip differs"
[ "$(sha256sum <"$img")" = "$want" ] || fail "nbdcopy over TLS: export file differs from what was copied in"
obj="tls-creds-psk,id=tls0,endpoint=client,dir=$T_DIR/good,username=$id"
opts="driver=nbd,host=127.0.0.1,port=$port,export=disk-y,tls-creds=tls0"
run_capture qemu-write qemu-io --object "$obj" --image-opts "$opts" -c 'write -P 0xa5 1M 64k' -c flush
expect_rc 0 qemu-write
run_capture qemu-read qemu-io --object "$obj" --image-opts "$opts" -c 'read -P 0xa5 1M 64k'
expect_rc 0 qemu-read
! grep -q 'Pattern verification failed' "$T_DIR/qemu-read.out" || fail "qemu-io over TLS: pattern mismatch"
cmp -s -i 1048576:0 -n 65536 "$img" <(head -c 65536 /dev/zero | tr '\0' '\245') ||
    fail "qemu-io's write over TLS is not on the disk"
run_capture qemu-img qemu-img info --output=json --object "$obj" --image-opts "$opts"
expect_rc 0 qemu-img
expect_in qemu-img out "\"virtual-size\": $size"
grep -q "opened.*TLS" "$T_DIR/export.log" || fail "no session logged as TLS: $(tail -5 "$T_DIR/export.log")"
stop_pid "$last_pid" 2>/dev/null || true

# haspool's client against qemu-nbd and nbdkit serving with the same PSK file.
qport=$(free_port)
start_bg qemu-nbd qemu-nbd --object "tls-creds-psk,id=tls0,endpoint=server,dir=$T_DIR/good" --tls-creds tls0 \
    -f raw -x disk -b 127.0.0.1 -p "$qport" --persistent "$img"
wait_for 10 listening "$qport"
run_capture probe-qemu "$NBD_PROBE" 127.0.0.1 "$qport" disk --tls-psk "$T_DIR/good/keys.psk"
expect_rc 0 probe-qemu
expect_in probe-qemu out "tls size=$size"
run_capture probe-qemu-bad "$NBD_PROBE" 127.0.0.1 "$qport" disk --tls-psk "$T_DIR/bad/keys.psk"
[ "$rc" != 0 ] || fail "qemu-nbd accepted haspool's client with a wrong key"
expect_in probe-qemu-bad err "TLS"

kport=$(free_port)
start_bg nbdkit nbdkit -f --exit-with-parent -i 127.0.0.1 -p "$kport" --tls=require \
    --tls-psk="$T_DIR/good/keys.psk" file "$img"
wait_for 10 listening "$kport"
run_capture probe-nbdkit "$NBD_PROBE" 127.0.0.1 "$kport" "" --tls-psk "$T_DIR/good/keys.psk"
expect_rc 0 probe-nbdkit
expect_in probe-nbdkit out "tls size=$size"
run_capture probe-nbdkit-bad "$NBD_PROBE" 127.0.0.1 "$kport" "" --tls-psk "$T_DIR/bad/keys.psk"
[ "$rc" != 0 ] || fail "nbdkit accepted haspool's client with a wrong key"
log "ok: TLS-PSK interop with libnbd, qemu and nbdkit both ways; plain, wrong key and other identity refused"
