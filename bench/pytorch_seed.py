#!/usr/bin/python3
"""pytorch_seed.py -- cnn's networks in PyTorch (--model: seed, seed-dense,
logreg or any cnn model spec of conv, bn, maxpool, avgpool, gap, dropout,
relu, flatten and dense items), trained and timed the way bench/train times
cnn: the same layers, built by python/cnn_torch.py, which holds the layout
rules (TensorFlow 'same' padding, the odd row and column at the
bottom/right; flatten in NHWC order, so that the weights are
interchangeable with cnn's: conv [k][k][in][out] is PyTorch's
weight.permute(2, 3, 1, 0), dense [in][out] its weight.t(), bnN.gamma,
.beta, .moving_mean, .moving_variance BatchNorm's weight, bias,
running_mean, running_var), Glorot-uniform weights and zero biases,
Keras's Adam (lr 0.001, beta1 0.9, beta2 0.999, eps 1e-7 outside the square
root, bias correction folded into the step size; or with --optimizer sgd or
adamw, torch.optim's SGD or AdamW), mean cross-entropy, batch
32, reshuffled every epoch, MNIST from the IDX files as x/255.
Batch norm (bn, bn:M, bn:M:E): BatchNorm2d after an image, BatchNorm1d
after a vector, PyTorch momentum 1 - M (Keras's 0.99 is 0.01), eps 1e-3;
maxpoolK[sS], avgpoolK[sS]: 'valid' windows, stride K by default; gap: the
channel means as a vector; dropout:R: nn.Dropout(R) (inverted, off in eval).

The recipe, under cnn train's option names: --schedule constant, step[:E:F],
cosine or onecycle (src/optim/schedule.c's formulas; onecycle is
OneCycleLR's defaults with its peak at --lr, beta1 not cycled), --lr-warmup
N[e] (cnn train's --warmup), --augment shift=P,rotate=D,zoom=Z (per sample
on the training thread inside the timed step: affine_grid + grid_sample,
bilinear, zero fill, src/augment.h's map), --label-smoothing E
(CrossEntropyLoss(label_smoothing=E)).

Speed: --steps optimizer steps after --warmup steps; images/s as JSON with
--json.  Layout: --format auto times NCHW and channels-last (NHWC) in a short
probe and keeps the faster; the output says which.  --info prints the network
and what PyTorch runs on (BLAS library, oneDNN, threads; bench/torch_env.py).
Accuracy: --epochs N trains N full epochs and evaluates on the test set after
each one (the evaluation is not counted in the training time); --target ACC
adds the training seconds at which the test accuracy first reached ACC
(time to accuracy) and the final accuracy.  --load FILE evaluates cnn's
weights (safetensors) in the twin.

The process environment, set by re-executing the script before PyTorch
loads (both are read at start-up):
--malloc keep (default) tells glibc's malloc to keep freed memory
  (GLIBC_TUNABLES mmap_threshold and trim_threshold at 1 and 4 GiB).
  PyTorch allocates every activation and gradient afresh each step; with
  glibc's defaults the large blocks go back to the kernel when freed and
  fault in again on the next step, which on the development VM made
  seed-dense 4-7x slower.  PyTorch's performance tuning guide recommends
  jemalloc or tcmalloc for the same reason.  --malloc system: glibc as is.
--openblas-core detect (default) removes OPENBLAS_CORETYPE from the
  environment, so that OpenBLAS picks its kernels for the CPU as its users
  get them; inherit keeps the environment's; a name (Haswell, SkylakeX,
  Cooperlake, Zen, ...) forces that core.

Runs with Debian's python3-torch (/usr/bin/python3); exits 3 with a message
when PyTorch is not installed.
"""
import argparse
import json
import math
import os
import struct
import sys
import time

MALLOC_KEEP = "glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=4294967296"


