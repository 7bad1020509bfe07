#!/usr/bin/python3
"""kernels_rounds.py -- bench/kernels in interleaved rounds, medians.

Usage: bench/kernels_rounds.py [--rounds 3] [--models seed,seed-dense]
                               [--isas avx512,avx2] [--json FILE]

Each round runs bench/kernels --json once per model and ISA, in turn (so
all of them see the same background load).  The avx2 runs cap oneDNN at
AVX2 too (ONEDNN_MAX_CPU_ISA=AVX2), so that its ratio compares like with
like; the avx512 runs let oneDNN use AVX-512.  For every layer and pass it
prints the median over the rounds of ours / oneDNN (time ratio) and of our
percentage of the peak measured in the same run, with the range of the
ratio; then, per model and ISA, the median share of the peak of one whole
step (every row: FLOPs over time over peak), ours and oneDNN's.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PASSES = ["forward", "backward-data", "backward-weights"]


def run_once(model, isa):
    env = dict(os.environ)
    if isa == "avx2":
        env["ONEDNN_MAX_CPU_ISA"] = "AVX2"
    p = subprocess.run([os.path.join(HERE, "kernels"), "--model", model, "--isa", isa,
                        "--json"], cwd=ROOT, env=env, capture_output=True, text=True)
    # 1: a kernel disagreed with the reference (its rows say which); the
    # timings still stand, the disagreement is passed on to stderr.
    if p.returncode not in (0, 1):
        raise subprocess.CalledProcessError(p.returncode, p.args, p.stdout, p.stderr)
    if p.returncode == 1:
        sys.stderr.write(p.stderr)
    return json.loads(p.stdout)


def step_pct(rows):
    t = sum(r["ms_per_batch"] for r in rows)
    flops = sum(r["gflops"] * r["ms_per_batch"] for r in rows)
    peak = statistics.median(r["peak_gflops"] for r in rows)
    return 100 * flops / t / peak if t and peak else float("nan")


def collect(args):
    ratios, pcts, steps = {}, {}, {}
    for _ in range(args.rounds):
        for model in args.models:
            for isa in args.isas:
                data = run_once(model, isa)
                ours = [d for d in data if d["isa"] == isa]
                dnn = {(d["layer"], d["pass"]): d for d in data if d["isa"] == "onednn"}
                for d in ours:
                    key = (model, isa, d["layer"], d["pass"])
                    o = dnn.get((d["layer"], d["pass"]))
                    if o:
                        ratios.setdefault(key, []).append(o["ms_per_batch"] / d["ms_per_batch"])
                    pcts.setdefault(key, []).append(d["peak_pct"])
                steps.setdefault((model, isa, "ours"), []).append(step_pct(ours))
                if dnn:
                    for r in dnn.values():
                        r.setdefault("peak_gflops", ours[0]["peak_gflops"])
                    steps.setdefault((model, isa, "onednn"), []).append(step_pct(list(dnn.values())))
    return ratios, pcts, steps


def report(args, ratios, pcts, steps):
    med = statistics.median
    table = []
    print(f"bench/kernels, median of {args.rounds} interleaved rounds "
          f"(avx2 rows: oneDNN capped at AVX2)")
    print(f"{'model':11} {'isa':7} {'layer':7} {'pass':17} {'ours/oneDNN':>11} {'range':>11} "
          f"{'%peak':>6}")
    for key in sorted(pcts, key=lambda k: (k[0], k[1], k[2], PASSES.index(k[3]))):
        r = ratios.get(key, [])
        ratio = med(r) if r else float("nan")
        rng = f"{min(r):.2f}-{max(r):.2f}" if r else "-"
        print(f"{key[0]:11} {key[1]:7} {key[2]:7} {key[3]:17} {ratio:10.2f}x {rng:>11} "
              f"{med(pcts[key]):5.1f}%")
        table.append({"model": key[0], "isa": key[1], "layer": key[2], "pass": key[3],
                      "ours_over_onednn": ratio, "ratios": r, "peak_pct": med(pcts[key])})
    print("\none step's kernels, % of the measured peak (median):")
    for (model, isa, who), v in sorted(steps.items()):
        print(f"  {model:11} {isa:7} {who:7} {med(v):5.1f}%")
    return table


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--models", default="seed,seed-dense")
    ap.add_argument("--isas", default="avx512,avx2")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    args.models = args.models.split(",")
    args.isas = args.isas.split(",")
    ratios, pcts, steps = collect(args)
    table = report(args, ratios, pcts, steps)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": table, "steps": {"/".join(k): v for k, v in steps.items()}}, f,
                      indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
