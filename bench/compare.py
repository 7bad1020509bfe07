#!/usr/bin/python3
"""compare.py -- cnn against PyTorch, side by side, per model and thread
count: bench/train and bench/pytorch_seed.py run in turn (ours, PyTorch,
ours, PyTorch, ...) with the same network, batch and step count, and the
table shows each one's median images/s and the ratio ours / PyTorch.
Interleaving exposes both to the same background load of a shared machine.

Usage: bench/compare.py [--model seed,seed-dense,logreg] [--threads 1,2]
                        [--rounds 3] [--steps 400] [--warmup 50] [--batch 32]
                        [--json FILE]
--model is repeatable or a comma list (default seed).  At the top it prints
what PyTorch runs on: its version, the BLAS library actually loaded (with
OpenBLAS's configuration), oneDNN's version and ISA, the thread settings
and the environment that changes them; --json FILE writes all of it with
the rows.  Before timing, each PyTorch twin is checked against ./cnn when it
is built: the same spec and parameter count as `./cnn summary --model M`,
and the same test loss and accuracy from weights cnn trained for 30 steps
(pytorch_seed.py --load).  PyTorch's layout (NCHW or channels-last) is chosen per model and
thread count by pytorch_seed.py's probe in the first round and kept.
--malloc and --openblas-core go to pytorch_seed.py (see its --help).
Skipped (exit 0 with a message) when PyTorch is not installed.
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TWIN = [sys.executable, os.path.join(HERE, "pytorch_seed.py")]


def run_json(cmd):
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append",
                    help="seed, seed-dense, logreg (repeatable or comma list; default seed)")
    ap.add_argument("--threads", default="", help="comma-separated (default 1..cores)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--format", choices=["auto", "nchw", "nhwc"], default="auto",
                    help="PyTorch's layout (default: probed per model and thread count)")
    ap.add_argument("--malloc", choices=["keep", "system"], default="keep")
    ap.add_argument("--openblas-core", default="detect", metavar="detect|inherit|NAME")
    ap.add_argument("--json", metavar="FILE", help="also write the results here")
    args = ap.parse_args()
    args.models = [m for arg in (args.model or ["seed"]) for m in arg.split(",") if m]
    if args.threads:
        args.thread_list = [int(t) for t in args.threads.split(",")]
    else:
        args.thread_list = list(range(1, len(os.sched_getaffinity(0)) + 1))
    args.twin_env = ["--malloc", args.malloc, "--openblas-core", args.openblas_core]
    return args


def cnn_summary(model):
    """(spec, parameter count) from `./cnn summary --model M`, or None."""
    if not os.access(os.path.join(ROOT, "cnn"), os.X_OK):
        return None
    out = subprocess.run(["./cnn", "summary", "--model", model], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.splitlines()
    spec = next(line[len("Model: "):] for line in out if line.startswith("Model: "))
    total = next(line.split(":")[1] for line in out if line.startswith("Total params:"))
    return spec.strip(), int(total.replace(",", ""))


def check_weights(args, model):
    """Train model briefly with ./cnn, then evaluate the saved weights in
    both: the same test loss and accuracy (up to float rounding) show the
    twin computes cnn's function (flatten order, padding, layouts).
    Returns (cnn's, PyTorch's) (loss, accuracy)."""
    with tempfile.TemporaryDirectory() as tmp:
        weights = os.path.join(tmp, "w.safetensors")
        out = subprocess.run(["./cnn", "train", "--model", model, "--steps", "30",
                              "--quiet", "--save", weights], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
        m = re.search(r"test loss: ([\d.]+), test accuracy: ([\d.]+)", out)
        theirs = run_json(TWIN + ["--json", "--model", model, "--load", weights])
    ours = (float(m.group(1)), float(m.group(2)))
    theirs = (theirs["test_loss"], theirs["test_accuracy"])
    if abs(ours[0] - theirs[0]) > 1e-3 * max(1.0, ours[0]) or abs(ours[1] - theirs[1]) > 2e-3:
        sys.exit(f"compare.py: {model}: cnn's weights give test loss and accuracy {ours} in "
                 f"cnn but {theirs} in the PyTorch twin: the twin is not cnn's network")
    return ours, theirs


def networks(args):
    """Each model's PyTorch twin (spec, parameters) checked against cnn's;
    returns them and the environment PyTorch reports."""
    nets, env = {}, None
    for m in args.models:
        info = run_json(TWIN + ["--info", "--json", "--model", m] + args.twin_env)
        ours = cnn_summary(m)
        if ours is not None and ours != (info["spec"], info["params"]):
            sys.exit(f"compare.py: {m}: PyTorch's twin ({info['spec']}, {info['params']} "
                     f"parameters) is not cnn's ({ours[0]}, {ours[1]} parameters)")
        nets[m] = dict(spec=info["spec"], params=info["params"], checked=ours is not None)
        if ours is not None:
            nets[m]["same_weights_test"] = check_weights(args, m)
        env = env or {k: v for k, v in info.items() if k not in ("model", "spec", "params")}
    return nets, env


def measure(args, model, t):
    """The interleaved rounds of one model at t threads, as one row."""
    ours, theirs, fmt, probe, warnings = [], [], args.format, {}, []
    for _ in range(args.rounds):
        r = run_json(["./bench/train", "--json", "--model", model, "--threads", str(t),
                      "--batch", str(args.batch), "--steps", str(args.steps),
                      "--warmup", str(args.warmup)])[0]
        ours.append(r["images_per_s"])
        if r["threads"] != t:
            warnings.append(f"bench/train ran {r['threads']} threads")
        p = run_json(TWIN + ["--json", "--model", model, "--threads", str(t), "--batch",
                             str(args.batch), "--steps", str(args.steps), "--warmup",
                             str(args.warmup), "--format", fmt]
                     + args.twin_env)
        fmt, probe = p["format"], probe or p["format_probe"]  # keep the first round's pick
        theirs.append(p["images_per_s"])
        seen = p["threads_seen"]
        if seen["torch"] != t or seen["process"] < t:
            warnings.append(f"PyTorch ran {seen}")
    o, p = statistics.median(ours), statistics.median(theirs)
    return dict(model=model, threads=t, batch=args.batch, steps=args.steps, isa=r["isa"],
                ours_images_per_s=round(o, 1), pytorch_images_per_s=round(p, 1),
                ratio=round(o / p, 3), pytorch_format=fmt, pytorch_format_probe=probe,
                ours_runs=ours, pytorch_runs=theirs, warnings=sorted(set(warnings)))


def cpu_name():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def git_commit():
    r = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                       capture_output=True, text=True)
    return r.stdout.strip() or None


def print_report(args, nets, env, rows):
    sys.path.insert(0, HERE)
    sys.dont_write_bytecode = True  # no bench/__pycache__
    from torch_env import describe  # needs torch: imported only once it is known present
    print(f"cnn against PyTorch: batch {args.batch}, {args.steps} steps after {args.warmup} warm-up "
          f"steps, median of {args.rounds} interleaved rounds")
    print(f"cnn {git_commit()}, {rows[0]['isa']}; CPU {cpu_name()}, "
          f"{len(os.sched_getaffinity(0))} cores")
    print("\n".join(describe(env)))
    for m, n in nets.items():
        check = "not checked: ./cnn not built"
        if n["checked"]:
            (lo, ao), (lp, ap) = n["same_weights_test"]
            check = (f"the layers of ./cnn summary; cnn's weights after 30 steps: test loss "
                     f"{lo:.4f} in cnn, {lp:.4f} in PyTorch, accuracy {ao:.4f}, {ap:.4f}")
        print(f"{m}: {n['params']:,} parameters ({check})")
    print(f"\n{'model':<12} {'threads':>7} {'cnn img/s':>10} {'PyTorch img/s':>14} "
          f"{'layout':>7} {'cnn/PyTorch':>12}")
    for r in rows:
        print(f"{r['model']:<12} {r['threads']:>7} {r['ours_images_per_s']:>10.0f} "
              f"{r['pytorch_images_per_s']:>14.0f} {r['pytorch_format']:>7} "
              f"{r['ratio']:>11.2f}x")
    for m in nets:
        mine = {r["threads"]: r for r in rows if r["model"] == m}
        for t in sorted(mine):
            if t != 1 and 1 in mine:
                print(f"{m}: speed-up 1 -> {t} threads: cnn "
                      f"{mine[t]['ours_images_per_s'] / mine[1]['ours_images_per_s']:.2f}x, "
                      f"PyTorch "
                      f"{mine[t]['pytorch_images_per_s'] / mine[1]['pytorch_images_per_s']:.2f}x")
    for r in rows:
        for w in r["warnings"]:
            print(f"warning: {r['model']} at {r['threads']} threads: {w}")


def main():
    args = parse_args()
    probe = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True)
    if probe.returncode != 0:
        print("compare.py: PyTorch is not installed (make bench-deps); skipped")
        return 0
    nets, env = networks(args)
    rows = [measure(args, m, t) for m in args.models for t in args.thread_list]
    print_report(args, nets, env, rows)
    if args.json:
        doc = dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                   commit=git_commit(), cpu=cpu_name(), cores=len(os.sched_getaffinity(0)),
                   settings=dict(batch=args.batch, steps=args.steps, warmup=args.warmup,
                                 rounds=args.rounds, format=args.format, malloc=args.malloc,
                                 openblas_core=args.openblas_core),
                   pytorch=env, networks=nets, rows=rows)
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
