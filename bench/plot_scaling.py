#!/usr/bin/env python3
"""plot_scaling.py -- draws the thread sweep of bench/train as an SVG: the
speed-up over one thread against the thread count, one line per JSON file
(typically one per batch size), with the ideal linear speed-up dashed.

Usage: bench/plot_scaling.py -o scaling.svg SWEEP.json [SWEEP.json ...]
where each SWEEP.json is the output of `bench/train --sweep --json [--batch N]`.
Standard library only.
"""
import argparse
import json
import sys
from xml.sax.saxutils import escape

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--title", default="cnn: seed network training, speed-up over 1 thread")
    ap.add_argument("sweeps", nargs="+")
    args = ap.parse_args()

    series = []
    for path in args.sweeps:
        try:
            with open(path) as f:
                rows = json.load(f)
            rows = sorted(rows, key=lambda r: r["threads"])
            base = next(r["images_per_s"] for r in rows if r["threads"] == 1)
        except (OSError, ValueError, KeyError, StopIteration) as e:
            print(f"plot_scaling.py: {path}: not a bench/train --sweep --json file with a "
                  f"1-thread row ({e})", file=sys.stderr)
            return 1
        label = f"batch {rows[0]['batch']} ({rows[0]['isa']})"
        series.append((label, [(r["threads"], r["images_per_s"] / base,
                                r["images_per_s"]) for r in rows]))

    tmax = max(max(t for t, _, _ in pts) for _, pts in series)
    tmax = max(tmax, 2)
    W, H, L, R, T, B = 640, 420, 70, 30, 50, 60
    pw, ph = W - L - R, H - T - B

    def x(t):
        return L + pw * (t - 1) / (tmax - 1)

    def y(s):
        return T + ph * (1 - (s - 1) / (tmax - 1))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="24" text-anchor="middle" font-size="15">'
           f'{escape(args.title)}</text>']
    step = 1 if tmax <= 16 else tmax // 8
    for t in range(1, tmax + 1, step):
        out.append(f'<line x1="{x(t):.1f}" y1="{T}" x2="{x(t):.1f}" y2="{T + ph}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{x(t):.1f}" y="{T + ph + 18}" text-anchor="middle">{t}</text>')
        out.append(f'<line x1="{L}" y1="{y(t):.1f}" x2="{L + pw}" y2="{y(t):.1f}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{L - 8}" y="{y(t) + 4:.1f}" text-anchor="end">{t}x</text>')
    out.append(f'<rect x="{L}" y="{T}" width="{pw}" height="{ph}" fill="none" stroke="black"/>')
    out.append(f'<text x="{L + pw / 2}" y="{H - 18}" text-anchor="middle">threads</text>')
    out.append(f'<text x="18" y="{T + ph / 2}" text-anchor="middle" '
               f'transform="rotate(-90 18 {T + ph / 2})">speed-up over 1 thread</text>')
    out.append(f'<line x1="{x(1)}" y1="{y(1)}" x2="{x(tmax)}" y2="{y(tmax)}" '
               f'stroke="gray" stroke-dasharray="6 4"/>')
    for i, (label, pts) in enumerate(series):
        c = COLOURS[i % len(COLOURS)]
        path = " ".join(f"{x(t):.1f},{y(s):.1f}" for t, s, _ in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{c}" stroke-width="2"/>')
        for t, s, ips in pts:
            out.append(f'<circle cx="{x(t):.1f}" cy="{y(s):.1f}" r="4" fill="{c}">'
                       f'<title>{t} threads: {ips:.0f} images/s, {s:.2f}x</title></circle>')
        ly = T + 18 + 18 * i
        out.append(f'<line x1="{L + 12}" y1="{ly}" x2="{L + 36}" y2="{ly}" stroke="{c}" '
                   f'stroke-width="2"/>')
        last = pts[-1]
        out.append(f'<text x="{L + 42}" y="{ly + 4}">{escape(label)}: {last[1]:.2f}x at '
                   f'{last[0]} threads</text>')
    ly = T + 18 + 18 * len(series)
    out.append(f'<line x1="{L + 12}" y1="{ly}" x2="{L + 36}" y2="{ly}" stroke="gray" '
               f'stroke-dasharray="6 4"/><text x="{L + 42}" y="{ly + 4}">ideal</text>')
    out.append("</svg>")
    tmp = args.output + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(out) + "\n")
    import os
    os.replace(tmp, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
