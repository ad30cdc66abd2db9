#!/usr/bin/env bash
# The DESIGN §7 bitmap union on a real md: X (alone, degraded) writes chunks Y never sees; the
# array is then run from Y alone (a takeover) and writes elsewhere. Before X is re-added under
# Y, `md-merge-bitmap` reads X's own on-disk bitmap (agreeing with mdadm -X) and marks those
# chunks in the running array; after the re-add X and Y are identical. One guest, two loop
# devices: md behaves the same on any block device.
source "$(dirname "$0")/vmlib.sh"

vm_build_image
truncate -s 64M "$T_DIR/root.img"
vm_start alpha 192.0.2.1/24 "$T_DIR/root.img"
vm_wait alpha
out=$(vm_run alpha '
set -e
MD=/dev/md/haspool X=/dev/loop0 Y=/dev/loop1
for m in 0 1; do dd if=/dev/zero of=/tmp/l$m.img bs=1M count=64 2>/dev/null; losetup /dev/loop$m /tmp/l$m.img; done
haspool debug md-create --md $MD --local $X --remote $Y --bitmap-chunk 1M
haspool debug md-wait --md $MD --until clean --timeout 120 >/dev/null
sleep 6   # md clears bitmap bits lazily
haspool debug md-fail --md $MD --member $Y
haspool debug md-remove --md $MD --member $Y
dd if=/dev/urandom of=$MD bs=1M seek=10 count=2 oflag=direct 2>/dev/null   # only X has these
haspool debug md-stop --md $MD
haspool debug md-assemble --md $MD --member $Y --degraded                    # the takeover on Y
for i in 1 2 3 4 5 6; do dd if=/dev/urandom of=$MD bs=4k seek=$((40 * 256 + i)) count=1 oflag=direct 2>/dev/null; sleep 1; done
mdadm --examine-bitmap $X | grep Bitmap
haspool debug md-examine-bitmap --member $X
haspool debug md-merge-bitmap --md $MD --from $X
haspool debug md-re-add --md $MD --member $X --no-write-mostly
haspool debug md-wait --md $MD --until clean --timeout 120 | grep -E "^(degraded|member)"
sz=$(cat /sys/block/$(basename $(readlink -f $MD))/size)
haspool debug md-stop --md $MD
echo 3 >/proc/sys/vm/drop_caches
echo "X=$(head -c $((sz * 512)) $X | sha256sum | cut -c1-16)"
echo "Y=$(head -c $((sz * 512)) $Y | sha256sum | cut -c1-16)"
') || fail "the union scenario failed: $out"
log "$(tr '\n' ' ' <<<"$out")"
dirty=$(awk -F= '$1 == "dirty" { print $2 }' <<<"$out")
ondisk=$(awk -F= '$1 == "ondisk_dirty" { print $2 }' <<<"$out")
marked=$(awk -F= '$1 == "marked" { print $2 }' <<<"$out")
[ "$dirty" = 2 ] || fail "mdadm -X counts $dirty dirty chunks on X, expected the 2 written while degraded"
[ "$ondisk" = "$dirty" ] || fail "our decoder found $ondisk dirty chunks, mdadm -X $dirty"
grep -qx "ondisk_ranges=10-11" <<<"$out" || fail "dirty ranges wrong: $out"
[ "$marked" = 2 ] || fail "md-merge-bitmap marked '$marked' chunks"
grep -qx "degraded=0" <<<"$out" || fail "not clean after the re-add"
x=$(awk -F= '$1 == "X" { print $2 }' <<<"$out"); y=$(awk -F= '$1 == "Y" { print $2 }' <<<"$out")
[ -n "$x" ] && [ "$x" = "$y" ] || fail "X and Y differ after the union + re-add (X=$x Y=$y)"
log "ok"
