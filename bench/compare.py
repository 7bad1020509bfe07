#!/usr/bin/python3
"""compare.py -- cnn against PyTorch, side by side, per model and thread
count: bench/train and bench/pytorch_seed.py run in turn (ours, PyTorch,
ours, PyTorch, ...) with the same network, batch and step count, and the
table shows each one's median images/s and the ratio ours / PyTorch.
Interleaving exposes both to the same background load of a shared machine.

Usage: bench/compare.py [--model seed,seed-dense,logreg | --model SPEC]
                        [--threads 1,2] [--rounds 3] [--steps 400] [--warmup 50]
                        [recipe: --epochs N --batch N --optimizer O --lr X
                         --weight-decay W --schedule S --lr-warmup N[e]
                         --augment shift=P,rotate=D,zoom=Z --label-smoothing E]
                        [--target ACC [--target-threads 2] [--target-rounds 1]
                         [--seed N]] [--no-speed] [--json FILE]
--model is repeatable: a comma list of presets, or one spec string (it ends
in softmax).  Its spec, parameter count and recipe come from
`./cnn summary --model M` (a recipe line, "Recipe: --epochs 15 --batch 128
...", when the preset has one); the recipe options override it.
At the top it prints
what PyTorch runs on: its version, the BLAS library actually loaded (with
OpenBLAS's configuration), oneDNN's version and ISA, the thread settings
and the environment that changes them; --json FILE writes all of it with
the rows.  Before timing, each PyTorch twin is checked against ./cnn when it
is built: the same spec and parameter count as `./cnn summary --model M`,
and the same test loss and accuracy from weights cnn trained for 30 steps
(pytorch_seed.py --load).  PyTorch's layout (NCHW or channels-last) is chosen per model and
thread count by pytorch_seed.py's probe in the first round and kept.
images/s: bench/train against pytorch_seed.py, at the recipe's batch, with
Adam and no augmentation (bench/train has none), --steps after --warmup.
--target ACC: time to accuracy: `./cnn train --model SPEC --validate` and
pytorch_seed.py --epochs --target train the whole recipe (augmentation,
label smoothing, schedule) at --target-threads, interleaved; the table shows
the training seconds (validation excluded) at which each first reached ACC
and the final test accuracy of each round.
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


# The recipe settings: compare.py's option, cnn train's option, the twin's
# option (pytorch_seed.py), cnn train's default.
RECIPE = [("epochs", "--epochs", "--epochs", "3"),
          ("batch", "--batch", "--batch", "32"),
          ("optimizer", "--optimizer", "--optimizer", "adam"),
          ("lr", "--lr", "--lr", "0.001"),
          ("weight_decay", "--weight-decay", "--weight-decay", None),
          ("schedule", "--schedule", "--schedule", "constant"),
          ("lr_warmup", "--warmup", "--lr-warmup", "0"),
          ("augment", "--augment", "--augment", "none"),
          ("label_smoothing", "--label-smoothing", "--label-smoothing", "0")]


def model_list(values):
    """--model values: a spec string (it ends with softmax, commas and
    all) or a comma list of preset names."""
    models = []
    for v in values or ["seed"]:
        models += [v] if v.rstrip().endswith("softmax") else [m for m in v.split(",") if m]
    return models


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append",
                    help="a preset (seed, seed-dense, logreg, bn, ...; repeatable or a comma "
                         "list) or a spec string ending in softmax (default seed)")
    ap.add_argument("--threads", default="", help="comma-separated (default 1..cores)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--warmup", type=int, default=50, help="untimed steps before the timing")
    ap.add_argument("--format", choices=["auto", "nchw", "nhwc"], default="auto",
                    help="PyTorch's layout (default: probed per model and thread count)")
    ap.add_argument("--malloc", choices=["keep", "system"], default="keep")
    ap.add_argument("--openblas-core", default="detect", metavar="detect|inherit|NAME")
    ap.add_argument("--json", metavar="FILE", help="also write the results here")
    for name, engine, _, default in RECIPE:
        ap.add_argument("--" + name.replace("_", "-"), default=None,
                        help=f"cnn train's {engine} (default: the preset's recipe, "
                             f"else {default or 'the optimizer’s'})")
    ap.add_argument("--target", type=float, metavar="ACC",
                    help="time to accuracy: train the whole recipe with cnn train --validate "
                         "and in the twin, and report when each first reached ACC")
    ap.add_argument("--target-threads", default="",
                    help="thread counts of the time-to-accuracy runs (default: the most of "
                         "--threads)")
    ap.add_argument("--target-rounds", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1151998, help="of the time-to-accuracy runs")
    ap.add_argument("--no-speed", action="store_true", help="skip the images/s rounds")
    args = ap.parse_args()
    args.models = model_list(args.model)
    if args.threads:
        args.thread_list = [int(t) for t in args.threads.split(",")]
    else:
        args.thread_list = list(range(1, len(os.sched_getaffinity(0)) + 1))
    args.target_list = ([int(t) for t in args.target_threads.split(",")]
                        if args.target_threads else [max(args.thread_list)])
    args.twin_env = ["--malloc", args.malloc, "--openblas-core", args.openblas_core]
    return args


RECIPE_KEYS = {name.replace("_", "-"): name for name, *_ in RECIPE}
RECIPE_KEYS.update({"label_smoothing": "label_smoothing", "weight_decay": "weight_decay",
                    "warmup": "lr_warmup"})


def parse_recipe(lines):
    """The preset's recipe from `cnn summary`'s output: the lines from one
    that starts with "Recipe" (or "Training") on, read as options
    ("--epochs 15 --batch 128 --augment shift=2,rotate=10") or pairs
    ("epochs: 15, batch 128, schedule=onecycle")."""
    start = next((i for i, line in enumerate(lines)
                  if re.match(r"\s*(recipe|training)\b", line, re.I)), None)
    if start is None:
        return {}
    words = " ".join(lines[start:]).split(":", 1)[-1].split()
    recipe, i = {}, 0
    while i < len(words):
        key, _, value = words[i].lstrip("-").rstrip(":").partition("=")
        name = RECIPE_KEYS.get(key.lower())
        if name and not value and i + 1 < len(words):
            i, value = i + 1, words[i + 1]
        if name and value:
            recipe[name] = value.rstrip(",;")
        i += 1
    return recipe


def cnn_summary(model):
    """(spec, parameter count, recipe) from `./cnn summary --model M`, or
    None when ./cnn is not built."""
    if not os.access(os.path.join(ROOT, "cnn"), os.X_OK):
        return None
    run = subprocess.run(["./cnn", "summary", "--model", model], cwd=ROOT,
                         capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"compare.py: ./cnn summary --model {model}: {run.stderr.strip()}")
    out = run.stdout.splitlines()
    spec = next(line[len("Model: "):] for line in out if line.startswith("Model: "))
    total = next(line.split(":")[1] for line in out if line.startswith("Total params:"))
    return spec.strip(), int(total.replace(",", "")), parse_recipe(out)


def recipe_for(args, preset):
    """The recipe of a model: compare.py's options over the preset's."""
    recipe = dict(preset)
    recipe.update({name: getattr(args, name) for name, *_ in RECIPE
                   if getattr(args, name) is not None})
    return recipe


def recipe_options(recipe, which):
    """cnn train's (which 1) or the twin's (2) options for a recipe; the
    settings at cnn's defaults are left out (so an engine without
    --augment or --label-smoothing still runs recipes without them)."""
    def is_default(value, default):
        try:
            return float(value) == float(default)
        except (TypeError, ValueError):
            return str(value) == str(default)

    opts = []
    for row in RECIPE:
        value = recipe.get(row[0])
        if value is not None and not is_default(value, row[3]):
            opts += [row[which], str(value)]
    return opts


def check_weights(args, model, spec):
    """Train model briefly with ./cnn, then evaluate the saved weights in
    both: the same test loss and accuracy (up to float rounding) show the
    twin computes cnn's function (flatten order, padding, layouts, batch
    norm's moving statistics).  Returns (cnn's, PyTorch's) (loss, accuracy)."""
    with tempfile.TemporaryDirectory() as tmp:
        weights = os.path.join(tmp, "w.safetensors")
        out = subprocess.run(["./cnn", "train", "--model", model, "--steps", "30",
                              "--quiet", "--save", weights], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
        m = re.search(r"test loss: ([\d.]+), test accuracy: ([\d.]+)", out)
        theirs = run_json(TWIN + ["--json", "--model", spec, "--load", weights])
    ours = (float(m.group(1)), float(m.group(2)))
    theirs = (theirs["test_loss"], theirs["test_accuracy"])
    if abs(ours[0] - theirs[0]) > 1e-3 * max(1.0, ours[0]) or abs(ours[1] - theirs[1]) > 2e-3:
        sys.exit(f"compare.py: {model}: cnn's weights give test loss and accuracy {ours} in "
                 f"cnn but {theirs} in the PyTorch twin: the twin is not cnn's network")
    return ours, theirs


def networks(args):
    """Each model's PyTorch twin (spec, parameters) checked against cnn's,
    with its recipe; returns them and the environment PyTorch reports."""
    nets, env = {}, None
    for m in args.models:
        ours = cnn_summary(m)
        spec = ours[0] if ours else m
        info = run_json(TWIN + ["--info", "--json", "--model", spec] + args.twin_env)
        if ours is not None and ours[:2] != (info["spec"], info["params"]):
            sys.exit(f"compare.py: {m}: PyTorch's twin ({info['spec']}, {info['params']} "
                     f"parameters) is not cnn's ({ours[0]}, {ours[1]} parameters)")
        nets[m] = dict(spec=info["spec"], params=info["params"], checked=ours is not None,
                       recipe=recipe_for(args, ours[2] if ours else {}))
        if ours is not None:
            nets[m]["same_weights_test"] = check_weights(args, m, spec)
        env = env or {k: v for k, v in info.items() if k not in ("model", "spec", "params")}
    return nets, env


def measure(args, model, net, t):
    """The interleaved rounds of one model at t threads, as one row: images/s
    of the layers and Adam at the recipe's batch (bench/train has no
    augmentation, so neither side augments here)."""
    ours, theirs, fmt, probe, warnings = [], [], args.format, {}, []
    batch = str(net["recipe"].get("batch", 32))
    for _ in range(args.rounds):
        r = run_json(["./bench/train", "--json", "--model", model, "--threads", str(t),
                      "--batch", batch, "--steps", str(args.steps),
                      "--warmup", str(args.warmup)])[0]
        ours.append(r["images_per_s"])
        if r["threads"] != t:
            warnings.append(f"bench/train ran {r['threads']} threads")
        p = run_json(TWIN + ["--json", "--model", net["spec"], "--threads", str(t), "--batch",
                             batch, "--steps", str(args.steps), "--warmup",
                             str(args.warmup), "--format", fmt]
                     + args.twin_env)
        fmt, probe = p["format"], probe or p["format_probe"]  # keep the first round's pick
        theirs.append(p["images_per_s"])
        seen = p["threads_seen"]
        if seen["torch"] != t or seen["process"] < t:
            warnings.append(f"PyTorch ran {seen}")
    o, p = statistics.median(ours), statistics.median(theirs)
    return dict(model=model, threads=t, batch=int(batch), steps=args.steps, isa=r["isa"],
                ours_images_per_s=round(o, 1), pytorch_images_per_s=round(p, 1),
                ratio=round(o / p, 3), pytorch_format=fmt, pytorch_format_probe=probe,
                ours_runs=ours, pytorch_runs=theirs, warnings=sorted(set(warnings)))


# cnn train's epoch line: "epoch: 1/3  loss: ...  val_loss: 0.0824  val_acc:
# 0.9760  time: 3.2s  img/s: 18540", time being the epoch's training seconds
# (validation excluded).
EPOCH_LINE = re.compile(r"epoch: (\d+)/\d+ .* val_loss: ([\d.]+)  val_acc: ([\d.]+)"
                        r"  time: ([\d.]+)s")


def first_reached(rows, target):
    return next((dict(epoch=r["epoch"], train_seconds=r["train_seconds"]) for r in rows
                 if r["test_accuracy"] >= target), None)


def engine_to_target(args, net, t):
    """`./cnn train --validate` with the recipe at t threads: its epochs
    (training seconds without the validations, test accuracy), the first
    that reached --target, the final accuracy."""
    cmd = (["./cnn", "train", "--model", net["spec"], "--validate", "--threads", str(t),
            "--seed", str(args.seed)] + recipe_options(net["recipe"], 1))
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"compare.py: {' '.join(cmd)} failed: {run.stderr.strip()[-400:]}")
    rows, seconds = [], 0.0
    for m in map(EPOCH_LINE.search, run.stderr.splitlines()):
        if m:  # training seconds so far: the epochs' times summed
            seconds += float(m.group(4))
            rows.append(dict(epoch=int(m.group(1)), train_seconds=round(seconds, 1),
                             test_loss=float(m.group(2)), test_accuracy=float(m.group(3))))
    if not rows:
        sys.exit(f"compare.py: {' '.join(cmd)} printed no epoch lines: {run.stderr[-400:]}")
    # its first line names the settings it ran (the preset's recipe included)
    return dict(command=" ".join(cmd), settings=run.stderr.splitlines()[0],
                epochs=rows, train_seconds=rows[-1]["train_seconds"],
                final_accuracy=rows[-1]["test_accuracy"],
                time_to_target=first_reached(rows, args.target))


