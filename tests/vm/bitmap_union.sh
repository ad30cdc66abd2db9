#!/usr/bin/env bash
# The docs/design.md §7 bitmap union on a real md. X (alone, degraded) writes chunks Y never sees;
# the array is then run from Y alone (a takeover) and writes elsewhere; then X is re-added under Y.
# The scenario runs twice in one guest on two pairs of loop devices:
#   - with the union: `md-merge-bitmap` reads X's own on-disk bitmap (agreeing with mdadm -X) and
#     marks those chunks in the running array first; after the re-add X and Y are identical;
#   - without it (a plain re-add): X and Y must end identical too. What md copies is measured
#     and logged. docs/design.md §7 expects the chunks X wrote alone to stay divergent; on this
#     kernel (6.1) md copied them anyway (see docs/mirror-operations.md), so the union is a belt
#     to md's braces, and this test pins the one property that matters — X == Y — both ways.
# md behaves the same on any block device, so one guest with loop devices is enough.
source "$(dirname "$0")/lib_vm.sh"

vm_build_image
truncate -s 64M "$T_DIR/root.img"
vm_start alpha 192.0.2.1/24 "$T_DIR/root.img"
vm_wait alpha

# scenario UNION(yes|no) X_LOOP Y_LOOP: prints key=value lines
scenario() {
    vm_run alpha -t 240 "
exec 2>&1
set -e
MD=/dev/md/haspool X=/dev/loop$2 Y=/dev/loop$3
for m in $2 $3; do dd if=/dev/zero of=/tmp/l\$m.img bs=1M count=64 2>/dev/null; losetup /dev/loop\$m /tmp/l\$m.img; done
haspool debug md-create --md \$MD --local \$X --remote \$Y --bitmap-chunk 1M
haspool debug md-wait --md \$MD --until clean --timeout 120 >/dev/null
sleep 6   # md clears bitmap bits lazily
haspool debug md-fail --md \$MD --member \$Y
haspool debug md-remove --md \$MD --member \$Y
dd if=/dev/urandom of=\$MD bs=1M seek=10 count=2 oflag=direct 2>/dev/null   # only X has these
haspool debug md-stop --md \$MD
haspool debug md-assemble --md \$MD --member \$Y --degraded                    # the takeover on Y
for i in 1 2 3 4 5 6; do dd if=/dev/urandom of=\$MD bs=4k seek=\$((40 * 256 + i)) count=1 oflag=direct 2>/dev/null; sleep 1; done
echo x_events=\$(mdadm --examine \$X | awk '\$1 == \"Events\" { print \$3 }')
echo array_events=\$(mdadm --detail \$MD | awk '\$1 == \"Events\" { print \$3 }')
haspool debug md-examine-bitmap --member \$X
[ $1 = yes ] && haspool debug md-merge-bitmap --md \$MD --from \$X
w0=\$(awk '{ print \$7 }' /sys/block/loop$2/stat)
haspool debug md-re-add --md \$MD --member \$X --no-write-mostly
haspool debug md-wait --md \$MD --until clean --timeout 120 | grep -E '^(degraded|member)'
echo copied_kib=\$(( (\$(awk '{ print \$7 }' /sys/block/loop$2/stat) - w0) / 2 ))
sz=\$(cat /sys/block/\$(basename \$(readlink -f \$MD))/size)
haspool debug md-stop --md \$MD
echo 3 >/proc/sys/vm/drop_caches
echo X=\$(head -c \$((sz * 512)) \$X | sha256sum | cut -c1-16)
echo Y=\$(head -c \$((sz * 512)) \$Y | sha256sum | cut -c1-16)
echo X10=\$(dd if=\$X bs=1M skip=10 count=2 2>/dev/null | sha256sum | cut -c1-16)
echo Y10=\$(dd if=\$Y bs=1M skip=10 count=2 2>/dev/null | sha256sum | cut -c1-16)
losetup -d \$X; losetup -d \$Y; rm -f /tmp/l$2.img /tmp/l$3.img   # the guest's /tmp is half its RAM
"
}
field() { awk -F= -v k="$1" '$1 == k { print $2 }' <<<"$2"; }

out=$(scenario yes 0 1) || fail "the union scenario failed: $out"
log "with the union: $(tr '\n' ' ' <<<"$out")"
dirty=$(field dirty "$out")
ondisk=$(field ondisk_dirty "$out")
marked=$(field marked "$out")
[ "$dirty" = 2 ] || fail "mdadm -X counts $dirty dirty chunks on X, expected the 2 written while degraded"
[ "$ondisk" = "$dirty" ] || fail "our decoder found $ondisk dirty chunks, mdadm -X $dirty"
grep -qx "ondisk_ranges=10-11" <<<"$out" || fail "dirty ranges wrong: $out"
[ "$marked" = 2 ] || fail "md-merge-bitmap marked '$marked' chunks"
grep -qx "degraded=0" <<<"$out" || fail "not clean after the re-add"
x=$(field X "$out"); y=$(field Y "$out")
[ -n "$x" ] && [ "$x" = "$y" ] || fail "X and Y differ after the union + re-add (X=$x Y=$y)"
log "with the union: md copied $(field copied_kib "$out") KiB to X; X and Y are identical"
# The same without the union.
plain=$(scenario no 2 3) || fail "the plain re-add scenario failed: $plain"
log "plain re-add: $(tr '\n' ' ' <<<"$plain")"
[ "$(field x_events "$plain")" -lt "$(field array_events "$plain")" ] ||
    fail "the scenario did not reach md's bitmap re-add path (X's events not older than the array's): $plain"
grep -qx "degraded=0" <<<"$plain" || fail "not clean after the plain re-add"
[ "$(field X "$plain")" = "$(field Y "$plain")" ] || fail "X and Y differ after a plain re-add: $plain"
log "plain re-add: md copied $(field copied_kib "$plain") KiB to X; X == Y (chunks 10-11: X $(field X10 "$plain"), Y $(field Y10 "$plain"))"

log "ok"
