#!/bin/sh
# valgrind.sh — the cnn command under Valgrind's memcheck: a short training
# run on real MNIST images (threads, kernels, save, evaluation), an eval of
# the saved weights, a prediction, then a few bad files (each must fail
# cleanly).  Any memcheck error or definite leak fails the script; memcheck
# reports with exit code 99 (not 1, which cnn itself uses for a bad file).
# Suppressions: tests/valgrind.supp (each justified there).
#   scripts/valgrind.sh          uses ./cnn ($CNN_BIN), built with `make all`
set -eu
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind: not installed; install it with:" >&2
    echo "  sudo apt-get install -y --no-install-recommends valgrind" >&2
    exit 1
fi
BIN=${CNN_BIN:-./cnn}
[ -x "$BIN" ] || { echo "valgrind: $BIN is not built (make all)" >&2; exit 1; }
[ -f data/mnist/.verified ] || make -s data

T=$(mktemp -d "${TMPDIR:-/tmp}/cnn-vg.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

# A slice of MNIST: the first 640 training and 100 test images.
byte() { printf "\\$(printf %03o "$1")"; }
be32() { byte $(($1 >> 24 & 255)); byte $(($1 >> 16 & 255)); byte $(($1 >> 8 & 255)); byte $(($1 & 255)); }
slice() { # src dst count kind(3|1)
    src=data/mnist/$1
    [ -f "$src" ] || { gzip -dc "$src.gz" >"$T/src"; src=$T/src; }
    if [ "$4" = 3 ]; then
        { byte 0; byte 0; byte 8; byte 3; be32 "$3"; be32 28; be32 28
          tail -c +17 "$src" | head -c $(($3 * 784)); } >"$T/d/$2"
    else
        { byte 0; byte 0; byte 8; byte 1; be32 "$3"; tail -c +9 "$src" | head -c "$3"; } >"$T/d/$2"
    fi
}
mkdir "$T/d"
slice train-images-idx3-ubyte train-images-idx3-ubyte 640 3
slice train-labels-idx1-ubyte train-labels-idx1-ubyte 640 1
slice t10k-images-idx3-ubyte t10k-images-idx3-ubyte 100 3
slice t10k-labels-idx1-ubyte t10k-labels-idx1-ubyte 100 1

VG="valgrind --tool=memcheck --error-exitcode=99 --leak-check=full
    --show-leak-kinds=definite --errors-for-leak-kinds=definite
    --suppressions=tests/valgrind.supp --num-callers=30 --quiet"
# Valgrind runs one thread at a time: OpenMP threads spinning at a barrier
# would burn their whole time slice, so waiting threads sleep instead.
export OMP_WAIT_POLICY=passive
failed=""
# vg NAME EXPECTED-EXIT ARGS...
vg() {
    name=$1 want=$2
    shift 2
    start=$(date +%s)
    rc=0
    # shellcheck disable=SC2086
    $VG --log-file="$T/$name.vg" "$BIN" "$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null || rc=$?
    secs=$(($(date +%s) - start))
    if [ "$rc" != "$want" ] || [ -s "$T/$name.vg" ]; then
        failed="$failed $name"
        echo "valgrind: $name FAILED (exit $rc, expected $want, ${secs}s)" >&2
        head -n 60 "$T/$name.vg" >&2
        tail -n 3 "$T/$name.err" >&2
    else
        echo "valgrind: $name ok (${secs}s)" >&2
    fi
}

W="$T/w.safetensors"
vg train 0 train --data "$T/d" --steps 20 --epochs 1 --threads 2 --batch 8 --save "$W"
vg eval 0 eval --data "$T/d" --load "$W" --threads 2
printf 'P5\n28 28\n255\n' >"$T/digit.pgm"
tail -c +17 "$T/d/t10k-images-idx3-ubyte" | head -c 784 >>"$T/digit.pgm"
vg predict 0 predict --load "$W" "$T/digit.pgm"

# Bad files: each fails with one message and no memcheck error or leak.
cp -r "$T/d" "$T/bad"
head -c 5000 "$T/d/train-images-idx3-ubyte" >"$T/bad/train-images-idx3-ubyte"
vg bad-idx-truncated 1 train --data "$T/bad" --steps 1 --quiet
cp "$T/d/train-images-idx3-ubyte" "$T/bad/"
gzip -9n "$T/bad/train-labels-idx1-ubyte"
n=$(wc -c <"$T/bad/train-labels-idx1-ubyte.gz")
printf 'XXXX' | dd of="$T/bad/train-labels-idx1-ubyte.gz" bs=1 seek=$((n / 2)) conv=notrunc 2>/dev/null
vg bad-gzip-corrupt 1 train --data "$T/bad" --steps 1 --quiet
head -c 2000 "$W" >"$T/cut.safetensors"
vg bad-weights-truncated 1 eval --data "$T/d" --load "$T/cut.safetensors"
cp "$W" "$T/crc.safetensors"
printf 'XXXX' | dd of="$T/crc.safetensors" bs=1 seek=$(($(wc -c <"$W") - 40)) conv=notrunc 2>/dev/null
vg bad-weights-checksum 1 eval --data "$T/d" --load "$T/crc.safetensors"
{ head -c 8 "$W"; printf '{"__metadata__":'; } >"$T/json.safetensors"
vg bad-weights-json 1 eval --data "$T/d" --load "$T/json.safetensors"
vg bad-spec 2 summary --model "conv3x3:8,pool,flatten,dense:10,softmax"
printf 'P5\n28 28\n255\n' >"$T/short.pgm"
vg bad-image-truncated 1 predict --load "$W" "$T/short.pgm"
printf '\211PNG\r\n\032\nnot really' >"$T/bad.png"
vg bad-image-png 1 predict --load "$W" "$T/bad.png"

if [ -n "$failed" ]; then
    echo "valgrind: FAILED:$failed" >&2
    exit 1
fi
echo "valgrind: clean" >&2
