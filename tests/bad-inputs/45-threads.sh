# 45-threads.sh — threads and buffers sized by the request instead of the
# need (issue 11, class 7) and buffers beyond the machine's memory (class 6,
# the workspace part).
# Sourced by tests/bad-inputs.sh, which defines check, the file makers and
# the good material ($T/good, $W, $C, $TRAIN, $SAVE).

# A batch larger than the data set is one step of all its images: valid.
check train-batch-larger-than-data 0 train --data "$T/good" --quiet --epochs 1 --threads 1 \
    --model seed-dense --batch 100000
check train-batch-largest-four-threads 0 train --data "$T/good" --quiet --epochs 1 \
    --threads 4 --model seed-dense --batch 1048576
# More threads than the machine runs well, or than the images of a step:
# capped (with a warning), not "Thread creation failed".
check eval-threads-4096 0 eval --data "$T/good" --load "$W" --threads 4096
check train-threads-4096 0 train --data "$T/good" --quiet --epochs 1 --threads 4096 \
    --model seed-dense --batch 64
check train-threads-4096-batch-100000 0 train --data "$T/good" --quiet --epochs 1 \
    --threads 4096 --model logreg --batch 100000
ENV="OMP_NUM_THREADS=10000"
check env-omp-num-threads-10000-eval 0 eval --data "$T/good" --load "$W"
ENV="OMP_NUM_THREADS=10000"
check env-omp-num-threads-10000-train 0 train --data "$T/good" --quiet --epochs 1 \
    --model seed-dense --batch 64
# OpenMP giving fewer threads than asked for once crashed the trainer.
ENV="OMP_THREAD_LIMIT=1"
check env-omp-thread-limit-1 0 train --data "$T/good" --quiet --epochs 1 --threads 2 \
    --model logreg --batch 16
# A malformed OMP_NUM_THREADS is a cnn error (exit 2) naming it, not
# libgomp's complaint and a blank line, when the command would use it.
ENV="OMP_NUM_THREADS=abc"
check env-omp-num-threads-abc 2 train --data "$T/good" --quiet --epochs 1 --steps 1 \
    --model logreg --save "$SAVE"
ENV="OMP_NUM_THREADS=0"
check env-omp-num-threads-0 2 eval --data "$T/good" --load "$W"
ENV="OMP_NUM_THREADS=-1"
check env-omp-num-threads-negative 2 train --data "$T/good" --quiet --epochs 1 --steps 1 \
    --model logreg --save "$SAVE"
ENV="OMP_NUM_THREADS=2,x"
check env-omp-num-threads-bad-list 2 eval --data "$T/good" --load "$W"
# ... and valid when --threads says how many, when it is empty (unset), or
# when the command runs no threads.
ENV="OMP_NUM_THREADS=abc"
check env-omp-num-threads-abc-with-threads 0 train --data "$T/good" $TRAIN
ENV="OMP_NUM_THREADS="
check env-omp-num-threads-empty 0 eval --data "$T/good" --load "$W"
ENV="OMP_NUM_THREADS=abc"
check env-omp-num-threads-abc-summary 0 summary --model logreg
# Buffers beyond the machine's memory are refused before they are
# allocated: a 65536-wide conv over 128x128 images holds 4 GiB of
# activations per image, 12 TiB with the backward buffers for a step of
# 1024 (the dense layer of 300000 makes the thread take them as one group).
D="$T/data-wide"
mkdir -p "$D"
idx3 "$D/train-images-idx3-ubyte" 1024 128 128
idx1 "$D/train-labels-idx1-ubyte" 1024
WIDE="conv1x1:65536,relu,conv1x1s64:1,flatten,dense:300000,relu,dense:10,softmax"
check train-workspace-beyond-memory 1 train --data "$D" --quiet --epochs 1 --threads 1 \
    --batch 1024 --model "$WIDE" --save "$SAVE"
check train-workspace-beyond-memory-threads 1 train --data "$D" --quiet --epochs 1 \
    --threads 64 --batch 1024 --model "$WIDE" --save "$SAVE"
