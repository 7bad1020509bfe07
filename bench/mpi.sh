#!/bin/sh
# mpi.sh — 1 rank x 2 threads against 2 ranks x 1 thread on this machine
# (issue 15): `cnn train --steps N` of each model, run in turn for
# --rounds interleaved rounds, and the median images/s of each with their
# ratio (2 x 1 / 1 x 2).  The ranks are bound one per core (mpirun
# --bind-to core), the threads of one rank one per core (cnn's binding).
# Images/s is the command's own figure ("trained N steps in S s (X
# images/s)"), the data's loading excluded.
#
# Usage: bench/mpi.sh [--rounds 3] [--steps 400] [MODEL...]  (default seed seed-dense)
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
models=${*:-seed seed-dense}
command -v mpirun >/dev/null 2>&1 || { echo "bench/mpi.sh: mpirun not found" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rate() { sed -n 's/^cnn: trained .* (\([0-9]*\) images\/s)$/\1/p' "$1"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "cnn $(git rev-parse --short HEAD 2>/dev/null || echo ?); $(./cnn info | grep '^MPI:')"
printf '%-12s %12s %12s %10s\n' model "1x2 img/s" "2x1 img/s" "2x1 / 1x2"
for m in $models; do
    : >"$tmp/a"
    : >"$tmp/b"
    for r in $(seq "$rounds"); do
        ./cnn train --model "$m" --steps "$steps" --threads 2 >/dev/null 2>"$tmp/err"
        rate "$tmp/err" >>"$tmp/a"
        mpirun --oversubscribe -np 2 --bind-to core ./cnn train --model "$m" --steps "$steps" \
            --threads 1 >/dev/null 2>"$tmp/err"
        rate "$tmp/err" >>"$tmp/b"
    done
    a=$(median <"$tmp/a") b=$(median <"$tmp/b")
    printf '%-12s %12s %12s %9.2fx\n' "$m" "$a" "$b" "$(echo "$b $a" | awk '{ print $1 / $2 }')"
done
