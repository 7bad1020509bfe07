#!/bin/sh
# fuzz.sh — builds the libFuzzer harnesses of tests/fuzz/ (clang, ASan +
# UBSan) and runs each for a bounded time on a copy of its seed corpus.
#
#   scripts/fuzz.sh [HARNESS...]   default: every harness (fuzz_idx,
#                                  fuzz_cifar, fuzz_safetensors, fuzz_spec,
#                                  fuzz_options, fuzz_image)
#   FUZZ_SECONDS=N                 seconds per harness (default 30)
#   FUZZ_JOBS=N                    parallel fuzzing jobs per harness (default 1)
#
# The library is built by the Makefile's own rules into build-fuzz/ (so
# build/ is left alone) with -fsanitize=fuzzer-no-link; the harnesses are
# linked with -fsanitize=fuzzer.  Working corpora live in
# build-fuzz/corpus/<harness>/ (the committed tests/fuzz/corpus/<harness>/
# plus fresh seeds from tests/fuzz/seeds.c); logs in build-fuzz/logs/.
# On a crash, leak, timeout or failed invariant the reproducer is kept in
# build-fuzz/crashes/<harness>/ and printed; rerun it with
#   build-fuzz/<harness> build-fuzz/crashes/<harness>/crash-...
# Exits 1 when any harness found something, 0 otherwise.
set -eu
cd "$(dirname "$0")/.."

SECONDS_EACH=${FUZZ_SECONDS:-30}
JOBS=${FUZZ_JOBS:-1}
B=build-fuzz
CC=${FUZZ_CC:-clang}

# Toolchain: clang with libFuzzer and the sanitizer runtimes, LLVM's OpenMP.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
cat >"$probe/p.c" <<'C'
#include <stddef.h>
#include <stdint.h>
#include <omp.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return omp_get_max_threads() < 0; }
C
if ! command -v "$CC" >/dev/null 2>&1 ||
   ! "$CC" -fsanitize=fuzzer,address,undefined -fopenmp -o "$probe/p" "$probe/p.c" >/dev/null 2>&1; then
    echo "fuzz: needs clang with libFuzzer and LLVM's OpenMP; install them with:" >&2
    echo "  sudo apt-get install -y --no-install-recommends clang libclang-rt-dev libomp-dev" >&2
    exit 1
fi

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS_FUZZ="-O1 -g $SAN -fsanitize=fuzzer-no-link"
# The libraries every program linking libcnn.a needs (Open MPI's too when
# the build found it), from the make database.
LIBS=$(printf 'print-ldlibs:\n\t@echo $(LDLIBS)\n' |
    make -s --no-print-directory -f Makefile -f - print-ldlibs)


# The compute kernels are not what is fuzzed here (tests/ check them against
# the reference loops, scripts/sanitize.sh runs them under ASan and UBSan),
# and instrumenting their unrolled SIMD code takes clang many minutes per
# file: they are built first, plain, and the second make, with the
# sanitizer and coverage flags, finds them up to date.  The make database
# gives the list, so it follows the Makefile.
kernel_objs=$(printf 'print-kernel-objs:\n\t@echo $(patsubst %%.c,$(BUILD)/%%.o,$(KERNEL_SRC))\n' |
    make -s --no-print-directory -f Makefile -f - BUILD=$B print-kernel-objs)
flags_now="$CC | $CFLAGS_FUZZ"
if [ ! -f "$B/.flags" ] || [ "$(cat "$B/.flags")" != "$flags_now" ]; then
    rm -rf "$B"
fi
mkdir -p "$B"
printf '%s\n' "$flags_now" >"$B/.flags"
echo "fuzz: building the library into $B/" >&2
make -s -j"$(nproc)" BUILD=$B CC="$CC" CFLAGS="-O2 -g" $kernel_objs
objs="$B/libcnn.a $B/src/cli/options.o $B/src/cli/image.o"
make -s -j"$(nproc)" BUILD=$B CC="$CC" CFLAGS="$CFLAGS_FUZZ" $objs

INC="-std=c11 -D_GNU_SOURCE -Iinclude -Isrc -Isrc/cli -Itests/fuzz"
link() { # harness extra-objects extra-libs
    "$CC" $INC $CFLAGS_FUZZ -fsanitize=fuzzer -o "$B/$1" "tests/fuzz/$1.c" $2 \
        "$B/libcnn.a" $3 $LIBS
}
link fuzz_idx "" ""
link fuzz_cifar "" ""
link fuzz_safetensors "" ""
link fuzz_spec "" ""
link fuzz_options "$B/src/cli/options.o" ""
link fuzz_image "$B/src/cli/image.o" "-lpng"

# Fresh seeds (they follow the current file formats), then the copies.
"$CC" $INC -O1 -g $SAN -o "$B/seeds" tests/fuzz/seeds.c "$B/libcnn.a" $LIBS
rm -rf "$B/seeds.out"
OMP_NUM_THREADS=1 "$B/seeds" "$B/seeds.out"

if [ $# -gt 0 ]; then
    harnesses=$*
else
    harnesses="fuzz_idx fuzz_cifar fuzz_safetensors fuzz_spec fuzz_options fuzz_image"
fi

failed=""
mkdir -p "$B/logs"
for h in $harnesses; do
    [ -x "$B/$h" ] || { echo "fuzz: no harness named $h" >&2; exit 2; }
    corpus="$B/corpus/$h"
    mkdir -p "$corpus" "$B/crashes/$h"
    [ -d "tests/fuzz/corpus/$h" ] && cp -p "tests/fuzz/corpus/$h"/* "$corpus"/ 2>/dev/null || true
    [ -d "$B/seeds.out/$h" ] && cp -p "$B/seeds.out/$h"/* "$corpus"/
    log="$B/logs/$h.log"
    echo "fuzz: $h for ${SECONDS_EACH}s ($(ls "$corpus" | wc -l) corpus files)" >&2
    rc=0
    if [ "$JOBS" -gt 1 ]; then
        OMP_NUM_THREADS=1 "$B/$h" -max_total_time="$SECONDS_EACH" -timeout=20 \
            -artifact_prefix="$B/crashes/$h/" -print_final_stats=1 \
            -fork="$JOBS" -ignore_crashes=0 "$corpus" >"$log" 2>&1 || rc=$?
    else
        OMP_NUM_THREADS=1 "$B/$h" -max_total_time="$SECONDS_EACH" -timeout=20 \
            -artifact_prefix="$B/crashes/$h/" -print_final_stats=1 \
            "$corpus" >"$log" 2>&1 || rc=$?
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    if [ "$rc" != 0 ]; then
        failed="$failed $h"
        echo "fuzz: $h FAILED (exit $rc); log $log" >&2
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -n 5 >&2 || true
        for f in $(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log"); do
            echo "fuzz:   reproducer $f (rerun: $B/$h $f)" >&2
        done
    else
        echo "fuzz: $h ok: ${runs:-?} inputs, ${cov:-cov ?}" >&2
    fi
done

if [ -n "$failed" ]; then
    echo "fuzz: failures in:$failed" >&2
    exit 1
fi
echo "fuzz: no failures" >&2
