# 25-weights-values.sh — weights and checkpoints whose values or declared
# sizes are wrong while their checksums are right (NaN, infinities, a model
# larger than the file), specs too large for memory, and weights paths that
# are not regular files.
# Sourced by tests/bad-inputs.sh, which defines check, the file makers and
# the good material ($T/good, $W, $C, $TRAIN, $SAVE).

# wv_set IN OUT TENSOR INDEX B0 B1 B2 B3: OUT is IN with value INDEX of the
# F32 tensor TENSOR set to the little-endian bytes B0..B3, and the data
# checksum ("crc32": zlib's CRC-32, which is also what a gzip trailer
# holds) made right again, so only the value itself is wrong.
wv_set() {
    n=$(st_len "$1")
    begin=$(dd if="$1" bs=1 skip=8 count="$n" 2>/dev/null |
        sed -n "s/.*\"$3\":{[^}]*\"data_offsets\":\[\([0-9]*\),.*/\1/p")
    [ -n "$begin" ] || { echo "bad-inputs: no tensor $3 in $1" >&2; exit 1; }
    cp "$1" "$T/wv.tmp"
    { byte "$5"; byte "$6"; byte "$7"; byte "$8"; } |
        dd of="$T/wv.tmp" bs=1 seek=$((8 + n + begin + 4 * $4)) conv=notrunc 2>/dev/null
    crc=$(tail -c +$((9 + n)) "$T/wv.tmp" | gzip -c | tail -c 8 | od -An -tx1 -N4 |
        awk '{ print $4 $3 $2 $1 }')
    st_patch "$T/wv.tmp" "$2" "s/\"crc32\":\"[0-9a-f]\{8\}\"/\"crc32\":\"$crc\"/"
    rm -f "$T/wv.tmp"
}
NAN="0 0 192 127" PINF="0 0 128 127" NINF="0 0 128 255"

# Class 5: NaN and infinities, checksums right.
wv_set "$W" "$T/nan.st" dense1.weight 17 $NAN
check weights-nan-in-weight 1 eval --data "$T/good" --load "$T/nan.st"
wv_set "$W" "$T/pinf.st" dense1.weight 7839 $PINF
check weights-plus-inf-in-weight 1 eval --data "$T/good" --load "$T/pinf.st"
wv_set "$W" "$T/ninf.st" dense1.weight 0 $NINF
check weights-minus-inf-in-weight 1 eval --data "$T/good" --load "$T/ninf.st"
wv_set "$W" "$T/nanbias.st" dense1.bias 9 $NAN
check weights-nan-in-bias 1 eval --data "$T/good" --load "$T/nanbias.st"
{ printf 'P5\n28 28\n255\n'; head -c 784 /dev/zero; } >"$T/digit.pgm"
check weights-nan-predict 1 predict --load "$T/nan.st" "$T/digit.pgm"
check weights-nan-as-start-of-training 1 train --data "$T/good" $TRAIN --load "$T/nanbias.st" --save "$SAVE"
check weights-nan-summary 1 summary --load "$T/nan.st"
wv_set "$C" "$T/nanm.ckpt" adam.m.dense1.weight 100 $NAN
check checkpoint-nan-in-adam-moment 1 train --data "$T/good" --quiet --resume "$T/nanm.ckpt" --save "$SAVE"
wv_set "$C" "$T/infv.ckpt" adam.v.dense1.bias 3 $PINF
check checkpoint-inf-in-adam-second-moment 1 train --data "$T/good" --quiet --resume "$T/infv.ckpt" --save "$SAVE"
wv_set "$C" "$T/ninfw.ckpt" dense1.weight 5 $NINF
check checkpoint-minus-inf-in-weight 1 train --data "$T/good" --quiet --resume "$T/ninfw.ckpt" --save "$SAVE"
check checkpoint-nan-loaded-as-weights 1 eval --data "$T/good" --load "$T/ninfw.ckpt"
# Valid: the largest finite float, a denormal and -0 are values like any.
wv_set "$W" "$T/fin1.st" dense1.bias 0 255 255 127 127
wv_set "$T/fin1.st" "$T/fin2.st" dense1.weight 3 1 0 0 0
wv_set "$T/fin2.st" "$T/finite.st" dense1.weight 4 0 0 0 128
check weights-extreme-finite-values 0 eval --data "$T/good" --load "$T/finite.st"

# Class 6: what a file or spec declares, against its length and memory.
# A 300-byte file whose metadata declares a 1.1e12-parameter model.
HUGEHDR='{"__metadata__":{"format":"cnn","input":"1024x1024x1","spec":"flatten,dense:1048576,softmax"},"dense1.bias":{"dtype":"F32","shape":[10],"data_offsets":[0,40]}}'
{ le64 ${#HUGEHDR}; printf '%s' "$HUGEHDR"; head -c 40 /dev/zero; } >"$T/declares-huge.st"
check weights-declare-huge-model 1 eval --data "$T/good" --load "$T/declares-huge.st"
check weights-declare-huge-model-summary 1 summary --load "$T/declares-huge.st"
check weights-declare-huge-model-open-by-predict 1 predict --load "$T/declares-huge.st" "$T/digit.pgm"
# A checkpoint of 784x10 parameters claiming a 99x99x9 input (882,090
# parameters, 10 MB with Adam's moments) in its metadata (the metadata checksum renamed away,
# as files from other writers lack it).
st_patch "$C" "$T/declares-big.ckpt" 's/"meta_crc32"/"meta_crc3_"/; s/"28x28x1"/"99x99x9"/'
check checkpoint-declare-model-larger-than-file 1 train --data "$T/good" --quiet --resume "$T/declares-big.ckpt" --save "$SAVE"
# 65536-channel layers: 39 billion parameters (145 GiB); a million-unit
# dense layer on them: 54 trillion (196 TiB).  The table needs no weights.
WIDE="conv3x3:65536,relu,conv3x3:65536,flatten,dense:10,softmax"
HUGE="conv3x3:65536:same,flatten,dense:1048576,softmax"
check summary-huge-spec 0 summary --model "$WIDE"
check summary-huge-spec-dot 0 summary --model "$HUGE" --dot
check train-huge-spec 1 train --data "$T/good" $TRAIN --model "$HUGE" --save "$SAVE"
check eval-huge-spec 1 eval --data "$T/good" --load "$W" --model "$HUGE"
check summary-huge-spec-with-weights 1 summary --model "$WIDE" --load "$W"

# Class 1 for weights: not a regular file (a directory is in 20-weights.sh).
mkfifo "$T/weights.fifo"
check weights-fifo 1 eval --data "$T/good" --load "$T/weights.fifo"
check weights-fifo-summary 1 summary --load "$T/weights.fifo"
check checkpoint-fifo 1 train --data "$T/good" --quiet --resume "$T/weights.fifo" --save "$SAVE"
ln -s /dev/null "$T/null.st"
check weights-dev-null-symlink 1 eval --data "$T/good" --load "$T/null.st"
check weights-dev-zero 1 eval --data "$T/good" --load /dev/zero
