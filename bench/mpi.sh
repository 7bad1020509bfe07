#!/bin/sh
# mpi.sh — 1 rank x 2 threads against 2 ranks x 1 thread on this machine
# (issue 15): `cnn train --steps N` of each model, run in turn for
# --rounds interleaved rounds, and the median images/s of each with their
# ratio (2 x 1 / 1 x 2), and the median share of the 2 x 1 run's training
# time spent in collectives with its time per step (cnn's own figures:
# "N% of it in collectives"; waiting for the slower rank is part of it).
# The ranks are bound one per core (mpirun --bind-to core), the threads of
# one rank one per core (cnn's binding).  Images/s is the command's own
# figure ("trained N steps in S s (X images/s)"), the data's loading
# excluded.  A model may be a preset or a spec; `bn-nobn` is the bn
# preset without its batch-norm layers, so that bn against it shows what
# batch norm's collectives cost a step.
#
# Usage: bench/mpi.sh [--rounds 3] [--steps 400] [MODEL...]
#        (default seed seed-dense bn bn-nobn)
set -eu
cd "$(dirname "$0")/.."
rounds=3 steps=400
while [ $# -gt 0 ]; do
    case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    *) break ;;
    esac
done
models=${*:-seed seed-dense bn bn-nobn}
command -v mpirun >/dev/null 2>&1 || { echo "bench/mpi.sh: mpirun not found" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rate() { sed -n 's/^cnn: trained .* (\([0-9]*\) images\/s).*/\1/p' "$1"; }
share() { sed -n 's/^cnn: trained .*, \([0-9.]*\)% of it in collectives$/\1/p' "$1"; }
# Seconds per step of the run ("trained N steps in S s").
per_step() { sed -n 's/^cnn: trained \([0-9]*\) steps in \([0-9.]*\) s.*/\2 \1/p' "$1" |
    awk '{ print $1 / $2 }'; }
spec() { # bn-nobn: the bn preset's spec and recipe without its batch-norm layers
    if [ "$1" = bn-nobn ]; then
        echo "$(./cnn summary --model bn 2>/dev/null | sed -n 's/^Model: \(.*\)/\1/p' |
            sed 's/,bn,/,/g; s/,bn$//') --batch 64 --optimizer adam --lr 0.003 \
            --schedule onecycle --augment shift=2,rotate=10,zoom=0.1 --label-smoothing 0.1"
    else
        echo "$1"
    fi
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "cnn $(git rev-parse --short HEAD 2>/dev/null || echo ?); $(./cnn info | grep '^MPI:')"
printf '%-12s %11s %11s %10s %12s %12s\n' model "1x2 img/s" "2x1 img/s" "2x1 / 1x2" \
    "2x1 in coll." "coll./step"
for m in $models; do
    spec=$(spec "$m")
    [ -n "$spec" ] || { echo "bench/mpi.sh: no spec for $m" >&2; exit 1; }
    : >"$tmp/a"
    : >"$tmp/b"
    : >"$tmp/c"
    : >"$tmp/d"
    for r in $(seq "$rounds"); do
        # shellcheck disable=SC2086 # $spec: a model and its options
        ./cnn train --model $spec --steps "$steps" --threads 2 >/dev/null 2>"$tmp/err"
        rate "$tmp/err" >>"$tmp/a"
        # shellcheck disable=SC2086
        mpirun --oversubscribe -np 2 --bind-to core ./cnn train --model $spec \
            --steps "$steps" --threads 1 >/dev/null 2>"$tmp/err"
        rate "$tmp/err" >>"$tmp/b"
        share "$tmp/err" >>"$tmp/c"
        echo "$(share "$tmp/err") $(per_step "$tmp/err")" | awk '{ print $1 / 100 * $2 * 1e6 }' \
            >>"$tmp/d"
    done
    a=$(median <"$tmp/a") b=$(median <"$tmp/b") c=$(median <"$tmp/c") d=$(median <"$tmp/d")
    printf '%-12s %11s %11s %9.2fx %11s%% %9.0f us\n' "$m" "$a" "$b" \
        "$(echo "$b $a" | awk '{ print $1 / $2 }')" "$c" "$d"
done
