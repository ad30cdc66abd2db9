# The VM lab's host side (docs/design.md §6), for tests labelled `vm`. Source it after nothing
# else: it sources tests/lib.sh. Guests are QEMU TCG machines booting Debian's cloud kernel with
# a busybox initramfs (scripts/vm/build-image) whose /init (scripts/vm/guest-init) runs the
# scripts we send over a virtio-serial port carried on a 127.0.0.1 TCP socket.
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
declare -A VM_PID VM_FD VM_CTL_PORT VM_T0 VM_STATE_DISK
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
    local name=$1 ip=$2 disk=$3 mode=${4:-} nport=${5:-} extra=()
    # a second disk (/dev/vdb in the guest) when the test gave the guest one: see vm_state_disk
    [ -z "${VM_STATE_DISK[$name]:-}" ] || extra=(-drive "file=${VM_STATE_DISK[$name]},format=raw,if=virtio,cache=unsafe")
    _vm_launch "$name" "$ip" "$mode" "$nport" -m 512 \
        -kernel "$VM_IMG/vmlinuz" -initrd "$VM_IMG/initramfs.gz" \
        -append "console=ttyS0 panic=-1 loglevel=6 haspool.name=$name haspool.ip=$ip" \
        -drive "file=$disk,format=raw,if=virtio,cache=unsafe" "${extra[@]}"
}

