#!/usr/bin/python3
"""pytorch_seed.py -- the seed network in PyTorch, trained and timed the way
bench/train times cnn: same layers (TensorFlow 'same' padding, the odd row
and column at the bottom/right), Glorot-uniform weights and zero biases,
Keras's Adam (lr 0.001, beta1 0.9, beta2 0.999, eps 1e-7 outside the square
root, bias correction folded into the step size; or with --optimizer sgd or
adamw, torch.optim's SGD or AdamW), mean cross-entropy, batch
32, reshuffled every epoch, MNIST from the IDX files as x/255.

Speed: --steps optimizer steps after --warmup steps; images/s as JSON with
--json.  Accuracy: --epochs N trains N full epochs and evaluates on the test
set after each one (the evaluation is not counted in the training time).

Runs with Debian's python3-torch (/usr/bin/python3); exits 3 with a message
when PyTorch is not installed.
"""
import argparse
import json
import os
import struct
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # the comparison is optional
    print(f"pytorch_seed.py: PyTorch is not available ({e}); install python3-torch",
          file=sys.stderr)
    sys.exit(3)


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


def same_conv(cin, cout, k, stride):
    """Conv2d with TensorFlow 'same' padding for 28x28-style even inputs."""
    if stride == 1:
        return [nn.Conv2d(cin, cout, k, padding=k // 2)]
    # total padding (out-1)*s + k - in = 1 for these shapes: bottom/right only
    return [nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(cin, cout, k, stride=stride)]


def seed_model():
    layers = []
    layers += same_conv(1, 32, 3, 1) + [nn.ReLU()]
    layers += [nn.Conv2d(32, 16, 1), nn.ReLU()]
    layers += same_conv(16, 64, 3, 2) + [nn.ReLU()]
    layers += [nn.Conv2d(64, 16, 1), nn.ReLU()]
    layers += same_conv(16, 32, 3, 2) + [nn.ReLU()]
    layers += [nn.Conv2d(32, 16, 1), nn.ReLU()]
    layers += [nn.Flatten(), nn.Linear(7 * 7 * 16, 10)]
    model = nn.Sequential(*layers)
    for mod in model.modules():
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(mod.weight)  # Glorot-uniform, Keras's fans
            nn.init.zeros_(mod.bias)
    return model


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
            ms, vs = [], []
            for p in ps:
                st = self.state[p]
                if not st:
                    st["m"] = torch.zeros_like(p)
                    st["v"] = torch.zeros_like(p)
                ms.append(st["m"])
                vs.append(st["v"])
            torch._foreach_mul_(ms, b1)
            torch._foreach_add_(ms, gs, alpha=1 - b1)
            torch._foreach_mul_(vs, b2)
            torch._foreach_addcmul_(vs, gs, gs, value=1 - b2)
            denom = torch._foreach_sqrt(vs)
            torch._foreach_add_(denom, eps)
            torch._foreach_addcdiv_(ps, ms, denom, value=-lr_t)


def batches(n, batch, gen):
    order = torch.randperm(n, generator=gen)
    for i in range(0, n, batch):
        yield order[i:i + batch]


def train_steps(model, opt, x, y, idx, fmt):
    xb = x[idx]
    if fmt == "nhwc":
        xb = xb.contiguous(memory_format=torch.channels_last)
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(xb), y[idx])
    loss.backward()
    opt.step()
    return loss


def fresh_run(args, fmt):
    """A newly initialised model in the given layout, its optimiser and the
    shuffling generator, all from --seed."""
    torch.manual_seed(args.seed)
    model = seed_model()
    if fmt == "nhwc":
        model = model.to(memory_format=torch.channels_last)
    return model, make_optimizer(args, model), torch.Generator().manual_seed(args.seed)


def make_optimizer(args, model):
    """Keras's Adam (the default), or PyTorch's own SGD or AdamW with the
    settings cnn's options of the same names take."""
    if args.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                               nesterov=args.nesterov, weight_decay=args.weight_decay)
    if args.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.999),
                                 eps=1e-7, weight_decay=args.weight_decay)
    return KerasAdam(model.parameters(), lr=args.lr)


def timed_run(args, x, y, fmt):
    model, opt, gen = fresh_run(args, fmt)
    it = iter(())
    done, t0 = 0, None
    while done < args.warmup + args.steps:
        idx = next(it, None)
        if idx is None:
            it = batches(len(x), args.batch, gen)
            continue
        if done == args.warmup:
            t0 = time.perf_counter()
        train_steps(model, opt, x, y, idx, fmt)
        done += 1
    return args.steps * args.batch / (time.perf_counter() - t0)


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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1151998)
    ap.add_argument("--format", choices=["auto", "nchw", "nhwc"], default="auto",
                    help="memory format; auto times both and keeps the faster")
    ap.add_argument("--epochs", type=int, default=0,
                    help="train this many epochs, evaluating after each")
    ap.add_argument("--optimizer", choices=["adam", "adamw", "sgd"], default="adam",
                    help="adam: Keras's (default); sgd, adamw: torch.optim's")
    ap.add_argument("--lr", type=float, default=0.001)
    ap.add_argument("--momentum", type=float, default=0.0)
    ap.add_argument("--nesterov", action="store_true")
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    x, y = load(args.data, "train")

    if args.epochs:
        fmt = "nchw" if args.format == "auto" else args.format
        xt, yt = load(args.data, "test")
        model, opt, gen = fresh_run(args, fmt)
        train_s, rows = 0.0, []
        for epoch in range(1, args.epochs + 1):
            t0 = time.perf_counter()
            for idx in batches(len(x), args.batch, gen):
                train_steps(model, opt, x, y, idx, fmt)
            train_s += time.perf_counter() - t0
            loss, acc = evaluate(model, xt, yt, fmt)
            rows.append(dict(epoch=epoch, train_seconds=round(train_s, 2),
                             test_loss=round(loss, 4), test_accuracy=round(acc, 4)))
            if not args.json:
                print(f"epoch {epoch}: {train_s:.1f} s of training, "
                      f"test loss {loss:.4f}, test accuracy {acc:.4f}")
        if args.json:
            print(json.dumps(dict(framework="pytorch", torch=torch.__version__,
                                  threads=args.threads, format=fmt, epochs=rows)))
        return

    formats = ["nchw", "nhwc"] if args.format == "auto" else [args.format]
    speeds = {f: timed_run(args, x, y, f) for f in formats}
    fmt = max(speeds, key=speeds.get)
    if len(formats) > 1:  # time the winner again, after both are warm
        speeds[fmt] = max(speeds[fmt], timed_run(args, x, y, fmt))
    result = dict(framework="pytorch", torch=torch.__version__, threads=args.threads,
                  batch=args.batch, steps=args.steps, format=fmt,
                  images_per_s=round(speeds[fmt], 1),
                  by_format={k: round(v, 1) for k, v in speeds.items()})
    if args.json:
        print(json.dumps(result))
    else:
        print(f"PyTorch {torch.__version__}, {args.threads} thread(s), batch {args.batch}, "
              f"{fmt}: {speeds[fmt]:.0f} images/s "
              f"({', '.join(f'{k} {v:.0f}' for k, v in speeds.items())})")


if __name__ == "__main__":
    main()
