#!/bin/sh
# bad-inputs.sh — the acceptance table of bad inputs: makes each bad file,
# option or path in a temporary directory, runs the cnn command ($CNN_BIN,
# default ./cnn) on it and checks that it
#   - exits with the expected code (1: the work failed, a bad file or path;
#     2: a bad command line), never by a signal or a sanitizer (>= 128),
#   - prints exactly one line on stderr, starting with "cnn: ",
#   - leaves the output directory as it found it (no weights, checkpoint,
#     log or temporary file written).
#   tests/bad-inputs.sh [--write-doc]
# --write-doc also rewrites docs/bad-inputs.md: one row per case with the
# command and the message as printed, temporary paths shown as $TMP.
# Exits 1 when any case fails, naming it.
set -eu
cd "$(dirname "$0")/.."

WRITE_DOC=0
case "${1:-}" in
--write-doc) WRITE_DOC=1 ;;
"") ;;
*) echo "usage: tests/bad-inputs.sh [--write-doc]" >&2; exit 2 ;;
esac
BIN=${CNN_BIN:-./cnn}
[ -x "$BIN" ] || { echo "bad-inputs: $BIN is not built (make all)" >&2; exit 1; }
for tool in gzip od dd timeout; do
    command -v $tool >/dev/null 2>&1 || { echo "bad-inputs: needs $tool" >&2; exit 1; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/cnn-bad.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
OUT="$T/out"
ROWS="$T/rows"
: >"$ROWS"
export OMP_NUM_THREADS=1

# ------------------------------------------------------------ file makers

byte() { printf "\\$(printf %03o "$1")"; }
be32() { byte $(($1 >> 24 & 255)); byte $(($1 >> 16 & 255)); byte $(($1 >> 8 & 255)); byte $(($1 & 255)); }
le64() { v=$1; i=0; while [ $i -lt 8 ]; do byte $((v & 255)); v=$((v >> 8)); i=$((i + 1)); done; }

# idx3 FILE COUNT ROWS COLS [DATA-BYTES [TYPE]]: an image file
idx3() {
    { byte 0; byte 0; byte "${6:-8}"; byte 3; be32 "$2"; be32 "$3"; be32 "$4"
      head -c "${5:-$(($2 * $3 * $4))}" /dev/zero | tr '\0' '\100'; } >"$1"
}
# idx1 FILE COUNT [LABELS-COUNT [BAD-LABEL]]: a label file with labels 0..9
idx1() {
    { byte 0; byte 0; byte 8; byte 1; be32 "$2"; i=0
      while [ $i -lt "${3:-$2}" ]; do byte $((i % 10)); i=$((i + 1)); done
      [ -z "${4:-}" ] || byte "$4"; } >"$1"
}
# mnist DIR [ROWS COLS]: a small valid MNIST-style directory
mnist() {
    mkdir -p "$1"
    idx3 "$1/train-images-idx3-ubyte" 64 "${2:-28}" "${3:-28}"
    idx1 "$1/train-labels-idx1-ubyte" 64
    idx3 "$1/t10k-images-idx3-ubyte" 20 "${2:-28}" "${3:-28}"
    idx1 "$1/t10k-labels-idx1-ubyte" 20
}
# variant NAME: a copy of the good directory to break, in $D
variant() { D="$T/data-$1"; rm -rf "$D"; cp -r "$T/good" "$D"; }
# header of a safetensors file: its length, and the JSON into a file
st_len() { od -An -tu1 -N8 "$1" | awk '{ n = 0; for (i = NF; i >= 1; i--) n = n * 256 + $i; print n }'; }
# st_patch IN OUT SED-EXPR: same-length edit of the JSON header only
st_patch() {
    n=$(st_len "$1")
    dd if="$1" bs=1 skip=8 count="$n" 2>/dev/null | LC_ALL=C sed "$3" >"$T/hdr"
    [ "$(wc -c <"$T/hdr")" = "$n" ] || { echo "bad-inputs: st_patch changed the header length" >&2; exit 1; }
    { head -c 8 "$1"; cat "$T/hdr"; tail -c +$((9 + n)) "$1"; } >"$2"
}
# flip FILE OFFSET: invert one byte in place
flip() {
    b=$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')
    byte $((b ^ 255)) | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
size() { wc -c <"$1" | tr -d ' '; }

# ----------------------------------------------------------------- runner

FAILED=""
NCASES=0

shown() { # the text with temp paths as $TMP, newlines as \n (one table row)
    printf '%s' "$1" | sed "s#$T#\$TMP#g" | awk 'NR > 1 { printf "\\n" } { printf "%s", $0 }'
}
quote_args() {
    s="cnn"
    for a in "$@"; do
        case $a in
        "" | *[!A-Za-z0-9_./:,=+@%-]*) s="$s '$a'" ;;
        *) s="$s $a" ;;
        esac
    done
    printf '%s' "$s"
}
md() { printf '%s' "$1" | sed 's/|/\\|/g'; }

