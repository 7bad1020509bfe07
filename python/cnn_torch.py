"""cnn_torch.py -- cnn's weights files as PyTorch modules, both ways.

    import cnn_torch
    model = cnn_torch.load("seed.safetensors")     # from `cnn train --save`
    x = cnn_torch.to_input(cnn_torch.read_idx("data/mnist/t10k-images-idx3-ubyte"))
    p = cnn_torch.probabilities(model, x)           # cnn predict's probabilities
    ...                                             # train or change it in PyTorch
    cnn_torch.save(model, "tuned.safetensors")     # `cnn eval --load` reads it

The file (src/weights.c, src/safetensors.c) is a safetensors file: an
8-byte little-endian header length, a JSON header (padded with spaces to an
8-byte boundary) and raw little-endian float32 tensors.  Its "__metadata__"
holds "format" ("cnn"; a checkpoint, "cnn-checkpoint", loads too), "spec"
(the canonical model spec), "input" ("HxWxC"), "crc32" (of the data) and
"meta_crc32" (of the metadata without the two checksums, compact JSON with
sorted keys).  Tensors, named after the layer kind and its 1-based count
among the layers of that kind, in model order:

    convN.weight [k][k][in][out]  PyTorch's Conv2d.weight.permute(2, 3, 1, 0)
    convN.bias [out]
    denseN.weight [in][out]       PyTorch's Linear.weight.t()
    denseN.bias [out]
    bnN.gamma, bnN.beta           BatchNorm's weight and bias
    bnN.moving_mean, bnN.moving_variance   its running_mean and running_var

The layers, as the engine computes them (src/layers/*.c):
  convKxK[sS]:C[:same|:valid]  TensorFlow's padding: 'same' pads
      (out - 1) * S + K - in in total, the odd pixel at the bottom/right (so
      Conv2d(padding=...) alone, symmetric, would be wrong); 'valid' none.
  relu; maxpoolK[sS], avgpoolK[sS]  K x K windows, stride K by default,
      no padding.  gap: the channel means, a vector.
  bn[:M[:E]]  batch normalisation (Keras's: momentum M = 0.99, epsilon
      E = 1e-3 by default); PyTorch's momentum is 1 - M.  BatchNorm2d after
      an image, BatchNorm1d after a vector.  In training cnn moves the
      moving variance towards the biased batch variance, PyTorch towards
      the unbiased one: a factor n / (n - 1), n = batch x pixels.
  dropout:R  inverted dropout (nn.Dropout(R)), the identity in eval mode.
  flatten  in NHWC order (as Keras): the image is permuted to
      channels-last before flattening (FlattenNHWC).  Flattening NCHW with
      the same dense weights runs, and gives ~12% accuracy.
  dense:N  a linear layer.  softmax  the last item; with cross-entropy it
      is cnn's loss, so the module returns the logits (load(...,
      softmax=True) appends nn.Softmax(dim=1)).

Input: the module takes float32 images N x C x H x W (NCHW, any memory
format), pixels scaled to [0, 1] as x / 255 exactly as cnn reads its data
(src/workspace.c): to_input() turns uint8 images (N x H x W or N x H x W x C,
as IDX files and cnn hold them) into that.  load() returns the module in
eval mode (batch norm with the moving statistics, no dropout), as cnn eval
and cnn predict run it.

Plain Python: needs only PyTorch (Debian's python3-torch) and the standard
library.
"""
import array
import collections
import gzip
import json
import os
import re
import struct
import sys
import tempfile
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["load", "save", "build", "CnnNet", "TFConv2d", "FlattenNHWC", "GlobalAvgPool",
           "read_idx", "to_input", "probabilities", "read_safetensors",
           "write_safetensors", "expand", "PRESETS"]

