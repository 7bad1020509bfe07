#!/bin/sh
# recipe.sh — trains a preset with its recipe (`cnn train --model NAME`, no
# other option but --seed) once per seed and prints each run's training
# seconds and test accuracy, then their mean: the README's figures for the
# bn and bn-fashion presets.
#
# Usage: bench/recipe.sh NAME [SEED...]   (default seeds 1151998 1 2)
#        DATA=data/fashion bench/recipe.sh bn-fashion
set -eu
[ $# -ge 1 ] || { echo "usage: bench/recipe.sh NAME [SEED...]" >&2; exit 2; }
name=$1
shift
seeds=${*:-1151998 1 2}
[ -x ./cnn ] || { echo "recipe.sh: ./cnn is not built (run make)" >&2; exit 1; }
./cnn summary --model "$name" | sed -n '/^Recipe/,$p'
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for s in $seeds; do
    ./cnn train --data "${DATA:-data/mnist}" --model "$name" --seed "$s" >"$tmp/out" 2>"$tmp/err" ||
        { echo "recipe.sh: training failed (seed $s): $(tail -n 1 "$tmp/err")" >&2; exit 1; }
    secs=$(sed -n 's/^cnn: trained .* in \([0-9.]*\) s .*/\1/p' "$tmp/err")
    acc=$(sed -n 's/.*test accuracy: \([0-9.]*\).*/\1/p' "$tmp/out")
    printf 'seed %-8s trained %6s s  test accuracy %s\n' "$s" "$secs" "$acc" | tee -a "$tmp/runs"
done
awk '
    { n++; s += $NF; t += $4 }
    END { if (n) printf "%d runs: mean test accuracy %.4f, mean training %.1f s\n", n, s / n, t / n }' "$tmp/runs"
