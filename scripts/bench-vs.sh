#!/bin/sh
# bench-vs.sh — training speed of this tree against an earlier commit,
# measured in the same run: builds REV's bench/train in a temporary
# worktree, then runs both builds in interleaved rounds (old, new, old,
# new, ...) for each model and thread count and prints the median
# images/s of each and the ratio now / REV.  The machines are shared and
# noisy, so read the ratio, not the absolute figures, and rerun when the
# spread is wide.
#
#   scripts/bench-vs.sh [REV]     MODELS (seed), THREADS (1 2), ROUNDS (5),
#                                 STEPS (300), DATA (data/mnist) override
set -eu
rev=${1:-HEAD~1}
models=${MODELS:-seed}
threads=${THREADS:-1 2}
rounds=${ROUNDS:-5}
steps=${STEPS:-300}
data=${DATA:-data/mnist}
. "$(dirname "$0")/lib/old-tree.sh"
old_tree bench-vs "$rev" bench/train

# One measurement: images/s of a build for a model and thread count.
speed() {
    "$1" --data "$data" --model "$2" --threads "$3" --steps "$steps" --json |
        python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["images_per_s"])'
}

echo "model       threads  $rev images/s  now images/s  now/$rev  (median of $rounds interleaved rounds)"
for m in $models; do
    for t in $threads; do
        : >"$work/old.txt"
        : >"$work/new.txt"
        i=0
        while [ $i -lt "$rounds" ]; do
            speed "$work/old/bench/train" "$m" "$t" >>"$work/old.txt"
            speed ./bench/train "$m" "$t" >>"$work/new.txt"
            i=$((i + 1))
        done
        python3 - "$m" "$t" "$work/old.txt" "$work/new.txt" <<'EOF'
import statistics, sys
m, t, a, b = sys.argv[1:]
old = [float(x) for x in open(a)]
new = [float(x) for x in open(b)]
mo, mn = statistics.median(old), statistics.median(new)
print(f"{m:<11} {t:>7}  {mo:>15.0f}  {mn:>12.0f}  {mn / mo:>8.3f}"
      f"   (spread {min(old):.0f}-{max(old):.0f} / {min(new):.0f}-{max(new):.0f})")
EOF
    done
done
