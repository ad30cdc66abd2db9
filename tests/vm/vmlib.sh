# The VM lab's host side (DESIGN §6), for tests labelled `vm`. Source it after nothing else: it
# sources tests/lib.sh. Guests are QEMU TCG machines booting Debian's cloud kernel with a busybox
# initramfs (scripts/vm/build-image) whose /init (scripts/vm/guest-init) runs the scripts we send
# over a virtio-serial port carried on a 127.0.0.1 TCP socket.
#
#   vm_build_image                  build/refresh the boot files (cached) into $VM_IMG
#   vm_start NAME IP/PREFIX DISK [listen|connect PORT | tap IFNAME]
#                                   start a guest's QEMU (killed by PID on exit); no waiting
#   vm_wait NAME                    wait until the guest answers (logs the boot time)
#   vm_run NAME [-t SECONDS] SCRIPT run SCRIPT in the guest; prints its output, returns its status
#   vm_kill NAME                    crash the guest: SIGKILL its QEMU
#   vm_free_port                    a free 127.0.0.1 TCP port
# Guest consoles are in $T_DIR/NAME.console (printed on failure).
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# The only reason to skip: no QEMU. Anything else missing (busybox, mdadm, the kernel package)
# makes scripts/vm/build-image fail, and so the test.
requires qemu-system-x86_64

VM_IMG=$T_DIR/img
exec {VM_STDERR}>&2  # cleanup runs with stderr silenced; the console dump must still be seen
declare -A VM_PID VM_FD VM_CTL_PORT VM_T0
_vm_seq=0

