#!/usr/bin/python3
"""torch_interop.py -- python/cnn_torch.py both ways against the cnn command,
on the first 1,000 MNIST test images (tests/torch-interop.sh runs it).

For each model (the seed preset; the bn preset; a spec of the pitfalls:
odd 'same' padding at stride 2, 5x5 and even 4x4 kernels, a valid conv,
max and average pooling, batch norm on images and vectors with its own
momentum and epsilon, a standalone relu, gap, dropout):
  cnn -> torch  `cnn train --steps N --save` a model (100-300 steps); cnn_torch.load() it;
                its probabilities within 1e-5 of `cnn predict`'s, the same
                predicted classes, the same accuracy and loss as `cnn eval`;
                cnn_torch.save() of the loaded model is the same file, byte
                for byte.
  torch -> cnn  a few SGD steps in PyTorch (training mode: batch norm moves
                its moving statistics), cnn_torch.save(); `cnn predict`
                with that file gives the module's probabilities within 1e-5
                and its classes, `cnn eval` its accuracy.
Prints one line per model; on failure one line per failure and exits 1.
"""
import argparse
import csv
import filecmp
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import cnn_torch  # noqa: E402

TOL = 1e-5
PITFALLS = ("conv5x5:8:same,relu,maxpool2,bn:0.9,conv3x3:12,relu,conv5x5s2:12:same,"
            "bn:0.9:1e-05,relu,conv4x4:16:same,relu,avgpool3s2,relu,gap,dense:32,bn:0.9,"
            "relu,dropout:0.2,dense:10,softmax")
# (name, spec, cnn train's steps: enough for the moving statistics of
# batch norm, momentum 0.99 in the bn preset, to settle)
MODELS = [("seed", "seed", 100), ("bn", "bn", 300), ("pitfalls", PITFALLS, 200)]
failures = []


def fail(msg):
    failures.append(msg)


def find(data, name):
    for n in (name, name + ".gz"):
        if os.path.exists(os.path.join(data, n)):
            return os.path.join(data, n)
    raise SystemExit(f"torch-interop: FAIL: {data}: no {name} (make data)")


