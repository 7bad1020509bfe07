# 12-cifar.sh — bad CIFAR-10 binary directories: missing batches, both data
# sets in one directory, sizes that are not whole 3,073-byte records, bad
# labels, files that are not regular files, broken gzip.
# Sourced by tests/bad-inputs.sh, which defines check, the file makers and
# the good material ($T/good, $W, $C, $TRAIN, $SAVE).

# cifar_file FILE RECORDS [LAST-LABEL]: records of label i % 10 (the last
# one LAST-LABEL when given) and 3,072 pixel bytes
cifar_file() {
    i=0
    { while [ $i -lt "$2" ]; do
          if [ -n "${3:-}" ] && [ $i = $(($2 - 1)) ]; then byte "$3"; else byte $((i % 10)); fi
          head -c 3072 /dev/zero | tr '\0' '\100'
          i=$((i + 1))
      done; } >"$1"
}
# a small valid CIFAR-10 directory: four records per batch
mkdir -p "$T/cifar"
for n in 1 2 3 4 5; do cifar_file "$T/cifar/data_batch_$n.bin" 4; done
cifar_file "$T/cifar/test_batch.bin" 4
# cvariant NAME: a copy of the good CIFAR-10 directory to break, in $D
cvariant() { D="$T/cifar-$1"; rm -rf "$D"; cp -r "$T/cifar" "$D"; }
B2=data_batch_2.bin

check cifar-good 0 train --data "$T/cifar" $TRAIN
cvariant batch-missing; rm "$D/data_batch_3.bin"
check cifar-train-batch-missing 1 train --data "$D" $TRAIN --save "$SAVE"
cvariant test-missing; rm "$D/test_batch.bin"
check cifar-test-batch-missing 1 train --data "$D" $TRAIN --save "$SAVE"
cvariant only-test; rm "$D"/data_batch_*.bin
check cifar-only-test-batch 1 train --data "$D" $TRAIN --save "$SAVE"
cvariant and-mnist; cp "$T/good/train-images-idx3-ubyte" "$D/"
check cifar-and-mnist-in-one-directory 1 train --data "$D" $TRAIN --save "$SAVE"
cvariant truncated; head -c $((4 * 3073 - 100)) "$T/cifar/$B2" >"$D/$B2"
check cifar-batch-truncated 1 train --data "$D" $TRAIN --save "$SAVE"
cvariant trailing; printf 'abc' >>"$D/$B2"
check cifar-batch-trailing-bytes 1 train --data "$D" $TRAIN --save "$SAVE"
cvariant mnist-file; cp "$T/good/train-images-idx3-ubyte" "$D/$B2"
check cifar-batch-holds-idx 1 train --data "$D" $TRAIN --save "$SAVE"
cvariant empty; : >"$D/$B2"
check cifar-batch-empty 1 train --data "$D" $TRAIN --save "$SAVE"
cvariant label10; cifar_file "$D/$B2" 4 10
check cifar-label-10 1 train --data "$D" $TRAIN --save "$SAVE"
cvariant label255; cifar_file "$D/test_batch.bin" 4 255
check cifar-test-label-255 1 train --data "$D" $TRAIN --save "$SAVE"
cvariant fifo; rm "$D/$B2"; mkfifo "$D/$B2"
check cifar-batch-fifo 1 train --data "$D" $TRAIN --save "$SAVE"
cvariant dir; rm "$D/$B2"; mkdir "$D/$B2"
check cifar-batch-is-a-directory 1 train --data "$D" $TRAIN --save "$SAVE"
cvariant dev; rm "$D/test_batch.bin"; ln -s /dev/zero "$D/test_batch.bin"
check cifar-test-batch-dev-zero 1 train --data "$D" $TRAIN --save "$SAVE"

# gzip: valid batches train; broken ones are refused
cvariant gz; gzip -9n "$D"/*.bin
check cifar-gzip-batches 0 train --data "$D" $TRAIN
cvariant gz-cut; gzip -9n "$D/$B2"; G="$D/$B2.gz"
head -c $(($(size "$G") / 2)) "$G" >"$T/g" && mv "$T/g" "$G"
check cifar-gzip-truncated 1 train --data "$D" $TRAIN --save "$SAVE"
cvariant gz-record; rm "$D/$B2"; head -c 5000 "$T/cifar/$B2" | gzip -9n >"$D/$B2.gz"
check cifar-gzip-cut-in-a-record 1 train --data "$D" $TRAIN --save "$SAVE"
cvariant gz-nothing; rm "$D/$B2"; gzip -9n </dev/null >"$D/$B2.gz"
check cifar-gzip-of-nothing 1 train --data "$D" $TRAIN --save "$SAVE"
