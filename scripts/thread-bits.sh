#!/bin/sh
# thread-bits.sh — checks, through the command line, that training gives
# the same bytes for any thread count: for each model and batch it runs
#   cnn train --model M --batch B --threads T --steps 60 --save F
# for every T and compares the saved tensors (the safetensors data
# section; the metadata holds no trained value) with those of T = 1.
# Threads beyond the cores run oversubscribed.  The test
# trainer/mnist_same_bits_for_any_thread_count checks the same through the
# library in `make test`.
#
#   scripts/thread-bits.sh     MODELS, BATCHES, THREADS, STEPS, DATA override
#
# Prints one line per run and exits 0 only when every run matches.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/tensors.sh"
cd "$here/.."
models=${MODELS:-seed seed-dense}
batches=${BATCHES:-32 50}
threads=${THREADS:-1 2 3 4 5 8}
steps=${STEPS:-60}
data=${DATA:-data/mnist}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail=0
for m in $models; do
    for b in $batches; do
        first=""
        for t in $threads; do
            ./cnn train --data "$data" --model "$m" --batch "$b" --threads "$t" \
                --steps "$steps" --quiet --save "$work/w.safetensors" >/dev/null
            h=$(tensors "$work/w.safetensors")
            [ -z "$first" ] && first=$h
            if [ "$h" = "$first" ]; then
                echo "same      $m batch $b threads $t  sha256 ${h%"${h#????????????????}"}"
            else
                echo "DIFFERENT $m batch $b threads $t  (${h%"${h#????????????}"}, first ${first%"${first#????????????}"})"
                fail=1
            fi
        done
    done
done
exit $fail
