#!/usr/bin/env bash
# Builds an NBD fuzz target with clang's libFuzzer (+ASan/UBSan) and runs it for FUZZ_SECONDS
# (default 20) on its seed corpus. Skips (77) when clang or libFuzzer is missing.
# Usage: run_fuzz.sh TARGET SOURCE...   (sources relative to the source tree; corpus: corpus/TARGET)
source "$(dirname "$0")/../../lib.sh"
requires clang++
src=$HASPOOL_SOURCE_DIR
target=${1:?target}; shift
sources=()
for f in "$@"; do sources+=("$src/$f"); done
bin="$T_DIR/$target"
if ! clang++ -std=c++20 -g -O1 -pthread -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -I"$src" "$src/tests/fuzz/blockdev/$target.cpp" "${sources[@]}" \
        -o "$bin" 2>"$T_DIR/build.err"; then
    grep -q 'libclang_rt.fuzzer\|cannot find.*fuzzer' "$T_DIR/build.err" && skip "needs libclang-rt-14-dev (libFuzzer)"
    fail "building the fuzz target failed: $(tail -5 "$T_DIR/build.err")"
fi
corpus="$T_DIR/corpus"
cp -r "$src/tests/fuzz/blockdev/corpus/$target" "$corpus"
run_capture fuzz "$bin" -error_exitcode=1 -max_total_time="${FUZZ_SECONDS:-20}" -rss_limit_mb=1024 -timeout=5 \
    -artifact_prefix="$T_DIR/" "$corpus"
[ "$rc" = 0 ] || fail "fuzzer found a failure (exit $rc): $(tail -30 "$T_DIR/fuzz.err")"
grep -q 'Done [0-9]* runs' "$T_DIR/fuzz.err" || fail "fuzzer did not run: $(tail -5 "$T_DIR/fuzz.err")"
log "ok: $(grep -o 'Done [0-9]* runs.*' "$T_DIR/fuzz.err")"
