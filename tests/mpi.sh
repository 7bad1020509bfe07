#!/bin/sh
# mpi.sh — the cnn command and the process group (src/comm.c) over two
# ranks on this machine, each launch bounded by `timeout 120`:
#   - one rank runs as a plain process (train, exit codes);
#   - cnn info shows both ranks, each on the cores it is bound to;
#     results come from rank 0 only;
#   - ranks given different command lines stop with one line, exit 2;
#   - cnn train over ranks gives the bytes of one process: 1 x 1, 1 x 2
#     and 2 x 1 (ranks x threads) for seed, seed-dense and bn, and a
#     checkpoint of 2 x 1 resumed on 1 x 2; validation split over ranks
#     gives one process's figures;
#   - what goes wrong stops every rank: a missing directory (one line for
#     all), a bad or other data file on one rank, SIGTERM to mpirun,
#     SIGINT to one rank (checkpoint once, resume), different thread
#     counts, a rank killed or stopped while training (CNN_MPI_TIMEOUT),
#     and a job stopped as a whole is not ended;
#   - build/mpi-probe: the collectives in rank order; a rank that fails
#     (cnn_comm_abort) or is killed by SIGKILL while its peer waits in a
#     barrier ends the job within 30 s with a non-zero exit and a message.
# A cnn built without MPI is checked to refuse a launch of two processes.
# Skipped (exit 0) when mpirun is missing.  Exits 1 when a check fails.
#   tests/mpi.sh            ($CNN_BIN, default ./cnn; build/mpi-probe)
set -u
cd "$(dirname "$0")/.."

if ! command -v mpirun >/dev/null 2>&1; then
    echo "mpi: skipped (mpirun not found)"
    exit 0
fi
BIN=${CNN_BIN:-./cnn}
PROBE=build/mpi-probe
[ -x "$BIN" ] || { echo "mpi: $BIN is not built (make all)" >&2; exit 1; }

# As root in a container: mpirun refuses root unless told, and two ranks
# on a 2-core machine need --oversubscribe.  No single-copy transfers
# (CMA needs ptrace rights that containers often lack): plain copies
# through shared memory work everywhere.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
export OMP_NUM_THREADS=1
MPIRUN="timeout 120 mpirun --oversubscribe"