# src/presets.c's presets, item for item (`cnn summary --model NAME`).
PRESETS = {
    "seed": "conv3x3:32:same,relu,conv1x1:16,relu,conv3x3s2:64:same,relu,"
            "conv1x1:16,relu,conv3x3s2:32:same,relu,conv1x1:16,relu,"
            "flatten,dense:10,softmax",
    "seed-dense": "conv3x3:32:same,relu,conv3x3s2:64:same,relu,"
                  "conv3x3s2:32:same,relu,flatten,dense:768,relu,dense:10,softmax",
    "logreg": "flatten,dense:10,softmax",
    "bn": "conv5x5:16:same,relu,maxpool2,bn,conv3x3:32:same,relu,maxpool2,bn,"
          "flatten,dense:128,bn,relu,dropout:0.3,dense:10,softmax",
    "bn-fashion": "conv3x3:32:same,bn,relu,maxpool2,conv3x3:64:same,bn,relu,maxpool2,"
                  "flatten,dense:128,bn,relu,dropout:0.3,dense:10,softmax",
    "cifar": "conv3x3:16:same,relu,conv3x3s2:32:same,relu,conv3x3:32:same,relu,"
             "conv3x3s2:64:same,relu,conv1x1:16,relu,flatten,dense:10,softmax",
}

# ------------------------------------------------------------- the spec

_INT = r"(\d+)"
_REAL = r"([-.\d][-+.\deE]*)"
_ITEMS = [
    ("conv", re.compile(rf"conv{_INT}x{_INT}(?:s{_INT})?:{_INT}(:same|:valid)?")),
    ("maxpool", re.compile(rf"maxpool{_INT}(?:s{_INT})?")),
    ("avgpool", re.compile(rf"avgpool{_INT}(?:s{_INT})?")),
    ("bn", re.compile(rf"bn(?::{_REAL}(?::{_REAL})?)?")),
    ("dense", re.compile(rf"dense:{_INT}")),
    ("dropout", re.compile(rf"dropout:{_REAL}")),
    ("relu", re.compile("relu")), ("flatten", re.compile("flatten")),
    ("gap", re.compile("gap")),
]
_IMAGE_IN = ("conv", "maxpool", "avgpool", "gap", "flatten")


def _f32(v):
    """v rounded to float32, as cnn stores its real arguments."""
    return struct.unpack("<f", struct.pack("<f", v))[0]


def _real_text(v):
    """The shortest %g form that reads back as the same float32
    (src/layers/common.c's cnn_layer_format_real)."""
    for digits in range(1, 10):
        text = "%.*g" % (digits, v)
        if _f32(float(text)) == v:
            return text
    return "%.9g" % v


def _int(text, top, item):
    v = int(text)
    if not 1 <= v <= top:
        raise ValueError(f"model spec: item '{item}': {v} is not in 1..{top}")
    return v


def _real(text, lo, hi, item):
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"model spec: item '{item}': '{text}' is not a number") from None
    if not lo <= v <= hi:
        raise ValueError(f"model spec: item '{item}': {text} is not in [{lo}, {hi}]")
    return _f32(v)


def _parse_item(item):
    """One spec item as a dict: kind and its arguments."""
    for kind, rx in _ITEMS:
        m = rx.fullmatch(item)
        if not m:
            continue
        g = m.groups()
        if kind == "conv":
            k = _int(g[0], 64, item)
            if _int(g[1], 64, item) != k:
                raise ValueError(f"model spec: '{item}': only square conv kernels")
            return dict(kind=kind, k=k, stride=_int(g[2] or "1", 64, item),
                        out=_int(g[3], 1 << 16, item), same=g[4] == ":same")
        if kind in ("maxpool", "avgpool"):
            k = _int(g[0], 64, item)
            return dict(kind=kind, k=k, stride=_int(g[1], 64, item) if g[1] else k)
        if kind == "bn":
            mom = _real(g[0], 0, 1, item) if g[0] else _f32(0.99)
            eps = _real(g[1], 0, 1, item) if g[1] else _f32(1e-3)
            if mom >= 1 or eps <= 0:
                raise ValueError(f"model spec: '{item}': momentum must be below 1, "
                                 "epsilon above 0")
            return dict(kind=kind, momentum=mom, eps=eps)
        if kind == "dense":
            return dict(kind=kind, out=_int(g[0], 1 << 20, item))
        if kind == "dropout":
            rate = _real(g[0], 0, 1, item)
            if rate >= 1:
                raise ValueError(f"model spec: '{item}': the rate must be below 1")
            return dict(kind=kind, rate=rate)
        return dict(kind=kind)
    raise ValueError(f"model spec: unknown layer '{item}'")


