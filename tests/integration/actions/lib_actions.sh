# Shared by the actions tests: the driver binary and small helpers. Source after tests/lib.sh.
: "${HASPOOL_ACTION:?HASPOOL_ACTION must point at the haspool-action test driver}"

# action NAME ARGS...: runs the driver, output captured as NAME (see run_capture in tests/lib.sh).
action() {
    local name=$1; shift
    run_capture "$name" "$HASPOOL_ACTION" "$@"
}

# new_loop VAR SIZE [IMAGE]: a sparse image (or IMAGE) attached to a free loop device, detached
# again on exit; the device goes into VAR and the image file into VAR_IMG (not printed: a $(...)
# subshell would lose the deferred detach).
new_loop() {
    local img=${3:-} dev
    if [ -z "$img" ]; then
        img=$(mktemp "$T_DIR/disk-XXXXXX.img")
        truncate -s "$2" "$img"
    fi
    dev=$(losetup -f --show "$img") || fail "losetup -f --show $img failed"
    defer losetup -d "$dev"
    printf -v "$1" '%s' "$dev"
    printf -v "$1_IMG" '%s' "$img"
}

# mounted_at DIR: prints the "source fstype" of what /proc/self/mountinfo shows at DIR (topmost).
mounted_at() {
    awk -v d="$1" '{ for (i = 7; $i != "-"; i++); if ($5 == d) r = $(i + 2) " " $(i + 1) } END { print r }' /proc/self/mountinfo
}

# process_dead PID: gone, or a zombie nobody has reaped yet (it no longer runs).
process_dead() {
    local st
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
    [ -z "$st" ] || [ "${st#Z}" != "$st" ]
}

# veth_namespaces A B: network namespaces A and B (deleted on exit) joined by a veth pair vA <-> vB,
# both up, 192.0.2.1/24 on vA and 192.0.2.2/24 on vB (RFC 5737); their MACs in MAC_A and MAC_B.
veth_namespaces() {
    ip netns add "$1" || fail "ip netns add $1"
    defer ip netns del "$1"
    ip netns add "$2" || fail "ip netns add $2"
    defer ip netns del "$2"
    ip link add vA netns "$1" type veth peer name vB netns "$2" || fail "veth pair $1/$2"
    ip -n "$1" link set vA up
    ip -n "$2" link set vB up
    ip -n "$1" addr add 192.0.2.1/24 dev vA
    ip -n "$2" addr add 192.0.2.2/24 dev vB
    MAC_A=$(ip netns exec "$1" cat /sys/class/net/vA/address)
    MAC_B=$(ip netns exec "$2" cat /sys/class/net/vB/address)
}
