# The Debian lab's host side: guests that boot a Debian 12 root with systemd, udev and postfix
# (scripts/vm/build-debian-image), the same kernel as the busybox lab, haspool installed from its
# .deb by the quick start's own commands (docs/quickstart.md). Source it after lib_vm.sh.
#
#   deb_build_image DEB             the boot files and the cached root image into $VM_IMG
#   deb_media FILE...               the media disk every guest sees as /dev/vdc (a tar of FILEs)
#   deb_vm_start NAME IP/PREFIX SPOOL_DISK tap IFNAME
#                                   boot NAME: its own overlay of the root image (kept across
#                                   power cuts: the same machine boots again), SPOOL_DISK as
#                                   /dev/vdb, the media as /dev/vdc, the sampler port
#                                   and a second command channel: vm_run NAME.2 SCRIPT runs
#                                   beside a long command on NAME
#   deb_vm_kill NAME                the power cut: vm_kill, both channels closed
#   deb_vm_wait NAME                until systemd reports the boot finished
#   deb_unpack_media NAME           the media's files into NAME's /root/media
#   quickstart_blocks ROLE          the quick start's commands for ROLE (both|primary|standby|...),
#                                   each block prefixed with the settings block ($QS_SETTINGS)
#   samples_check FROM TO           overlap verdict over the samples between two host times
DEB_SPOOL_DEV=/dev/vdb
DEB_MEDIA=$T_DIR/media.tar
DEB_SAMPLES=$T_DIR/samples.log
declare -A DEB_SAMPLER_PID

deb_build_image() {
    local t0=$SECONDS
    "$HASPOOL_SOURCE_DIR/scripts/vm/build-debian-image" --deb "$1" --out "$VM_IMG" ||
        fail "building the Debian guest image failed"
    log "Debian guest image ready in $((SECONDS - t0))s ($(cat "$VM_IMG/kernel-package"))"
}

deb_media() {
    local stage=$T_DIR/media f
    mkdir -p "$stage"
    for f in "$@"; do cp -a "$f" "$stage/"; done
    tar -C "$stage" -cf "$DEB_MEDIA" . || fail "making the media disk"
}

# deb_vm_start NAME IP/PREFIX SPOOL_DISK tap IFNAME
deb_vm_start() {
    local name=$1 ip=$2 spool=$3 mode=$4 port=$5 root=$T_DIR/$1-root.qcow2 sport cport2 fd pid i
    [ -f "$root" ] || qemu-img create -q -f qcow2 -F raw -b "$(readlink -f "$VM_IMG/root.img")" "$root" ||
        fail "making $name's root overlay"
    sport=$(vm_free_port)
    cport2=$(vm_free_port)
    _vm_launch "$name" "$ip" "$mode" "$port" -m 768 \
        -kernel "$VM_IMG/vmlinuz" -initrd "$VM_IMG/initrd.gz" \
        -append "console=ttyS0 panic=-1 net.ifnames=0 systemd.show_status=0 modprobe.blacklist=kvm,kvm_amd,kvm_intel haspool.name=$name haspool.ip=$ip haspool.sample=${DEB_SAMPLE_WHAT:-/none,none}" \
        -drive "file=$root,format=qcow2,if=virtio,cache=unsafe" \
        -drive "file=$spool,format=raw,if=virtio,cache=unsafe" \
        -drive "file=$DEB_MEDIA,format=raw,if=virtio,readonly=on" \
        -chardev "socket,id=smp,host=127.0.0.1,port=$sport,server=on,wait=off" \
        -device virtserialport,chardev=smp,name=haspool.sample \
        -chardev "socket,id=ctl2,host=127.0.0.1,port=$cport2,server=on,wait=off" \
        -device virtserialport,chardev=ctl2,name=haspool.ctl2
    for ((i = 0; i < 100; i++)); do
        if { exec {fd}<>"/dev/tcp/127.0.0.1/$cport2"; } 2>/dev/null; then break; fi
        fd=; sleep 0.1
    done
    [ -n "$fd" ] || fail "cannot reach $name's second control port 127.0.0.1:$cport2"
    VM_FD[$name.2]=$fd VM_PID[$name.2]=${VM_PID[$name]}
    # The sampler's lines, stamped with the host's clock as they arrive (one clock for both guests).
    for ((i = 0; i < 100; i++)); do
        if { exec {fd}<>"/dev/tcp/127.0.0.1/$sport"; } 2>/dev/null; then break; fi
        fd=; sleep 0.1
    done
    [ -n "$fd" ] || fail "cannot reach $name's sampler port 127.0.0.1:$sport"
    ( while IFS= read -r line <&"$fd"; do printf '%s %s %s\n' "$EPOCHREALTIME" "$name" "$line"; done >>"$DEB_SAMPLES" ) &
    pid=$!
    exec {fd}>&-
    DEB_SAMPLER_PID[$name]=$pid
    defer kill -TERM "$pid"
}