# check NAME EXPECTED-EXIT ARGS...: run the case, record its row
check() {
    name=$1 want=$2
    shift 2
    NCASES=$((NCASES + 1))
    mkdir -p "$OUT"
    before=$(cd "$OUT" && find . | sort | tr '\n' ' ')
    rc=0
    timeout 300 "$BIN" "$@" >"$T/stdout" 2>"$T/stderr" </dev/null || rc=$?
    after=$(cd "$OUT" && find . | sort | tr '\n' ' ')
    lines=$(wc -l <"$T/stderr" | tr -d ' ')
    first=$(head -n 1 "$T/stderr")
    why=""
    if [ "$rc" = 124 ]; then
        why="timed out"
    elif [ "$rc" -ge 128 ]; then
        why="crashed (exit $rc)"
    elif [ "$rc" != "$want" ]; then
        why="exit $rc, expected $want"
    fi
    [ "$lines" = 1 ] && [ "$(tail -c 1 "$T/stderr" | od -An -tu1 | tr -d ' ')" = 10 ] ||
        why="${why:+$why; }$lines lines on stderr"
    case $first in "cnn: "*) ;; *) why="${why:+$why; }stderr does not start with 'cnn: '" ;; esac
    [ "$before" = "$after" ] || why="${why:+$why; }output directory changed: $after"
    cmd=$(shown "$(quote_args "$@")")
    msg=$(shown "$first")
    if [ -n "$why" ]; then
        FAILED="$FAILED $name"
        echo "FAIL $name: $why" >&2
        echo "     $cmd" >&2
        sed 's/^/     | /' "$T/stderr" | head -n 5 >&2
    fi
    printf '| %s | `%s` | %s | %s |\n' "$name" "$(md "$cmd")" "$rc" "$(md "$msg")" >>"$ROWS"
    rm -rf "$OUT"
}
# ---------------------------------------------------------- good material

mnist "$T/good"
TRAIN="--quiet --epochs 1 --steps 1 --threads 1 --model logreg"
W="$T/w.safetensors"
C="$T/c.ckpt"
"$BIN" train --data "$T/good" $TRAIN --epochs 0 --save "$W" >/dev/null 2>&1 ||
    { echo "bad-inputs: cannot make the good weights with $BIN" >&2; exit 1; }
"$BIN" train --data "$T/good" --quiet --epochs 1 --steps 2 --threads 1 --batch 8 \
    --model logreg --checkpoint "$C" >/dev/null 2>&1 ||
    { echo "bad-inputs: cannot make the good checkpoint with $BIN" >&2; exit 1; }
SAVE="$OUT/w.safetensors"

# ------------------------------------------------------------- data files

