# 35-checkpoints.sh — which data a checkpoint belongs to: a resume on other
# data (even of the same size), another image count, image size or batch,
# and a malformed data fingerprint in the checkpoint's metadata.
# Sourced by tests/bad-inputs.sh, which defines check, the file makers and
# the good material ($T/good, $W, $C, $TRAIN, $SAVE); $C was trained on
# $T/good (logreg, batch 8).

IMAGES=train-images-idx3-ubyte
LABELS=train-labels-idx1-ubyte
# put_byte FILE OFFSET VALUE: set one byte in place
put_byte() { byte "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null; }

# Other data, refused before anything is written (the --save is not made).
variant pixel; flip "$D/$IMAGES" $((16 + 28 * 28 * 5 + 300))
check resume-one-image-byte-changed 1 train --data "$D" --quiet --resume "$C" --save "$SAVE"
variant label; put_byte "$D/$LABELS" 8 3
check resume-one-label-changed 1 train --data "$D" --quiet --resume "$C" --save "$SAVE"
variant same-size
{ head -c 16 "$T/good/$IMAGES"; head -c $((64 * 28 * 28)) /dev/zero | tr '\0' '\177'; } >"$D/$IMAGES"
{ head -c 8 "$T/good/$LABELS"; i=0; while [ $i -lt 64 ]; do byte $(((i + 3) % 10)); i=$((i + 1)); done; } >"$D/$LABELS"
check resume-another-set-of-the-same-size 1 train --data "$D" --quiet --resume "$C" --save "$SAVE"
variant fewer; idx3 "$D/$IMAGES" 60 28 28; idx1 "$D/$LABELS" 60
check resume-fewer-images 1 train --data "$D" --quiet --resume "$C" --save "$SAVE"
variant smaller; mnist "$D" 20 20
check resume-other-image-size 1 train --data "$D" --quiet --resume "$C" --save "$SAVE"
check resume-other-batch 1 train --data "$T/good" --quiet --resume "$C" --batch 16 --save "$SAVE"
check resume-fewer-images-other-batch 1 train --data "$T/data-fewer" --quiet --resume "$C" --batch 16 --save "$SAVE"

# The fingerprint in the metadata.  meta_crc32 renamed (as files of other
# writers lack it) so that the check behind the metadata checksum is reached.
NOMETA='s/"meta_crc32"/"meta_crc3_"/'
st_patch "$C" "$T/fp-hex.ckpt" "$NOMETA; s/\"images_crc32\":\"[0-9a-f]\{8\}\"/\"images_crc32\":\"zzzzzzzz\"/"
check resume-fingerprint-not-hex 1 train --data "$T/good" --quiet --resume "$T/fp-hex.ckpt" --save "$SAVE"
st_patch "$C" "$T/fp-upper.ckpt" "$NOMETA; s/\"labels_crc32\":\"[0-9a-f]\{8\}\"/\"labels_crc32\":\"ABCDEF01\"/"
check resume-fingerprint-uppercase 1 train --data "$T/good" --quiet --resume "$T/fp-upper.ckpt" --save "$SAVE"
st_patch "$C" "$T/fp-short.ckpt" "$NOMETA; s/\"images_crc32\":\"\([0-9a-f]\{7\}\)[0-9a-f]\"/\"images_crc32\":\"\1\" /"
check resume-fingerprint-7-digits 1 train --data "$T/good" --quiet --resume "$T/fp-short.ckpt" --save "$SAVE"
st_patch "$C" "$T/fp-half.ckpt" "$NOMETA; s/\"labels_crc32\"/\"labels_crc3_\"/"
check resume-fingerprint-half-missing 1 train --data "$T/good" --quiet --resume "$T/fp-half.ckpt" --save "$SAVE"
st_patch "$C" "$T/fp-edit.ckpt" "s/\"images_crc32\":\"[0-9a-f]\{8\}\"/\"images_crc32\":\"01234567\"/"
check resume-fingerprint-edited 1 train --data "$T/good" --quiet --resume "$T/fp-edit.ckpt" --save "$SAVE"
st_patch "$C" "$T/fp-other.ckpt" "$NOMETA; s/\"images_crc32\":\"[0-9a-f]\{8\}\"/\"images_crc32\":\"01234567\"/"
check resume-fingerprint-of-other-data 1 train --data "$T/good" --quiet --resume "$T/fp-other.ckpt" --save "$SAVE"

# Valid: the same bytes under another path resume (--epochs 0: no step, so
# no checkpoint is written back); a checkpoint from before the fingerprint
# resumes unchecked, even on changed data.
variant copy
check resume-same-data-elsewhere 0 train --data "$D" --quiet --resume "$C" --epochs 0
st_patch "$C" "$T/old.ckpt" "$NOMETA; s/\"images_crc32\"/\"images_crc3_\"/; s/\"labels_crc32\"/\"labels_crc3_\"/"
check resume-old-checkpoint-unchecked 0 train --data "$T/data-pixel" --quiet --resume "$T/old.ckpt" --epochs 0
