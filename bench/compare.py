#!/usr/bin/python3
"""compare.py -- cnn against PyTorch on the seed network, side by side: for
each thread count, bench/train and bench/pytorch_seed.py run in turn
(ours, PyTorch, ours, PyTorch, ...) with the same batch and step count, and
the table shows each one's median images/s and the ratio ours / PyTorch.
Interleaving exposes both to the same background load of a shared machine.

Usage: bench/compare.py [--threads 1,2] [--rounds 3] [--steps 400] [--batch 32]
                        [--json FILE]
Skipped (exit 0 with a message) when PyTorch is not installed.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run_json(cmd):
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", default="", help="comma-separated (default 1..cores)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--json", metavar="FILE", help="also write the results here")
    args = ap.parse_args()

    probe = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True)
    if probe.returncode != 0:
        print("compare.py: PyTorch is not installed (apt-get install python3-torch); skipped")
        return 0
    if args.threads:
        threads = [int(t) for t in args.threads.split(",")]
    else:
        threads = list(range(1, len(os.sched_getaffinity(0)) + 1))

    rows = []
    for t in threads:
        ours, theirs, fmt = [], [], None
        for _ in range(args.rounds):
            r = run_json(["./bench/train", "--json", "--threads", str(t), "--batch",
                          str(args.batch), "--steps", str(args.steps)])
            ours.append(r[0]["images_per_s"])
            isa = r[0]["isa"]
            p = run_json([sys.executable, "bench/pytorch_seed.py", "--json", "--threads", str(t),
                          "--batch", str(args.batch), "--steps", str(args.steps),
                          "--format", fmt or "auto"])
            fmt = p["format"]  # keep the faster layout after the first round
            theirs.append(p["images_per_s"])
            torch_version = p["torch"]
        o, p = statistics.median(ours), statistics.median(theirs)
        rows.append(dict(threads=t, batch=args.batch, steps=args.steps, isa=isa,
                         ours_images_per_s=round(o, 1), pytorch_images_per_s=round(p, 1),
                         pytorch_format=fmt, pytorch=torch_version, ratio=round(o / p, 3),
                         ours_runs=ours, pytorch_runs=theirs))

    print(f"seed network, batch {args.batch}, {args.steps} steps, median of {args.rounds} "
          f"interleaved runs; PyTorch {rows[0]['pytorch']} ({rows[0]['pytorch_format']})")
    print(f"{'threads':>7} {'cnn img/s':>10} {'PyTorch img/s':>14} {'cnn/PyTorch':>12}")
    base = rows[0]["ours_images_per_s"] if rows[0]["threads"] == 1 else None
    for r in rows:
        print(f"{r['threads']:>7} {r['ours_images_per_s']:>10.0f} "
              f"{r['pytorch_images_per_s']:>14.0f} {r['ratio']:>11.2f}x")
    if base and len(rows) > 1:
        for r in rows[1:]:
            print(f"cnn speed-up 1 -> {r['threads']} threads: "
                  f"{r['ours_images_per_s'] / base:.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