# Prints the tail of every guest console when the test fails: the kernel's view of what went wrong.
_vm_dump_consoles() {
    local f
    # `rc` is _run_deferred's local (bash scoping is dynamic): the test's exit status
    if [ "${rc:-0}" != 0 ] && [ "${rc:-0}" != 77 ]; then
        for f in "$T_DIR"/*.console; do
            [ -f "$f" ] || continue
            printf '[%s] --- last lines of %s ---\n' "$T_NAME" "$(basename "$f")" >&"$VM_STDERR"
            tail -40 "$f" >&"$VM_STDERR"
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
    # tap mode (scripts/drill): the NIC on an existing tap device named PORT, e.g. on a bridge in
    # a network namespace the caller made and runs us in, so a client there can reach the guests
    [ "$mode" != tap ] || net=(-netdev "tap,id=n0,ifname=$nport,script=no,downscript=no"
                               -device "virtio-net-pci,netdev=n0,mac=52:54:00:00:02:$(printf %02x "${host##*.}")")
    cport=$(vm_free_port)
    qemu-system-x86_64 -accel tcg -cpu max -m 512 -smp 1 -nodefaults -display none -no-reboot \
        -kernel "$VM_IMG/vmlinuz" -initrd "$VM_IMG/initramfs.gz" \
        -append "console=ttyS0 panic=-1 loglevel=6 haspool.name=$name haspool.ip=$ip" \
        -serial "file:$T_DIR/$name.console" \
        -device virtio-rng-pci \
        -drive "file=$disk,format=raw,if=virtio,cache=unsafe" \
        -chardev "socket,id=ctl,host=127.0.0.1,port=$cport,server=on,wait=off" \
        -device virtio-serial-pci -device virtserialport,chardev=ctl,name=haspool.ctl \
        "${net[@]}" >"$T_DIR/$name.qemu.log" 2>&1 &
    pid=$!
    disown "$pid"  # no job-control chatter when the test kills it
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
    VM_T0[$name]=$(date +%s.%N)
}

# vm_wait NAME: until the guest's init answers on its control port.
vm_wait() {
    local name=$1
    vm_run "$name" -t 180 'true' >/dev/null || fail "$name did not come up"
    log "$name booted in $(awk -v a="${VM_T0[$name]}" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s (QEMU pid ${VM_PID[$name]})"
}

# vm_run NAME [-t SECONDS] SCRIPT: runs SCRIPT with /bin/sh in the guest; its output on stdout,
# its exit status as ours. Capture the output (out=$(vm_run ...)) rather than piping it into a
# reader that may stop early (grep -q): the rest of the answer would be left in the channel. A guest that does not answer within the limit (default 300 s) fails
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
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    local fd=${VM_FD[$name]:-}
    if [ -n "$fd" ]; then { exec {fd}>&-; } 2>/dev/null || true; fi
    unset "VM_PID[$name]" "VM_FD[$name]"
}

# vm_time_run NAME VAR SCRIPT: vm_run, storing the wall time in seconds (one decimal) in VAR.
vm_time_run() {
    local name=$1 var=$2 script=$3 t0 rc=0
    t0=$(date +%s.%N)
    vm_run "$name" "$script" || rc=$?
    printf -v "$var" '%s' "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
    return "$rc"
}

# ---- the mirror of DESIGN §1 in two guests ------------------------------------------------
# alpha (primary, 192.0.2.1) holds X on its /dev/vda; beta (standby, 192.0.2.2) exports Y (its
# /dev/vda) with `haspool export`; alpha attaches it as /dev/nbd0 over netlink and mirrors
# X + nbd0 in /dev/md/haspool. QEMU's socket netdev joins them; alpha's end listens.
VM_DISK_MB=${VM_DISK_MB:-128}
MD=/dev/md/haspool
EXPORT_ADDR=192.0.2.2:10809

# vm_start_export: (re)starts haspool export of Y on beta, in the background (pid in /tmp/export.pid).
vm_start_export() {
    vm_run beta "haspool export --device /dev/vda --listen $EXPORT_ADDR --name haspool --allow 192.0.2.1 \
        >>/tmp/export.log 2>&1 & echo \$! >/tmp/export.pid" || fail "starting the export on beta"
}

# vm_attach_nbd IO_TIMEOUT DEAD_TIMEOUT: attaches beta's export on alpha; sets $NBD (/dev/nbdN).
vm_attach_nbd() {
    local out
    out=$(vm_run alpha "haspool debug nbd-attach --connect $EXPORT_ADDR --name haspool --io-timeout $1 --dead-timeout $2") ||
        fail "nbd-attach on alpha: $out"
    NBD=${out%% *}
    case $NBD in /dev/nbd*) ;; *) fail "nbd-attach printed '$out'" ;; esac
    log "attached $out"
}

# vm_mirror_up IO_TIMEOUT DEAD_TIMEOUT: both guests up, export attached, md created and in sync,
# ext4 made and mounted on alpha's /mnt/spool. Measures boot and initial sync.
vm_mirror_up() {
    local io=$1 dead=$2 port t_sync
    truncate -s "${VM_DISK_MB}M" "$T_DIR/x.img" "$T_DIR/y.img"
    port=$(vm_free_port)
    vm_start alpha 192.0.2.1/24 "$T_DIR/x.img" listen "$port"
    vm_start beta 192.0.2.2/24 "$T_DIR/y.img" connect "$port"
    VM_LAN_PORT=$port
    vm_wait alpha
    vm_wait beta
    vm_start_export
    vm_attach_nbd "$io" "$dead"
    vm_run alpha "haspool debug md-create --md $MD --local /dev/vda --remote $NBD --bitmap-chunk 1M" ||
        fail "md-create on alpha"
    vm_time_run alpha t_sync "haspool debug md-wait --md $MD --until clean --timeout 600 >/dev/null" ||
        fail "initial sync did not finish: $(vm_run alpha "haspool debug md-status --md $MD")"
    log "initial sync of ${VM_DISK_MB} MiB over NBD: ${t_sync}s"
    VM_T_SYNC=$t_sync
    vm_run alpha "mkfs.ext4 -q -E lazy_itable_init=0,lazy_journal_init=0 $MD && mount -t ext4 $MD /mnt/spool" ||
        fail "mkfs/mount on alpha"
}

# md_field NAME: one field of `haspool debug md-status` on alpha.
md_field() {
    vm_run alpha "haspool debug md-status --md $MD" | awk -F= -v k="$1" '$1 == k { print substr($0, length(k) + 2) }'
}

# vm_compare_legs: stops the array on alpha (unmounted first) and compares X and Y byte for byte
# over the array's data area (metadata 1.0 keeps the superblocks after it), with caches dropped.
vm_compare_legs() {
    local sectors sx sy
    sectors=$(vm_run alpha "cat /sys/block/\$(basename \$(readlink -f $MD))/size") || fail "array size"
    vm_run alpha "umount /mnt/spool 2>/dev/null; haspool debug md-stop --md $MD" || fail "stopping the array on alpha"
    sx=$(vm_run alpha "sync; echo 3 >/proc/sys/vm/drop_caches; head -c $((sectors * 512)) /dev/vda | sha256sum") || fail "reading X"
    sy=$(vm_run beta "sync; echo 3 >/proc/sys/vm/drop_caches; head -c $((sectors * 512)) /dev/vda | sha256sum") || fail "reading Y"
    [ "${sx%% *}" = "${sy%% *}" ] || fail "X and Y differ over the array's $((sectors / 2048)) MiB"
    log "X and Y identical over the array's $((sectors / 2048)) MiB"
}

# nbd_written_sectors DEV: sectors written to /dev/nbdN so far (field 7 of its stat).
nbd_written_sectors() {
    local out
    out=$(vm_run alpha "cat /sys/block/${1#/dev/}/stat") || fail "reading ${1}'s stat"
    awk '{ print $7 }' <<<"$out"
}