T=$(mktemp -d "${TMPDIR:-/tmp}/cnn-mpi.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
failed=0

fail() {
    echo "mpi: FAIL $1" >&2
    sed 's/^/    | /' "$T/err" >&2
    failed=1
}

# launch ARGS...: mpirun ARGS with stdout in $T/out, stderr in $T/err;
# sets rc and secs (wall time, whole seconds).
launch() {
    start=$(date +%s)
    $MPIRUN "$@" >"$T/out" 2>"$T/err" </dev/null
    rc=$?
    secs=$(($(date +%s) - start))
}

lines() { grep -c "$1" "$2"; }

# The check of a cnn built without MPI: each process refuses.
if "$BIN" info 2>/dev/null | grep -q '^MPI: not compiled in'; then
    launch -np 2 "$BIN" summary --model logreg
    [ "$rc" = 2 ] && [ "$(lines 'built without MPI' "$T/err")" = 2 ] ||
        fail "a cnn without MPI under mpirun -np 2: exit $rc"
    [ $failed = 0 ] && echo "mpi: cnn built without MPI: its refusal checked, nothing else"
    exit $failed
fi

"$BIN" info >"$T/out" 2>"$T/err"
grep -q '^MPI: .* compiled in; not started by mpirun (1 process' "$T/out" ||
    fail "plain cnn info: $(grep '^MPI' "$T/out")"

launch -np 2 "$BIN" info
[ "$rc" = 0 ] && grep -q '^MPI: .*; 2 ranks, this rank 0 on ' "$T/out" &&
    grep -q '^MPI: .*; 2 ranks, this rank 1 on ' "$T/out" ||
    fail "cnn info on 2 ranks: exit $rc, $(grep '^MPI' "$T/out" | tr '\n' ' ')"

# One rank is a normal run: exit codes survive MPI_Finalize (at exit),
# and train works.
launch -q -np 1 "$BIN" summary --model bogus
[ "$rc" = 2 ] && [ "$(wc -l <"$T/err")" = 1 ] || fail "a bad model on 1 rank: exit $rc"
if [ -f data/mnist/.verified ]; then
    launch -np 1 --bind-to none "$BIN" train --model logreg --steps 2 --threads 1 --quiet \
        --save "$T/w.safetensors"
    [ "$rc" = 0 ] && [ -s "$T/w.safetensors" ] || fail "train on 1 rank: exit $rc"
fi

# Each rank's threads stay on the cores mpirun bound it to.
launch -np 2 --bind-to core env -u OMP_NUM_THREADS "$BIN" info
[ "$rc" = 0 ] && [ "$(lines '^threads: *1 thread, 1 \(of [0-9]* cores\|core\) ' "$T/out")" = 2 ] ||
    fail "cnn info on 2 ranks bound to a core each: $(grep '^threads' "$T/out" | tr '\n' ' ')"

launch -np 2 "$BIN" summary --model logreg
[ "$rc" = 0 ] && [ "$(lines '^Trainable params' "$T/out")" = 1 ] ||
    fail "summary on 2 ranks: exit $rc, $(lines '^Trainable params' "$T/out") tables (want 1)"

# Different command lines (an MPMD launch): one line from rank 0, exit 2.
launch -q -np 1 "$BIN" summary --model logreg : -np 1 "$BIN" summary --model seed
[ "$rc" = 2 ] && [ "$secs" -le 30 ] && [ "$(wc -l <"$T/err")" = 1 ] &&
    grep -q '^cnn: rank 1 on .* was given other options than rank 0' "$T/err" ||
    fail "different options on 2 ranks: exit $rc after ${secs}s"

# Training over ranks: the same bytes as one process, for 1 x 1, 1 x 2
# and 2 x 1 (ranks x threads), 80 steps of each preset; a checkpoint of
# 2 x 1 resumed on 1 x 2 ends where the uninterrupted run does.
plain() { # plain NAME THREADS ARGS...: one process, weights to $T/NAME
    name=$1 threads=$2
    shift 2
    "$BIN" train --quiet --threads "$threads" --save "$T/$name" "$@" >/dev/null 2>"$T/err" ||
        fail "train $* on $threads threads: exit $?"
}
for model in seed seed-dense bn; do
    plain "$model-1x1" 1 --model "$model" --steps 80
    plain "$model-1x2" 2 --model "$model" --steps 80
    launch -np 2 --bind-to none "$BIN" train --quiet --threads 1 --model "$model" --steps 80 \
        --save "$T/$model-2x1"
    [ "$rc" = 0 ] || fail "train --model $model on 2 ranks: exit $rc"
    cmp -s "$T/$model-1x1" "$T/$model-1x2" || fail "$model: 1 x 1 and 1 x 2 differ"
    cmp -s "$T/$model-1x1" "$T/$model-2x1" || fail "$model: 1 x 1 and 2 x 1 differ"
done
launch -np 2 --bind-to none "$BIN" train --quiet --threads 1 --model bn --steps 40 \
    --checkpoint "$T/half.ckpt"
[ "$rc" = 0 ] || fail "train --model bn --steps 40 on 2 ranks: exit $rc"
plain bn-resumed 2 --resume "$T/half.ckpt" --steps 40
cmp -s "$T/bn-1x1" "$T/bn-resumed" || fail "bn: 2 x 1 resumed on 1 x 2 differs from 80 steps"

# wait_ranks: once rank 0's header line is in $T/err (its signal handlers
# are in place and training starts), the rank processes that the mpirun
# under $job started (in $pids) and the rank-1 one (in $victim); at most
# 60 s.  Only mpirun's own children: never another job's ranks.
wait_ranks() {
    pids= victim=
    for i in $(seq 300); do
        sleep 0.2
        grep -q ' parameters, ' "$T/err" 2>/dev/null || continue
        mp=$(pgrep -P "$job" -x mpirun) || continue
        pids=$(pgrep -P "$mp" -x cnn | tr '\n' ' ')
        [ "$(echo $pids | wc -w)" = 2 ] && break
    done
    sleep 0.5 # into the first steps
    for p in $pids; do
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' &&
            victim=$p
    done
}
launch_bg() { $MPIRUN "$@" >"$T/out" 2>"$T/err" </dev/null & job=$!; }

# Validation split over the ranks: the loss and accuracy of one process.
val_of() { grep -o '"val_loss":[^,]*,"val_accuracy":[^,]*' "$1" | tail -1; }
"$BIN" train --quiet --threads 2 --model seed --steps 30 --validate --log "$T/v-1x2.jsonl" \
    >/dev/null 2>"$T/err" || fail "train --validate on 2 threads: exit $?"
launch -np 2 --bind-to none "$BIN" train --quiet --threads 1 --model seed --steps 30 \
    --validate --log "$T/v-2x1.jsonl"
[ "$rc" = 0 ] && [ -n "$(val_of "$T/v-1x2.jsonl")" ] &&
    [ "$(val_of "$T/v-1x2.jsonl")" = "$(val_of "$T/v-2x1.jsonl")" ] ||
    fail "validation on 2 ranks: exit $rc, $(val_of "$T/v-2x1.jsonl") against 1 x 2's $(val_of "$T/v-1x2.jsonl")"

# Data that differ between ranks, the same command line on each: every
# rank runs in its own directory, where d/ is a link to MNIST or a copy
# with one fault.  (rankdir FAULT: rank 1's d/ gets it.)
rankdirs() {
    rm -rf "$T/r0" "$T/r1"
    mkdir -p "$T/r0/d" "$T/r1/d"
    for f in data/mnist/*-ubyte; do
        ln -s "$PWD/$f" "$T/r0/d/"
        ln -s "$PWD/$f" "$T/r1/d/"
    done
}
BIN_ABS=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
in_rankdirs() { # mpirun of cnn ARGS... in $T/r<rank>
    launch -np 2 --bind-to none sh -c 'cd "$0/r$OMPI_COMM_WORLD_RANK" && exec "$@"' "$T" \
        "$BIN_ABS" "$@"
}
# A directory missing on every rank: one line for all of them.
launch -np 2 --bind-to none "$BIN" train --data "$T/none" --steps 5 --quiet
[ "$rc" = 1 ] && [ "$(lines '^cnn: ' "$T/err")" = 1 ] && grep -q "$T/none" "$T/err" ||
    fail "a missing directory on 2 ranks: exit $rc, $(lines '^cnn: ' "$T/err") lines (want 1)"
if [ -f data/mnist/.verified ]; then
    # A truncated training file on rank 1: its one line, every rank stops.
    rankdirs
    rm "$T/r1/d/train-images-idx3-ubyte"
    head -c 1000000 data/mnist/train-images-idx3-ubyte >"$T/r1/d/train-images-idx3-ubyte"
    in_rankdirs train --data d --steps 5 --threads 1 --quiet --save w.safetensors
    [ "$rc" = 1 ] && [ "$secs" -le 30 ] && [ "$(lines '^cnn: ' "$T/err")" = 1 ] &&
        grep -q '^cnn: rank 1 on [^:]*: .*train-images-idx3-ubyte.*' "$T/err" &&
        grep -q 'Primary job  *terminated normally' "$T/err" &&
        [ ! -e "$T/r0/w.safetensors" ] ||
        fail "a truncated data file on rank 1: exit $rc after ${secs}s"
    # One label changed on rank 1: found before the first step.
    rankdirs
    rm "$T/r1/d/train-labels-idx1-ubyte"
    cp data/mnist/train-labels-idx1-ubyte "$T/r1/d/"
    printf '\011' | dd of="$T/r1/d/train-labels-idx1-ubyte" bs=1 seek=100 conv=notrunc 2>/dev/null
    in_rankdirs train --data d --steps 5 --threads 1 --quiet --save w.safetensors
    [ "$rc" = 1 ] && [ "$secs" -le 30 ] && [ "$(lines '^cnn: ' "$T/err")" = 1 ] &&
        grep -q '^cnn: rank 1 on .* loaded other training data than rank 0' "$T/err" &&
        grep -q 'Primary job  *terminated normally' "$T/err" &&
        [ ! -e "$T/r0/w.safetensors" ] ||
        fail "other labels on rank 1: exit $rc after ${secs}s"
fi

# SIGTERM to mpirun (which passes SIGTERM to every rank about a second
# later, SIGKILL a second after that): all ranks stop after the same step,
# rank 0 writes the checkpoint once, and a resume on 1 x 2 ends where the
# uninterrupted run does.  mpirun itself exits 1 (Open MPI's status for a
# job it was told to stop); each rank exits 143.  Times from the signal.
launch_bg -np 2 --bind-to none "$BIN" train --threads 1 --model seed \
    --checkpoint "$T/sig.ckpt"
wait_ranks
start=$(date +%s)
[ -n "$pids" ] && kill -TERM "$mp"
wait "$job"
rc=$? secs=$(($(date +%s) - start))
n=$(sed -n 's/.*stopped by SIGTERM after step \([0-9]*\); checkpoint in .*/\1/p' "$T/err")
[ -n "$pids" ] && [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$secs" -le 30 ] && [ -n "$n" ] &&
    [ "$(lines 'stopped by' "$T/err")" = 1 ] && [ -s "$T/sig.ckpt" ] &&
    [ -z "$(ls "$T" | grep 'sig\.ckpt\.')" ] ||
    fail "SIGTERM to mpirun: exit $rc after ${secs}s"
if [ -n "$n" ]; then
    plain sig-resumed 2 --resume "$T/sig.ckpt" --steps 20
    plain sig-whole 2 --model seed --steps $((n + 20))
    cmp -s "$T/sig-resumed" "$T/sig-whole" ||
        fail "the checkpoint of a SIGTERM on 2 ranks, resumed on 1 x 2, differs from $((n + 20)) steps"
fi

# SIGINT to rank 1 alone: rank 0 stops after the same step (the ranks
# agree on it in each step's gather), writes the checkpoint and says so;
# every rank exits 130, and so does mpirun.
launch_bg -np 2 --bind-to none "$BIN" train --threads 1 --model seed \
    --checkpoint "$T/int.ckpt"
wait_ranks
start=$(date +%s)
[ -n "$victim" ] && kill -INT "$victim"
wait "$job"
rc=$? secs=$(($(date +%s) - start))
[ -n "$victim" ] && [ "$rc" = 130 ] && [ "$secs" -le 30 ] &&
    [ "$(lines 'stopped by SIGINT' "$T/err")" = 1 ] && [ -s "$T/int.ckpt" ] ||
    fail "SIGINT to rank 1: exit $rc after ${secs}s"

# Ranks that would run different thread counts (the same command line,
# OMP_NUM_THREADS set apart): each says so in one line, exit 2, at once.
launch -q --bind-to none -np 1 -x OMP_NUM_THREADS=1 "$BIN" train --quiet --model seed \
    --steps 5 : -np 1 -x OMP_NUM_THREADS=2 "$BIN" train --quiet --model seed --steps 5
[ "$rc" = 2 ] && [ "$secs" -le 30 ] &&
    [ "$(lines '^cnn: train: the ranks run different thread counts' "$T/err")" -ge 1 ] ||
    fail "different thread counts on 2 ranks: exit $rc after ${secs}s"

# A rank killed by SIGKILL in the middle of an epoch of training: the job
# ends within 30 s, non-zero, with mpirun's line naming the rank.
launch_bg -np 2 --bind-to none "$BIN" train --threads 1 --model seed
wait_ranks
start=$(date +%s)
[ -n "$victim" ] && kill -KILL "$victim"
wait "$job"
rc=$? secs=$(($(date +%s) - start))
[ -n "$victim" ] && [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$secs" -le 30 ] &&
    grep -q 'rank 1 .* exited on signal 9' "$T/err" ||
    fail "a rank killed while training: exit $rc after ${secs}s"

# A rank stopped (SIGSTOP) while training: the other waits at most
# CNN_MPI_TIMEOUT seconds in a collective, then ends the job with one line.
launch_bg -np 2 --bind-to none -x CNN_MPI_TIMEOUT=3 "$BIN" train --threads 1 --model seed
wait_ranks
start=$(date +%s)
[ -n "$victim" ] && kill -STOP "$victim"
wait "$job"
rc=$? secs=$(($(date +%s) - start))
[ -n "$victim" ] && [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$secs" -le 30 ] &&
    grep -q '^cnn: rank 0 on [^:]*: MPI_[A-Za-z]* waited 3 s for the other ranks' "$T/err" ||
    fail "a rank stopped while training: exit $rc after ${secs}s"

# A job stopped and continued as a whole (Ctrl-Z and fg, a batch system's
# suspend) for longer than CNN_MPI_TIMEOUT: the watchdog counts only the
# time it saw pass, and training goes on to the end.
launch_bg -np 2 --bind-to none -x CNN_MPI_TIMEOUT=2 "$BIN" train --threads 1 --model seed \
    --steps 400
wait_ranks
[ -n "$pids" ] && kill -STOP $pids && sleep 4 && kill -CONT $pids
wait "$job"
rc=$?
[ -n "$pids" ] && [ "$rc" = 0 ] && grep -q 'trained 400 steps' "$T/err" ||
    fail "a job stopped and continued as a whole: exit $rc"
launch -np 2 -x CNN_MPI_TIMEOUT=soon "$BIN" summary --model logreg
[ "$rc" = 2 ] && grep -q "CNN_MPI_TIMEOUT='soon' is not a number" "$T/err" ||
    fail "CNN_MPI_TIMEOUT=soon: exit $rc"

if [ ! -x "$PROBE" ]; then
    echo "mpi: FAIL $PROBE is not built (make all builds it with MPI)" >&2
    exit 1
fi
launch -np 2 "$PROBE" collectives
[ "$rc" = 0 ] && [ "$(lines ': ok$' "$T/out")" = 2 ] ||
    fail "collectives on 2 ranks: exit $rc"

launch -np 2 "$PROBE" abort
[ "$rc" = 3 ] && [ "$secs" -le 30 ] &&
    [ "$(lines '^cnn: rank 1 on .*: probe failure, as asked$' "$T/err")" = 1 ] ||
    fail "a failing rank: exit $rc after ${secs}s"

launch -np 2 "$PROBE" kill
[ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$secs" -le 30 ] &&
    grep -q 'rank 1 .* exited on signal 9' "$T/err" ||
    fail "a rank killed by SIGKILL: exit $rc after ${secs}s"

[ $failed = 0 ] && echo "mpi: all checks passed (1 rank: train, exit codes; 2 ranks: info, binding, options, training's bytes, resume, validation, bad and differing data on one rank, SIGTERM and SIGINT, thread counts, a rank killed or stopped while training, collectives, abort, SIGKILL)"
exit $failed
