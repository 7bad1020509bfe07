# 30-specs.sh — bad model specs.
# Sourced by tests/bad-inputs.sh, which defines check, the file makers and
# the good material ($T/good, $W, $C, $TRAIN, $SAVE).

check spec-empty 2 summary --model ""
check spec-unknown-layer 2 summary --model "conv3x3:8,pool,flatten,dense:10,softmax"
check spec-no-softmax 2 summary --model "flatten,dense:10"
check spec-conv-after-flatten 2 summary --model "flatten,conv3x3:8,dense:10,softmax"
check spec-dense-before-flatten 2 summary --model "conv3x3:8,dense:10,softmax"
check spec-relu-twice 2 summary --model "conv3x3:8,relu,relu,flatten,dense:10,softmax"
check spec-non-square-kernel 2 summary --model "conv3x5:8,flatten,dense:10,softmax"
check spec-zero-units 2 summary --model "flatten,dense:0,softmax"
check spec-kernel-larger-than-input 2 summary --model "conv29x29:8,flatten,dense:10,softmax"
check spec-one-class 2 summary --model "flatten,dense:1,softmax"
check spec-classes-differ-from-data 1 train --data "$T/good" $TRAIN --model "flatten,dense:5,softmax" --save "$SAVE"

