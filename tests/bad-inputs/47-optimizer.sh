# 47-optimizer.sh — the optimizer and the learning-rate schedule: unknown
# names, values out of range, settings the optimizer or schedule does not
# use, a resume that would change the optimizer's state, and a checkpoint
# whose optimizer metadata is bad.
# Sourced by tests/bad-inputs.sh, which defines check, the file makers and
# the good material ($T/good, $W, $C, $TRAIN, $SAVE); $C is Adam's.

check option-optimizer-unknown 2 train --optimizer rmsprop --save "$SAVE"
check option-optimizer-uppercase 2 train --optimizer Adam --save "$SAVE"
check option-momentum-one 2 train --optimizer sgd --momentum 1 --save "$SAVE"
check option-momentum-negative 2 train --optimizer sgd --momentum -0.1 --save "$SAVE"
check option-momentum-with-adam 2 train --momentum 0.9 --save "$SAVE"
check option-nesterov-without-momentum 2 train --optimizer sgd --nesterov --save "$SAVE"
check option-nesterov-with-adamw 2 train --optimizer adamw --nesterov --save "$SAVE"
check option-weight-decay-with-adam 2 train --weight-decay 1e-4 --save "$SAVE"
check option-weight-decay-not-a-number 2 train --optimizer adamw --weight-decay abc --save "$SAVE"
check option-weight-decay-nan 2 train --optimizer sgd --weight-decay nan --save "$SAVE"
check option-schedule-unknown 2 train --schedule linear --save "$SAVE"
check option-schedule-step-zero-epochs 2 train --schedule step:0:0.5 --save "$SAVE"
check option-schedule-step-factor-above-1 2 train --schedule step:1:2 --save "$SAVE"
check option-schedule-step-one-setting 2 train --schedule step:2 --save "$SAVE"
check option-schedule-cosine-with-settings 2 train --schedule cosine:5 --save "$SAVE"
check option-warmup-with-onecycle 2 train --schedule onecycle --warmup 100 --save "$SAVE"
check option-warmup-fraction 2 train --warmup 1.5e --save "$SAVE"
check option-warmup-negative 2 train --warmup -5 --save "$SAVE"
check option-warmup-too-many-epochs 2 train --warmup 2000000e --save "$SAVE"
check option-optimizer-empty 2 train --optimizer '' --save "$SAVE"
check option-schedule-empty 2 train --schedule '' --save "$SAVE"
check option-schedule-step-tab 2 train --schedule "$(printf 'step:\t1:0.5')" --save "$SAVE"

# A resume keeps its optimizer and the shape of its state.
check resume-other-optimizer 2 train --data "$T/good" --quiet --resume "$C" --optimizer sgd \
    --save "$SAVE"
S="$T/sgd.ckpt"
"$BIN" train --data "$T/good" --quiet --epochs 1 --steps 2 --threads 1 --batch 8 \
    --model logreg --optimizer sgd --checkpoint "$S" >/dev/null 2>&1 ||
    { echo "bad-inputs: cannot make the sgd checkpoint with $BIN" >&2; exit 1; }
check resume-sgd-momentum-switched-on 2 train --data "$T/good" --quiet --resume "$S" \
    --momentum 0.9 --save "$SAVE"
check resume-warmup-onto-onecycle 2 train --data "$T/good" --quiet --resume "$S" \
    --schedule onecycle --warmup 3 --save "$SAVE"

# The optimizer's metadata in a checkpoint (the metadata checksum renamed
# away so that the check behind it is reached).
NOMETA='s/"meta_crc32"/"meta_crc3_"/'
st_patch "$C" "$T/opt-unknown.ckpt" "$NOMETA; s/\"optimizer\":\"adam\"/\"optimizer\":\"adaX\"/"
check checkpoint-optimizer-unknown 1 train --data "$T/good" --quiet --resume "$T/opt-unknown.ckpt" --save "$SAVE"
st_patch "$C" "$T/opt-sched.ckpt" "$NOMETA; s/\"schedule\":\"constant\"/\"schedule\":\"constanX\"/"
check checkpoint-schedule-unknown 1 train --data "$T/good" --quiet --resume "$T/opt-sched.ckpt" --save "$SAVE"
st_patch "$C" "$T/opt-mom.ckpt" "$NOMETA; s/\"momentum\":\"0\"/\"momentum\":\"9\"/"
check checkpoint-momentum-out-of-range 1 train --data "$T/good" --quiet --resume "$T/opt-mom.ckpt" --save "$SAVE"
# Adam's checkpoint relabelled sgd (a space keeps the header's length).
st_patch "$C" "$T/adam-as-sgd.ckpt" "$NOMETA; s/\"optimizer\":\"adam\"/\"optimizer\": \"sgd\"/"
check checkpoint-adam-relabelled-sgd 1 train --data "$T/good" --quiet --resume "$T/adam-as-sgd.ckpt" --save "$SAVE"
