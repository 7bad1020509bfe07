# 55-files.sh — inputs and outputs that are not regular files, outputs
# checked before the work, an output that is an input or another output,
# and names that do not print.  The device nodes are private copies made
# with mknod in $T (as root; skipped otherwise), never the system's.
# Sourced by tests/bad-inputs.sh, which defines check, the file makers and
# the good material ($T/good, $W, $C, $TRAIN, $SAVE).

sock() { /usr/bin/python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$1"; }
pgm "$T/digit.pgm" 28 28

# ------------------------------------------- inputs that are not regular files

mkfifo "$T/fifo.pgm"
check image-is-a-fifo 1 predict --load "$W" "$T/fifo.pgm"
ln -s /dev/zero "$T/zero.pgm"
check image-is-dev-zero 1 predict --load "$W" "$T/zero.pgm"
sock "$T/sock.pgm"
check image-is-a-socket 1 predict --load "$W" "$T/sock.pgm"
mkfifo "$T/fifo.csv"
check plot-log-is-a-fifo 1 plot "$T/fifo.csv" -o "$OUT/c.svg"
mkdir -p "$T/logdir.csv"
check plot-log-is-a-directory 1 plot "$T/logdir.csv" -o "$OUT/c.svg"
ln -s /dev/zero "$T/zero.csv"
check plot-log-is-dev-zero 1 plot "$T/zero.csv" -o "$OUT/c.svg"
head -c 4096 /dev/zero | tr '\0' 'x' >"$T/big.pgm"
check image-not-an-image-by-its-first-bytes 1 predict --load "$W" "$T/big.pgm"

# --------------------------------------- outputs that are not regular files

mkfifo "$T/fifo.out"
check save-to-a-fifo-nobody-reads 1 train --data "$T/good" $TRAIN --save "$T/fifo.out"
sock "$T/sock.out"
check save-to-a-socket 1 train --data "$T/good" $TRAIN --save "$T/sock.out"
ln -s "$T/nothing-there" "$T/dangling"
check save-to-a-dangling-link 1 train --data "$T/good" $TRAIN --save "$T/dangling"
ln -s "$T/good" "$T/dir-link.csv"
check log-to-a-link-to-a-directory 1 train --data "$T/good" $TRAIN --log "$T/dir-link.csv"
ln -s /dev/stdout "$T/stdout-link"
check summary-to-a-link-to-stdout 0 summary --model logreg -o "$T/stdout-link"
stdout_has summary-to-a-link-to-stdout "Total params"
if [ "$(id -u)" = 0 ]; then
    mknod "$T/null" c 1 3 && mknod "$T/full" c 1 7 && mknod "$T/blk" b 7 200
    ln -s null "$T/null.csv" && ln -s full "$T/full.svg" # the formats go by extension
    check save-to-a-private-dev-null 0 train --data "$T/good" $TRAIN --save "$T/null"
    check dot-to-a-private-dev-null 0 summary --dot -o "$T/null"
    check log-and-save-to-dev-null 0 train --data "$T/good" $TRAIN --save "$T/null" --log "$T/null.csv"
    check save-to-a-private-dev-full 1 train --data "$T/good" $TRAIN --save "$T/full"
    check predictions-to-dev-full 1 predict --load "$W" "$T/digit.pgm" -o "$T/full"
    check checkpoint-to-dev-full 1 train --data "$T/good" $TRAIN --checkpoint "$T/full"
    check confusion-to-dev-full 1 eval --data "$T/good" --load "$W" --confusion "$T/full.svg"
    check save-to-a-block-device 1 train --data "$T/good" $TRAIN --save "$T/blk"
    ln -s "$T/full" "$T/full-link"
    check save-to-a-link-to-dev-full 1 train --data "$T/good" $TRAIN --save "$T/full-link"
else
    echo "bad-inputs: not root: the device-node cases are skipped" >&2
fi

# ------------------------------------ everything checked before the first step

cp "$W" "$OUT/keep.safetensors"
printf 'kind,epoch\n' >"$OUT/keep.csv"
variant no-test-images; rm "$D/t10k-images-idx3-ubyte"
check test-split-missing-before-training 1 train --data "$D" $TRAIN --save "$OUT/keep.safetensors"
cp "$W" "$OUT/keep.safetensors"
variant bad-test-labels; idx1 "$D/t10k-labels-idx1-ubyte" 20 19 200
check test-labels-bad-before-training 1 train --data "$D" $TRAIN --save "$OUT/keep.safetensors"
cp "$W" "$OUT/keep.safetensors"; printf 'kind,epoch\n' >"$OUT/keep.csv"
check save-dir-missing-keeps-the-log 1 train --data "$T/good" $TRAIN --log "$OUT/keep.csv" --save "$OUT/no/w.safetensors"
check save-empty-name 2 train --data "$T/good" $TRAIN --save ''
check log-empty-name 2 train --data "$T/good" $TRAIN --log ''
check checkpoint-empty-name 2 train --data "$T/good" $TRAIN --checkpoint ''
mkdir -p "$OUT/log.csv"
check log-is-a-directory 1 train --data "$T/good" $TRAIN --log "$OUT/log.csv"
: >"$OUT/file"
check checkpoint-under-a-file 1 train --data "$T/good" $TRAIN --checkpoint "$OUT/file/c.ckpt"
mkdir -p "$OUT/c.svg"
check confusion-is-a-directory 1 train --data "$T/good" $TRAIN --confusion "$OUT/c.svg"
check predictions-dir-missing 1 predict --load "$W" "$T/digit.pgm" -o "$OUT/no/p.txt"
check plot-output-dir-missing 1 plot "$T/none.csv" -o "$OUT/no/c.svg"

# ---------------------------------- an output that is an input, or another

variant out-in
check save-onto-the-training-images 2 train --data "$D" $TRAIN --save "$D/train-images-idx3-ubyte"
ln -s "$D/train-labels-idx1-ubyte" "$T/labels-link"
check save-through-a-link-onto-labels 2 train --data "$D" $TRAIN --save "$T/labels-link"
ln "$D/t10k-images-idx3-ubyte" "$T/test-hardlink"
check log-onto-a-hard-link-of-test-images 2 train --data "$D" $TRAIN --log "$T/test-hardlink.csv" --save "$T/test-hardlink"
check log-and-save-one-new-file 2 train --data "$T/good" $TRAIN --log "$OUT/x.csv" --save "$OUT/x.csv"
check log-and-checkpoint-by-two-spellings 2 train --data "$T/good" $TRAIN --log "$OUT/x.csv" --checkpoint "$OUT/../out/x.csv"
cp "$W" "$T/load.safetensors"
check save-onto-the-loaded-weights 2 train --data "$T/good" $TRAIN --load "$T/load.safetensors" --save "$T/load.safetensors"
cp "$C" "$T/resume.ckpt"
check save-onto-the-resumed-checkpoint 2 train --data "$T/good" --quiet --resume "$T/resume.ckpt" --save "$T/resume.ckpt"
ln "$W" "$T/w-link.svg"
check confusion-onto-the-weights 2 eval --data "$T/good" --load "$T/w-link.svg" --confusion "$T/w-link.svg"
check predictions-onto-an-image 2 predict --load "$W" "$T/digit.pgm" -o "$T/digit.pgm"
printf 'kind,epoch,step,loss,accuracy\nepoch,1,2,0.5,0.9\n' >"$T/log.svg"
check plot-onto-its-log 2 plot "$T/log.svg" -o "$T/log.svg"
ln -s "$T/log.svg" "$T/log-link.svg"
check plot-onto-a-link-to-its-log 2 plot "$T/log.svg" -o "$T/log-link.svg"

# ---------------------------------------------------- names that do not print

RLO=$(printf '\342\200\256')
check name-with-a-bidi-override 1 eval --data "$T/good" --load "$T/w${RLO}gpj.safetensors"
stderr_lacks name-with-a-bidi-override "$RLO"
stderr_has name-with-a-bidi-override 'u{202e}'
check spec-with-a-bidi-override 2 summary --model "conv3x3:8,${RLO}pool,flatten,dense:10,softmax"
stderr_lacks spec-with-a-bidi-override "$RLO"
ZWSP=$(printf '\342\200\213') NEL=$(printf '\302\205')
check name-with-zero-width-and-c1 1 eval --data "$T/good" --load "$T/a${ZWSP}b${NEL}c"
stderr_lacks name-with-zero-width-and-c1 "$ZWSP"
stderr_lacks name-with-zero-width-and-c1 "$NEL"
check name-with-invalid-utf8 1 predict --load "$W" "$T/$(printf 'x\377\376y').pgm"
stderr_lacks name-with-invalid-utf8 "$(printf '\377')"
printf 'kind,epoch,step,loss,accuracy\nepoch,1,2,0.5%s,0.9\n' "$RLO" >"$T/bidi.csv"
check log-content-with-a-bidi-override 1 plot "$T/bidi.csv" -o "$OUT/c.svg"
stderr_lacks log-content-with-a-bidi-override "$RLO"
cp "$W" "$T/w2.safetensors"
check summary-onto-its-weights 2 summary --load "$T/w2.safetensors" -o "$T/w2.safetensors"
