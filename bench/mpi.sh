#!/bin/sh
# mpi.sh — 1 rank x 2 threads against 2 ranks x 1 thread on this machine
# (issue 15), and what the ranks' communication costs.
#
# Table 1, per model: `cnn train --steps N` on 1 x 2 and on 2 x 1, in turn
# for --rounds interleaved rounds; the median images/s of each and their
# ratio; the 2 x 1 run's share of training time in collectives and its
# time a step (cnn's own figures; waiting for the slower rank is part of
# it); the bytes gathered a step; and the transfer alone: build/mpi-probe
# timing a gather of those bytes with both ranks ready (the most that
# overlapping the gathers with backward could hide).  `bn-nobn` is the bn
# preset and recipe without its batch-norm layers: bn against it shows
# what batch norm's gathers cost.
#
# Table 2, the update's choice: every rank applies the whole update (what
# cnn does), or ZeRO-1 (each rank updates a slice, then the new weights
# are gathered).  The update's time a step on 1 thread and on 2
# (bench/train's update phase: what a rank repeats when it applies it
# alone), against a gather of the whole weights (build/mpi-probe).
#
# The ranks are bound one per core (mpirun --bind-to core), the threads of
# one rank one per core (cnn's binding).  Images/s is the command's own
# figure ("trained N steps in S s (X images/s)"), the data's loading
# excluded.
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
make -s all bench/train >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
MPIRUN="mpirun --oversubscribe -np 2 --bind-to core"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rate() { sed -n 's/^cnn: trained .* (\([0-9]*\) images\/s).*/\1/p' "$1"; }
share() { sed -n 's/^cnn: trained .*, \([0-9.]*\)% of it in collectives.*/\1/p' "$1"; }
mb() { sed -n 's/^cnn: trained .*(\([0-9.]*\) MB gathered a step)$/\1/p' "$1"; }
# Microseconds a step in collectives ("trained N steps in S s", share).
coll_us() { sed -n 's/^cnn: trained \([0-9]*\) steps in \([0-9.]*\) s.*/\2 \1/p' "$1" |
    awk -v p="$(share "$1")" '{ print p / 100 * $1 / $2 * 1e6 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
gather_us() { $MPIRUN build/mpi-probe gather "$1" | sed -n 's/.*median \([0-9.]*\) us$/\1/p'; }
spec() { # a preset, or bn-nobn: bn's spec and recipe without its batch-norm layers
    if [ "$1" = bn-nobn ]; then
        echo "$(./cnn summary --model bn 2>/dev/null | sed -n 's/^Model: \(.*\)/\1/p' |
            sed 's/,bn,/,/g; s/,bn$//') --batch 64 --optimizer adam --lr 0.003 \
            --schedule onecycle --augment shift=2,rotate=10,zoom=0.1 --label-smoothing 0.1"
    else
        echo "$1"
    fi
}

echo "cnn $(git rev-parse --short HEAD 2>/dev/null || echo ?); $(./cnn info | grep '^MPI:')"
printf '%-11s %10s %10s %9s %11s %10s %9s %12s\n' model "1x2 img/s" "2x1 img/s" "2x1/1x2" \
    "in coll." "coll./step" "MB/step" "transfer us"
for m in $models; do
    spec=$(spec "$m")
    for f in a b c d e; do : >"$tmp/$f"; done
    for r in $(seq "$rounds"); do
        # shellcheck disable=SC2086 # $spec: a model and its options
        ./cnn train --model $spec --steps "$steps" --threads 2 >/dev/null 2>"$tmp/err"
        rate "$tmp/err" >>"$tmp/a"
        # shellcheck disable=SC2086
        $MPIRUN ./cnn train --model $spec --steps "$steps" --threads 1 >/dev/null 2>"$tmp/err"
        rate "$tmp/err" >>"$tmp/b"
        share "$tmp/err" >>"$tmp/c"
        coll_us "$tmp/err" >>"$tmp/d"
        mb "$tmp/err" >>"$tmp/e"
    done
    a=$(median <"$tmp/a") b=$(median <"$tmp/b") c=$(median <"$tmp/c") d=$(median <"$tmp/d")
    e=$(median <"$tmp/e")
    printf '%-11s %10s %10s %8.2fx %10s%% %7.0f us %9s %9s us\n' "$m" "$a" "$b" \
        "$(echo "$b $a" | awk '{ print $1 / $2 }')" "$c" "$d" "$e" \
        "$(gather_us "$(echo "$e" | awk '{ printf "%.0f", $1 * 1e6 }')")"
done

echo
printf '%-11s %14s %14s %14s %10s %16s\n' model "update 1t us" "update 2t us" "repeated us" \
    "weights MB" "weight gather us"
for m in $models; do
    spec=$(spec "$m")
    # shellcheck disable=SC2086
    u1=$(./bench/train --model "$(echo $spec | cut -d' ' -f1)" --threads 1 --json |
        sed -n 's/.*"us_update": \([0-9.]*\).*/\1/p')
    # shellcheck disable=SC2086
    u2=$(./bench/train --model "$(echo $spec | cut -d' ' -f1)" --threads 2 --json |
        sed -n 's/.*"us_update": \([0-9.]*\).*/\1/p')
    # shellcheck disable=SC2086
    params=$(./cnn summary --model $(echo $spec | cut -d' ' -f1) |
        sed -n 's/^Total params: \([0-9,]*\).*/\1/p' | tr -d ,)
    printf '%-11s %14.0f %14.0f %14.0f %10.2f %13s us\n' "$m" "$u1" "$u2" \
        "$(echo "$u1 $u2" | awk '{ print $1 - $2 }')" "$(echo "$params" | awk '{ print $1 * 4 / 1e6 }')" \
        "$(gather_us $((params * 4)))"
done