check data-dir-missing 1 train --data "$T/nowhere" $TRAIN --save "$SAVE"
check data-dir-is-a-file 1 train --data "$T/good/train-labels-idx1-ubyte" $TRAIN --save "$SAVE"
variant labels-missing; rm "$D/train-labels-idx1-ubyte"
check data-labels-missing 1 train --data "$D" $TRAIN --save "$SAVE"
variant images-dir; rm "$D/train-images-idx3-ubyte"; mkdir "$D/train-images-idx3-ubyte"
check data-images-is-a-directory 1 train --data "$D" $TRAIN --save "$SAVE"
variant empty; : >"$D/train-images-idx3-ubyte"
check data-images-empty 1 train --data "$D" $TRAIN --save "$SAVE"
variant short-header; { byte 0; byte 0; byte 8; byte 3; byte 0; byte 0; } >"$D/train-images-idx3-ubyte"
check data-header-truncated 1 train --data "$D" $TRAIN --save "$SAVE"
variant magic; printf 'GIF89a\001\000\001\000\000\000\000\000\000\000' >"$D/train-images-idx3-ubyte"
check data-wrong-magic 1 train --data "$D" $TRAIN --save "$SAVE"
variant swapped; cp "$T/good/train-labels-idx1-ubyte" "$D/train-images-idx3-ubyte"
check data-labels-given-as-images 1 train --data "$D" $TRAIN --save "$SAVE"
variant float; idx3 "$D/train-images-idx3-ubyte" 64 28 28 $((64 * 28 * 28 * 4)) 13
check data-float-elements 1 train --data "$D" $TRAIN --save "$SAVE"
variant truncated; idx3 "$D/train-images-idx3-ubyte" 64 28 28 $((40 * 28 * 28))
check data-images-truncated 1 train --data "$D" $TRAIN --save "$SAVE"
variant trailing; idx3 "$D/train-images-idx3-ubyte" 64 28 28 $((64 * 28 * 28 + 10))
check data-trailing-bytes 1 train --data "$D" $TRAIN --save "$SAVE"
variant zero; idx3 "$D/train-images-idx3-ubyte" 0 28 28
check data-zero-images 1 train --data "$D" $TRAIN --save "$SAVE"
variant huge; idx3 "$D/train-images-idx3-ubyte" 4294967295 4294967295 4294967295 100
check data-huge-dimensions 1 train --data "$D" $TRAIN --save "$SAVE"
variant claim; idx3 "$D/train-images-idx3-ubyte" 2000000000 28 28 784
check data-count-claims-gigabytes 1 train --data "$D" $TRAIN --save "$SAVE"
variant count; idx1 "$D/train-labels-idx1-ubyte" 63
check data-count-mismatch 1 train --data "$D" $TRAIN --save "$SAVE"
variant range; idx1 "$D/train-labels-idx1-ubyte" 64 63 200
check data-label-out-of-range 1 train --data "$D" $TRAIN --save "$SAVE"
variant labels-short; idx1 "$D/train-labels-idx1-ubyte" 64 30
check data-labels-truncated 1 train --data "$D" $TRAIN --save "$SAVE"

gz() { # variant with the training images gzip-compressed
    variant "$1"
    gzip -9n "$D/train-images-idx3-ubyte"
    G="$D/train-images-idx3-ubyte.gz"
}
gz gz-truncated; head -c $(($(size "$G") / 2)) "$G" >"$T/g" && mv "$T/g" "$G"
check gzip-truncated 1 train --data "$D" $TRAIN --save "$SAVE"
gz gz-corrupt; flip "$G" $(($(size "$G") / 2))
check gzip-corrupt-stream 1 train --data "$D" $TRAIN --save "$SAVE"
gz gz-crc; flip "$G" $(($(size "$G") - 6))
check gzip-crc-mismatch 1 train --data "$D" $TRAIN --save "$SAVE"
gz gz-isize; { head -c $(($(size "$G") - 4)) "$G"; byte 255; byte 255; byte 255; byte 127; } >"$T/g" && mv "$T/g" "$G"
check gzip-size-trailer-lies 1 train --data "$D" $TRAIN --save "$SAVE"
gz gz-trailing; printf 'garbage after the gzip member' >>"$G"
check gzip-trailing-garbage 1 train --data "$D" $TRAIN --save "$SAVE"
gz gz-bomb; idx3 "$T/claim" 1500000 28 28 784; gzip -9nc "$T/claim" >"$G"
check gzip-header-claims-more 1 train --data "$D" $TRAIN --save "$SAVE"
variant gz-text; rm "$D/train-images-idx3-ubyte"; printf 'not IDX at all\n' | gzip -9n >"$D/train-images-idx3-ubyte.gz"
check gzip-not-idx-inside 1 train --data "$D" $TRAIN --save "$SAVE"

