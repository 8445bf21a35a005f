#!/usr/bin/python3
"""Over-exposure candidates on the calibration split (docs/verdict.md,
"Exposure").

Reads the manifest.csv of tools/calib/ladder.py, keeps the CALIBRATION rows
only (split "calib": the held-out rows are never read), computes candidate
over-exposure measures of every clean and +EV image in numpy (the images
are at most 1024 px, so the preview is the image itself) and prints, per
candidate:

  L0max, L1max     largest value on the clean photos and at +0.5 EV
  L3min .. L5min   smallest value at +1.5, +2 and +3 EV
  d'(1,3) d'(1,4)  separation of +0.5 EV from +1.5 EV and from +2 EV:
                   difference of the means over the pooled std
  t_eq             equal-error threshold between +0.5 and +2 EV (the point
                   as many of their stds from either mean)
  rho              mean Spearman of the measure with the level 0..5

A gain of g EV in linear light multiplies sRGB values by about 2^(g/2.4)
and clips them, so a dark photo at +3 EV looks like a normal one at about
+1.5 EV: d'(1,3) says how well a measure would still catch it.

usage: over_candidates.py MANIFEST [MANIFEST ...]
(several manifests: their calibration rows are pooled, e.g. the shared
photos' ladder and the ladder of tools/calib/debian_photos.py's photos)
"""
import sys

import cv2
import numpy as np

from calibrate import calib_rows, spearman  # same rank correlation as the calibration tables


def pct(hist, q):
    """Percentile interpolated inside its bin, as lib/detect/exposure.c."""
    t = q * hist.sum()
    cum = np.cumsum(hist)
    v = int(np.searchsorted(cum, t))
    prev = cum[v - 1] if v > 0 else 0.0
    return min(max(v - 0.5 + (t - prev) / hist[v], 0.0), 255.0)


def features(path):
    im = cv2.imread(path, cv2.IMREAD_COLOR)
    g = cv2.cvtColor(im, cv2.COLOR_BGR2GRAY)
    mx = im.max(axis=2)
    h = np.bincount(g.ravel(), minlength=256).astype(float)
    hm = np.bincount(mx.ravel(), minlength=256).astype(float)
    f = {"clip": float((mx >= 254).mean()),      # any channel clipped
         "top10": float((mx >= 245).mean()),     # top 10 levels, any channel
         "mean": float(g.mean()),
         "vmed": pct(hm, 0.5)}                   # median of max(R,G,B)
    for q in range(5, 80, 5):
        f["p%d" % q] = pct(h, q / 100.0)
    # low local contrast in the highlights: 5x5 std < 1 where gray >= 200
    gf = g.astype(np.float32)
    m = cv2.blur(gf, (5, 5))
    s = np.sqrt(np.maximum(cv2.blur(gf * gf, (5, 5)) - m * m, 0))
    f["flatbright"] = float(((s < 1.0) & (g >= 200)).mean())
    return f


def dprime(a, b):
    return (b.mean() - a.mean()) / np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)


CANDIDATES = [
    ("clip", lambda f: f["clip"]),
    ("top10 (any channel >= 245)", lambda f: f["top10"]),
    ("clip + 0.5 p5 (earlier)", lambda f: f["clip"] + 0.5 * f["p5"] / 255),
    ("clip + 0.5 p25", lambda f: f["clip"] + 0.5 * f["p25"] / 255),
    ("clip + 0.5 p35 (chosen)", lambda f: f["clip"] + 0.5 * f["p35"] / 255),
    ("clip + 0.5 p50 (median)", lambda f: f["clip"] + 0.5 * f["p50"] / 255),
    ("clip + 0.5 mean", lambda f: f["clip"] + 0.5 * f["mean"] / 255),
    ("clip + 0.5 p35 -0.5 p5", lambda f: f["clip"] + 0.5 * f["p35"] / 255
     - 0.5 * f["p5"] / 255),
    ("clip + 0.5 p35 -0.25 p5", lambda f: f["clip"] + 0.5 * f["p35"] / 255
     - 0.25 * f["p5"] / 255),
    ("clip + 0.5 p35 +0.25 p5", lambda f: f["clip"] + 0.5 * f["p35"] / 255
     + 0.25 * f["p5"] / 255),
    ("clip + 0.5 p35 +0.5 p5", lambda f: f["clip"] + 0.5 * f["p35"] / 255
     + 0.5 * f["p5"] / 255),
    ("top10 + 0.5 p35", lambda f: f["top10"] + 0.5 * f["p35"] / 255),
    ("clip + flatbright + 0.5 p35", lambda f: f["clip"] + f["flatbright"]
     + 0.5 * f["p35"] / 255),
    ("clip + 0.5 p35 + 0.5 vmed", lambda f: f["clip"] + 0.5 * f["p35"] / 255
     + 0.5 * f["vmed"] / 255),
    ("vmed (median of max channel)", lambda f: f["vmed"] / 255),
    ("p35 alone", lambda f: f["p35"] / 255),
    ("flatbright alone", lambda f: f["flatbright"]),
]


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    rows = [r for r in calib_rows(sys.argv[1:])
            if r["distortion"] in ("clean", "over")]
    photos = sorted(set(r["photo"] for r in rows))
    feat = {}
    for r in rows:
        feat[(r["photo"], int(r["level"]))] = features(r["path"])
    print("%d calibration photos; clean + 5 over-exposure levels" % len(photos))

    def report(name, fn):
        M = np.array([[fn(feat[(p, lv)]) for lv in range(6)] for p in photos])
        m, s = M.mean(0), M.std(0, ddof=1)
        t_eq = (m[1] * s[4] + m[4] * s[1]) / (s[1] + s[4])
        rho = np.mean([spearman(range(6), M[i]) for i in range(len(photos))])
        print("%-30s %6.3f %6.3f | %6.3f %6.3f %6.3f | %5.2f %5.2f | %6.3f"
              " | %.3f" % (name, M[:, 0].max(), M[:, 1].max(), M[:, 3].min(),
                          M[:, 4].min(), M[:, 5].min(),
                          dprime(M[:, 1], M[:, 3]), dprime(M[:, 1], M[:, 4]),
                          t_eq, rho))
        return M

    hdr = ("%-30s %6s %6s | %6s %6s %6s | %5s %5s | %6s | %s" %
           ("candidate", "L0max", "L1max", "L3min", "L4min", "L5min",
            "d'13", "d'14", "t_eq", "rho"))
    print(hdr)
    for name, fn in CANDIDATES:
        M = report(name, fn)
        if "chosen" in name:
            chosen = M
    print("\nclip + 0.5 pQ for Q = 5 .. 75:")
    print(hdr)
    for q in range(5, 80, 5):
        report("clip + 0.5 p%d" % q,
               lambda f, q=q: f["clip"] + 0.5 * f["p%d" % q] / 255)
    m, s = chosen.mean(0), chosen.std(0, ddof=1)
    print("\nchosen: clean mean %.3f sd %.3f (mean + 2 sd = %.3f); "
          "+0.5 EV mean %.3f sd %.3f; +2 EV mean %.3f sd %.3f" %
          (m[0], s[0], m[0] + 2 * s[0], m[1], s[1], m[4], s[4]))
    for lv in range(6):
        print("  level %d: median %.3f [%.3f, %.3f]" %
              (lv, np.median(chosen[:, lv]), chosen[:, lv].min(),
               chosen[:, lv].max()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
