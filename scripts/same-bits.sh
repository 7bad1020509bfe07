#!/bin/sh
# same-bits.sh — checks that this tree trains to the same bytes as an
# earlier commit: builds REV (default main; issue 13 changed the order of
# the gradient sums, so only commits from it on match) in a temporary
# worktree, then for each model
# and thread count runs
#   cnn train --model M --threads T --steps 150 --save F
# with both builds and compares the saved tensors byte for byte (the
# safetensors data section; the metadata holds no trained value).
#
#   scripts/same-bits.sh [REV]        MODELS, THREADS, STEPS, DATA override
#
# Prints one line per run and exits 0 only when every pair is identical.
set -eu
rev=${1:-main}
models=${MODELS:-seed seed-dense logreg}
threads=${THREADS:-1 2}
steps=${STEPS:-150}
data=${DATA:-data/mnist}
. "$(dirname "$0")/lib/old-tree.sh"
old_tree same-bits "$rev" cnn

. "$(dirname "$0")/lib/tensors.sh"

fail=0
for m in $models; do
    for t in $threads; do
        for side in old new; do
            bin=./cnn
            [ $side = old ] && bin=$work/old/cnn
            $bin train --data "$data" --model "$m" --threads "$t" --steps "$steps" \
                --quiet --save "$work/$side.safetensors" >/dev/null
        done
        a=$(tensors "$work/old.safetensors")
        b=$(tensors "$work/new.safetensors")
        if [ "$a" = "$b" ]; then
            echo "same      $m threads $t steps $steps  sha256 ${a%"${a#????????????????}"}"
        else
            echo "DIFFERENT $m threads $t steps $steps  ($rev ${a%"${a#????????????}"}, now ${b%"${b#????????????}"})"
            fail=1
        fi
    done
done
exit $fail