variant test-missing; rm "$D/t10k-labels-idx1-ubyte"
check eval-test-labels-missing 1 eval --load "$W" --data "$D"
mnist "$T/small" 20 20
check eval-wrong-image-size 1 eval --load "$W" --data "$T/small"

# ---------------------------------------------------------- weights files

check weights-missing 1 eval --data "$T/good" --load "$T/none.safetensors"
check weights-is-a-directory 1 eval --data "$T/good" --load "$T/good"
: >"$T/empty.st"
check weights-empty 1 eval --data "$T/good" --load "$T/empty.st"
printf 'abc' >"$T/short.st"
check weights-shorter-than-length 1 eval --data "$T/good" --load "$T/short.st"
printf 'This is a README, not weights.\n' >"$T/text.st"
check weights-text-file 1 eval --data "$T/good" --load "$T/text.st"
{ le64 1000000; head -c 300 "$W" | tail -c 292; } >"$T/past.st"
check weights-header-past-eof 1 eval --data "$T/good" --load "$T/past.st"
{ byte 255; byte 255; byte 255; byte 255; byte 255; byte 255; byte 255; byte 127; tail -c +9 "$W"; } >"$T/hugelen.st"
check weights-header-length-huge 1 eval --data "$T/good" --load "$T/hugelen.st"
st_patch "$W" "$T/json.st" '1s/^{"__metadata__":/{"__metadata__"#/'
check weights-bad-json 1 eval --data "$T/good" --load "$T/json.st"
{ le64 8; printf '[1,2,3] '; } >"$T/array.st"
check weights-json-not-object 1 eval --data "$T/good" --load "$T/array.st"
head -c $(($(size "$W") - 100)) "$W" >"$T/cut.st"
check weights-data-truncated 1 eval --data "$T/good" --load "$T/cut.st"
st_patch "$W" "$T/dtype.st" 's/"F32"/"F16"/'
check weights-wrong-dtype 1 eval --data "$T/good" --load "$T/dtype.st"
st_patch "$W" "$T/shape.st" 's/\[784,10\]/[748,10]/'
check weights-wrong-shape 1 eval --data "$T/good" --load "$T/shape.st"
st_patch "$W" "$T/offsets.st" 's/\[0,31360\]/[8,31368]/'
check weights-overlapping-offsets 1 eval --data "$T/good" --load "$T/offsets.st"
st_patch "$W" "$T/unknown.st" 's/"dense1.bias"/"dense7.bias"/'
check weights-unknown-tensor 1 eval --data "$T/good" --load "$T/unknown.st"
cp "$W" "$T/crc.st"; flip "$T/crc.st" $(($(size "$W") - 17))
check weights-checksum-mismatch 1 eval --data "$T/good" --load "$T/crc.st"
st_patch "$W" "$T/crctext.st" 's/"crc32":"[0-9a-f]\{8\}"/"crc32":"zzzzzzzz"/'
check weights-checksum-not-hex 1 eval --data "$T/good" --load "$T/crctext.st"
st_patch "$W" "$T/metacrc.st" 's/"28x28x1"/"28x28x2"/'
check weights-metadata-checksum 1 eval --data "$T/good" --load "$T/metacrc.st"
# The next three rename meta_crc32 (files from other writers lack it) so
# that the check behind the metadata checksum is reached.
NOCRC='s/"meta_crc32"/"meta_crc3_"/'
st_patch "$W" "$T/nospec.st" "$NOCRC; s/\"spec\":/\"spek\":/"
check weights-metadata-without-spec 1 eval --data "$T/good" --load "$T/nospec.st"
st_patch "$W" "$T/badspec.st" "$NOCRC; s/dense:10,softmax/dense:10,softmaz/"
check weights-metadata-bad-spec 1 eval --data "$T/good" --load "$T/badspec.st"
st_patch "$W" "$T/badinput.st" "$NOCRC; s/\"28x28x1\"/\"28x28x0\"/"
check weights-metadata-bad-input 1 eval --data "$T/good" --load "$T/badinput.st"
check weights-for-another-model 1 eval --data "$T/good" --load "$W" --model seed
cp "$C" "$T/bad.ckpt"; flip "$T/bad.ckpt" $(($(size "$C") - 9))
check checkpoint-checksum-mismatch 1 train --data "$T/good" --quiet --resume "$T/bad.ckpt" --save "$SAVE"
check checkpoint-is-weights-only 1 train --data "$T/good" --quiet --resume "$W" --save "$SAVE"

