# 42-parsing.sh — option parsing (values parsed whole, "--", options named
# as typed, --isa against $CNN_ISA, --models items) and write errors on
# stdout (a full device: every command that prints results fails with a
# cnn: line).
# Sourced by tests/bad-inputs.sh, which defines check, the file makers and
# the good material ($T/good, $W, $C, $TRAIN, $SAVE).

# A valid metrics log for `plot` and a blank 28x28 image for `predict`
# (made before the cases, so they are part of the snapshot the cases must
# leave alone).
{ printf 'P5\n28 28\n255\n'; head -c 784 /dev/zero; } >"$T/parsing.pgm"
"$BIN" train --data "$T/good" $TRAIN --log "$T/parsing-log.csv" >/dev/null 2>&1 ||
    { echo "bad-inputs: cannot make the metrics log with $BIN" >&2; exit 1; }

# --- values are parsed whole, never cut to a buffer first
check every-zero-padded-garbage 2 train --checkpoint-every 000000000000000000000000000005garbagee --save "$SAVE"
check every-unit-twice 2 train --checkpoint-every 5ee --save "$SAVE"
check every-leading-blank 2 train --checkpoint-every " 5" --save "$SAVE"
check every-trailing-blank 2 train --checkpoint-every "5e " --save "$SAVE"
check every-unit-alone 2 train --checkpoint-every e --save "$SAVE"
check every-hex 2 train --checkpoint-every 0x5 --save "$SAVE"
check every-over-range 2 train --checkpoint-every 99999999999999999999e --save "$SAVE"
check input-wraps-32-bits 2 summary --model logreg --input 4294967324x28x1
check input-inner-blank 2 summary --model logreg --input "28x 28x1"
check input-plus-sign 2 summary --model logreg --input +28x28x1

# --- --isa overrides $CNN_ISA; a bad $CNN_ISA alone is named, before any work
ENV="CNN_ISA=bogus"; check isa-option-over-bad-env 0 train --data "$T/good" $TRAIN --isa scalar
ENV="CNN_ISA=bogus"; check isa-option-over-bad-env-summary 0 summary --model logreg --isa ref
ENV="CNN_ISA=bogus"; check isa-env-bad-train 2 train --data "$T/good" $TRAIN --save "$SAVE"
ENV="CNN_ISA=bogus"; check isa-env-bad-eval 2 eval --data "$T/good" --load "$W"
ENV="CNN_ISA=bogus"; check isa-env-bad-info 2 info
case $(uname -m) in x86_64 | i?86) other=neon ;; *) other=avx512 ;; esac
ENV="CNN_ISA=$other"; check isa-env-not-here-predict 1 predict --load "$W" "$T/missing.pgm"
check isa-option-bad-before-data 2 eval --data "$T/missing" --load "$W" --isa bogus

# --- --models names the bad item
check models-bad-preset 2 compare --data "$T/good" --models logreg,bogus --quiet
check models-spec-among-presets 2 compare --data "$T/good" --models "logreg,conv3x3:8,relu" --quiet
check models-bad-spec-item 2 compare --data "$T/good" --models "logreg;bogus" --quiet
long=$(printf 'logreg,%.0s' $(seq 200))bogus # past the 1 KiB once copied to a buffer
check models-long-list-bad-item 2 compare --data "$T/good" --models "$long" --quiet
check models-empty-item 2 compare --data "$T/good" --models "logreg,,seed" --quiet

# --- "--" ends the options; refused options are named as typed
check dashdash-plot-missing 1 plot -- "$T/missing.csv"
check dashdash-predict-missing 1 predict --load "$W" -- "$T/missing.pgm"
check dashdash-then-option-text 2 plot -- "$T/parsing-log.csv" -o "$OUT/plot.svg"
check dashdash-as-output-value 2 plot "$T/parsing-log.csv" -o -- --quiet
check short-unknown-bundled 2 plot "$T/parsing-log.csv" -qo "$OUT/plot.svg"
check short-needs-value 2 plot "$T/parsing-log.csv" -o
check short-not-for-command 2 eval --load "$W" -o "$OUT/x"
check long-ambiguous 2 train --check "$OUT/c.ckpt" --save "$SAVE"
check long-flag-with-value 2 train --quiet=yes --save "$SAVE"
check long-abbreviation-needs-value 2 train --save "$SAVE" --ep
check option-before-command 2 -q train --save "$SAVE"

# --- write errors on stdout
STDOUT=/dev/full; check stdout-full-eval 1 eval --data "$T/good" --load "$W"
STDOUT=/dev/full; check stdout-full-train 1 train --data "$T/good" $TRAIN
STDOUT=/dev/full; check stdout-full-compare 1 compare --data "$T/good" --models logreg --quiet --epochs 1 --steps 1 --threads 1
STDOUT=/dev/full; check stdout-full-summary 1 summary --model logreg
STDOUT=/dev/full; check stdout-full-summary-dot 1 summary --model seed --dot
STDOUT=/dev/full; check stdout-full-predict 1 predict --load "$W" "$T/parsing.pgm"
STDOUT=/dev/full; check stdout-full-plot 1 plot "$T/parsing-log.csv" -o -
STDOUT=/dev/full; check stdout-full-info 1 info
STDOUT=/dev/full; check stdout-full-help 1 --help
STDOUT=/dev/full; check stdout-full-command-help 1 eval --help
STDOUT=/dev/full; check stdout-full-version 1 --version
