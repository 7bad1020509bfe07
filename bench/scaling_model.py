#!/usr/bin/python3
"""scaling_model.py -- where a network stops scaling with threads, modelled
from per-phase times measured on few cores (bench/train --json).

Usage: bench/scaling_model.py [--threads 1,2,4,8,12,16,24,32] [--bw GBPS]
                              [--params N] SWEEP.json ...

Each input file is bench/train --json output; the model uses each
(model, batch) pair's 1-thread row, and its 2-thread row when present:

  share(T)   = ceil(B / T) images: the slowest thread's, since the batch is
               cut into one chunk per image and a thread computes whole
               chunks (idle(T) = 1 - B / (T * share(T)));
  compute(T) = share(T) * (data + forward + backward per image, 1 thread);
  update(T)  = max(update_1 / T, bytes / bw): the gradient sums and the
               optimizer split evenly over T threads, until the memory
               bandwidth bw (GB/s, an assumption: --bw, default 40) carries
               the optimizer's traffic (bytes = 4 * params * 7 for Adam:
               read parameters, gradient, m, v; write parameters, m, v);
  sync(T)    = the 2-thread run's wait per step (two barriers), times
               log2(T) (a tree barrier), when a 2-thread row is given;
  step(T)    = compute(T) + update(T) + sync(T); images/s = B / step(T).

It prints, per network and batch, T, share, idle, the modelled step and
images/s, and the speed-up over one thread.  A model, not a measurement:
the 16-core runs (bench/train --sweep on the device machine) replace it
where they exist.
"""
import argparse
import json
import math
import sys

PARAMS = {"seed": 24186, "seed-dense": 1249962, "logreg": 7850}


def rows_of(paths):
    rows = []
    for p in paths:
        with open(p) as f:
            data = json.load(f)
        rows.extend(data if isinstance(data, list) else [data])
    return rows


def model_one(one, two, threads, bw, params):
    b = one["batch"]
    per_image = (one["us_data"] + one["us_forward"] + one["us_backward"]) / b
    update_1 = one["us_update"]
    floor_us = 4.0 * params * 7 / (bw * 1e3)  # bytes / (GB/s) in microseconds
    wait_2 = two["us_wait"] if two else 0.0
    out = []
    for t in threads:
        share = math.ceil(b / t)
        idle = 1 - b / (t * share)
        update = max(update_1 / t, floor_us if t > 1 else update_1)
        sync = wait_2 * math.log2(t) if t > 1 else 0.0
        step = share * per_image + update + sync
        out.append((t, share, idle, step, b / step * 1e6))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--threads", default="1,2,4,8,12,16,24,32")
    ap.add_argument("--bw", type=float, default=40.0, help="memory bandwidth, GB/s")
    ap.add_argument("--params", type=int, default=0,
                    help="parameters (default: known for seed, seed-dense, logreg)")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    rows = rows_of(args.files)
    keys = sorted({(r["model"], r["batch"]) for r in rows})
    for model, batch in keys:
        mine = [r for r in rows if r["model"] == model and r["batch"] == batch]
        one = next((r for r in mine if r["threads"] == 1), None)
        two = next((r for r in mine if r["threads"] == 2), None)
        params = args.params or PARAMS.get(model)
        if not one or not params:
            print(f"{model} batch {batch}: no 1-thread row or unknown parameter count; skipped",
                  file=sys.stderr)
            continue
        print(f"\n{model}, batch {batch} (modelled from the measured 1-thread phases"
              f"{' and the 2-thread wait' if two else ''}; memory {args.bw:g} GB/s)")
        print(f"{'threads':>7} {'share':>6} {'idle':>6} {'us/step':>9} {'images/s':>10} "
              f"{'speed-up':>9}")
        res = model_one(one, two, threads, args.bw, params)
        base = res[0][4] if res and res[0][0] == 1 else None
        for t, share, idle, step, ips in res:
            sp = f"{ips / base:8.2f}x" if base else f"{'-':>9}"
            print(f"{t:>7} {share:>6} {100 * idle:5.1f}% {step:9.1f} {ips:10.0f} {sp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
