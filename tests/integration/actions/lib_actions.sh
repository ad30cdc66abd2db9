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