# _vm_launch NAME IP/PREFIX MODE PORT QEMU_ARGS...: starts NAME's QEMU with the lab's common
# options (TCG, one CPU, the serial console in $T_DIR/NAME.console, the control port, the NIC of
# MODE: listen|connect PORT on a 127.0.0.1 socket, or tap IFNAME) plus QEMU_ARGS (memory, boot
# files, disks), and connects to its control port; no waiting for the guest.
_vm_launch() {
    local name=$1 ip=$2 mode=$3 nport=$4 net=() cport pid fd i host; shift 4
    host=${ip%/*}
    [ -z "$mode" ] || net=(-netdev "socket,id=n0,$mode=127.0.0.1:$nport"
                           -device "virtio-net-pci,netdev=n0,mac=52:54:00:00:02:$(printf %02x "${host##*.}")")
    # tap mode (scripts/drill): the NIC on an existing tap device named PORT, e.g. on a bridge in
    # a network namespace the caller made and runs us in, so a client there can reach the guests
    # VM_NET_DUMP_NAME=NAME: NAME's NIC traffic goes to $T_DIR/NAME.pcap too (QEMU's filter-dump)
    [ -z "$mode" ] || [ "${VM_NET_DUMP_NAME:-}" != "$name" ] ||
        net+=(-object "filter-dump,id=dump0,netdev=n0,file=$T_DIR/$name.pcap,maxlen=65535")
    [ "$mode" != tap ] || net=(-netdev "tap,id=n0,ifname=$nport,script=no,downscript=no"
                               -device "virtio-net-pci,netdev=n0,mac=52:54:00:00:02:$(printf %02x "${host##*.}")")
    cport=$(vm_free_port)
    qemu-system-x86_64 -accel tcg -cpu max -smp 1 -nodefaults -display none -no-reboot \
        -serial "file:$T_DIR/$name.console" \
        -device virtio-rng-pci \
        -chardev "socket,id=ctl,host=127.0.0.1,port=$cport,server=on,wait=off" \
        -device virtio-serial-pci -device virtserialport,chardev=ctl,name=haspool.ctl \
        "${net[@]}" "$@" >"$T_DIR/$name.qemu.log" 2>&1 &
    pid=$!
    disown "$pid"  # no job-control chatter when the test kills it
    VM_PID[$name]=$pid
    defer kill -KILL "$pid"  # a guest is powered off, not stopped: no stop_pid (it would fail the test)
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

# ---- the mirror of docs/design.md §1 in two guests, and how to compare its legs ------------
# alpha (primary, 192.0.2.1) holds X on its /dev/vda; beta (standby, 192.0.2.2) holds Y on its
# /dev/vda and exports it; alpha attaches it as /dev/nbd0 over netlink and mirrors X + nbd0 in
# /dev/md/haspool (the daemons do all of it: vm_daemons_up below). QEMU's socket netdev joins
# them; by default alpha's end listens.
VM_DISK_MB=${VM_DISK_MB:-128}
MD=/dev/md/haspool

# vm_check_files_on_y SUMS FILES...: with beta's daemon stopped, mounts Y read-only on beta and
# checks that FILES (shell patterns in the spool) hash to SUMS ("sha256  name" lines, any order).
vm_check_files_on_y() {
    local sums=$1 got; shift
    got=$(vm_run beta "mount -t ext4 -o ro /dev/vda $SPOOL && cd $SPOOL && sha256sum $*; cd /; umount $SPOOL") ||
        fail "reading the files back from Y on beta: $got"
    [ "$(sort -k2 <<<"$sums")" = "$(sort -k2 <<<"$got")" ] || fail "files on Y differ from what alpha wrote:
wrote: $sums
on Y:  $got"
    log "all $(wc -l <<<"$sums") files byte-identical on Y"
}

# vm_compare_legs: stops the array on alpha (unmounted first) and compares X and Y byte for byte
# over the array's data area (metadata 1.0 keeps the superblocks after it), with caches dropped.
vm_compare_legs() {
    local sectors sx sy
    sectors=$(vm_run alpha "cat /sys/block/\$(basename \$(readlink -f $MD))/size") || fail "array size"
    vm_run alpha "umount /mnt/spool 2>/dev/null; haspool debug md-stop --md $MD" || fail "stopping the array on alpha"
    sx=$(vm_run alpha "sync; echo 3 >/proc/sys/vm/drop_caches; head -c $((sectors * 512)) /dev/vda | sha256sum") || fail "reading X"
    sy=$(vm_run beta "sync; echo 3 >/proc/sys/vm/drop_caches; head -c $((sectors * 512)) /dev/vda | sha256sum") || fail "reading Y"
    [ "${sx%% *}" = "${sy%% *}" ] || fail "X and Y differ over the array's $((sectors / 2048)) MiB; $(vm_diff_images "$sectors")"
    log "X and Y identical over the array's $((sectors / 2048)) MiB"
}

# vm_check_legs: md's own comparison of X and Y on alpha's running array (sync_action=check,
# then mismatch_cnt), with both daemons left running. For tests where stopping a daemon would
# change Y (e.g. the address probe is off, so a silent primary lets the standby take over Y
# while vm_compare_legs reads it). The spool must be idle (writers stopped); synced first.
vm_check_legs() {
    local out t
    vm_time_run alpha t "sync; md=\$(basename \$(readlink -f $MD)); echo check >/sys/block/\$md/md/sync_action &&
        sleep 1 && haspool debug md-wait --md $MD --until idle --timeout 300 >/dev/null" ||
        fail "md's check of X against Y did not run: $(vm_run alpha "haspool debug md-status --md $MD")"
    out=$(vm_run alpha "md=\$(basename \$(readlink -f $MD)); cat /sys/block/\$md/md/mismatch_cnt /sys/block/\$md/md/last_sync_action") ||
        fail "reading md's mismatch count: $out"
    [ "$(sed -n 2p <<<"$out")" = check ] || fail "md's last sync action was not the check: $out"
    [ "$(sed -n 1p <<<"$out")" = 0 ] || fail "md's check found $(sed -n 1p <<<"$out") mismatched sectors between X and Y"
    log "md's check read X and Y in full in ${t}s: no mismatched sector"
}

# vm_diff_images SECTORS: where the disk images of X and Y (as QEMU wrote them, on the host)
# differ within the first SECTORS sectors: a diagnostic for a failed comparison.
vm_diff_images() {
    cmp -l -n $(($1 * 512)) "$T_DIR/x.img" "$T_DIR/y.img" 2>/dev/null |
        awk '{ n++; k = int(($1 - 1) / 4096); if (!(k in seen)) { seen[k] = 1; if (m++ < 40) l = l sprintf(" %d", k) } }
             n <= 16 { b = b sprintf(" %d:%s/%s", $1 - 1, $2, $3) }
             END { printf "on the host the images differ in %d byte(s), %d 4-KiB block(s) (first:%s; offset:X/Y octal:%s)", n, m, l, b }'
}

# vm_x_bitmap: X's write-intent bitmap on alpha (md-examine-bitmap): sets BM_DIRTY, BM_CHUNK
# (bytes), BM_BITS and logs them; fails when nothing is dirty (a degraded period wrote nothing?).
vm_x_bitmap() {
    local x
    x=$(vm_run alpha "haspool debug md-examine-bitmap --member /dev/vda") || fail "examining X's bitmap: $x"
    BM_DIRTY=$(awk -F= '$1 == "dirty" { print $2 }' <<<"$x")
    BM_CHUNK=$(awk -F= '$1 == "chunk_bytes" { print $2 }' <<<"$x")
    BM_BITS=$(awk -F= '$1 == "bits" { print $2 }' <<<"$x")
    log "X's bitmap: $BM_DIRTY of $BM_BITS chunks of $BM_CHUNK bytes dirty ($(awk -F= '$1 == "ondisk_ranges" { print $2 }' <<<"$x"))"
    [ "$BM_DIRTY" -gt 0 ] || fail "no dirty chunks recorded while degraded"
}

# vm_check_bitmap_resync W0 W1 SLACK: the NBD leg's written sectors went from W0 to W1 over a
# re-add: something was copied, at most the dirty chunks (vm_x_bitmap) plus SLACK chunks (md's
# own superblock and bitmap updates, the journal's commits), and far less than a full copy.
# Sets VM_COPIED (bytes) and VM_FULL (bytes of a full copy).
vm_check_bitmap_resync() {
    local w0=$1 w1=$2 slack=$3
    [ "$w1" -ge "$w0" ] || fail "the NBD leg's write counter went back ($w0 -> $w1): cannot measure the resync"
    VM_COPIED=$(( (w1 - w0) * 512 ))
    VM_FULL=$(( BM_BITS * BM_CHUNK ))
    [ "$VM_COPIED" -gt 0 ] || fail "the re-add copied nothing"
    [ "$VM_COPIED" -le $(( (BM_DIRTY + slack) * BM_CHUNK )) ] ||
        fail "resync copied $VM_COPIED bytes, more than the $BM_DIRTY dirty chunks"
    [ "$VM_COPIED" -lt $(( VM_FULL / 4 )) ] || fail "resync copied $VM_COPIED bytes: that is a full copy, not a bitmap resync"
}

# nbd_written_sectors DEV: sectors written to /dev/nbdN so far (field 7 of its stat).
nbd_written_sectors() {
    local out
    out=$(vm_run alpha "cat /sys/block/${1#/dev/}/stat") || fail "reading ${1}'s stat"
    awk '{ print $7 }' <<<"$out"
}

# ---- the daemons (`haspool primary` on alpha, `haspool standby` on beta) -----------------
# Each guest gets a second small disk (/dev/vdb, ext4 made on the host) mounted on the state
# dir: the node's generation must survive a guest crash, and everything else in the guest is
# RAM. The config and the secret (a random key made on the host) are written into /etc/haspool
# at each boot; the control socket lives under /run; the daemon logs to /var/log/haspool.log.
#   vm_state_disk NAME              make NAME's state disk (call before its first vm_start)
#   vm_setup_node NAME              mount the state disk, write secret + config, check-config
#   vm_daemon_start NAME [ARGS...]  start NAME's daemon in the background (--init etc. in ARGS)
#   vm_daemon_stop NAME             SIGTERM by pid, wait until it is gone
#   vm_daemon_log NAME [LINES]      the tail of NAME's daemon log
#   vm_status_json NAME             `haspool status --json` on NAME
#   vm_wait_state NAME STATE TIMEOUT  until NAME's daemon reports STATE; VM_WAITED = seconds
#   vm_wait_peer_state NAME STATE TIMEOUT  until NAME's daemon has heard its peer say STATE
VM_CFG=/etc/haspool/haspool.yaml
VM_STATE_DIR=/var/lib/haspool
VM_DAEMON_LOG=/var/log/haspool.log
VM_DAEMON_PID=/run/haspool.pid
SPOOL=/mnt/spool
VIP=192.0.2.10
# Short timings so the tests run in seconds; the timing rule (docs/design.md §7) still holds:
# io_timeout 8000 > dead_after 4000 + no fence + margin 2000; dead_conn_timeout <= dead_after.
# dead_after is not shorter because a TCG guest on a loaded 2-core host stalls for a second or
# more now and then (the kernel's "clocksource: Long readout interval"): with 2000 ms a primary
# once declared its live standby dead and degraded the mirror.
VM_DEAD_AFTER_MS=4000
VM_IO_TIMEOUT_MS=8000
VM_STABLE_AFTER_MS=${VM_STABLE_AFTER_MS:-1000}
VM_SECRET_HEX=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
declare -A VM_ROLE=([alpha]=primary [beta]=standby)

vm_state_disk() {
    local img=$T_DIR/$1-state.img
    truncate -s 16M "$img"
    mke2fs -q -F -t ext4 -L haspool-state "$img" || fail "making $1's state disk"
    VM_STATE_DISK[$1]=$img
}

# The cluster file, identical on both guests.
vm_config_yaml() {
    cat <<YAML
cluster:
  name: vmlab
  secret_file: /etc/haspool/secret
  state_dir: $VM_STATE_DIR
  control_socket: /run/haspool/control.sock
nodes:
  - name: alpha
    role: primary
    hostname: alpha
    spool_device: /dev/vda
    addresses:
      lan: 192.0.2.1
  - name: beta
    role: standby
    hostname: beta
    spool_device: ${VM_Y_DEVICE:-/dev/vda}
    addresses:
      lan: 192.0.2.2
heartbeat:
  interval_ms: 200
  dead_after_ms: $VM_DEAD_AFTER_MS
  stable_after_ms: $VM_STABLE_AFTER_MS
nbd:
  io_timeout_ms: $VM_IO_TIMEOUT_MS
  dead_conn_timeout_ms: 3000
  timeout_margin_ms: 2000
${VM_NBD_EXTRA:-}
spool:
  md_device: $MD
  mount_point: $SPOOL
  bitmap_chunk_kib: 1024
${VM_SPOOL_EXTRA:-}
service:
  address: $VIP/24
  interface: eth0
  units: []
  probe: ${VM_SERVICE_PROBE:-true}
  probe_timeout_ms: 500
  garp:
    count: 3
    interval_ms: 100
failback:
  policy: manual
${VM_EXTRA_YAML:-}
YAML
}

vm_setup_node() {
    local name=$1 out
    out=$(vm_run "$name" "set -e
        mkdir -p $VM_STATE_DIR /etc/haspool /etc/mdadm /var/log
        echo 'AUTO -all' >/etc/mdadm/mdadm.conf  # as on a real node: nothing assembles the spool by itself
        grep -q ' $VM_STATE_DIR ' /proc/mounts || mount -t ext4 /dev/vdb $VM_STATE_DIR
        umask 077
        printf '%s' '$VM_SECRET_HEX' >/etc/haspool/secret
        cat >$VM_CFG <<'YAML'
$(vm_config_yaml)
YAML
        haspool check-config --config $VM_CFG 2>&1") || fail "configuring $name: $out"
    grep -q "this host is ${VM_ROLE[$name]} $name" <<<"$out" || fail "check-config on $name did not find itself: $out"
    grep -q '^configuration is valid' <<<"$out" || fail "check-config on $name: $out"
}

vm_daemon_log() {
    vm_run "$1" -t 30 "tail -n ${2:-40} $VM_DAEMON_LOG 2>&1" || true
}

vm_daemon_start() {
    local name=$1; shift
    vm_run "$name" "haspool ${VM_ROLE[$name]} --config $VM_CFG $* >>$VM_DAEMON_LOG 2>&1 & echo \$! >$VM_DAEMON_PID" ||
        fail "starting the ${VM_ROLE[$name]} daemon on $name"
    log "$name: haspool ${VM_ROLE[$name]} $* started"
}

vm_daemon_stop() {
    local name=$1
    vm_run "$name" -t 60 "p=\$(cat $VM_DAEMON_PID 2>/dev/null) || exit 0
        kill -TERM \$p 2>/dev/null || exit 0
        i=0; while kill -0 \$p 2>/dev/null; do i=\$((i + 1)); [ \$i -lt 300 ] || exit 1; sleep 0.1; done
        rm -f $VM_DAEMON_PID" || fail "the daemon on $name did not stop on SIGTERM within 30s: $(vm_daemon_log "$name")"
}

vm_status_json() {
    vm_run "$1" "haspool status --json --config $VM_CFG 2>&1"
}

# json_get JSON PATH: one value of a status document (PATH like peer.state), via python3.
json_get() {
    python3 -c 'import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("" if v is None else v)' "$1" "$2"
}

# _vm_wait_status NAME TEXT TIMEOUT WHAT: polls `haspool status --json` in the guest (every 1 s
# plus the time status takes, 1-3 s under TCG: polling faster starves the guest's one CPU) until
# it contains TEXT (no single quotes). Leaves
# the waited seconds in VM_WAITED and the last status in VM_STATUS; on failure prints the status
# and the daemon's log tail.
_vm_wait_status() {
    local name=$1 text=$2 limit=$3 what=$4 out rc=0
    out=$(vm_run "$name" -t $((limit + 60)) "t0=\$(cut -d' ' -f1 /proc/uptime)
        while :; do
            s=\$(haspool status --json --config $VM_CFG 2>&1)
            w=\$(awk -v a=\$t0 -v b=\$(cut -d' ' -f1 /proc/uptime) 'BEGIN { printf \"%.1f\", b - a }')
            case \$s in *'$text'*) break ;; esac
            awk -v w=\$w 'BEGIN { exit !(w > $limit) }' && { echo \"\$s\"; exit 1; }
            sleep 1
        done
        echo \"\$s\"; echo waited=\$w") || rc=$?
    VM_STATUS=$(head -1 <<<"$out")
    if [ "$rc" != 0 ]; then
        log "$name: last status: $out"
        log "$name: daemon log tail:"
        vm_run "$name" -t 30 "tail -n 60 $VM_DAEMON_LOG" >&2 || true
        # the other guest's view often holds the cause (a peer HALTED, a refused request)
        local other=alpha
        [ "$name" = alpha ] && other=beta
        if [ -n "${VM_PID[$other]:-}" ]; then
            log "$other: daemon log tail:"
            vm_run "$other" -t 30 "tail -n 60 $VM_DAEMON_LOG" >&2 || true
        fi
        fail "$what within ${limit}s"
    fi
    VM_WAITED=$(sed -n 's/^waited=//p' <<<"$out")
}

# vm_wait_state NAME STATE TIMEOUT: until NAME's daemon is in STATE.
vm_wait_state() {
    _vm_wait_status "$1" "\"role\":\"${VM_ROLE[$1]}\",\"state\":\"$2\"" "$3" "$1 did not reach $2"
}

# vm_wait_peer_state NAME STATE TIMEOUT: until NAME's daemon has heard its peer say STATE.
vm_wait_peer_state() {
    local peer=alpha
    [ "$1" = alpha ] && peer=beta
    _vm_wait_status "$1" "\"peer\":{\"node\":\"$peer\",\"state\":\"$2\"" "$3" "$1 did not hear $peer say $2"
}

# vm_daemons_up: both guests (blank X and Y) with their state disks, configured;
# `haspool standby --init` on beta, `haspool primary --init` on alpha (its connect plan creates
# the array and, the new array holding nothing, makes the filesystem); waits for MIRRORED and the
# end of md's initial sync. Sets VM_LAN_PORT, VM_T_MIRRORED (s from the primary's start to
# MIRRORED as seen by polling) and VM_T_SYNC.
vm_daemons_up() {
    local port
    truncate -s "${VM_DISK_MB}M" "$T_DIR/x.img" "$T_DIR/y.img"
    vm_state_disk alpha
    vm_state_disk beta
    port=$(vm_free_port)
    VM_LAN_PORT=$port
    # VM_LISTENER=beta: beta's QEMU listens on the LAN socket, so a crashed alpha can reconnect
    if [ "${VM_LISTENER:-alpha}" = beta ]; then
        vm_start beta 192.0.2.2/24 "$T_DIR/y.img" listen "$port"
        vm_start alpha 192.0.2.1/24 "$T_DIR/x.img" connect "$port"
    else
        vm_start alpha 192.0.2.1/24 "$T_DIR/x.img" listen "$port"
        vm_start beta 192.0.2.2/24 "$T_DIR/y.img" connect "$port"
    fi
    vm_wait alpha
    vm_wait beta
    vm_setup_node alpha
    # VM_PREPARE_BETA: a script run on beta before its configuration is checked (a device for Y)
    if [ -n "${VM_PREPARE_BETA:-}" ]; then
        vm_run beta "$VM_PREPARE_BETA" >/dev/null || fail "preparing beta: $(vm_run beta "$VM_PREPARE_BETA" 2>&1)"
    fi
    vm_setup_node beta
    vm_daemon_start beta --init
    # VM_SYNC_PROGRESS_KIB=N: md's copy held to N KiB/s until status has shown its figures
    [ -n "${VM_SYNC_PROGRESS_KIB:-}" ] && vm_run alpha "echo $VM_SYNC_PROGRESS_KIB >/proc/sys/dev/raid/speed_limit_max"
    vm_daemon_start alpha --init
    [ -n "${VM_SYNC_PROGRESS_KIB:-}" ] && vm_check_sync_progress alpha
    vm_wait_state alpha MIRRORED 120
    VM_T_MIRRORED=$VM_WAITED
    log "alpha MIRRORED ${VM_T_MIRRORED}s after its daemon started:"
    vm_run alpha "grep -E ' -> |step .*(FAILED|ok)' $VM_DAEMON_LOG | cut -c12-23,37- | cut -c1-180" >&2
    vm_time_run alpha VM_T_SYNC "haspool debug md-wait --md $MD --until clean --timeout 300 >/dev/null" ||
        fail "the initial sync did not finish: $(vm_run alpha "haspool debug md-status --md $MD")"
    log "initial sync of ${VM_DISK_MB} MiB finished ${VM_T_SYNC}s after MIRRORED"
    vm_md_copy_rate alpha
}

# vm_check_sync_progress NAME: while md copies at the throttle of VM_SYNC_PROGRESS_KIB, NAME's
# `status --json` shows the copy in figures (issue 15 item 2): md_sync with the bytes done of the
# array's size, md's measured speed and the time left that follows from them; the text status
# says the same. Then lifts the throttle (md's default, 200000 KiB/s).
vm_check_sync_progress() {
    local name=$1 size_bytes i why=""
    _vm_wait_status "$name" '"bytes_per_second":' 90 "$name's status did not show the copy's speed"
    size_bytes=$(vm_run "$name" "echo \$((\$(cat /sys/block/md*/size | head -1) * 512))")
    # md moves sync_completed on at its checkpoints: a first sample may still say 0 bytes done
    for i in $(seq 20); do
        why=$(python3 - "$VM_STATUS" "$size_bytes" "$VM_SYNC_PROGRESS_KIB" 2>&1 <<'PY'
import json, math, sys
s = json.loads(sys.argv[1]); size = int(sys.argv[2]); cap = int(sys.argv[3]) * 1024
m = s["md_sync"]
assert m is not None, "no md_sync"
assert m["action"] in ("recover", "resync"), m
assert all(isinstance(m[k], int) for k in ("done_bytes", "total_bytes", "bytes_per_second", "eta_seconds")), m
assert m["total_bytes"] == size, (m["total_bytes"], size)
assert 0 < m["done_bytes"] < m["total_bytes"], m
# md's speed is its own average since its last mark, of a throttled copy: never far above the
# throttle (seen: 8.1 MiB/s at the very start of a 4 MiB/s copy)
assert 0 < m["bytes_per_second"] <= 3 * cap, (m["bytes_per_second"], cap)
assert m["eta_seconds"] == math.ceil((m["total_bytes"] - m["done_bytes"]) / m["bytes_per_second"]), m
PY
) && break
        sleep 1
        VM_STATUS=$(vm_status_json "$name")
    done
    [ -z "$why" ] || fail "$name: md_sync does not add up ($(tail -1 <<<"$why")): $VM_STATUS"
    log "$name while md copies: $(vm_run "$name" "haspool status --config $VM_CFG | grep '  md '")"
    vm_run "$name" "echo 200000 >/proc/sys/dev/raid/speed_limit_max"
}

