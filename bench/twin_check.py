#!/usr/bin/python3
"""twin_check.py -- a quick check that bench/pytorch_seed.py's twin is cnn's
network and recipe, without long training (a few seconds):

1. cnn trains a small batch-norm model (5x5 and strided convolutions, bn
   after convolutions and after a dense layer) for 60 steps and saves it;
   `cnn predict` writes its test-set probabilities; the twin loads the
   safetensors file (bn's gamma, beta, moving mean and variance included)
   and, in eval mode, gives the same probabilities within 1e-4 on the
   first --images test images, and the same predicted classes.
2. The twin's onecycle schedule is PyTorch's OneCycleLR (cycle_momentum
   off) step for step; its cosine and step schedules follow the formulas
   of src/optim/schedule.c at a few points.
3. The twin's augmentation (affine_grid + grid_sample) samples each image
   where src/augment.h's inverse map says, against a direct bilinear
   evaluation in double precision on a non-square batch.

Usage: bench/twin_check.py [--cnn ./cnn] [--data data/mnist] [--images 500]
                           [--model SPEC]
Exit 0 when all hold, 1 with a message per failure, 3 when PyTorch is not
installed (tests/test_predict.c then skips).
"""
import argparse
import csv
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SPEC = "conv5x5:8:same,bn,relu,conv5x5s2:16,bn,relu,flatten,dense:32,bn,relu,dense:10,softmax"

try:
    import numpy as np
    import torch
except ImportError as e:
    print(f"twin_check.py: PyTorch is not available ({e}); install python3-torch",
          file=sys.stderr)
    sys.exit(3)
sys.dont_write_bytecode = True  # no bench/__pycache__
sys.path.insert(0, HERE)
import pytorch_seed as twin  # noqa: E402


def cnn_probabilities(cnn, data, spec, tmp):
    """cnn's weights after 60 steps and its test-set probabilities."""
    weights, out = os.path.join(tmp, "bn.safetensors"), os.path.join(tmp, "p.csv")
    for cmd in ([cnn, "train", "--model", spec, "--data", data, "--steps", "60", "--batch", "64",
                 "--threads", "2", "--quiet", "--save", weights],
                [cnn, "predict", "--load", weights, "--data", data, "--quiet", "-o", out]):
        run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"twin_check.py: {' '.join(cmd)}: {run.stderr.strip()}")
    with open(out) as f:
        rows = list(csv.reader(f))[1:]
    return weights, np.array([[float(v) for v in r[3:]] for r in rows], dtype=np.float64)


def check_probabilities(args, tmp):
    weights, ours = cnn_probabilities(args.cnn, args.data, args.model, tmp)
    spec = twin.read_safetensors(weights)[0]  # cnn's canonical form of --model
    model = twin.build_model(spec)
    twin.load_cnn_weights(model, weights, spec)
    model.eval()
    x, _ = twin.load(args.data, "test")
    with torch.no_grad():
        theirs = torch.softmax(model(x[:args.images]), 1).double().numpy()
    ours = ours[:args.images]
    err = np.abs(ours - theirs).max()
    same = (ours.argmax(1) == theirs.argmax(1)).mean()
    print(f"probabilities of {args.images} test images, cnn against the twin: max |diff| "
          f"{err:.2e}, same class {same:.4f}")
    fails = []
    if not err <= 1e-4:
        fails.append(f"probabilities differ by {err:.2e} (> 1e-4)")
    if same != 1.0:
        fails.append(f"predicted classes differ on {(1 - same) * args.images:.0f} images")
    # the moving statistics moved: the check covers them
    model_bn = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)][0]
    if torch.equal(model_bn.running_var, torch.ones_like(model_bn.running_var)):
        fails.append("bn1's moving variance still at its initial ones")
    return fails


def check_schedules():
    fails = []
    for total in (1, 7, 100, 2345):
        m = torch.nn.Linear(1, 1)
        opt = torch.optim.SGD(m.parameters(), lr=0.003)
        ref = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.003, total_steps=total,
                                                  cycle_momentum=False)
        for s in range(total):
            ours = twin.schedule_lr(twin.parse_schedule("onecycle", "0"), 0.003, s, total, 10)
            if abs(ours - opt.param_groups[0]["lr"]) > 1e-12:
                fails.append(f"onecycle step {s} of {total}: {ours} against OneCycleLR's "
                             f"{opt.param_groups[0]['lr']}")
                break
            opt.step()
            if s + 1 < total:
                ref.step()
    cases = [("cosine", "10", 10, 100, 0.5 * (1 + math.cos(0))),       # first after warmup
             ("cosine", "10", 55, 100, 0.5 * (1 + math.cos(math.pi / 2))),
             ("cosine", "1e", 4, 100, 0.5),                            # warmup: (s+1)/W
             ("step:2:0.5", "0", 45, 100, 0.5 ** 2),                    # epoch 4 of 10 steps
             ("constant", "4", 1, 100, 0.5)]
    for sched, warm, s, total, want in cases:
        got = twin.schedule_lr(twin.parse_schedule(sched, warm), 1.0, s, total, 10)
        if abs(got - want) > 1e-12:
            fails.append(f"{sched} (warmup {warm}) at step {s}: {got}, expected {want}")
    print(f"schedules: onecycle against OneCycleLR and {len(cases)} points of the others")
    return fails


def reference_augment(img, u, aug):
    """src/augment.h's map, evaluated directly (double precision)."""
    h, w = img.shape
    dx, dy = aug["shift"] * u[0], aug["shift"] * u[1]
    ang, sc = math.radians(aug["rotate"] * u[2]), 1 + aug["zoom"] * u[3]
    a, b = sc * math.cos(ang), sc * math.sin(ang)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    out = np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            px = cx + a * (x - cx - dx) - b * (y - cy - dy)
            py = cy + b * (x - cx - dx) + a * (y - cy - dy)
            x0, y0 = math.floor(px), math.floor(py)
            fx, fy = px - x0, py - y0
            for xi, yi, wt in ((x0, y0, (1 - fx) * (1 - fy)), (x0 + 1, y0, fx * (1 - fy)),
                               (x0, y0 + 1, (1 - fx) * fy), (x0 + 1, y0 + 1, fx * fy)):
                if 0 <= xi < w and 0 <= yi < h:
                    out[y, x] += wt * img[yi, xi]
    return out


def check_augment():
    aug = twin.parse_augment("shift=3,rotate=30,zoom=0.2")
    x = torch.rand(4, 1, 12, 9, generator=torch.Generator().manual_seed(5))
    got = twin.augment_batch(x, aug, torch.Generator().manual_seed(7)).numpy()
    u = (torch.rand(4, 4, generator=torch.Generator().manual_seed(7)) * 2 - 1).double().numpy()
    err = max(np.abs(got[i, 0] - reference_augment(x[i, 0].double().numpy(), u[i], aug)).max()
              for i in range(len(x)))
    print(f"augmentation against src/augment.h's map: max |diff| {err:.2e}")
    return [] if err <= 1e-5 else [f"augmented pixels differ by {err:.2e} (> 1e-5)"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cnn", default=os.environ.get("CNN_BIN") or "./cnn")
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--images", type=int, default=500)
    ap.add_argument("--model", default=SPEC, help="the spec cnn trains (with a bn layer "
                                                   "after a convolution)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        fails = check_probabilities(args, tmp)
    fails += check_schedules() + check_augment()
    for f in fails:
        print(f"twin_check.py: FAIL: {f}", file=sys.stderr)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