def subset(data, out, count):
    """A data folder with the first count test images and the whole
    training split (linked)."""
    images = cnn_torch.read_idx(find(data, "t10k-images-idx3-ubyte"))[:count]
    labels = cnn_torch.read_idx(find(data, "t10k-labels-idx1-ubyte"))[:count]
    with open(os.path.join(out, "t10k-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, *images.shape) + bytes(images.reshape(-1).tolist()))
    with open(os.path.join(out, "t10k-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, len(labels)) + bytes(labels.tolist()))
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        src = find(data, name)
        os.symlink(os.path.abspath(src), os.path.join(out, os.path.basename(src)))
    return cnn_torch.to_input(images), labels.long()


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()[-300:]}")
    return r.stdout + r.stderr


def cnn_outputs(args, data, weights, tmp):
    """cnn predict's probabilities and classes, cnn eval's loss and
    accuracy."""
    out = os.path.join(tmp, "predict.csv")
    run([args.cnn, "predict", "--data", data, "--load", weights, "--quiet", "-o", out])
    with open(out) as f:
        rows = list(csv.reader(f))[1:]
    probs = torch.tensor([[float(v) for v in r[3:]] for r in rows], dtype=torch.float64)
    classes = torch.tensor([int(r[2]) for r in rows])
    text = run([args.cnn, "eval", "--data", data, "--load", weights, "--quiet"])
    m = re.search(r"test loss: ([\d.]+), test accuracy: ([\d.]+) \((\d+) images\)", text)
    if not m:
        raise RuntimeError(f"cnn eval: no loss and accuracy line in: {text[:200]}")
    return probs, classes, float(m.group(1)), float(m.group(2)), int(m.group(3))


def compare(what, model, x, y, cnn):
    """The module's outputs against cnn's; returns the largest probability
    difference and the module's accuracy."""
    probs, classes, loss, acc, count = cnn
    p = cnn_torch.probabilities(model, x).double()
    if p.shape != probs.shape or count != len(y):
        fail(f"{what}: cnn gave {tuple(probs.shape)} probabilities on {count} images, the "
             f"module {tuple(p.shape)} on {len(y)}")
        return float("nan"), "?"
    diff = (p - probs).abs().max().item()
    if not diff <= TOL:
        fail(f"{what}: probabilities differ by up to {diff:.3g} (> {TOL:g})")
    ours = p.argmax(1)
    differ = [i for i in (ours != classes).nonzero().flatten().tolist()
              if p[i, ours[i]].item() - p[i, classes[i]].item() > TOL]  # not a tie
    if differ:
        i = differ[0]
        fail(f"{what}: {len(differ)} images classified differently (first: image {i}, "
             f"cnn {classes[i].item()}, the module {ours[i].item()})")
    correct = (ours == y).sum().item()
    if correct != round(acc * count):
        fail(f"{what}: accuracy {correct / count:.4f} in PyTorch, {acc:.4f} in cnn eval")
    with torch.no_grad():
        logits = torch.log(p.clamp_min(1e-300))
        torch_loss = F.nll_loss(logits, y).item()
    if not abs(torch_loss - loss) <= 1e-4:
        fail(f"{what}: loss {torch_loss:.5f} in PyTorch, {loss:.4f} in cnn eval")
    return diff, f"{correct / count:.4f} (cnn eval {acc:.4f})"


def tune(model, args, train_x, train_y):
    """A few SGD steps in PyTorch's training mode (batch norm moves its
    statistics, dropout drops)."""
    torch.manual_seed(7)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train()
    for s in range(args.torch_steps):
        xb, yb = train_x[s * 64:(s + 1) * 64], train_y[s * 64:(s + 1) * 64]
        opt.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        opt.step()
    return model.eval()


def one_model(args, name, spec, steps, data, tmp, x, y, train):
    """Both ways for one model; the bn preset's recipe (batch 64, onecycle,
    augmentation) is replaced by batch 32 at a constant rate without
    augmentation, so that a few hundred steps train it."""
    weights = os.path.join(tmp, name + ".safetensors")
    run([args.cnn, "train", "--data", data, "--model", spec, "--steps", str(steps),
         "--batch", "32", "--schedule", "constant", "--augment", "none", "--save", weights, "--quiet"])
    model = cnn_torch.load(weights)
    want = cnn_torch.plan(spec)[1]
    if model.cnn_spec != want:
        fail(f"{name}: the file's spec {model.cnn_spec} is not cnn_torch's {want}")
    d1, a1 = compare(f"{name}: cnn -> torch", model, x, y, cnn_outputs(args, data, weights, tmp))
    again = os.path.join(tmp, name + "-again.safetensors")
    cnn_torch.save(model, again)
    if not filecmp.cmp(weights, again, shallow=False):
        fail(f"{name}: cnn_torch.save of the loaded model is not the same file as cnn's")
    before = cnn_torch.probabilities(model, x)
    tuned = os.path.join(tmp, name + "-torch.safetensors")
    cnn_torch.save(tune(model, args, *train), tuned)
    moved = (cnn_torch.probabilities(model, x) - before).abs().max().item()
    if not moved > 1e-3:
        fail(f"{name}: the SGD steps in PyTorch changed no probability by 1e-3 ({moved:.3g})")
    d2, a2 = compare(f"{name}: torch -> cnn", model, x, y, cnn_outputs(args, data, tuned, tmp))
    print(f"torch-interop: {name}: cnn -> torch: max |dp| {d1:.2g}, accuracy {a1}; "
          f"torch -> cnn after {args.torch_steps} SGD steps: max |dp| {d2:.2g}, "
          f"accuracy {a2}", flush=True)


def check_refusals(tmp):
    """save refuses a module that does not fit the spec it is given; load
    refuses a malformed header with one ValueError naming the file (not a
    KeyError or TypeError from deep inside), and save keeps a new file's
    usual permissions."""
    try:
        cnn_torch.save(cnn_torch.build("seed"), os.path.join(tmp, "x.safetensors"), spec="bn")
        fail("cnn_torch.save wrote a seed module as the bn preset")
    except ValueError:
        pass
    bad = os.path.join(tmp, "bad.safetensors")
    for header in ([1, 2], {"a": "x"}, {"a": {"dtype": "F32"}}, {"__metadata__": [1]},
                   {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}}):
        text = json.dumps(header).encode()
        with open(bad, "wb") as f:
            f.write(struct.pack("<Q", len(text)) + text + bytes(8))
        try:
            cnn_torch.load(bad)
            fail(f"cnn_torch.load took the header {header}")
        except ValueError as e:
            if bad not in str(e):
                fail(f"cnn_torch.load's error does not name the file: {e}")
        except Exception as e:  # what a user must not get
            fail(f"cnn_torch.load of the header {header}: {type(e).__name__}: {e}")
    mask = os.umask(0)
    os.umask(mask)
    path = os.path.join(tmp, "perm.safetensors")
    cnn_torch.save(cnn_torch.build("logreg"), path)
    if os.stat(path).st_mode & 0o777 != 0o666 & ~mask:
        fail(f"cnn_torch.save made the file mode {os.stat(path).st_mode & 0o777:o}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--cnn", default="./cnn")
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--torch-steps", type=int, default=5, help="SGD steps in PyTorch")
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    with tempfile.TemporaryDirectory(prefix="cnn-torch-") as tmp:
        data = os.path.join(tmp, "data")
        os.mkdir(data)
        x, y = subset(args.data, data, args.images)
        tx = cnn_torch.read_idx(find(args.data, "train-images-idx3-ubyte"))
        ty = cnn_torch.read_idx(find(args.data, "train-labels-idx1-ubyte"))
        n = 64 * args.torch_steps
        train = (cnn_torch.to_input(tx[:n]), ty[:n].long())
        for name, spec, steps in MODELS:
            try:
                one_model(args, name, spec, steps, data, tmp, x, y, train)
            except (RuntimeError, ValueError) as e:
                fail(f"{name}: {e}")
        check_refusals(tmp)
    for msg in failures:
        print(f"torch-interop: FAIL: {msg}", file=sys.stderr)
    if failures:
        sys.exit(1)
    print(f"torch-interop: all checks passed ({len(MODELS)} models, {args.images} images, "
          "both ways)")


if __name__ == "__main__":
    main()