# -------------------------------------------------------------- model specs

check spec-empty 2 summary --model ""
check spec-unknown-layer 2 summary --model "conv3x3:8,pool,flatten,dense:10,softmax"
check spec-no-softmax 2 summary --model "flatten,dense:10"
check spec-conv-after-flatten 2 summary --model "flatten,conv3x3:8,dense:10,softmax"
check spec-dense-before-flatten 2 summary --model "conv3x3:8,dense:10,softmax"
check spec-relu-first 2 summary --model "relu,flatten,dense:10,softmax"
check spec-non-square-kernel 2 summary --model "conv3x5:8,flatten,dense:10,softmax"
check spec-zero-units 2 summary --model "flatten,dense:0,softmax"
check spec-kernel-larger-than-input 2 summary --model "conv29x29:8,flatten,dense:10,softmax"
check spec-one-class 2 summary --model "flatten,dense:1,softmax"
check spec-classes-differ-from-data 1 train --data "$T/good" $TRAIN --model "flatten,dense:5,softmax" --save "$SAVE"

# -------------------------------------------------------- command line

check option-epochs-not-a-number 2 train --epochs abc --save "$SAVE"
check option-epochs-negative 2 train --epochs -1 --save "$SAVE"
check option-batch-zero 2 train --batch 0 --save "$SAVE"
check option-lr-zero 2 train --lr 0 --save "$SAVE"
check option-lr-nan 2 train --lr nan --save "$SAVE"
check option-lr-underflows 2 train --lr 1e-50 --save "$SAVE"
check option-lr-trailing-text 2 train --lr 0.001x --save "$SAVE"
check option-threads-too-many 2 train --threads 99999 --save "$SAVE"
check option-seed-negative 2 train --seed -1 --save "$SAVE"
check option-seed-over-64-bits 2 train --seed 18446744073709551616 --save "$SAVE"
check option-steps-fraction 2 train --steps 1.5 --save "$SAVE"
check option-shuffle-yes 2 train --shuffle yes --save "$SAVE"
check option-value-with-newline 2 train --epochs "1
2" --save "$SAVE"
check option-input-two-dims 2 summary --input 28x28
check option-input-zero 2 summary --input 0x28x1
check option-isa-unknown 2 train --isa bogus --save "$SAVE"
case $(uname -m) in x86_64 | i?86) other=neon ;; *) other=avx512 ;; esac
check option-isa-not-here 1 train --data "$T/good" $TRAIN --isa $other --save "$SAVE"
check option-checkpoint-every-0e 2 train --checkpoint-every 0e --save "$SAVE"
check option-unknown 2 train --no-such-option --save "$SAVE"
check option-needs-value 2 train --save "$SAVE" --epochs
check option-not-for-command 2 eval --load "$W" --epochs 1
check argument-unexpected 2 eval --load "$W" extra
check command-unknown 2 retrain --save "$SAVE"

# ------------------------------------------------------------ output paths