def _format_item(L):
    """The canonical text of one item (each kind's format in src/layers)."""
    kind = L["kind"]
    if kind == "conv":
        s = f"s{L['stride']}" if L["stride"] != 1 else ""
        return f"conv{L['k']}x{L['k']}{s}:{L['out']}" + (":same" if L["same"] else "")
    if kind in ("maxpool", "avgpool"):
        s = f"s{L['stride']}" if L["stride"] != L["k"] else ""
        return f"{kind}{L['k']}{s}"
    if kind == "bn":
        if L["eps"] != _f32(1e-3):
            return f"bn:{_real_text(L['momentum'])}:{_real_text(L['eps'])}"
        if L["momentum"] != _f32(0.99):
            return f"bn:{_real_text(L['momentum'])}"
        return "bn"
    if kind == "dense":
        return f"dense:{L['out']}"
    if kind == "dropout":
        return f"dropout:{_real_text(L['rate'])}"
    return kind


def _tf_dim(size, k, stride, same):
    """One dimension's output size and padding before and after, as
    TensorFlow (src/layers/conv.c): 'same' puts the odd pixel after."""
    if not same:
        return (size - k) // stride + 1 if size >= k else 0, 0, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return out, total // 2, total - total // 2


def _shape(L, h, w, c, flat, n):
    """Layer L's output shape from its input's; fills in L's geometry."""
    kind = L["kind"]
    if kind == "conv":
        oh, L["top"], L["bottom"] = _tf_dim(h, L["k"], L["stride"], L["same"])
        ow, L["left"], L["right"] = _tf_dim(w, L["k"], L["stride"], L["same"])
        if oh < 1 or ow < 1:
            raise ValueError(f"model spec: conv layer {n} ({L['k']}x{L['k']} kernel) does "
                             f"not fit its {h}x{w} input")
        return oh, ow, L["out"], False
    if kind in ("maxpool", "avgpool"):
        if h < L["k"] or w < L["k"]:
            raise ValueError(f"model spec: {kind} layer {n} does not fit its {h}x{w} input")
        return (h - L["k"]) // L["stride"] + 1, (w - L["k"]) // L["stride"] + 1, c, False
    if kind == "gap":
        return 1, 1, c, True
    if kind == "flatten":
        return 1, 1, h * w * c, True
    if kind == "dense":
        return 1, 1, L["out"], True
    return h, w, c, flat


def _check_order(L, prev, flat, n):
    kind = L["kind"]
    if prev is not None and prev["kind"] == "relu" and kind == "relu":
        raise ValueError(f"model spec: item {n}: relu directly after relu")
    if kind in _IMAGE_IN and flat:
        raise ValueError(f"model spec: item {n}: {kind} needs an image input")
    if kind == "dense" and not flat:
        raise ValueError(f"model spec: item {n}: dense needs a flatten before it")


def expand(spec):
    """A preset's spec, or spec itself."""
    return PRESETS.get(spec, spec)


def plan(spec, input_shape=(28, 28, 1)):
    """The layers of a model spec (or preset name) on H x W x C input: a list
    of dicts (kind, its arguments, name as cnn names it, the input shape
    in_h, in_w, in_c, flat and the output's), and the canonical spec."""
    h, w, c = (int(v) for v in input_shape)
    items = [s.strip() for s in expand(spec).split(",")]
    if not items or items[-1] != "softmax":
        raise ValueError("model spec: must end with a dense layer and softmax")
    layers, counts, flat, prev = [], collections.Counter(), False, None
    for n, item in enumerate(items[:-1], 1):
        if item == "softmax":
            raise ValueError("model spec: softmax must be the last item")
        L = _parse_item(item)
        _check_order(L, prev, flat, n)
        counts[L["kind"]] += 1
        L.update(name=f"{L['kind']}{counts[L['kind']]}", in_h=h, in_w=w, in_c=c, flat=flat)
        h, w, c, flat = _shape(L, h, w, c, flat, n)
        L.update(out_h=h, out_w=w, out_c=c, out_flat=flat)
        layers.append(L)
        if L["kind"] != "flatten":
            prev = L
    if not layers or layers[-1]["kind"] != "dense":
        raise ValueError("model spec: softmax must directly follow a dense layer")
    if c < 2:
        raise ValueError(f"model spec: the last layer has {c} output; a softmax "
                         "classifier needs at least 2 classes")
    canonical = ",".join(_format_item(L) for L in layers) + ",softmax"
    return layers, canonical