def wanted_environment(argv):
    """The environment --malloc and --openblas-core ask for."""
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--malloc", choices=["keep", "system"], default="keep")
    ap.add_argument("--openblas-core", default="detect")
    args, _ = ap.parse_known_args(argv)
    env = dict(os.environ)
    tunables = [t for t in env.get("GLIBC_TUNABLES", "").split(":")
                if t and not t.startswith(("glibc.malloc.mmap_threshold=",
                                           "glibc.malloc.trim_threshold="))]
    if args.malloc == "keep":
        tunables.append(MALLOC_KEEP)
    env["GLIBC_TUNABLES"] = ":".join(tunables)
    if not env["GLIBC_TUNABLES"]:
        del env["GLIBC_TUNABLES"]
    if args.openblas_core == "detect":
        env.pop("OPENBLAS_CORETYPE", None)
    elif args.openblas_core != "inherit":
        env["OPENBLAS_CORETYPE"] = args.openblas_core
    return env


def reexec_if_needed():
    """Start this script again with the wanted environment, once."""
    env = wanted_environment(sys.argv[1:])
    if env != dict(os.environ) and "CNN_BENCH_REEXEC" not in os.environ:
        env["CNN_BENCH_REEXEC"] = "1"
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


if __name__ == "__main__":
    reexec_if_needed()

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # the comparison is optional
    print(f"pytorch_seed.py: PyTorch is not available ({e}); install python3-torch",
          file=sys.stderr)
    sys.exit(3)
sys.dont_write_bytecode = True  # no bench/__pycache__ for torch_env, python/ for cnn_torch
import torch_env  # noqa: E402 (needs torch)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import cnn_torch  # noqa: E402 (the layers and the weights files' layout)


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise SystemExit(f"pytorch_seed.py: {path}: size does not match its header")
    return arr.reshape(dims)


def load(data_dir, split):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte"))
    y = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte"))
    x = torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1)  # N,1,28,28
    return x, torch.from_numpy(y.astype(np.int64))


PRESETS = cnn_torch.PRESETS


def build_model(spec, h=28, w=28, c=1):
    """The network of a cnn model spec (conv, bn, maxpool, avgpool, gap,
    dropout, relu, flatten, dense items, ending with softmax, which the
    cross-entropy loss takes), on h x w x c images: python/cnn_torch.py's
    (its layout rules: TensorFlow 'same' padding, NHWC flatten, batch
    norm's momentum and epsilon), initialised as cnn initialises it
    (Glorot-uniform weights and zero biases; batch norm gamma 1, beta 0,
    moving mean 0, moving variance 1)."""
    try:
        return cnn_torch.build(spec, (h, w, c))
    except ValueError as e:
        raise SystemExit(f"pytorch_seed.py: {e}") from None


def count_params(model):
    """Parameters as cnn (and Keras) count them: the trained ones and the
    batch norms' moving mean and variance (non-trainable)."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    return (sum(p.numel() for p in model.parameters())
            + sum(m.running_mean.numel() + m.running_var.numel() for m in bns))


def read_safetensors(path):
    """The spec in a cnn safetensors file's metadata and a function that
    reads one of its float32 tensors by name (cnn_torch.read_safetensors)."""
    meta, tensors = cnn_torch.read_safetensors(path)
    return meta.get("spec"), tensors.__getitem__


def load_cnn_weights(model, path, spec):
    """Copy the weights of a cnn safetensors file into the twin
    (cnn_torch.load's layouts); the file's spec must be spec's."""
    try:
        theirs = cnn_torch.load(path)
        ours = cnn_torch.plan(spec)[1]
    except ValueError as e:
        raise SystemExit(f"pytorch_seed.py: {e}") from None
    if theirs.cnn_spec != ours:
        raise SystemExit(f"pytorch_seed.py: {path} holds another network ({theirs.cnn_spec})")
    model.load_state_dict(theirs.state_dict())


def has_conv(model):
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


class KerasAdam(torch.optim.Optimizer):
    """Adam exactly as Keras 2 writes it."""

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7):
        super().__init__(params, dict(lr=lr, beta1=beta1, beta2=beta2, eps=eps))
        self.t = 0

    @torch.no_grad()
    def step(self):
        self.t += 1
        for group in self.param_groups:
            b1, b2, eps = group["beta1"], group["beta2"], group["eps"]
            lr_t = group["lr"] * (1 - b2 ** self.t) ** 0.5 / (1 - b1 ** self.t)
            ps = [p for p in group["params"] if p.grad is not None]
            gs = [p.grad for p in ps]
            for p in ps:
                st = self.state[p]
                if not st:
                    st["m"], st["v"] = torch.zeros_like(p), torch.zeros_like(p)
                    st["denom"] = torch.empty_like(p)
            ms, vs, ds = ([self.state[p][k] for p in ps] for k in ("m", "v", "denom"))
            torch._foreach_mul_(ms, b1)
            torch._foreach_add_(ms, gs, alpha=1 - b1)
            torch._foreach_mul_(vs, b2)
            torch._foreach_addcmul_(vs, gs, gs, value=1 - b2)
            # into kept buffers: PyTorch 1.13's out-of-place sqrt (and
            # _foreach_sqrt) takes ~10 ns an element, 50x its out= form
            for v, d in zip(vs, ds):
                torch.sqrt(v, out=d)
            torch._foreach_add_(ds, eps)
            torch._foreach_addcdiv_(ps, ms, ds, value=-lr_t)


