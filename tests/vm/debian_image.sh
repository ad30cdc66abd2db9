#!/usr/bin/env bash
# The Debian lab's guest image, built once before the drill needs it (fixture
# haspool_debian_image). A cold build downloads and installs ~250 packages into the cache
# (minutes); here it runs beside the other labels instead of inside vm_drill, which runs alone
# (RUN_SERIAL). The drill then only links the cached root image and installs the package. The
# test fails when the build fails or leaves a boot file missing or empty.
source "$HASPOOL_SOURCE_DIR/tests/lib.sh"
requires_root
requires qemu-system-x86_64 mmdebstrap
deb=$(ls "$HASPOOL_BINARY_DIR"/package/haspool_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "no package in $HASPOOL_BINARY_DIR/package (the package_deb test makes it)"
t0=$SECONDS
"$HASPOOL_SOURCE_DIR/scripts/vm/build-debian-image" --deb "$deb" --out "$T_DIR/image" || fail "build-debian-image failed"
for f in vmlinuz initrd.gz root.img; do
    [ -s "$T_DIR/image/$f" ] || fail "the image has no $f (or it is empty)"
done
log "guest image built in $((SECONDS - t0))s: $(du -sh --apparent-size "$T_DIR/image/root.img" | cut -f1) root image"