deb_vm_kill() {
    local fd=${VM_FD[$1.2]:-}
    vm_kill "$1"
    if [ -n "$fd" ]; then { exec {fd}>&-; } 2>/dev/null || true; fi
    unset "VM_PID[$1.2]" "VM_FD[$1.2]"
}

deb_vm_wait() {
    local name=$1 out
    out=$(vm_run "$name" -t 300 'systemctl is-system-running --wait') ||
        log "$name: systemd says '$out': $(vm_run "$name" 'systemctl --failed --no-legend --plain')"
    log "$name booted in $(awk -v a="${VM_T0[$name]}" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s (systemd: $out)"
}

deb_unpack_media() {
    vm_run "$1" 'mkdir -p /root/media && tar -xf /dev/vdc -C /root/media && ls /root/media' >/dev/null ||
        fail "unpacking the media on $1"
}

# quickstart_blocks ROLE: the shell blocks of docs/quickstart.md whose first line is
# "# on: ROLE", in order, each prefixed with the settings block, separated by NUL bytes. The
# settings block is the one marked "# on: settings"; $QS_SETTINGS replaces it (the lab's values).
quickstart_blocks() {
    awk -v role="$1" -v settings="$QS_SETTINGS" '
        /^```sh$/ { inblock = 1; body = ""; first = 1; next }
        inblock && /^```$/ { inblock = 0; if (take) printf "%s\n%s%c", settings, body, 0; take = 0; next }
        inblock && first { first = 0; take = ($0 == "# on: " role) }
        inblock { body = body $0 "\n" }
    ' "$HASPOOL_SOURCE_DIR/docs/quickstart.md"
}

# quickstart_run NAME ROLE: runs NAME's blocks for ROLE, in /root/media, stopping at the first
# that fails; logs each block's first command.
quickstart_run() {
    local name=$1 role=$2 block out n=0
    while IFS= read -r -d '' block; do
        n=$((n + 1))
        out=$(vm_run "$name" -t 600 "set -e; cd /root/media
$block") || fail "quick start ($role block $n) failed on $name: $out"
        log "$name: quick start '$role' block $n done"
    done < <(quickstart_blocks "$role")
    [ "$n" -gt 0 ] || fail "docs/quickstart.md has no block for '$role'"
}

# samples_check FROM TO: reads $DEB_SAMPLES between host times FROM and TO (epoch seconds) and
# prints "samples=N mount_overlaps=N address_overlaps=N": a sample is one guest's line; an
# overlap is a sample at which both guests' latest lines (each no older than 1 s: a guest that
# was powered off stops sampling) say they hold the mount (or the address).
samples_check() {
    awk -v from="$1" -v to="$2" '
        $1 < from || $1 > to { next }
        {
            t = $1; g = $2; n++
            split($5, m, "="); split($6, a, "=")
            mnt[g] = m[2]; adr[g] = a[2]; at[g] = t
            mo = 0; ao = 0; cm = 0; ca = 0
            for (h in at) {
                if (t - at[h] > 1.0) continue
                if (mnt[h] == 1) cm++
                if (adr[h] == 1) ca++
            }
            if (cm > 1) mov++
            if (ca > 1) aov++
        }
        END { printf "samples=%d mount_overlaps=%d address_overlaps=%d\n", n, mov, aov }
    ' "$DEB_SAMPLES"
}