def batches(n, batch, gen):
    order = torch.randperm(n, generator=gen)
    for i in range(0, n, batch):
        yield order[i:i + batch]


def parse_augment(text):
    """cnn train's --augment text: "shift=P,rotate=D,zoom=Z" (any subset,
    any order; "none" or "" for none) as (shift, rotate, zoom)."""
    limits = dict(shift=2048.0, rotate=180.0, zoom=0.5)
    got = dict(shift=0.0, rotate=0.0, zoom=0.0)
    if text in (None, "", "none"):
        return got
    seen = set()
    for part in text.split(","):
        key, _, value = part.partition("=")
        try:
            v = float(value)
        except ValueError:
            v = -1.0
        if key not in limits or key in seen or not 0 <= v <= limits[key]:
            raise SystemExit(f"pytorch_seed.py: --augment '{text}': expected shift=P (pixels), "
                             f"rotate=D (degrees, to 180), zoom=Z (to 0.5), each at most once")
        seen.add(key)
        got[key] = v
    return got


def augment_batch(xb, aug, gen):
    """cnn's augmentation of each image of an NCHW batch: the content moved
    by (dx, dy) pixels drawn in [-shift, shift], turned by an angle drawn in
    [-rotate, rotate] degrees and sampled at a scale drawn in [1 - zoom,
    1 + zoom] (> 1 zooms out) about the image's centre, bilinearly, zero
    outside (src/augment.h): output pixel q reads the input at
    centre + (a (q - t).x - b (q - t).y, b (q - t).x + a (q - t).y) with
    a = scale cos(angle), b = scale sin(angle), t = centre + (dx, dy).
    affine_grid's coordinates (align_corners=False) run from -1 to 1 over
    the image's full width, centre 0: pixel offsets times 2 / w (2 / h)."""
    n, _, h, w = xb.shape
    u = torch.rand(n, 4, generator=gen) * 2 - 1
    dx, dy = aug["shift"] * u[:, 0], aug["shift"] * u[:, 1]
    angle = torch.deg2rad(aug["rotate"] * u[:, 2])
    scale = 1 + aug["zoom"] * u[:, 3]
    a, b = scale * torch.cos(angle), scale * torch.sin(angle)
    theta = torch.stack([torch.stack([a, -b * (h / w), (-a * dx + b * dy) * (2 / w)], 1),
                         torch.stack([b * (w / h), a, (-b * dx - a * dy) * (2 / h)], 1)], 1)
    grid = F.affine_grid(theta, list(xb.shape), align_corners=False)
    return F.grid_sample(xb, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def parse_schedule(text, warmup):
    """cnn train's --schedule (constant, step[:E:F], cosine, onecycle) and
    --warmup N[e] (here --lr-warmup) as a dict."""
    name, _, rest = (text or "constant").partition(":")
    sched = dict(kind=name, every=1, factor=0.95, warmup=warmup or "0")
    if name == "step" and rest:
        e, _, f = rest.partition(":")
        if not e.isdigit() or not 1 <= int(e) <= 1000000 or not f or not 0 < float(f) <= 1:
            raise SystemExit(f"pytorch_seed.py: --schedule {text}: expected step:E:F")
        sched.update(every=int(e), factor=float(f))
    elif name not in ("constant", "step", "cosine", "onecycle") or rest:
        raise SystemExit(f"pytorch_seed.py: unknown schedule '{text}' "
                         f"(constant, step[:E:F], cosine or onecycle)")
    return sched


def warmup_steps(sched, spe):
    w = str(sched["warmup"])
    return int(w[:-1]) * spe if w.endswith("e") else int(w)


def anneal(start, end, x):
    return end + (start - end) / 2 * (math.cos(math.pi * x) + 1)


def schedule_lr(sched, base, s, total, spe):
    """The learning rate of step s (0-based) of total, as
    src/optim/schedule.c: constant; step (base F^floor(epoch / E)); cosine
    (to 0 after the warmup); onecycle (PyTorch's OneCycleLR defaults, peak
    base: pct_start 0.3, div_factor 25, final_div_factor 1e4, cosine; no
    momentum cycling); warmup (not onecycle) multiplies by (s + 1) / W."""
    kind, warm = sched["kind"], warmup_steps(sched, spe)
    if kind == "step":
        lr = base * sched["factor"] ** ((s // spe if spe else 0) // sched["every"])
    elif kind == "cosine":
        span = total - warm
        x = min(max((s - warm) / span if span > 0 else 0.0, 0.0), 1.0)
        lr = base * 0.5 * (1 + math.cos(math.pi * x))
    elif kind == "onecycle":
        initial = base / 25
        up_end, down_end = 0.3 * total - 1, total - 1.0
        if s <= up_end:
            return anneal(initial, base, s / up_end if up_end > 0 else 1.0)
        x = (s - up_end) / (down_end - up_end) if down_end > up_end else 1.0
        return anneal(base, initial / 1e4, min(x, 1.0))
    else:
        lr = base
    if kind != "onecycle" and s < warm:
        lr *= (s + 1) / warm
    return lr


class Recipe:
    """What a training step does besides the layers: the batch, the
    augmentation (its own generator, from --seed), the label smoothing and
    the learning rate of each step over a run of total steps."""

    def __init__(self, args, n, total):
        self.batch, self.aug = args.batch, parse_augment(args.augment)
        self.augmenting = any(self.aug.values())
        self.loss = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
        self.sched = parse_schedule(args.schedule, args.lr_warmup)
        self.base, self.spe, self.total = args.lr, -(-n // args.batch), total
        self.gen = torch.Generator().manual_seed(args.seed + 1)
        self.step = 0

    def lr(self):
        return schedule_lr(self.sched, self.base, self.step, self.total, self.spe)


def train_steps(model, opt, x, y, idx, fmt, recipe):
    """One optimizer step on the samples idx, augmented (on this thread,
    inside the timed step, as a PyTorch user would)."""
    for group in opt.param_groups:
        group["lr"] = recipe.lr()
    xb = x[idx]
    if recipe.augmenting:
        xb = augment_batch(xb, recipe.aug, recipe.gen)
    if fmt == "nhwc":
        xb = xb.contiguous(memory_format=torch.channels_last)
    opt.zero_grad(set_to_none=True)
    loss = recipe.loss(model(xb), y[idx])
    loss.backward()
    opt.step()
    recipe.step += 1
    return loss


def fresh_run(args, fmt):
    """A newly initialised model in the given layout, its optimiser and the
    shuffling generator, all from --seed."""
    torch.manual_seed(args.seed)
    model = build_model(args.spec)
    if fmt == "nhwc":
        model = model.to(memory_format=torch.channels_last)
    return model, make_optimizer(args, model), torch.Generator().manual_seed(args.seed)


def make_optimizer(args, model):
    """Keras's Adam (the default), or PyTorch's own SGD or AdamW with the
    settings cnn's options of the same names take (weight decay by
    default 0.01 for adamw, 0 for sgd, as cnn)."""
    if args.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                               nesterov=args.nesterov, weight_decay=args.weight_decay or 0.0)
    if args.optimizer == "adamw":
        decay = 0.01 if args.weight_decay is None else args.weight_decay
        return torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.999),
                                 eps=1e-7, weight_decay=decay)
    return KerasAdam(model.parameters(), lr=args.lr)


def timed_run(args, x, y, fmt, warmup, steps):
    """Images/s of steps optimizer steps after warmup, from a fresh model;
    the schedule runs over the warmup and timed steps."""
    model, opt, gen = fresh_run(args, fmt)
    recipe = Recipe(args, len(x), warmup + steps)
    it = iter(())
    done, images, t0 = 0, 0, None
    while done < warmup + steps:
        idx = next(it, None)
        if idx is None:
            it = batches(len(x), args.batch, gen)
            continue
        if done == warmup:
            t0 = time.perf_counter()
        train_steps(model, opt, x, y, idx, fmt, recipe)
        images += len(idx) if done >= warmup else 0
        done += 1
    return images / (time.perf_counter() - t0)


def choose_format(args, x, y):
    """--format, or for auto the faster of NCHW and channels-last (NHWC) in a
    short probe: each timed twice, alternately, best of the two kept.  A
    network without convolutions has one layout (NCHW is kept, unprobed).
    Returns the format and the probe's images/s per format."""
    if args.format != "auto":
        return args.format, {}
    if not has_conv(build_model(args.spec)):
        return "nchw", {}
    speeds = dict(nchw=0.0, nhwc=0.0)
    for _ in range(2):
        for f in speeds:
            speeds[f] = max(speeds[f], timed_run(args, x, y, f, 10, args.probe_steps))
    return max(speeds, key=speeds.get), {k: round(v, 1) for k, v in speeds.items()}


def evaluate(model, x, y, fmt):
    model.eval()
    with torch.no_grad():
        correct, loss = 0, 0.0
        for i in range(0, len(x), 1000):
            xb = x[i:i + 1000]
            if fmt == "nhwc":
                xb = xb.contiguous(memory_format=torch.channels_last)
            out = model(xb)
            loss += F.cross_entropy(out, y[i:i + 1000], reduction="sum").item()
            correct += (out.argmax(1) == y[i:i + 1000]).sum().item()
    model.train()
    return loss / len(x), correct / len(x)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--model", default=None,
                    help="a preset (" + ", ".join(PRESETS) + ") or a cnn model spec "
                         "(default seed; with --load, the spec in the file)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1151998)
    ap.add_argument("--format", choices=["auto", "nchw", "nhwc"], default="auto",
                    help="memory format; auto takes the faster in a short probe")
    ap.add_argument("--probe-steps", type=int, default=40,
                    help="steps per timing of --format auto's probe")
    ap.add_argument("--epochs", type=int, default=0,
                    help="train this many epochs, evaluating after each")
    ap.add_argument("--optimizer", choices=["adam", "adamw", "sgd"], default="adam",
                    help="adam: Keras's (default); sgd, adamw: torch.optim's")
    ap.add_argument("--lr", type=float, default=0.001)
    ap.add_argument("--momentum", type=float, default=0.0)
    ap.add_argument("--nesterov", action="store_true")
    ap.add_argument("--weight-decay", type=float, default=None,
                    help="adamw's decoupled decay (default 0.01) or sgd's (default 0)")
    ap.add_argument("--schedule", default="constant",
                    help="constant, step[:E:F], cosine or onecycle (peak --lr), as cnn's")
    ap.add_argument("--lr-warmup", default="0", metavar="N[e]",
                    help="cnn train's --warmup: the rate rises over N steps (N epochs)")
    ap.add_argument("--augment", default="none", metavar="shift=P,rotate=D,zoom=Z",
                    help="cnn train's --augment, per sample, by affine_grid + grid_sample")
    ap.add_argument("--label-smoothing", type=float, default=0.0, metavar="E")
    ap.add_argument("--target", type=float, default=None, metavar="ACC",
                    help="with --epochs: report the training seconds at which the test "
                         "accuracy first reached ACC (time to accuracy)")
    ap.add_argument("--malloc", choices=["keep", "system"], default="keep",
                    help="keep: glibc keeps freed memory (default); system: as is")
    ap.add_argument("--openblas-core", default="detect", metavar="detect|inherit|NAME",
                    help="OPENBLAS_CORETYPE: unset (default), as inherited, or NAME")
    ap.add_argument("--load", metavar="FILE",
                    help="evaluate the weights of a cnn safetensors file (cnn train --save) "
                         "on the test set, and exit")
    ap.add_argument("--info", action="store_true",
                    help="print the network and PyTorch's BLAS, oneDNN and threads, and exit")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.model is None:
        args.model = read_safetensors(args.load)[0] if args.load else "seed"
    args.spec = PRESETS.get(args.model, args.model)
    return args


def network(args):
    model = build_model(args.spec)
    return dict(model=args.model, spec=args.spec, params=count_params(model))


def info(args):
    env = dict(network(args), **torch_env.environment())
    if args.json:
        print(json.dumps(env))
        return
    name = f"{args.model}: " if args.model != args.spec else ""
    print(f"{name}{args.spec}, {env['params']:,} parameters")
    print(build_model(args.spec))
    print("\n".join(torch_env.describe(env)))


def eval_cnn_weights(args):
    """The test loss and accuracy of cnn's weights in the twin; the same as
    `cnn eval --load FILE` up to float rounding when the twin is cnn's
    network (flatten order and weight layouts included)."""
    model = build_model(args.spec)
    load_cnn_weights(model, args.load, args.spec)
    loss, acc = evaluate(model, *load(args.data, "test"), "nchw")
    if args.json:
        print(json.dumps(dict(network(args), weights=args.load, test_loss=round(loss, 6),
                              test_accuracy=acc)))
    else:
        print(f"test loss: {loss:.4f}, test accuracy: {acc:.4f} (PyTorch, {args.load})")


def recipe_of(args):
    """The training settings, as the JSON results name them."""
    return dict(batch=args.batch, optimizer=args.optimizer, lr=args.lr,
                schedule=args.schedule, lr_warmup=args.lr_warmup, augment=args.augment,
                label_smoothing=args.label_smoothing)


def train_epochs(args, x, y):
    """--epochs: the whole recipe, the test set evaluated after each epoch
    outside the timed training; with --target, the training seconds at
    which the test accuracy first reached it (time to accuracy)."""
    fmt, probe = choose_format(args, x, y)
    xt, yt = load(args.data, "test")
    model, opt, gen = fresh_run(args, fmt)
    recipe = Recipe(args, len(x), args.epochs * -(-len(x) // args.batch))
    train_s, rows, reached = 0.0, [], None
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        for idx in batches(len(x), args.batch, gen):
            train_steps(model, opt, x, y, idx, fmt, recipe)
        train_s += time.perf_counter() - t0
        loss, acc = evaluate(model, xt, yt, fmt)
        rows.append(dict(epoch=epoch, train_seconds=round(train_s, 2),
                         test_loss=round(loss, 4), test_accuracy=round(acc, 4)))
        if args.target is not None and reached is None and acc >= args.target:
            reached = dict(epoch=epoch, train_seconds=round(train_s, 2))
        if not args.json:
            print(f"epoch {epoch}: {train_s:.1f} s of training, "
                  f"test loss {loss:.4f}, test accuracy {acc:.4f}", flush=True)
    result = dict(network(args), framework="pytorch", torch=torch.__version__,
                  threads=args.threads, format=fmt, format_probe=probe,
                  recipe=recipe_of(args), epochs=rows, train_seconds=round(train_s, 2),
                  final_accuracy=rows[-1]["test_accuracy"])
    if args.target is not None:
        result.update(target=args.target, time_to_target=reached)
    if args.json:
        print(json.dumps(result))
    elif args.target is not None:
        print(f"time to {args.target}: " + (f"{reached['train_seconds']:.1f} s (epoch "
              f"{reached['epoch']})" if reached else "not reached"))


def train_timed(args, x, y):
    fmt, probe = choose_format(args, x, y)
    speed = timed_run(args, x, y, fmt, args.warmup, args.steps)
    result = dict(network(args), framework="pytorch", torch=torch.__version__,
                  threads=args.threads, threads_seen=torch_env.threads_seen(),
                  batch=args.batch, steps=args.steps, format=fmt, format_probe=probe,
                  recipe=recipe_of(args), images_per_s=round(speed, 1))
    if args.json:
        print(json.dumps(result))
        return
    probed = f" (probe: {', '.join(f'{k} {v:.0f}' for k, v in probe.items())})" if probe else ""
    print(f"PyTorch {torch.__version__}, {args.model}, {args.threads} thread(s), "
          f"batch {args.batch}, {fmt}: {speed:.0f} images/s{probed}")


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    if args.info:
        return info(args)
    if args.load:
        return eval_cnn_weights(args)
    x, y = load(args.data, "train")
    if args.epochs:
        return train_epochs(args, x, y)
    return train_timed(args, x, y)


if __name__ == "__main__":
    main()
