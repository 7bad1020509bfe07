# 50-outputs.sh — output paths that cannot be written.
# Sourced by tests/bad-inputs.sh, which defines check, the file makers and
# the good material ($T/good, $W, $C, $TRAIN, $SAVE).

check save-dir-missing 1 train --data "$T/good" $TRAIN --save "$OUT/missing/w.safetensors"
mkdir -p "$OUT/dir"
check save-is-a-directory 1 train --data "$T/good" $TRAIN --save "$OUT/dir"
mkdir -p "$OUT"; : >"$OUT/file"
check save-under-a-file 1 train --data "$T/good" $TRAIN --save "$OUT/file/w.safetensors"
check checkpoint-dir-missing 1 train --data "$T/good" $TRAIN --checkpoint "$OUT/missing/c.ckpt"
check log-dir-missing 1 train --data "$T/good" $TRAIN --log "$OUT/missing/log.csv"
check confusion-dir-missing 1 eval --data "$T/good" --load "$W" --confusion "$OUT/missing/c.svg"

