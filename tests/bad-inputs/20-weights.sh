# 20-weights.sh — bad weights and checkpoint files.
# Sourced by tests/bad-inputs.sh, which defines check, the file makers and
# the good material ($T/good, $W, $C, $TRAIN, $SAVE).

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

