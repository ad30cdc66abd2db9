#!/usr/bin/env bash
# Issue 17 item 5: with nbd.tls: required, a host that takes the primary's address on the NBD
# network but has no key is refused by the standby daemon's export, each attempt logged once
# with its reason, and the real primary's session is not disturbed. beta runs `haspool standby`
# in its namespace; alpha's namespace holds the allowed address 192.0.2.1. The "real primary"
# is a qemu-io session there with the key `haspool tls-psk` prints (this host has no kernel nbd);
# it writes, the impostors (from that same address: plain nbdinfo, plain qemu-io writing, a key
# from another secret, the cluster's identity with a forged key) are refused, and the session
# then reads its write back and writes again. Y holds the session's writes, none of the impostors'.
source "$(dirname "$0")/../lib.sh"
requires qemu-io nbdinfo
PAIR_NBD_EXTRA="  tls: required"
source "$(dirname "$0")/lib_pair.sh"

write_state beta 2 0 "adopted: mirrored with alpha"
start_bg beta ip netns exec "$NB" "$HASPOOL" standby --config "$T_DIR/beta.yaml" --node beta
wait_for 15 status_has beta "standby beta: EXPORTING"
wait_for 15 log_has beta "step StartExport tls=required: ok"
mkdir -m 700 "$T_DIR/good" "$T_DIR/bad"
"$HASPOOL" tls-psk --config "$T_DIR/beta.yaml" >"$T_DIR/good/keys.psk" 2>/dev/null || fail "haspool tls-psk failed"
id=$(cut -d: -f1 "$T_DIR/good/keys.psk")
head -c 32 /dev/urandom >"$T_DIR/other-secret"; chmod 600 "$T_DIR/other-secret"
sed "s#secret_file: .*#secret_file: $T_DIR/other-secret#" "$T_DIR/beta.yaml" >"$T_DIR/other.yaml"
"$HASPOOL" tls-psk --config "$T_DIR/other.yaml" >"$T_DIR/bad/keys.psk" 2>/dev/null || fail "tls-psk (other secret) failed"
bad_id=$(cut -d: -f1 "$T_DIR/bad/keys.psk")
cp "$T_DIR/bad/keys.psk" "$T_DIR/bad/forged.psk"
sed -i "s#^[^:]*:#$id:#" "$T_DIR/bad/forged.psk"  # the cluster's identity, another key

# the real primary: one qemu-io session over TLS, driven line by line through a FIFO
mkfifo "$T_DIR/session.in"
obj="tls-creds-psk,id=tls0,endpoint=client,dir=$T_DIR/good,username=$id"
opts="driver=nbd,host=192.0.2.2,port=10809,export=haspool,tls-creds=tls0"
start_bg session ip netns exec "$NA" bash -c 'exec qemu-io --object "$1" --image-opts "$2" <"$3"' _ \
    "$obj" "$opts" "$T_DIR/session.in"
exec {qin}>"$T_DIR/session.in"
# say CMD: one command, then wait for its prompt (qemu-io takes one line per read of its stdin)
prompts() { grep -o "qemu-io> " "$T_DIR/session.log" | wc -l; }
more_prompts_than() { [ "$(prompts)" -gt "$1" ]; }
say() {
    local n; n=$(prompts)
    echo "$1" >&"$qin"
    wait_for 20 more_prompts_than "$n"
}
say "write -P 0x5a 0 64k"
say "flush"
grep -q "wrote 65536/65536" "$T_DIR/session.log" || fail "the session's write failed: $(cat "$T_DIR/session.log")"
wait_for 10 grep -q "session from 192.0.2.1 opened (.*TLS)" "$T_DIR/beta.log"
sessions_before=$(grep -c "session from 192.0.2.1 opened" "$T_DIR/beta.log")

# the impostors, from the primary's own address
before=$(sha256sum <"$T_DIR/y.img")
run_capture plain ip netns exec "$NA" nbdinfo --size "nbd://192.0.2.2:10809/haspool"
[ "$rc" != 0 ] || fail "a client without TLS was served"
run_capture plain-write ip netns exec "$NA" qemu-io -f raw -c 'write -P 0x66 1M 64k' "nbd://192.0.2.2:10809/haspool"
[ "$rc" != 0 ] || fail "qemu-io without TLS wrote to Y"
uri() { echo "nbds://${2//\//%2F}@192.0.2.2:10809/haspool?tls-psk-file=$1"; }
run_capture other-key ip netns exec "$NA" nbdinfo --size "$(uri "$T_DIR/bad/keys.psk" "$bad_id")"
[ "$rc" != 0 ] || fail "a key of another secret was accepted"
run_capture forged ip netns exec "$NA" nbdinfo --size "$(uri "$T_DIR/bad/forged.psk" "$id")"
[ "$rc" != 0 ] || fail "the cluster's identity with another key was accepted"
[ "$(sha256sum <"$T_DIR/y.img")" = "$before" ] || fail "Y changed under refused clients"

# each attempt refused and logged once, with its reason
wait_for 10 test "$(grep -c 'refused connection from 192.0.2.1' "$T_DIR/beta.log")" -ge 4
refusals=$(grep 'refused connection from 192.0.2.1' "$T_DIR/beta.log")
[ "$(wc -l <<<"$refusals")" = 4 ] || fail "expected 4 refusals logged, one per attempt: $refusals"
grep -qF "client offered PSK identity '$bad_id'" <<<"$refusals" || fail "the other secret's refusal gives no reason: $refusals"
grep -qF "PSK binder does not verify" <<<"$refusals" || fail "the forged key's refusal gives no reason: $refusals"
[ "$(grep -c "TLS is required" <<<"$refusals")" -ge 1 ] || fail "the plain clients' refusals give no reason: $refusals"
log "beta refused every impostor from 192.0.2.1:"
while IFS= read -r l; do log "  ${l#*NBD export: }"; done <<<"$refusals"
[ "$(grep -c "session from 192.0.2.1 opened" "$T_DIR/beta.log")" = "$sessions_before" ] || fail "an impostor got a session"

# the real session goes on: reads its write back, writes again
say "read -P 0x5a 0 64k"
say "write -P 0x77 2M 64k"
say "flush"
echo "quit" >&"$qin"
pid=$(cat "$T_DIR/session.pid")
for _ in $(seq 100); do _running "$pid" || break; sleep 0.1; done
! _running "$pid" || fail "the session did not finish: $(tail -5 "$T_DIR/session.log")"
grep -q "read 65536/65536" "$T_DIR/session.log" || fail "the session's read failed: $(cat "$T_DIR/session.log")"
! grep -qi "Pattern verification failed\|error\|fail" "$T_DIR/session.log" || fail "the session saw errors: $(cat "$T_DIR/session.log")"
[ "$(grep -c "wrote 65536/65536" "$T_DIR/session.log")" = 2 ] || fail "the session's second write: $(cat "$T_DIR/session.log")"
cmp -s -n 65536 "$T_DIR/y.img" <(head -c 65536 /dev/zero | tr '\0' '\132') || fail "the session's first write is not on Y"
cmp -s -i 2097152:0 -n 65536 "$T_DIR/y.img" <(head -c 65536 /dev/zero | tr '\0' '\167') || fail "the session's second write is not on Y"
cmp -s -i 1048576:0 -n 65536 "$T_DIR/y.img" <(head -c 65536 /dev/zero) || fail "an impostor's write is on Y"
log "the primary's session read its write back and wrote again; Y holds its writes, none of the impostors'"
log "ok"
