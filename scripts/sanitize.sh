#!/bin/sh
# sanitize.sh — the test suite under the sanitizers (clang):
#   asan   the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer
#          (-fno-sanitize-recover=undefined: any UB fails), built into
#          build-asan/, the CLI tests running build-asan/cnn ($CNN_BIN)
#   tsan   the threaded trainer tests and a few CLI tests under
#          ThreadSanitizer, built into build-tsan/ against LLVM's OpenMP
#          runtime (libomp) with its TSan support tool Archer loaded, so
#          OpenMP's barriers and reductions are seen as synchronisation
#          (docs/robustness.md explains why not libgomp, and what is and is
#          not suppressed)
#   scripts/sanitize.sh [asan|tsan]...   default: both
#   SAN_EXTRA='...'   extra compiler flags, for triage only (e.g.
#                     -fno-sanitize=pointer-overflow to get past a known
#                     report and see what else there is)
# Exits non-zero when a build fails, a test fails or a sanitizer reports.
set -eu
cd "$(dirname "$0")/.."

CC=${SAN_CC:-clang}
JOBS=$(nproc 2>/dev/null || echo 2)
ARCHER=""
for d in /usr/lib/llvm-*/lib; do
    [ -f "$d/libarcher.so" ] && ARCHER="$d/libarcher.so"
done

probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '#include <omp.h>\nint main(void){return omp_get_max_threads()<0;}\n' >"$probe/p.c"
if ! command -v "$CC" >/dev/null 2>&1 ||
   ! "$CC" -fsanitize=address,undefined -fopenmp -o "$probe/a" "$probe/p.c" >/dev/null 2>&1 ||
   ! "$CC" -fsanitize=thread -fopenmp -o "$probe/t" "$probe/p.c" >/dev/null 2>&1 ||
   [ -z "$ARCHER" ]; then
    echo "sanitize: needs clang, its sanitizer runtimes and LLVM's OpenMP with Archer; install them with:" >&2
    echo "  sudo apt-get install -y --no-install-recommends clang libclang-rt-dev libomp-dev" >&2
    exit 1
fi

# The SIMD kernels (kernels/x86, kernels/arm) are heavily unrolled; clang
# needs over five minutes per file to optimise them with sanitizer
# instrumentation, a few seconds at -O0.  They are built first at -O0 (still
# fully instrumented), then the rest at -O1; the second make finds them up
# to date.  The list comes from the Makefile's own KERNEL_SRC.
simd_objs() { # build-dir
    printf 'print-simd-objs:\n\t@echo $(patsubst %%.c,$(BUILD)/%%.o,$(filter kernels/x86/%% kernels/arm/%%,$(KERNEL_SRC)))\n' |
        make -s --no-print-directory -f Makefile -f - BUILD="$1" print-simd-objs
}

build() { # dir sanitizer-flags
    b=$1
    # -Wno-pass-failed: at -O0/-O1 clang cannot honour `omp simd` (the
    # element-wise loops of src/tree.c and src/optim/) and says so per loop
    flags="$2 -fno-omit-frame-pointer -Wno-pass-failed ${SAN_EXTRA:-}"
    stamp="$CC | $flags"
    # objects from other flags (or of unknown origin) are not reused
    if [ ! -f "$b/.flags" ] || [ "$(cat "$b/.flags")" != "$stamp" ]; then
        rm -rf "$b"
    fi
    mkdir -p "$b"
    printf '%s\n' "$stamp" >"$b/.flags"
    make -s -j"$JOBS" BUILD="$b" CC="$CC" CFLAGS="-O0 -g $flags" $(simd_objs "$b")
    make -s -j"$JOBS" BUILD="$b" CLI="$b/cnn" CC="$CC" CFLAGS="-O1 -g $flags" \
        LDFLAGS="$flags" all
}

# The runner's last line must say "0 failed" and its exit status be 0.
run_suite() { # label log command...
    label=$1 log=$2
    shift 2
    start=$(date +%s)
    rc=0
    "$@" >"$log" 2>&1 || rc=$?
    end=$(date +%s)
    summary=$(tail -n 1 "$log")
    if [ "$rc" != 0 ] || ! printf '%s\n' "$summary" | grep -q ' 0 failed$' ||
       grep -qE 'ERROR: (Address|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer|runtime error:' "$log"; then
        echo "sanitize: $label FAILED (exit $rc, $((end - start))s): $summary; log $log" >&2
        grep -E 'FAIL|ERROR: |WARNING: ThreadSanitizer|runtime error:|SUMMARY' "$log" | head -n 20 >&2 || true
        return 1
    fi
    echo "sanitize: $label ok ($((end - start))s): $summary" >&2
}