# vm_md_copy_rate NAME: md's last recovery or resync on NAME, timed by the kernel's own log
# lines ("md: recovery of RAID array md127" ... "md: md127: recovery done.") and its size from
# sysfs: logged as "N MiB in T s (R MiB/s)" and kept in VM_MD_COPY_RATE (MiB/s). A figure of the
# lab (TCG), not a check: issue 17 compares it over plain NBD and over kTLS.
vm_md_copy_rate() {
    local name=$1 out
    out=$(vm_run "$name" "dmesg | grep -E 'md: (recovery|resync) of RAID array|md: md[0-9]+: (recovery|resync) done' | tail -2;
                          cat /sys/block/md*/size | head -1") || return 0
    VM_MD_COPY_RATE=$(awk '
        /of RAID array/ { gsub(/[][]/, " "); t0 = $1 }
        /done/ { gsub(/[][]/, " "); t1 = $1 }
        /^[0-9]+$/ { mib = $1 / 2048 }
        END { if (t0 != "" && t1 > t0 && mib > 0) printf "%.1f", mib / (t1 - t0) }' <<<"$out")
    if [ -n "$VM_MD_COPY_RATE" ]; then
        log "md's copy onto the NBD leg on $name (kernel log): $(awk '
            /of RAID array/ { gsub(/[][]/, " "); t0 = $1 } /done/ { gsub(/[][]/, " "); t1 = $1 }
            /^[0-9]+$/ { mib = $1 / 2048 }
            END { printf "%.0f MiB in %.1f s", mib, t1 - t0 }' <<<"$out") ($VM_MD_COPY_RATE MiB/s)"
    else
        log "md's copy onto the NBD leg on $name: not timed (kernel log: $(tr '\n' '|' <<<"$out"))"
    fi
}

# vm_spool_served_by NAME: NAME has the array mounted on the spool and the service address on
# eth0, and the other guest (when given as $2 and running) has neither.
vm_spool_served_by() {
    local name=$1 other=${2:-} out
    out=$(vm_run "$name" "grep ' $SPOOL ' /proc/mounts; ip -4 addr show dev eth0")
    grep -q "^/dev/md.* $SPOOL ext4 " <<<"$out" || fail "$name does not have the array mounted on $SPOOL: $out"
    grep -q "inet $VIP/24" <<<"$out" || fail "$VIP is not on $name's eth0: $out"
    if [ -n "$other" ] && [ -n "${VM_PID[$other]:-}" ]; then
        out=$(vm_run "$other" "grep ' $SPOOL ' /proc/mounts; ip -4 addr show dev eth0")
        if grep -q "inet $VIP/\| $SPOOL " <<<"$out"; then fail "$other serves too: $out"; fi
    fi
}

# ---- fsync'd files, and a writer that acknowledges each file on the console ---------------
# vm_write_files NODE PREFIX COUNT KIB: COUNT fsync'd random files PREFIX.N of KIB KiB on NODE's
# spool; prints their "sha256  name" lines once every fsync has returned (the acknowledgement).
vm_write_files() {
    vm_run "$1" "set -e; for i in \$(seq 1 $3); do
            dd if=/dev/urandom of=$SPOOL/$2.\$i bs=1k count=$4 conv=fsync 2>/dev/null
        done; cd $SPOOL && sha256sum $2.*"
}

# vm_check_files NODE SUMS: every file of SUMS ("sha256  name" lines) is on NODE's spool, intact.
vm_check_files() {
    local out
    out=$(vm_run "$1" "cd $SPOOL && sha256sum -c <<'SUMS' 2>&1
$2
SUMS") || fail "files missing or damaged on $1: $(grep -v ': OK$' <<<"$out" | head -20)"
}

# vm_install_writer NODE: /etc/haspool/writer TAG [PAUSE] writes numbered 16 KiB fsync'd files
# TAG.N on the spool (PAUSE seconds apart) and prints "HASPOOL-ACK sha256 TAG.N" on the console
# after each fsync returned; /etc/haspool/stop-writer stops it (also fit for a before_handback
# hook: no systemd in the guest, the writer stands in for the mail units). The guest's /etc is
# lost on reboot: install again after a restart.
vm_install_writer() {
    vm_run "$1" "cat >/etc/haspool/writer <<'SH'
i=0
while :; do
    i=\$((i + 1)); f=$SPOOL/\$1.\$i
    dd if=/dev/urandom of=\$f bs=4k count=4 conv=fsync 2>/dev/null || exit 0
    s=\$(sha256sum \$f) || exit 0
    echo \"HASPOOL-ACK \${s%% *} \$1.\$i\" >/dev/console
    sleep \${2:-0}
done
SH
cat >/etc/haspool/stop-writer <<'SH'
p=\$(cat /run/writer.pid 2>/dev/null) || exit 0
kill -TERM -- -\$p 2>/dev/null
while kill -0 -- -\$p 2>/dev/null; do sleep 0.1; done
rm -f /run/writer.pid
SH" || fail "installing the writer on $1"
}

# vm_writer_start NODE TAG [PAUSE]: the writer in its own session (pid in /run/writer.pid).
vm_writer_start() {
    vm_run "$1" "setsid sh /etc/haspool/writer $2 ${3:-0} </dev/null >/dev/null 2>&1 & echo \$! >/run/writer.pid" ||
        fail "starting the writer on $1"
}

vm_writer_stop() {
    vm_run "$1" -t 60 "sh /etc/haspool/stop-writer" || fail "stopping the writer on $1"
}

# vm_acked NODE TAG: the files NODE's writer acknowledged so far, as "sha256  TAG.N" lines.
vm_acked() {
    grep -aoE "HASPOOL-ACK [0-9a-f]{64} $2\.[0-9]+" "$T_DIR/$1.console" | cut -d' ' -f2- | awk '{ print $1 "  " $2 }'
}

# vm_wait_acked NODE TAG N SECONDS: until NODE's writer has acknowledged at least N files.
vm_wait_acked() {
    local i
    for ((i = 0; i < $4 * 10; i++)); do [ "$(vm_acked "$1" "$2" | wc -l)" -ge "$3" ] && return 0; sleep 0.1; done
    fail "$1's writer acknowledged only $(vm_acked "$1" "$2" | wc -l) files (wanted $3) in $4 s: $(vm_daemon_log "$1" 30)"
}