check save-dir-missing 1 train --data "$T/good" $TRAIN --save "$OUT/missing/w.safetensors"
mkdir -p "$OUT/dir"
check save-is-a-directory 1 train --data "$T/good" $TRAIN --save "$OUT/dir"
mkdir -p "$OUT"; : >"$OUT/file"
check save-under-a-file 1 train --data "$T/good" $TRAIN --save "$OUT/file/w.safetensors"
check checkpoint-dir-missing 1 train --data "$T/good" $TRAIN --checkpoint "$OUT/missing/c.ckpt"
check log-dir-missing 1 train --data "$T/good" $TRAIN --log "$OUT/missing/log.csv"
check confusion-dir-missing 1 eval --data "$T/good" --load "$W" --confusion "$OUT/missing/c.svg"

# ----------------------------------------------------------------- images

pgm() { printf 'P5\n%s %s\n255\n' "$2" "$3" >"$1"; head -c "${4:-$(($2 * $3))}" /dev/zero >>"$1"; }
png_sig() { printf '\211PNG\r\n\032\n'; }
img() { check "$1" 1 predict --load "$W" "$2"; } # NAME FILE: predict on one image
img image-missing "$T/none.pgm"
img image-is-a-directory "$T/good"
: >"$T/empty.pgm"; img image-empty "$T/empty.pgm"
printf 'hello, world\n' >"$T/text.pgm"; img image-not-an-image "$T/text.pgm"
printf 'P7\n28 28\n255\n' >"$T/p7.pgm"; img pgm-unknown-magic "$T/p7.pgm"
pgm "$T/trunc.pgm" 28 28 500; img pgm-pixels-truncated "$T/trunc.pgm"
printf 'P5\n28 28\n0\n' >"$T/max0.pgm"; head -c 784 /dev/zero >>"$T/max0.pgm"; img pgm-maxval-zero "$T/max0.pgm"
printf 'P5\n0 28\n255\n' >"$T/w0.pgm"; img pgm-width-zero "$T/w0.pgm"
printf 'P5\n99999999 99999999\n255\n' >"$T/big.pgm"; img pgm-huge-dimensions "$T/big.pgm"
printf 'P2\n2 2\n255\n0 1 2 x\n' >"$T/ascii.pgm"; img pgm-ascii-bad-number "$T/ascii.pgm"
pgm "$T/small.pgm" 10 10; img image-wrong-size "$T/small.pgm"
png_sig >"$T/sig.png"; img png-signature-only "$T/sig.png"
{ png_sig; be32 13; printf 'IHDR'; be32 28; be32 28; byte 8; byte 0; byte 0; byte 0; byte 0; be32 0; } >"$T/crc.png"
img png-bad-chunk-crc "$T/crc.png"
{ png_sig; be32 13; printf 'IHDR'; be32 0; be32 0; byte 8; byte 0; byte 0; byte 0; byte 0; be32 0; } >"$T/zero.png"
img png-zero-size "$T/zero.png"

# ------------------------------------------------------------------ report

if [ "$WRITE_DOC" = 1 ]; then
    mkdir -p docs
    {
        echo "# Bad inputs"
        echo
        echo "What the \`cnn\` command does with each bad input of the acceptance"
        echo "table. Generated by \`tests/bad-inputs.sh --write-doc\` (do not edit by"
        echo "hand); \`tests/bad-inputs.sh\` checks, for every case, that the exit code is"
        echo "the one expected (1: the work failed — a bad file or path; 2: a bad"
        echo "command line), that stderr holds exactly one line starting with \`cnn: \`,"
        echo "that the process did not die of a signal or a sanitizer, and that nothing"
        echo "was written to the output path. \`\$TMP\` stands for the script's temporary"
        echo "directory; \`--data\` points at small generated MNIST-style files there."
        echo
        echo "| case | command | exit | message |"
        echo "|---|---|---|---|"
        cat "$ROWS"
    } >docs/bad-inputs.md
    echo "bad-inputs: wrote docs/bad-inputs.md" >&2
fi

nfail=$(echo $FAILED | wc -w | tr -d ' ')
echo "bad-inputs: $((NCASES - nfail)) of $NCASES cases passed" >&2
if [ -n "$FAILED" ]; then
    echo "bad-inputs: FAILED:$FAILED" >&2
    exit 1
fi