# ------------------------------------------------------------ the modules


class TFConv2d(nn.Conv2d):
    """Conv2d with TensorFlow's padding: pads (left, right, top, bottom)
    with zeros first when the two sides differ (F.pad), else lets the
    convolution pad itself (symmetric)."""

    def __init__(self, in_c, out_c, k, stride, top, bottom, left, right):
        sym = top == bottom and left == right
        super().__init__(in_c, out_c, k, stride=stride, padding=(top, left) if sym else 0)
        self.tf_pad = None if sym else (left, right, top, bottom)

    def forward(self, x):
        if self.tf_pad is not None:
            x = F.pad(x, self.tf_pad)
        return super().forward(x)

    def extra_repr(self):
        pad = f", tf_pad={self.tf_pad}" if self.tf_pad is not None else ""
        return super().extra_repr() + pad


class FlattenNHWC(nn.Module):
    """Flatten in cnn's (and Keras's) NHWC order, so that the first dense
    layer's weights are cnn's: a free view when the activations are
    channels-last, a copy otherwise."""

    def forward(self, x):
        return x.permute(0, 2, 3, 1).flatten(1)


class GlobalAvgPool(nn.Module):
    """cnn's gap: an image becomes the vector of its channel means."""

    def forward(self, x):
        return x.mean(dim=(2, 3))


def _module(L):
    """The PyTorch module of one planned layer (None for a flatten of a
    vector, which cnn's order rules never give)."""
    kind = L["kind"]
    if kind == "conv":
        return TFConv2d(L["in_c"], L["out"], L["k"], L["stride"], L["top"], L["bottom"],
                        L["left"], L["right"])
    if kind == "maxpool":
        return nn.MaxPool2d(L["k"], stride=L["stride"])
    if kind == "avgpool":
        return nn.AvgPool2d(L["k"], stride=L["stride"])
    if kind == "bn":
        bn = nn.BatchNorm1d if L["flat"] else nn.BatchNorm2d
        return bn(L["in_c"], eps=L["eps"], momentum=round(1.0 - L["momentum"], 9))
    if kind == "dense":
        return nn.Linear(L["in_h"] * L["in_w"] * L["in_c"], L["out"])
    if kind == "dropout":
        return nn.Dropout(L["rate"])
    if kind == "relu":
        return nn.ReLU()
    if kind == "gap":
        return GlobalAvgPool()
    return FlattenNHWC()


class CnnNet(nn.Sequential):
    """A cnn model spec as an nn.Sequential: children named as cnn names
    its layers (conv1, relu1, maxpool1, bn1, flatten1, dense1, ...;
    "softmax" when asked for), so that state_dict() has conv1.weight,
    bn1.running_mean, ...  cnn_spec is the canonical spec, cnn_input the
    input's (H, W, C).  Initialised as PyTorch initialises its layers;
    build() initialises as cnn does."""

    def __init__(self, spec, input_shape=(28, 28, 1), softmax=False):
        layers, canonical = plan(spec, input_shape)
        super().__init__(collections.OrderedDict((L["name"], _module(L)) for L in layers))
        if softmax:
            self.add_module("softmax", nn.Softmax(dim=1))
        self.cnn_spec = canonical
        self.cnn_input = tuple(int(v) for v in input_shape)
        self.cnn_layers = layers


def build(spec, input_shape=(28, 28, 1), softmax=False):
    """A new model of spec (a preset name or a spec) initialised as cnn
    initialises it: Glorot-uniform weights (fans k*k*in and k*k*out) and
    zero biases; batch norm gamma 1, beta 0, moving mean 0 and variance 1.
    Draws from PyTorch's global generator (torch.manual_seed)."""
    model = CnnNet(spec, input_shape, softmax)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return model