# Builds one sanitizer tree, says how long it took, and fetches MNIST.
build_timed() { # dir what flags
    echo "sanitize: building $1/ ($2)" >&2
    t0=$(date +%s)
    build "$1" "$3"
    echo "sanitize: $1 built in $(($(date +%s) - t0))s" >&2
    make -s data >/dev/null
}

asan() {
    build_timed build-asan "ASan + UBSan" "-fsanitize=address,undefined -fno-sanitize-recover=undefined"
    CNN_BIN=build-asan/cnn \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_suite "asan+ubsan, whole suite" build-asan/suite.log build-asan/test-runner
}

# TSan: OpenMP's synchronisation is invisible to TSan unless the runtime
# tells it; LLVM's libomp does so through the OMPT tool Archer.
# ignore_noninstrumented_modules: libomp itself is not built with TSan and
# its internal (correctly synchronised) bookkeeping would otherwise be
# reported; the annotations Archer adds are what TSan sees of it.
# Default: the threaded trainer tests but the 600-step MNIST run with every
# kernel set (TSAN_TESTS=trainer/ adds it: about 6 minutes on 2 cores).
TSAN_TESTS=${TSAN_TESTS:-"trainer/same_seed trainer/learns trainer/steps optim/optimizers checkpoint/resume_is_bitwise_for_each checkpoint/resume_mid_epoch checkpoint/best_reaches checkpoint/nonfinite_first cli/save_load_eval"}
tsan() {
    build_timed build-tsan "TSan, libomp + Archer" "-fsanitize=thread"
    # The setup must see races: a planted one is reported, a reduction is not.
    cat >"$probe/race.c" <<'C'
#include <stdio.h>
int main(void)
{
    int s = 0;
#pragma omp parallel num_threads(2)
    { RACE; }
#pragma omp parallel for reduction(+ : s) num_threads(2)
    for (int i = 0; i < 100; i++)
        s += i;
    printf("%d\n", s);
    return 0;
}
C
    "$CC" -fopenmp -fsanitize=thread -g -DRACE='s++' -o "$probe/race" "$probe/race.c"
    "$CC" -fopenmp -fsanitize=thread -g -DRACE='(void)0' -o "$probe/norace" "$probe/race.c"
    export TSAN_OPTIONS="halt_on_error=1:exitcode=66:ignore_noninstrumented_modules=1:history_size=4"
    if OMP_TOOL_LIBRARIES="$ARCHER" "$probe/race" >/dev/null 2>&1 ||
       ! OMP_TOOL_LIBRARIES="$ARCHER" "$probe/norace" >/dev/null 2>&1; then
        echo "sanitize: TSan + Archer self-check failed (planted race missed or reduction flagged)" >&2
        return 1
    fi
    # Archer must actually be loaded: its verbose line says so.
    if ! OMP_TOOL_LIBRARIES="$ARCHER" ARCHER_OPTIONS=verbose=1 OMP_NUM_THREADS=2 \
        build-tsan/test-runner trainer/learns_synthetic_data 2>&1 | grep -q 'Archer detected OpenMP application'; then
        echo "sanitize: Archer ($ARCHER) was not loaded by libomp" >&2
        return 1
    fi
    # shellcheck disable=SC2086
    CNN_BIN=build-tsan/cnn OMP_TOOL_LIBRARIES="$ARCHER" OMP_NUM_THREADS=2 \
    TSAN_OPTIONS="halt_on_error=1:exitcode=66:ignore_noninstrumented_modules=1:history_size=4" \
        run_suite "tsan (libomp + Archer): $TSAN_TESTS" build-tsan/suite.log \
        build-tsan/test-runner $TSAN_TESTS
}

parts=${*:-asan tsan}
failed=""
for p in $parts; do
    case $p in
    asan) asan || failed="$failed asan" ;;
    tsan) tsan || failed="$failed tsan" ;;
    *) echo "usage: scripts/sanitize.sh [asan|tsan]..." >&2; exit 2 ;;
    esac
done
[ -z "$failed" ] || { echo "sanitize: failed:$failed" >&2; exit 1; }
echo "sanitize: all clean" >&2