def twin_to_target(args, net, t):
    """The same recipe in the twin (pytorch_seed.py --epochs --target)."""
    recipe = dict(net["recipe"])
    epochs = str(recipe.pop("epochs", 3))  # always given: the twin's default is timing
    cmd = (TWIN + ["--json", "--model", net["spec"], "--threads", str(t), "--seed",
                   str(args.seed), "--target", str(args.target), "--format", args.format,
                   "--epochs", epochs] + recipe_options(recipe, 2) + args.twin_env)
    return run_json(cmd)


def to_target(args, model, net, t):
    """Time to --target of cnn and of the twin, interleaved rounds, as one
    row: the median time where every round reached it."""
    ours, theirs = [], []
    for _ in range(args.target_rounds):
        ours.append(engine_to_target(args, net, t))
        theirs.append(twin_to_target(args, net, t))

    def median_time(runs):
        times = [r["time_to_target"]["train_seconds"] for r in runs if r["time_to_target"]]
        return statistics.median(times) if len(times) == len(runs) else None

    o, p = median_time(ours), median_time(theirs)
    return dict(model=model, threads=t, target=args.target, recipe=net["recipe"],
                ours_seconds=o, pytorch_seconds=p,
                ratio=round(p / o, 3) if o and p else None,
                ours_final=[r["final_accuracy"] for r in ours],
                pytorch_final=[r["final_accuracy"] for r in theirs],
                ours_runs=ours, pytorch_runs=theirs)


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