# ------------------------------------------------- layouts, cnn <-> torch

_BN = (("gamma", "weight"), ("beta", "bias"), ("moving_mean", "running_mean"),
       ("moving_variance", "running_var"))
_PARAM_TYPES = (nn.Conv2d, nn.Linear, nn.modules.batchnorm._BatchNorm)


def _cnn_shapes(L):
    """The names and shapes of a planned layer's tensors in a cnn file."""
    n, kind = L["name"], L["kind"]
    if kind == "conv":
        return [(n + ".weight", [L["k"], L["k"], L["in_c"], L["out"]]),
                (n + ".bias", [L["out"]])]
    if kind == "dense":
        return [(n + ".weight", [L["in_h"] * L["in_w"] * L["in_c"], L["out"]]),
                (n + ".bias", [L["out"]])]
    if kind == "bn":
        return [(f"{n}.{ours}", [L["in_c"]]) for ours, _ in _BN]
    return []


def _pair(module, spec, input_shape):
    """The layers of the spec that hold tensors, each with its module in
    `module` (the Conv2d, Linear and BatchNorm modules in order); a
    ValueError when the two do not match."""
    layers, _ = plan(spec, input_shape)
    want = [L for L in layers if L["kind"] in ("conv", "dense", "bn")]
    have = [m for m in module.modules() if isinstance(m, _PARAM_TYPES)]
    if len(want) != len(have):
        raise ValueError(f"the module has {len(have)} conv, linear and batch norm layers, "
                         f"the spec {len(want)}")
    for L, m in zip(want, have):
        kind = ("conv" if isinstance(m, nn.Conv2d) else "dense" if isinstance(m, nn.Linear)
                else "bn")
        if kind != L["kind"]:
            raise ValueError(f"{L['name']}: the module has a {type(m).__name__} there")
        if kind == "conv" and (tuple(m.stride) != (L["stride"],) * 2 or m.groups != 1 or
                               tuple(m.dilation) != (1, 1) or m.bias is None):
            raise ValueError(f"{L['name']}: stride, groups, dilation or bias differ")
        if kind == "bn" and (abs(m.eps - L["eps"]) > 1e-6 * L["eps"] or not m.affine or
                             m.running_mean is None):
            raise ValueError(f"{L['name']}: batch norm needs eps {L['eps']:g}, affine "
                             "and running statistics")
        if kind == "dense" and m.bias is None:
            raise ValueError(f"{L['name']}: the linear layer has no bias")
    return list(zip(want, have))


def _to_cnn(L, m):
    """(name, tensor in cnn's layout) for one layer's tensors."""
    n = L["name"]
    if L["kind"] == "bn":
        return [(f"{n}.{ours}", getattr(m, theirs)) for ours, theirs in _BN]
    w = m.weight.permute(2, 3, 1, 0) if L["kind"] == "conv" else m.weight.t()
    return [(n + ".weight", w), (n + ".bias", m.bias)]


def _from_cnn(L, m, tensor):
    """Copy one layer's tensors into m; tensor(name, shape) reads one."""
    with torch.no_grad():
        if L["kind"] == "bn":
            for (ours, theirs), (name, shape) in zip(_BN, _cnn_shapes(L)):
                getattr(m, theirs).copy_(tensor(name, shape))
            return
        (wname, wshape), (bname, bshape) = _cnn_shapes(L)
        w = tensor(wname, wshape)
        m.weight.copy_(w.permute(3, 2, 0, 1) if L["kind"] == "conv" else w.t())
        m.bias.copy_(tensor(bname, bshape))


# ------------------------------------------------------------ safetensors


def _floats_from(buf):
    """float32 tensor from little-endian bytes."""
    a = array.array("f")
    a.frombytes(buf)
    if sys.byteorder == "big":
        a.byteswap()
    return torch.frombuffer(a, dtype=torch.float32).clone() if len(a) else torch.zeros(0)


def _floats_bytes(t):
    """Little-endian bytes of a float tensor, as float32."""
    a = array.array("f", t.detach().to("cpu", torch.float32).reshape(-1).tolist())
    if sys.byteorder == "big":
        a.byteswap()
    return a.tobytes()


