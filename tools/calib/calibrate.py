#!/usr/bin/python3
"""Tables for calibrating the DEFAULT profile (docs/verdict.md).

Reads the CSV of bench/calib_dump (run with --raw) and prints, per
distortion and level: the label shares (Rejected / Pending / Accepted), the
median [min, max] of the matching raw measure and score, and the mean
Spearman correlation across photos of the matching score with the level
(level 0 = the clean photo).

usage: calib_dump MANIFEST --raw --split calib | calibrate.py [-v]
   or: calibrate.py DUMP.csv [-v]     (-v: per-photo rows)
Only the calibration split may be used to choose constants; the held-out
split is reported by tests/test_verdict.c.
"""
import csv
import sys

import numpy as np

# distortion -> (matching score column, raw column)
MATCH = {
    "blur": ("blur", "edge_width"),
    "noise": ("noise", "noise_sigma"),
    "jpeg": ("compression", "blockiness"),
    "over": ("over", "clip+midtone"),
    "under": ("under", "highlight"),
}


def rank(v):
    v = np.asarray(v, float)
    order = np.argsort(v, kind="mergesort")
    r = np.empty(len(v))
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and v[order[j + 1]] == v[order[i]]:
            j += 1
        r[order[i:j + 1]] = (i + j) / 2.0
        i = j + 1
    return r


def spearman(a, b):
    ra, rb = rank(a), rank(b)
    ra -= ra.mean()
    rb -= rb.mean()
    d = np.sqrt((ra ** 2).sum() * (rb ** 2).sum())
    return float((ra * rb).sum() / d) if d > 0 else 0.0


def calib_rows(paths):
    """The calibration rows (split "calib") of one or more CSV files with a
    split column (ladder.py manifests, calib_dump output), pooled."""
    rows = []
    for path in paths:
        with open(path) as f:
            rows += [r for r in csv.DictReader(f) if r["split"] == "calib"]
    return rows


def raw_value(r, col):
    # over-exposure: x = clip + 0.5 x (35th percentile of gray) / 255; the
    # earlier measure used the 5th percentile ("clip+shadow", printed too).
    if col == "clip+midtone":
        return float(r["clip"]) + 0.5 * float(r["midtone"]) / 255.0
    if col == "clip+shadow":
        return float(r["clip"]) + 0.5 * float(r["shadow"]) / 255.0
    return float(r[col])


def main():
    args = [a for a in sys.argv[1:] if a != "-v"]
    verbose = "-v" in sys.argv[1:]
    f = open(args[0]) if args else sys.stdin
    rows = list(csv.DictReader(f))
    photos = sorted(set(r["photo"] for r in rows))
    clean = {r["photo"]: r for r in rows if r["distortion"] == "clean"}
    print("%d photos: %s" % (len(photos), " ".join(photos)))

    def shares(sel):
        n = len(sel)
        c = [sum(1 for r in sel if r["label"] == lab)
             for lab in ("rejected", "pending", "accepted")]
        return "%3.0f%% %3.0f%% %3.0f%%" % tuple(100.0 * x / max(n, 1)
                                               for x in c)

    print("%-8s %-5s %-14s | %-28s | %-26s | reasons" %
          ("dist", "level", "R   P   A", "raw median [min,max]",
           "score median [min,max]"))
    sel = list(clean.values())
    print("%-8s %-5s %-14s |" % ("clean", 0, shares(sel)),
          " ".join(sorted(set(r["reason"].split(" ")[1] for r in sel))))
    for d, (score, rawc) in MATCH.items():
        for lvl in range(1, 6):
            sel = [r for r in rows if r["distortion"] == d and
                   int(r["level"]) == lvl]
            raw = [raw_value(r, rawc) for r in sel]
            sc = [float(r[score]) for r in sel]
            print("%-8s %-5d %-14s | %7.3f [%7.3f,%7.3f] | %.3f [%.3f,%.3f] |"
                  % (d, lvl, shares(sel), np.median(raw), min(raw), max(raw),
                     np.median(sc), min(sc), max(sc)))
        rhos = []
        for p in photos:
            lv = [0] + list(range(1, 6))
            seq = [clean[p]] + [next(r for r in rows if r["photo"] == p and
                                     r["distortion"] == d and
                                     int(r["level"]) == lvl)
                                for lvl in range(1, 6)]
            s = [float(r[score]) for r in seq]
            rhos.append(spearman(lv, s))
            if verbose:
                print("   %-20s rho %.3f raw %s" % (
                    p, rhos[-1],
                    " ".join("%.3f" % raw_value(r, rawc) for r in seq)))
        print("%-8s mean Spearman of %s with the level: %.3f (min %.3f)" %
              (d, score, np.mean(rhos), min(rhos)))
    # The earlier over-exposure measure, for comparison (raw only).
    if "shadow" in rows[0]:
        for lvl in range(0, 6):
            sel = (list(clean.values()) if lvl == 0 else
                   [r for r in rows if r["distortion"] == "over" and
                    int(r["level"]) == lvl])
            raw = [raw_value(r, "clip+shadow") for r in sel]
            print("over     %-5d earlier clip + 0.5 p5/255: %7.3f [%7.3f,%7.3f]"
                  % (lvl, np.median(raw), min(raw), max(raw)))
    if verbose:
        for p in photos:
            r = clean[p]
            print("clean %-20s q %6.2f %s blur %s noise %s comp %s over %s "
                  "under %s" % (p, float(r["quality"]), r["reason"], r["blur"],
                                r["noise"], r["compression"], r["over"],
                                r["under"]))


if __name__ == "__main__":
    main()