def label(model):
    return model if len(model) <= 12 else "spec"


def print_networks(args, nets, env):
    sys.path.insert(0, HERE)
    sys.dont_write_bytecode = True  # no bench/__pycache__
    from torch_env import describe  # needs torch: imported only once it is known present
    print(f"cnn {git_commit()}; CPU {cpu_name()}, {len(os.sched_getaffinity(0))} cores")
    print("\n".join(describe(env)))
    for m, n in nets.items():
        check = "not checked: ./cnn not built"
        if n["checked"]:
            (lo, ao), (lp, ap) = n["same_weights_test"]
            check = (f"the layers of ./cnn summary; cnn's weights after 30 steps: test loss "
                     f"{lo:.4f} in cnn, {lp:.4f} in PyTorch, accuracy {ao:.4f}, {ap:.4f}")
        spec = f" = {n['spec']}" if n["spec"] != label(m) else ""
        print(f"{label(m)}{spec}: {n['params']:,} parameters ({check})")
        if n["recipe"]:
            print(f"  recipe: {' '.join(recipe_options(n['recipe'], 1))}")


def print_speed(args, nets, rows):
    print(f"\nimages/s: {args.steps} steps after {args.warmup} warm-up steps, Adam, no "
          f"augmentation, median of {args.rounds} interleaved rounds; cnn {rows[0]['isa']}")
    print(f"{'model':<12} {'threads':>7} {'batch':>5} {'cnn img/s':>10} {'PyTorch img/s':>14} "
          f"{'layout':>7} {'cnn/PyTorch':>12}")
    for r in rows:
        print(f"{label(r['model']):<12} {r['threads']:>7} {r['batch']:>5} "
              f"{r['ours_images_per_s']:>10.0f} {r['pytorch_images_per_s']:>14.0f} "
              f"{r['pytorch_format']:>7} {r['ratio']:>11.2f}x")
    for m in nets:
        mine = {r["threads"]: r for r in rows if r["model"] == m}
        for t in sorted(mine):
            if t != 1 and 1 in mine:
                print(f"{label(m)}: speed-up 1 -> {t} threads: cnn "
                      f"{mine[t]['ours_images_per_s'] / mine[1]['ours_images_per_s']:.2f}x, "
                      f"PyTorch "
                      f"{mine[t]['pytorch_images_per_s'] / mine[1]['pytorch_images_per_s']:.2f}x")
    for r in rows:
        for w in r["warnings"]:
            print(f"warning: {label(r['model'])} at {r['threads']} threads: {w}")


