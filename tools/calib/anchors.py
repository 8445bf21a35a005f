#!/usr/bin/python3
"""The exposure detectors' Rejected anchors (score 0.9) from calibration
data (docs/verdict.md, "Exposure").

Reads the CSV of bench/calib_dump --raw (one or more files, e.g. the shared
photos' calibration split and the photos of tools/calib/debian_photos.py),
keeps the calibration rows only and, per exposure direction, sweeps the
threshold over the range of the raw measure (over: x = clip + 0.5 p35/255, rejected at or
above; under: p99 of gray, rejected at or below). For every threshold it
takes the margins to the issue's targets on these photos,

    0.25 - share of level 1 (+-0.5 EV) rejected
    share of level 4 (+-2 EV) rejected - 0.70

and keeps the thresholds where the smaller margin is largest. The shares
are step functions, so the best margin holds on an interval; its midpoint
is the anchor. The clean photos' share at that point is printed too.

usage: anchors.py DUMP.csv [DUMP.csv ...]
"""
import sys

import numpy as np

from calibrate import calib_rows, raw_value


def sweep(X, rejected):
    """Best equal margin, the interval it holds on (to a 1/4000 of the
    levels' range) and the interval's midpoint."""
    v = X[:, [1, 4]]
    ts = np.linspace(v.min(), v.max(), 4001)
    marg = np.array([min(0.25 - rejected(X[:, 1], t).mean(),
                         rejected(X[:, 4], t).mean() - 0.70) for t in ts])
    best = ts[marg >= marg.max() - 1e-12]
    t = 0.5 * (best.min() + best.max())
    return marg.max(), best.min(), best.max(), t


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    rows = calib_rows(sys.argv[1:])
    for dist, col, rej in [("over", "clip+midtone", lambda v, t: v >= t),
                           ("under", "highlight", lambda v, t: v <= t)]:
        val = {}
        for r in rows:
            if r["distortion"] in ("clean", dist):
                val[(r["photo"], int(r["level"]))] = raw_value(r, col)
        photos = sorted(set(p for p, _ in val))
        X = np.array([[val[(p, lv)] for lv in range(6)] for p in photos])
        m, a, b, t = sweep(X, rej)
        print("%-5s %d photos: best margin %.3f on [%g, %g], anchor %.4f: "
              "rejected clean %.1f%%, level 1 %.1f%%, level 4 %.1f%%, "
              "level 5 %.1f%%" %
              (dist, len(photos), m, a, b, t, 100 * rej(X[:, 0], t).mean(),
               100 * rej(X[:, 1], t).mean(), 100 * rej(X[:, 4], t).mean(),
               100 * rej(X[:, 5], t).mean()))
        print("      clean mean %.3f sd %.3f (mean +- 2 sd: %.3f / %.3f)" %
              (X[:, 0].mean(), X[:, 0].std(ddof=1),
               X[:, 0].mean() + 2 * X[:, 0].std(ddof=1),
               X[:, 0].mean() - 2 * X[:, 0].std(ddof=1)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
