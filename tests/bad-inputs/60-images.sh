# 60-images.sh — bad images given to cnn predict.
# Sourced by tests/bad-inputs.sh, which defines check, the file makers and
# the good material ($T/good, $W, $C, $TRAIN, $SAVE).

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