def _meta_crc(meta):
    """zlib CRC-32 of the metadata without its checksums, as compact JSON
    with sorted keys (src/safetensors.c's meta_crc32)."""
    rest = {k: v for k, v in meta.items() if k not in ("crc32", "meta_crc32")}
    text = json.dumps(rest, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return "%08x" % zlib.crc32(text.encode("utf-8"))


def _header(path, raw):
    """(tensor entries, string metadata) of a safetensors header, or one
    ValueError naming the file."""
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=collections.OrderedDict)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: the header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: the header is not a JSON object")
    meta = header.pop("__metadata__", {}) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise ValueError(f"{path}: __metadata__ is not an object of strings")
    return header, meta


def _check_entry(path, name, t):
    """One ValueError naming the file unless t is a tensor entry: dtype, a
    shape of counts, two integer offsets."""
    ints = lambda v: isinstance(v, list) and all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in v)
    if not (isinstance(t, dict) and isinstance(t.get("dtype"), str) and ints(t.get("shape"))
            and ints(t.get("data_offsets")) and len(t["data_offsets"]) == 2):
        raise ValueError(f"{path}: tensor {name}: not a tensor entry (dtype, shape, "
                         "data_offsets)")


def read_safetensors(path):
    """(metadata, {name: float32 tensor}) of a safetensors file, tensors in
    file order; checks cnn's checksums when the file has them.  Only F32
    tensors are read (cnn's checkpoints' I32 "train.order" is skipped)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    n, = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError(f"{path}: header length {n} exceeds the file")
    header, meta = _header(path, data[8:8 + n])
    body = data[8 + n:]
    if "crc32" in meta and meta["crc32"] != "%08x" % zlib.crc32(body):
        raise ValueError(f"{path}: checksum mismatch (file says {meta['crc32']})")
    if "meta_crc32" in meta and meta["meta_crc32"] != _meta_crc(meta):
        raise ValueError(f"{path}: metadata checksum mismatch")
    tensors = collections.OrderedDict()
    for name, t in header.items():
        _check_entry(path, name, t)
        lo, hi = t["data_offsets"]
        count = 1
        for d in t["shape"]:
            count *= d
        if not 0 <= lo <= hi <= len(body):
            raise ValueError(f"{path}: tensor {name}: data_offsets {lo},{hi} out of range")
        if t["dtype"] != "F32":
            continue
        if hi - lo != 4 * count:
            raise ValueError(f"{path}: tensor {name}: {hi - lo} bytes for shape {t['shape']}")
        tensors[name] = _floats_from(body[lo:hi]).reshape(t["shape"])
    return meta, tensors


def write_safetensors(path, tensors, meta):
    """Write {name: tensor} (float32, in order) and the string metadata as
    cnn writes them: data back to back, crc32 and meta_crc32 added, header
    padded with spaces to 8 bytes; atomically (a temporary file renamed)."""
    blobs, entries, pos = [], collections.OrderedDict(), 0
    for name, t in tensors.items():
        b = _floats_bytes(t)
        entries[name] = collections.OrderedDict(
            [("dtype", "F32"), ("shape", list(t.shape)), ("data_offsets", [pos, pos + len(b)])])
        blobs.append(b)
        pos += len(b)
    body = b"".join(blobs)
    meta = collections.OrderedDict((k, v) for k, v in meta.items()
                                   if k not in ("crc32", "meta_crc32"))
    meta["crc32"] = "%08x" % zlib.crc32(body)
    meta["meta_crc32"] = _meta_crc(meta)
    header = collections.OrderedDict([("__metadata__", meta)])
    header.update(entries)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".cnn_torch.", suffix=".tmp")
    mask = os.umask(0)
    os.umask(mask)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(text)) + text + body)
            os.fchmod(f.fileno(), 0o666 & ~mask)  # as a new file gets, not mkstemp's 0600
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# -------------------------------------------------------- load and save


def load(path, softmax=False):
    """The model of a cnn weights file (`cnn train --save`, or a
    checkpoint) as a CnnNet in eval mode: NCHW float input scaled x / 255
    (to_input), logits out (softmax=True: probabilities)."""
    meta, tensors = read_safetensors(path)
    fmt = meta.get("format")
    if fmt not in ("cnn", "cnn-checkpoint") or "spec" not in meta or "input" not in meta:
        raise ValueError(f"{path}: not a cnn weights file (format {fmt!r}, needs spec and "
                         "input in the metadata)")
    m = re.fullmatch(r"(\d+)x(\d+)x(\d+)", meta["input"]) if isinstance(meta["input"], str) \
        else None
    if not m:
        raise ValueError(f"{path}: metadata input shape is not HxWxC")
    model = CnnNet(meta["spec"], tuple(int(v) for v in m.groups()), softmax)
    used = set()

    def tensor(name, shape):
        if name not in tensors:
            raise ValueError(f"{path}: tensor {name} is missing")
        if list(tensors[name].shape) != shape:
            raise ValueError(f"{path}: tensor {name} has shape {list(tensors[name].shape)}, "
                             f"the model wants {shape}")
        used.add(name)
        return tensors[name]

    for L, mod in _pair(model, model.cnn_spec, model.cnn_input):
        _from_cnn(L, mod, tensor)
    extra = [n for n in tensors if n not in used]
    if extra and fmt == "cnn":
        raise ValueError(f"{path}: tensor {extra[0]} is not in the model")
    return model.eval()


def save(module, path, spec=None, input_shape=None):
    """Write module's weights as a cnn weights file that `cnn eval --load`,
    `cnn predict --load` and `cnn train --load` read.  module is a CnnNet
    (load, build) or any module whose Conv2d, Linear and BatchNorm layers
    are, in order, those of spec (default module.cnn_spec) on input_shape
    (H, W, C; default module.cnn_input), with cnn's flatten order and
    padding.  Values must be finite (cnn refuses NaN and infinities)."""
    spec = spec if spec is not None else getattr(module, "cnn_spec", None)
    if input_shape is None:
        input_shape = getattr(module, "cnn_input", None)
    if spec is None or input_shape is None:
        raise ValueError("save: give spec and input_shape for a module not made by "
                         "cnn_torch")
    _, canonical = plan(spec, input_shape)
    tensors = collections.OrderedDict()
    for L, m in _pair(module, canonical, input_shape):
        for name, t in _to_cnn(L, m):
            if not bool(torch.isfinite(t).all()):
                raise ValueError(f"save: tensor {name} holds NaN or infinity")
            tensors[name] = t
    h, w, c = (int(v) for v in input_shape)
    meta = collections.OrderedDict([("format", "cnn"), ("spec", canonical),
                                    ("input", f"{h}x{w}x{c}")])
    write_safetensors(path, tensors, meta)


# ---------------------------------------------------------------- input


def read_idx(path):
    """An IDX file of unsigned bytes (MNIST's format, raw or .gz) as a
    uint8 tensor of its dimensions: N x H x W images or N labels."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    ndim = data[3]
    dims = list(struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim]))
    count = 1
    for d in dims:
        count *= d
    body = data[4 + 4 * ndim:]
    if len(body) != count:
        raise ValueError(f"{path}: {len(body)} bytes of data, its header says {count}")
    return torch.frombuffer(bytearray(body), dtype=torch.uint8).reshape(dims)


def to_input(images):
    """uint8 images, N x H x W (one channel) or N x H x W x C (as cnn holds
    them), as the model's input: float32 N x C x H x W, each pixel x / 255
    (the same float32 values cnn computes)."""
    images = torch.as_tensor(images)
    if images.dim() == 3:
        images = images.unsqueeze(-1)
    if images.dim() != 4:
        raise ValueError("to_input: images must be N x H x W or N x H x W x C")
    return (images.to(torch.float32) / 255.0).permute(0, 3, 1, 2).contiguous()


def probabilities(model, x, batch=1000):
    """softmax of the model's logits on x (N x C x H x W), in eval mode and
    without gradients, batch images at a time: cnn predict's
    probabilities."""
    was = model.training
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            y = model(x[i:i + batch])
            out.append(y if isinstance(getattr(model, "softmax", None), nn.Softmax)
                       else torch.softmax(y, dim=1))
    model.train(was)
    return torch.cat(out)
