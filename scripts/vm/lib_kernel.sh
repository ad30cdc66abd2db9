# Sourced by the VM lab's image builders (scripts/vm/build-image, scripts/vm/build-debian-image):
# Debian's cloud kernel (nbd, md-mod, raid1, virtio as modules; ext4 and devtmpfs built in),
# fetched once into the cache and unpacked with dpkg-deb -x: nothing is installed on the host.
#
#   kernel_fetch CACHE   sets KPKG (package), KVER_PKG (its version), KDIR (the unpacked tree,
#                        with modules.dep made by depmod) and KVER (the kernel release)
#   copy_with_libs ROOT FILE...   FILE and its whole ldd closure, including the dynamic loader
#   copy_modules ROOT LIST MODULE...   MODULE and its dependencies from KDIR into ROOT, in load
#                        order, appended to ROOT/LIST (paths as in the guest)

kernel_fetch() {
    local cache=$1
    # Pinned through the metapackage's dependency, not a hard-coded ABI.
    KPKG=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
    [ -n "$KPKG" ] || { echo "$(basename "$0"): cannot resolve linux-image-cloud-amd64's kernel package (apt-get update?)" >&2; return 1; }
    KVER_PKG=$(apt-cache policy "$KPKG" | awk '$1 == "Candidate:" { print $2 }')
    KDIR=$cache/kernel/${KPKG}_$KVER_PKG
    if [ ! -f "$KDIR/.complete" ]; then
        rm -rf "$KDIR"; mkdir -p "$KDIR/dl"
        (cd "$KDIR/dl" && apt-get download "$KPKG=$KVER_PKG" >/dev/null 2>&1) \
            || { echo "$(basename "$0"): apt-get download $KPKG=$KVER_PKG failed" >&2; return 1; }
        dpkg-deb -x "$KDIR"/dl/*.deb "$KDIR/root"
        rm -rf "$KDIR/dl"
        depmod -b "$KDIR/root" "$(ls "$KDIR/root/lib/modules")"   # the package ships no modules.dep
        touch "$KDIR/.complete"
    fi
    KVER=$(ls "$KDIR/root/lib/modules")
}

# ldd prints the loader as an absolute path with no "=>"; mawk has no \s, so split on plain fields.
copy_with_libs() {
    local root=$1 f lib; shift
    for f in "$@"; do
        install -D -m 0755 "$f" "$root$f"
        ldd "$f" 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' |
        while read -r lib; do
            [ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
        done
    done
}

copy_modules() {
    local root=$1 list=$2 m ko rel; shift 2
    touch "$root/$list"
    for m in "$@"; do
        modprobe -d "$KDIR/root" -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" { print $2 }' |
        while read -r ko; do
            rel=${ko#"$KDIR/root"}
            grep -qxF "$rel" "$root/$list" && continue
            install -D -m 0644 "$ko" "$root$rel"
            echo "$rel" >>"$root/$list"
        done
    done
}
