#!/bin/sh
# seeds.sh — trains the seed network with several seeds and prints each
# run's test loss and accuracy, then their mean, min and max: how much of an
# accuracy figure is the seed.
#
# Usage: bench/seeds.sh [EPOCHS] [SEED...]   (default: 3 epochs, seeds 1151998 1 2 3 4)
set -eu
epochs=${1:-3}
[ $# -gt 0 ] && shift
seeds=${*:-1151998 1 2 3 4}
[ -x ./cnn ] || { echo "seeds.sh: ./cnn is not built (run make)" >&2; exit 1; }
for s in $seeds; do
    line=$(./cnn train --data "${DATA:-data/mnist}" --model seed --epochs "$epochs" --seed "$s" --quiet | head -n 1)
    acc=$(printf '%s\n' "$line" | sed -n 's/.*test accuracy: \([0-9.]*\).*/\1/p')
    loss=$(printf '%s\n' "$line" | sed -n 's/test loss: \([0-9.]*\),.*/\1/p')
    printf 'seed %-8s epochs %s  test loss %s  test accuracy %s\n' "$s" "$epochs" "$loss" "$acc"
    echo "$acc"
done | awk '
    /^seed/ { print; next }
    { n++; s += $1; if (n == 1 || $1 < lo) lo = $1; if (n == 1 || $1 > hi) hi = $1 }
    END { if (n) printf "%d runs: mean %.4f, min %.4f, max %.4f\n", n, s / n, lo, hi }'
