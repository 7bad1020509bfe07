#!/usr/bin/env python3
"""plot_scaling.py -- draws the thread sweeps of bench/train as an SVG: the
speed-up over one thread against the thread count, one line per model, batch
size and ISA found in the files (the rows' "model", "batch" and "isa"), with
the ideal linear speed-up dashed.  Labels name the model only when the files
hold more than one.

Usage: bench/plot_scaling.py -o scaling.svg SWEEP.json [SWEEP.json ...]
where each SWEEP.json is the output of
`bench/train --sweep --json [--model M] [--batch N]`.
Standard library only.
"""
import argparse
import json
import os
import sys
from xml.sax.saxutils import escape

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
           "#17becf"]


def read_series(paths):
    """The sweeps' rows grouped by (model, batch, ISA), models in the order
    first met, then by batch: [(label, [(threads, speed-up, images/s), ...]), ...], or None
    (with a message) when a file is not a sweep or a group has no 1-thread
    row."""
    groups = {}
    for path in paths:
        try:
            with open(path) as f:
                rows = json.load(f)
            for r in rows:
                key = (r.get("model", "seed"), r["batch"], r["isa"])
                groups.setdefault(key, {})[r["threads"]] = r["images_per_s"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            print(f"plot_scaling.py: {path}: not a bench/train --sweep --json file ({e})",
                  file=sys.stderr)
            return None
    models = list(dict.fromkeys(m for m, _, _ in groups))  # in the order first met
    series = []
    for model, batch, isa in sorted(groups, key=lambda k: (models.index(k[0]), k[1], k[2])):
        speeds = groups[(model, batch, isa)]
        if 1 not in speeds:
            print(f"plot_scaling.py: {model}, batch {batch} ({isa}): no 1-thread row",
                  file=sys.stderr)
            return None
        label = f"batch {batch} ({isa})" if len(models) == 1 else \
            f"{model}, batch {batch} ({isa})"
        series.append((label, [(t, v / speeds[1], v) for t, v in sorted(speeds.items())]))
    return series


class Axes:
    """Pixel positions of threads (1..tmax) and speed-ups (ymin..tmax)."""
    W, H, L, R, T, B = 640, 420, 70, 30, 50, 60

    def __init__(self, tmax, ymin):
        self.tmax, self.ymin = tmax, ymin
        self.pw, self.ph = self.W - self.L - self.R, self.H - self.T - self.B

    def x(self, t):
        return self.L + self.pw * (t - 1) / (self.tmax - 1)

    def y(self, s):
        return self.T + self.ph * (1 - (s - self.ymin) / (self.tmax - self.ymin))


def frame(a, title):
    """The background, title, grid, tick labels and axis names."""
    W, H, L, T, pw, ph = a.W, a.H, a.L, a.T, a.pw, a.ph
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="24" text-anchor="middle" font-size="15">'
           f'{escape(title)}</text>']
    step = 1 if a.tmax <= 16 else a.tmax // 8
    for t in range(1, a.tmax + 1, step):
        out.append(f'<line x1="{a.x(t):.1f}" y1="{T}" x2="{a.x(t):.1f}" y2="{T + ph}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{a.x(t):.1f}" y="{T + ph + 18}" text-anchor="middle">{t}</text>')
    for s in range(a.ymin, a.tmax + 1, step):
        out.append(f'<line x1="{L}" y1="{a.y(s):.1f}" x2="{L + pw}" y2="{a.y(s):.1f}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{L - 8}" y="{a.y(s) + 4:.1f}" text-anchor="end">{s}x</text>')
    out.append(f'<rect x="{L}" y="{T}" width="{pw}" height="{ph}" fill="none" stroke="black"/>')
    out.append(f'<text x="{L + pw / 2}" y="{H - 18}" text-anchor="middle">threads</text>')
    out.append(f'<text x="18" y="{T + ph / 2}" text-anchor="middle" '
               f'transform="rotate(-90 18 {T + ph / 2})">speed-up over 1 thread</text>')
    return out


def lines(a, series):
    """One line with points per series, the ideal dashed, and the legend."""
    out = [f'<line x1="{a.x(1)}" y1="{a.y(1)}" x2="{a.x(a.tmax)}" y2="{a.y(a.tmax)}" '
           f'stroke="gray" stroke-dasharray="6 4"/>']
    for i, (label, pts) in enumerate(series):
        c = COLOURS[i % len(COLOURS)]
        dash = "" if i < len(COLOURS) else ' stroke-dasharray="2 3"'
        path = " ".join(f"{a.x(t):.1f},{a.y(s):.1f}" for t, s, _ in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{c}" stroke-width="2"'
                   f'{dash}/>')
        for t, s, ips in pts:
            out.append(f'<circle cx="{a.x(t):.1f}" cy="{a.y(s):.1f}" r="4" fill="{c}">'
                       f'<title>{escape(label)}, {t} threads: {ips:.0f} images/s, '
                       f'{s:.2f}x</title></circle>')
        ly = a.T + 18 + 18 * i
        out.append(f'<line x1="{a.L + 12}" y1="{ly}" x2="{a.L + 36}" y2="{ly}" stroke="{c}" '
                   f'stroke-width="2"{dash}/>')
        last = pts[-1]
        out.append(f'<text x="{a.L + 42}" y="{ly + 4}">{escape(label)}: {last[1]:.2f}x at '
                   f'{last[0]} threads</text>')
    ly = a.T + 18 + 18 * len(series)
    out.append(f'<line x1="{a.L + 12}" y1="{ly}" x2="{a.L + 36}" y2="{ly}" stroke="gray" '
               f'stroke-dasharray="6 4"/><text x="{a.L + 42}" y="{ly + 4}">ideal</text>')
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--title", default="cnn: training speed-up over 1 thread")
    ap.add_argument("sweeps", nargs="+")
    args = ap.parse_args()

    series = read_series(args.sweeps)
    if series is None:
        return 1
    tmax = max(2, max(max(t for t, _, _ in pts) for _, pts in series))
    slowest = min(min(s for _, s, _ in pts) for _, pts in series)
    a = Axes(tmax, 1 if slowest >= 1 else 0)  # from 0 when a line falls below 1x
    out = frame(a, args.title) + lines(a, series) + ["</svg>"]
    tmp = args.output + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(out) + "\n")
    os.replace(tmp, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
