# The VM lab's host side (DESIGN §6), for tests labelled `vm`. Source it after nothing else: it
# sources tests/lib.sh. Guests are QEMU TCG machines booting Debian's cloud kernel with a busybox
# initramfs (scripts/vm/build-image) whose /init (scripts/vm/guest-init) runs the scripts we send
# over a virtio-serial port carried on a 127.0.0.1 TCP socket.
#
#   vm_build_image                  build/refresh the boot files (cached) into $VM_IMG
#   vm_start NAME IP/PREFIX DISK [listen|connect PORT]
#                                   boot a guest (its QEMU stopped by PID on exit)
#   vm_run NAME [-t SECONDS] SCRIPT run SCRIPT in the guest; prints its output, returns its status
#   vm_kill NAME                    crash the guest: SIGKILL its QEMU
#   vm_free_port                    a free 127.0.0.1 TCP port
# Guest consoles are in $T_DIR/NAME.console (printed on failure).
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

requires qemu-system-x86_64
requires_root

VM_IMG=$T_DIR/img
declare -A VM_PID VM_FD VM_CTL_PORT
_vm_seq=0

# Prints the tail of every guest console when the test fails: the kernel's view of what went wrong.
_vm_dump_consoles() {
    local rc=$? f
    if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
        for f in "$T_DIR"/*.console; do
            [ -f "$f" ] || continue
            printf '[%s] --- last lines of %s ---\n' "$T_NAME" "$(basename "$f")" >&2
            tail -40 "$f" >&2
        done
    fi
}
defer _vm_dump_consoles

vm_build_image() {
    local t0=$SECONDS
    "$HASPOOL_SOURCE_DIR/scripts/vm/build-image" --haspool "$HASPOOL" --out "$VM_IMG" ||
        fail "building the guest image failed"
    log "guest image ready in $((SECONDS - t0))s ($(cat "$VM_IMG/kernel-package"))"
}

vm_free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 30000))
        ss -Htln "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
    done
}

# vm_start NAME IP/PREFIX DISK [listen|connect PORT]
vm_start() {
    local name=$1 ip=$2 disk=$3 mode=${4:-} nport=${5:-} net=() cport pid fd i host
    host=${ip%/*}
    [ -z "$mode" ] || net=(-netdev "socket,id=n0,$mode=127.0.0.1:$nport"
                           -device "virtio-net-pci,netdev=n0,mac=52:54:00:00:02:$(printf %02x "${host##*.}")")
    cport=$(vm_free_port)
    qemu-system-x86_64 -accel tcg -cpu max -m 512 -smp 1 -nodefaults -display none -no-reboot \
        -kernel "$VM_IMG/vmlinuz" -initrd "$VM_IMG/initramfs.gz" \
        -append "console=ttyS0 panic=-1 quiet haspool.name=$name haspool.ip=$ip" \
        -serial "file:$T_DIR/$name.console" \
        -device virtio-rng-pci \
        -drive "file=$disk,format=raw,if=virtio,cache=unsafe" \
        -chardev "socket,id=ctl,host=127.0.0.1,port=$cport,server=on,wait=off" \
        -device virtio-serial-pci -device virtserialport,chardev=ctl,name=haspool.ctl \
        "${net[@]}" >"$T_DIR/$name.qemu.log" 2>&1 &
    pid=$!
    VM_PID[$name]=$pid
    defer kill -KILL "$pid"
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || fail "QEMU for $name exited: $(cat "$T_DIR/$name.qemu.log")"
        if { exec {fd}<>"/dev/tcp/127.0.0.1/$cport"; } 2>/dev/null; then break; fi
        fd=; sleep 0.1
    done
    [ -n "$fd" ] || fail "cannot reach $name's control port 127.0.0.1:$cport"
    VM_FD[$name]=$fd
    VM_CTL_PORT[$name]=$cport
    local t0=$SECONDS
    vm_run "$name" -t 120 'true' >/dev/null || fail "$name did not come up; console: $(tail -20 "$T_DIR/$name.console")"
    log "$name booted in $((SECONDS - t0))s (QEMU pid $pid)"
}

# vm_run NAME [-t SECONDS] SCRIPT: runs SCRIPT with /bin/sh in the guest; its output on stdout,
# its exit status as ours. A guest that does not answer within the limit (default 300 s) fails
# the test.
vm_run() {
    local name=$1; shift
    local limit=300
    if [ "${1:-}" = -t ]; then limit=$2; shift 2; fi
    local script=$1 fd=${VM_FD[$name]:-} id line chunk partial="" r deadline
    [ -n "$fd" ] || fail "vm_run: no guest named $name"
    _vm_seq=$((_vm_seq + 1))
    id="$$-$_vm_seq"
    printf 'BEGIN %s\n%s\nEND %s\n' "$id" "$script" "$id" >&"$fd" || fail "vm_run: cannot write to $name"
    deadline=$((SECONDS + limit))
    while :; do
        chunk=""
        if IFS= read -r -t 1 chunk <&"$fd"; then
            line=$partial$chunk partial=""
            case $line in
                "RC $id "*) return "${line##* }" ;;
                *) printf '%s\n' "$line" ;;
            esac
        else
            r=$?
            # a timeout keeps the partial line read so far; end of file means QEMU is gone
            [ "$r" -gt 128 ] || fail "vm_run: $name closed its control port (QEMU gone?)"
            partial+=$chunk
            kill -0 "${VM_PID[$name]}" 2>/dev/null || fail "vm_run: $name's QEMU is gone"
            [ "$SECONDS" -lt "$deadline" ] || fail "vm_run: $name did not finish within ${limit}s: $script"
        fi
    done
}

# vm_kill NAME: the crash. SIGKILL to the guest's QEMU, by PID.
vm_kill() {
    local name=$1 pid=${VM_PID[$1]:-}
    [ -n "$pid" ] || return 0
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    [ -n "${VM_FD[$name]:-}" ] && exec {VM_FD[$name]}>&- 2>/dev/null || true
    unset "VM_PID[$name]" "VM_FD[$name]"
}