def print_targets(args, rows):
    def secs(v):
        return f"{v:.1f}" if v is not None else "-"

    print(f"\ntime to {args.target} test accuracy: training seconds (test set evaluated after "
          f"each epoch, not counted), median of {args.target_rounds} interleaved round(s); "
          f"final accuracy of each round")
    for r in rows:
        print(f"  {label(r['model'])}, {r['threads']} thread(s): {r['ours_runs'][0]['settings']}")
    print(f"{'model':<12} {'threads':>7} {'cnn s':>7} {'PyTorch s':>9} {'PyTorch/cnn':>11}  "
          f"{'cnn final':<16} {'PyTorch final':<16}")
    for r in rows:
        ratio = f"{r['ratio']:.2f}x" if r["ratio"] else "-"
        print(f"{label(r['model']):<12} {r['threads']:>7} {secs(r['ours_seconds']):>7} "
              f"{secs(r['pytorch_seconds']):>9} {ratio:>11}  "
              f"{','.join(f'{a:.4f}' for a in r['ours_final']):<16} "
              f"{','.join(f'{a:.4f}' for a in r['pytorch_final']):<16}")


def main():
    args = parse_args()
    probe = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True)
    if probe.returncode != 0:
        print("compare.py: PyTorch is not installed (make bench-deps); skipped")
        return 0
    nets, env = networks(args)
    print_networks(args, nets, env)
    rows, targets = [], []
    if not args.no_speed:
        rows = [measure(args, m, nets[m], t) for m in args.models for t in args.thread_list]
        print_speed(args, nets, rows)
    if args.target is not None:
        targets = [to_target(args, m, nets[m], t) for m in args.models
                   for t in args.target_list]
        print_targets(args, targets)
    if args.json:
        doc = dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                   commit=git_commit(), cpu=cpu_name(), cores=len(os.sched_getaffinity(0)),
                   settings=dict(steps=args.steps, warmup=args.warmup,
                                 rounds=args.rounds, format=args.format, malloc=args.malloc,
                                 openblas_core=args.openblas_core, target=args.target,
                                 target_rounds=args.target_rounds, seed=args.seed),
                   pytorch=env, networks=nets, rows=rows, time_to_target=targets)
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
