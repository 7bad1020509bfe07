# 10-data.sh — bad data files: IDX headers, sizes, gzip.
# Sourced by tests/bad-inputs.sh, which defines check, the file makers and
# the good material ($T/good, $W, $C, $TRAIN, $SAVE).

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

