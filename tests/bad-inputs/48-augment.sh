# 48-augment.sh — augmentation and label smoothing: malformed or out-of-range
# --augment settings, a shift beyond half the image, --label-smoothing out of
# [0, 1), and a checkpoint whose augment or label_smoothing metadata is bad.
# Sourced by tests/bad-inputs.sh, which defines check, the file makers and
# the good material ($T/good, $C, $SAVE).

check option-augment-not-a-number 2 train --augment shift=abc --save "$SAVE"
check option-augment-rotate-out-of-range 2 train --augment rotate=500 --save "$SAVE"
check option-augment-zoom-out-of-range 2 train --augment zoom=0.6 --save "$SAVE"
check option-augment-negative 2 train --augment shift=-1 --save "$SAVE"
check option-augment-unknown 2 train --augment foo=1 --save "$SAVE"
check option-augment-twice 2 train --augment shift=1,shift=2 --save "$SAVE"
check option-augment-no-value 2 train --augment shift --save "$SAVE"
check option-augment-trailing-comma 2 train --augment shift=1, --save "$SAVE"
check option-augment-shift-beyond-half 2 train --data "$T/good" --quiet --augment shift=15 \
    --save "$SAVE"
check option-label-smoothing-one 2 train --label-smoothing 1 --save "$SAVE"
check option-label-smoothing-negative 2 train --label-smoothing -0.1 --save "$SAVE"
check option-label-smoothing-nan 2 train --label-smoothing nan --save "$SAVE"
check resume-augment-shift-beyond-half 2 train --data "$T/good" --quiet --resume "$C" \
    --augment shift=15 --save "$SAVE"

# The metadata checksum renamed away so that the check behind it is reached.
NOMETA='s/"meta_crc32"/"meta_crc3_"/'
st_patch "$C" "$T/aug-bad.ckpt" "$NOMETA; s/\"augment\":\"none\"/\"augment\":\"nonX\"/"
check checkpoint-augment-malformed 1 train --data "$T/good" --quiet --resume "$T/aug-bad.ckpt" --save "$SAVE"
st_patch "$C" "$T/ls-bad.ckpt" "$NOMETA; s/\"label_smoothing\":\"0\"/\"label_smoothing\":\"1\"/"
check checkpoint-label-smoothing-out-of-range 1 train --data "$T/good" --quiet --resume "$T/ls-bad.ckpt" --save "$SAVE"
