#!/usr/bin/env bash
# A wall-clock step on either node (issue 14 item 5): `date -s` an hour ahead on alpha, then an
# hour back on beta, while both daemons run. CLOCK_REALTIME is not namespaced in Linux (time
# namespaces offset only MONOTONIC and BOOTTIME), so each daemon runs under libfaketime with its
# own offset file: only CLOCK_REALTIME is faked (FAKETIME_DONT_FAKE_MONOTONIC=1) and the file is
# re-read on every call, so writing it is a step of that process's wall clock.
#   - after each step, for STEADY_S seconds: both paths up on both nodes, nothing dropped (but
#     the start-up handshake, "unconfirmed"),
#     beta never SUSPECT (the peer is alive, so no silence and no takeover);
#   - status reports the peer's clock offset (about an hour), and each node logs it once.
source "$(dirname "$0")/../lib.sh"
FAKETIME_LIB=
for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 /usr/lib/*/faketime/libfaketime.so.1; do
    [ -e "$f" ] && FAKETIME_LIB=$f && break
done
[ -n "$FAKETIME_LIB" ] || skip "needs libfaketime (Debian package faketime)"

PAIR_UNITS="[]"
source "$(dirname "$0")/lib_pair.sh"
STEADY_S=4
HOUR_MS=3600000

# faked NODE CMD...: CMD with NODE's own wall clock, offset by what $T_DIR/clock-NODE says.
faked() {
    local node=$1; shift
    echo "+0" >"$T_DIR/clock-$node"
    # The sanitizer runtime must come first among the preloads; let it tolerate libfaketime.
    exec env LD_PRELOAD="$FAKETIME_LIB" FAKETIME_TIMESTAMP_FILE="$T_DIR/clock-$node" FAKETIME_NO_CACHE=1 \
        FAKETIME_DONT_FAKE_MONOTONIC=1 ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$@"
}

pair_start faked

# steady WHAT: for STEADY_S seconds both nodes hear each other on both paths and drop nothing.
steady() {
    local end=$((SECONDS + STEADY_S)) node out
    while [ "$SECONDS" -lt "$end" ]; do
        for node in alpha beta; do
            out=$(status_check "$node" 'paths["replication"]["alive"]' 'paths["service"]["alive"]' 'set(dropped) <= {"unconfirmed"}' 2>&1) ||
                fail "$1: $node: $out"
        done
        sleep 0.3
    done
    grep -F "SUSPECT" "$T_DIR/beta.log" && fail "$1: beta went SUSPECT: $(cat "$T_DIR/beta.log")"
    log "$1: both paths up on both nodes for ${STEADY_S}s, nothing dropped, beta $(status beta | head -1)"
}

steady "before any step"
echo "+3600" >"$T_DIR/clock-alpha"   # date -s one hour ahead on alpha
steady "alpha one hour ahead"
wait_for 5 status_check beta 'offset is not None and abs(offset - '$HOUR_MS') < 60000'
wait_for 5 status_check alpha 'offset is not None and abs(offset + '$HOUR_MS') < 60000'
echo "-3600" >"$T_DIR/clock-beta"    # and one hour back on beta: two hours apart now
steady "beta one hour back"
wait_for 5 status_check beta 'offset is not None and abs(offset - 2 * '$HOUR_MS') < 60000'
log "offsets reported: beta sees alpha $(status beta | grep -F 'clock' | head -1)"
[ "$(grep -cF "clock differs" "$T_DIR/beta.log")" = 1 ] || fail "beta should log the peer's clock offset once: $(grep -F clock "$T_DIR/beta.log")"
status_has beta "standby beta: EXPORTING" || fail "beta: $(status beta)"
log "ok"
