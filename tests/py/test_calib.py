#!/usr/bin/python3
"""The calibration tools behind the DEFAULT profile's exposure anchors
(docs/verdict.md, "Calibration data"):

- tools/calib/anchors.py finds the equal-margin threshold on synthetic
  calib_dump rows whose answer is known by construction, and never reads
  held-out ("valid") rows;
- tools/calib/ladder.py labels photos by the fixed odd/even split, or all
  "calib" with --role calib (the second calibration set).

Prints "PASS name" / "FAIL name: detail" per check; exits 1 on any FAIL.
"""
import csv
import os
import re
import subprocess
import sys
import tempfile

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("IQS_ROOT") or os.path.dirname(os.path.dirname(HERE))
CALIB = os.path.join(ROOT, "tools", "calib")
PY = "/usr/bin/python3"

failed = 0


def check(name, cond, detail=""):
    global failed
    print(("PASS " if cond else "FAIL ") + name +
          ((": " + detail) if detail and not cond else ""))
    failed += not cond


COLS = ["photo", "split", "distortion", "level", "param", "blur", "noise",
        "exposure", "over", "under", "compression", "quality", "label",
        "reason", "edge_width", "noise_sigma", "blockiness", "clip", "shadow",
        "highlight", "midtone"]


def row(photo, split, dist, level, x, p99):
    # x = clip + 0.5 midtone / 255 with clip 0: midtone = 510 x
    r = dict.fromkeys(COLS, "0")
    r.update(photo=photo, split=split, distortion=dist, level=str(level),
             clip="0", midtone="%.6f" % (510.0 * x), highlight="%.6f" % p99)
    return r


def anchors_case(tmp):
    """20 calibration photos. Over x at +0.5 EV: 0.10 .. 0.29, at +2 EV:
    0.50 .. 0.69 (step 0.01). Rejecting x >= t: t in (0.29, 0.50] rejects
    0% / 100% (margins 0.25 / 0.30) and t in (0.50, 0.51] 0% / 95% (0.25 /
    0.25); below, +0.5 EV photos are rejected, above, +2 EV ones are
    missed, so the best margin is 0.25 on (0.29, 0.51], midpoint 0.40.
    Under (p99, rejected at or below t) mirrors it: -0.5 EV 200 .. 219,
    -2 EV 120 .. 139: best on [138, 200) (at 138 one -2 EV photo is missed,
    95% still leaves 0.25), midpoint 169. 20 held-out rows with values that would
    move both answers must be ignored."""
    rows = []
    for i in range(20):
        p = "p%02d" % i
        rows.append(row(p, "calib", "clean", 0, 0.05, 240))
        for lv in range(1, 6):
            over = {1: 0.10, 2: 0.2, 3: 0.4, 4: 0.50, 5: 0.8}[lv] + 0.01 * i
            rows.append(row(p, "calib", "over", lv, over, 240))
            under = {1: 200, 2: 180, 3: 160, 4: 120, 5: 90}[lv] + i
            rows.append(row(p, "calib", "under", lv, 0.05, under))
        q = "v%02d" % i
        rows.append(row(q, "valid", "clean", 0, 0.9, 60))
        for lv in range(1, 6):
            rows.append(row(q, "valid", "over", lv, 0.9, 240))
            rows.append(row(q, "valid", "under", lv, 0.05, 250))
    path = os.path.join(tmp, "dump.csv")
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, COLS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    # Split the rows over two files: the tool pools them.
    half = os.path.join(tmp, "dump2.csv")
    with open(path) as f:
        lines = f.readlines()
    with open(path, "w") as f:
        f.writelines(lines[:len(lines) // 2])
    with open(half, "w") as f:
        f.writelines(lines[:1] + lines[len(lines) // 2:])
    out = subprocess.run([PY, os.path.join(CALIB, "anchors.py"), path, half],
                         capture_output=True, text=True, cwd=CALIB)
    check("anchors.py runs", out.returncode == 0, out.stderr[-500:])
    got = {}
    for line in out.stdout.splitlines():
        m = re.match(r"(over|under)\s+(\d+) photos: best margin ([\d.]+) "
                     r"on \[([\d.]+), ([\d.]+)\], anchor ([\d.]+)", line)
        if m:
            got[m.group(1)] = [float(v) for v in m.groups()[1:]]
    check("anchors.py reports both directions", set(got) == {"over", "under"},
          out.stdout[-500:])
    if set(got) != {"over", "under"}:
        return
    n, marg, lo, hi, t = got["over"]
    check("over: 20 calibration photos (held-out rows ignored)", n == 20,
          str(n))
    check("over: best margin 0.25", abs(marg - 0.25) < 1e-9, str(marg))
    check("over: interval (0.29, 0.51]", 0.29 < lo <= 0.2902 and
          0.5098 <= hi <= 0.51, "%g %g" % (lo, hi))
    check("over: anchor at its midpoint 0.40", abs(t - 0.40) < 0.0005, str(t))
    n, marg, lo, hi, t = got["under"]
    check("under: 20 calibration photos", n == 20, str(n))
    check("under: best margin 0.25", abs(marg - 0.25) < 1e-9, str(marg))
    check("under: interval [138, 200)", 138.0 <= lo < 138.03 and
          199.97 < hi < 200.0, "%g %g" % (lo, hi))
    check("under: anchor at its midpoint 169", abs(t - 169.0) < 0.05, str(t))


def ladder_case(tmp):
    photos = os.path.join(tmp, "photos")
    os.makedirs(photos)
    rng = np.random.default_rng(7)
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        img = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
        cv2.imwrite(os.path.join(photos, name), img)
    for role, want in (("split", {"a": "valid", "b": "calib", "c": "valid"}),
                       ("calib", {"a": "calib", "b": "calib", "c": "calib"})):
        out_dir = os.path.join(tmp, "ladder_" + role)
        out = subprocess.run([PY, os.path.join(CALIB, "ladder.py"), out_dir,
                              "--photos", photos, "--role", role],
                             capture_output=True, text=True)
        check("ladder.py --role %s runs" % role, out.returncode == 0,
              out.stderr[-500:])
        if out.returncode:
            continue
        with open(os.path.join(out_dir, "manifest.csv")) as f:
            rows = list(csv.DictReader(f))
        splits = {}
        for r in rows:
            splits.setdefault(r["photo"], set()).add(r["split"])
        check("ladder.py --role %s: 26 images per photo" % role,
              len(rows) == 3 * 26, str(len(rows)))
        check("ladder.py --role %s: splits" % role,
              splits == {k: {v} for k, v in want.items()}, str(splits))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        anchors_case(tmp)
        ladder_case(tmp)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
