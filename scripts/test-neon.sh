#!/usr/bin/env bash
# test-neon.sh — cross-compiles the kernel tests for AArch64 (the NEON set in
# kernels/arm with the ref and portable sets; the batch-norm and pooling
# kernels of test_layer_kernels.c) and runs them under qemu-user.
# Installs the cross compiler and qemu with apt-get when missing (as root;
# otherwise prints the command and fails).  Builds into build-arm/; the exit
# status is the test runner's, its last line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

CC=aarch64-linux-gnu-gcc
QEMU=qemu-aarch64
SYSROOT=/usr/aarch64-linux-gnu
OUT=build-arm

missing=""
command -v "$CC" >/dev/null 2>&1 || missing="$missing gcc-aarch64-linux-gnu"
[ -e "$SYSROOT/include/stdio.h" ] || missing="$missing libc6-dev-arm64-cross"
command -v "$QEMU" >/dev/null 2>&1 || missing="$missing qemu-user"
if [ -n "$missing" ]; then
    cmd="apt-get install -y --no-install-recommends$missing"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "test-neon: installing$missing" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $cmd >&2
    else
        echo "test-neon: missing$missing; install them with:" >&2
        echo "  sudo apt-get update && sudo $cmd" >&2
        exit 1
    fi
fi

CFLAGS="-std=c11 -D_GNU_SOURCE -O2 -fopenmp-simd -Wall -Wextra -Werror -Iinclude -Isrc -Ikernels -Itests"
SRC="tests/main.c tests/registry.c tests/test_kernels.c tests/test_layer_kernels.c src/error.c src/cpu.c
     src/dispatch.c $(echo kernels/*.c kernels/ref/*.c kernels/portable/*.c kernels/arm/*.c)"

mkdir -p "$OUT/obj"
objs=()
pids=()
for src in $SRC; do
    obj="$OUT/obj/$(echo "${src%.c}" | tr / _).o"
    objs+=("$obj")
    "$CC" $CFLAGS -c -o "$obj" "$src" &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
    wait "$pid" || status=1
done
[ "$status" = 0 ] || { echo "test-neon: compilation failed" >&2; exit 1; }
"$CC" -o "$OUT/kernel-tests" "${objs[@]}" -lm

set +e
"$QEMU" -L "$SYSROOT" "$OUT/kernel-tests" kernels
status=$?
set -e
exit "$status"
