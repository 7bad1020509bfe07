# 15-data-files.sh — data files that are not regular files (a FIFO must not
# block, a device must not be read), and gzip files of several members
# (what `cat a.gz b.gz` gives: valid when every member is).
# Sourced by tests/bad-inputs.sh, which defines check, the file makers and
# the good material ($T/good, $W, $C, $TRAIN, $SAVE).

# special NAME FILE: a variant with FILE (a name in the directory) removed,
# to be replaced by something that is not a regular file
special() { variant "$1"; rm -f "$D/$2"; P="$D/$2"; }

special fifo-images train-images-idx3-ubyte; mkfifo "$P"
check data-images-fifo 1 train --data "$D" $TRAIN --save "$SAVE"
special fifo-labels train-labels-idx1-ubyte; mkfifo "$P"
check data-labels-fifo 1 train --data "$D" $TRAIN --save "$SAVE"
special fifo-test t10k-images-idx3-ubyte; mkfifo "$P"
check eval-test-images-fifo 1 eval --load "$W" --data "$D"
special fifo-gz train-images-idx3-ubyte; mkfifo "$P.gz"
check data-images-gz-fifo 1 train --data "$D" $TRAIN --save "$SAVE"
special dir-labels train-labels-idx1-ubyte; mkdir "$P"
check data-labels-directory 1 train --data "$D" $TRAIN --save "$SAVE"
# character devices, read only, through links in $T: never written
special null-images train-images-idx3-ubyte; ln -s /dev/null "$P"
check data-images-dev-null 1 train --data "$D" $TRAIN --save "$SAVE"
special zero-test t10k-labels-idx1-ubyte; ln -s /dev/zero "$P"
check eval-test-labels-dev-zero 1 eval --load "$W" --data "$D"
# as root: a private node of /dev/zero's kind (1, 5) in $T, read only
special node-images train-images-idx3-ubyte
if mknod "$P" c 1 5 2>/dev/null; then
    check data-images-char-device-node 1 train --data "$D" $TRAIN --save "$SAVE"
fi
if [ -x /usr/bin/python3 ]; then
    special socket-images train-images-idx3-ubyte
    /usr/bin/python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$P"
    check data-images-socket 1 train --data "$D" $TRAIN --save "$SAVE"
fi

# members FILE CUT...: FILE replaced by FILE.gz, one gzip member per piece
# (cut at the given byte offsets, in order; equal cuts give empty members)
members() {
    f=$1 from=0
    shift
    : >"$f.gz"
    for to in "$@" $(size "$f"); do
        tail -c +$((from + 1)) "$f" | head -c $((to - from)) | gzip -9n >>"$f.gz"
        from=$to
    done
    rm "$f"
    G="$f.gz"
}
IM=train-images-idx3-ubyte LB=train-labels-idx1-ubyte
# valid: they train (no --save: nothing may be written under $T)
variant gzm2; members "$D/$IM" 5000
check gzip-two-members 0 train --data "$D" $TRAIN
variant gzm3; members "$D/$IM" 2 16
check gzip-three-members-cut-in-header 0 train --data "$D" $TRAIN
variant gzm-empty; members "$D/$IM" 0 3000 3000
check gzip-empty-members 0 train --data "$D" $TRAIN
variant gzm-labels; members "$D/$LB" 8 40
check gzip-labels-three-members 0 train --data "$D" $TRAIN
variant gzm-eval; members "$D/t10k-images-idx3-ubyte" 100; members "$D/t10k-labels-idx1-ubyte" 10
check gzip-members-eval 0 eval --load "$W" --data "$D"

# two members of an image file, in $G, with the first's length in $FIRST
two() {
    variant "$1"
    head -c 5000 "$D/$IM" | gzip -9n >"$D/$IM.gz"
    FIRST=$(size "$D/$IM.gz")
    members "$D/$IM" 5000
}
two gzm-corrupt2; flip "$G" $((FIRST + 20))
check gzip-second-member-corrupt 1 train --data "$D" $TRAIN --save "$SAVE"
two gzm-cut2; head -c $(($(size "$G") - 5)) "$G" >"$T/g" && mv "$T/g" "$G"
check gzip-second-member-truncated 1 train --data "$D" $TRAIN --save "$SAVE"
two gzm-isize1; flip "$G" $((FIRST - 3))
check gzip-first-member-size-lies 1 train --data "$D" $TRAIN --save "$SAVE"
two gzm-crc1; flip "$G" $((FIRST - 7))
check gzip-first-member-crc-mismatch 1 train --data "$D" $TRAIN --save "$SAVE"
two gzm-garbage; printf 'garbage' >>"$G"
check gzip-garbage-after-members 1 train --data "$D" $TRAIN --save "$SAVE"
two gzm-zeros; head -c 512 /dev/zero >>"$G"
check gzip-zeros-after-members 1 train --data "$D" $TRAIN --save "$SAVE"
two gzm-more; printf 'one image too many' | gzip -9n >>"$G"
check gzip-members-hold-more 1 train --data "$D" $TRAIN --save "$SAVE"
variant gzm-less; head -c $(($(size "$D/$IM") - 784)) "$D/$IM" >"$T/g" && mv "$T/g" "$D/$IM"; members "$D/$IM" 5000
check gzip-members-hold-less 1 train --data "$D" $TRAIN --save "$SAVE"
