#!/usr/bin/env bash
# Builds the NBD codec fuzz target with clang's libFuzzer (+ASan/UBSan) and runs it for
# FUZZ_SECONDS (default 20) on the seed corpus. Skips (77) when clang or libFuzzer is missing.
source "$(dirname "$0")/../../lib.sh"
requires clang++
src=$HASPOOL_SOURCE_DIR
bin="$T_DIR/fuzz_nbd_codec"
if ! clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -I"$src/blockdev" "$src/tests/fuzz/blockdev/fuzz_nbd_codec.cpp" "$src/blockdev/nbd_codec.cpp" \
        -o "$bin" 2>"$T_DIR/build.err"; then
    grep -q 'libclang_rt.fuzzer\|cannot find.*fuzzer' "$T_DIR/build.err" && skip "needs libclang-rt-14-dev (libFuzzer)"
    fail "building the fuzz target failed: $(tail -5 "$T_DIR/build.err")"
fi
corpus="$T_DIR/corpus"
cp -r "$src/tests/fuzz/blockdev/corpus" "$corpus"
run_capture fuzz "$bin" -error_exitcode=1 -max_total_time="${FUZZ_SECONDS:-20}" -rss_limit_mb=1024 -timeout=5 \
    -artifact_prefix="$T_DIR/" "$corpus"
[ "$rc" = 0 ] || fail "fuzzer found a failure (exit $rc): $(tail -30 "$T_DIR/fuzz.err")"
grep -q 'Done [0-9]* runs' "$T_DIR/fuzz.err" || fail "fuzzer did not run: $(tail -5 "$T_DIR/fuzz.err")"
log "ok: $(grep -o 'Done [0-9]* runs.*' "$T_DIR/fuzz.err")"
