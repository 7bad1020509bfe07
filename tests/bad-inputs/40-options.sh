# 40-options.sh — bad command lines.
# Sourced by tests/bad-inputs.sh, which defines check, the file makers and
# the good material ($T/good, $W, $C, $TRAIN, $SAVE).

check option-epochs-not-a-number 2 train --epochs abc --save "$SAVE"
check option-epochs-negative 2 train --epochs -1 --save "$SAVE"
check option-batch-zero 2 train --batch 0 --save "$SAVE"
check option-lr-zero 2 train --lr 0 --save "$SAVE"
check option-lr-nan 2 train --lr nan --save "$SAVE"
check option-lr-underflows 2 train --lr 1e-50 --save "$SAVE"
check option-lr-trailing-text 2 train --lr 0.001x --save "$SAVE"
check option-threads-too-many 2 train --threads 99999 --save "$SAVE"
check option-seed-negative 2 train --seed -1 --save "$SAVE"
check option-seed-over-64-bits 2 train --seed 18446744073709551616 --save "$SAVE"
check option-steps-fraction 2 train --steps 1.5 --save "$SAVE"
check option-shuffle-yes 2 train --shuffle yes --save "$SAVE"
check option-value-with-newline 2 train --epochs "1
2" --save "$SAVE"
check option-input-two-dims 2 summary --input 28x28
check option-input-zero 2 summary --input 0x28x1
check option-isa-unknown 2 train --isa bogus --save "$SAVE"
case $(uname -m) in x86_64 | i?86) other=neon ;; *) other=avx512 ;; esac
check option-isa-not-here 1 train --data "$T/good" $TRAIN --isa $other --save "$SAVE"
check option-checkpoint-every-0e 2 train --checkpoint-every 0e --save "$SAVE"
check option-unknown 2 train --no-such-option --save "$SAVE"
check option-needs-value 2 train --save "$SAVE" --epochs
check option-not-for-command 2 eval --load "$W" --epochs 1
check argument-unexpected 2 eval --load "$W" extra
check command-unknown 2 retrain --save "$SAVE"

