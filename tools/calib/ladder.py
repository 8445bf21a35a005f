#!/usr/bin/python3
"""Graded distortion ladders of the real photos, for calibrating and
validating the DEFAULT verdict profile (issue 10, docs/verdict.md).

For every photo of ../shared/testdata/photos (sorted by name) it writes
5 levels of each distortion:

  blur      gaussian blur, sigma 1, 2, 4, 8, 16 px at a 1024 px long side
            (scaled by long_side / 1024 for smaller photos)
  noise     additive gaussian noise, std 3, 6, 12, 24, 48 grey levels,
            independent per channel, seed fixed per photo
  jpeg      JPEG re-compression, quality 90, 50, 25, 10, 5 (OpenCV, 4:2:0)
  over      exposure +0.5, +1, +1.5, +2, +3 EV in linear light (sRGB curve)
  under     exposure -0.5, -1, -1.5, -2, -3 EV in linear light

Level 0 is the original file itself (not re-encoded). Lossless levels are
binary PPM (written in a millisecond, read by iqs's decoder); JPEG levels
are JPEG. A manifest.csv lists
photo,split,distortion,level,param,path.

Split (fixed): with the photos sorted by file name, index 1, 3, 5, ... is
the calibration set ("calib", 12 photos) and index 0, 2, 4, ... the held-out
validation set ("valid", 13 photos). Only the calibration set was looked at
while choosing the DEFAULT profile's maths and constants.

--role calib labels every photo of --photos "calib" instead: for the second
calibration set of tools/calib/debian_photos.py, whose photos are never
reported as validation results.

Usage: ladder.py OUTDIR [--photos DIR] [--split all|calib|valid]
                        [--role calib]
Deterministic: same inputs, same seeds, same bytes (for a given OpenCV).
Only numpy and cv2 are used.
"""
import argparse
import csv
import os
import sys

import cv2
import numpy as np

BLUR_SIGMA = [1, 2, 4, 8, 16]
NOISE_STD = [3, 6, 12, 24, 48]
JPEG_Q = [90, 50, 25, 10, 5]
EV = [0.5, 1.0, 1.5, 2.0, 3.0]
SEED = 20240610


def split_of(index):
    return "calib" if index % 2 == 1 else "valid"


def srgb_to_linear(v):
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(v):
    return np.where(v <= 0.0031308, v * 12.92,
                    1.055 * np.power(np.maximum(v, 0.0031308), 1 / 2.4) - 0.055)


def exposure_lut(ev):
    """8-bit sRGB in -> 8-bit sRGB out, gain 2^ev applied in linear light."""
    lin = srgb_to_linear(np.arange(256) / 255.0) * (2.0 ** ev)
    out = linear_to_srgb(np.clip(lin, 0.0, 1.0)) * 255.0
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--photos", default=os.path.join(
        os.environ.get("IQS_SHARED", os.path.join(here, "..", "..", "..",
                                                  "shared")),
        "testdata", "photos"))
    ap.add_argument("--split", default="all",
                    choices=["all", "calib", "valid"])
    ap.add_argument("--role", default="split", choices=["split", "calib"],
                    help="calib: every photo is calibration data")
    a = ap.parse_args()

    names = sorted(f for f in os.listdir(a.photos)
                   if f.lower().endswith((".jpg", ".jpeg")))
    if not names:
        print("ladder.py: no photos in %s" % a.photos, file=sys.stderr)
        return 1
    os.makedirs(a.outdir, exist_ok=True)
    ppm = [cv2.IMWRITE_PXM_BINARY, 1]
    rows = []
    for idx, name in enumerate(names):
        split = "calib" if a.role == "calib" else split_of(idx)
        if a.split != "all" and split != a.split:
            continue
        src = os.path.join(a.photos, name)
        img = cv2.imread(src, cv2.IMREAD_COLOR)  # gray photos -> 3 channels
        if img is None:
            print("ladder.py: cannot read %s" % src, file=sys.stderr)
            return 1
        stem = os.path.splitext(name)[0]
        rows.append((stem, split, "clean", 0, 0, os.path.abspath(src)))
        scale = max(img.shape[:2]) / 1024.0

        def put(dist, lvl, param, arr, ext=".ppm", params=ppm):
            path = os.path.join(a.outdir, "%s_%s%d%s" % (stem, dist, lvl, ext))
            if not cv2.imwrite(path, arr, params):
                raise SystemExit("ladder.py: cannot write %s" % path)
            rows.append((stem, split, dist, lvl, param, os.path.abspath(path)))

        for lvl, s in enumerate(BLUR_SIGMA, 1):
            put("blur", lvl, s, cv2.GaussianBlur(img, (0, 0), s * scale))
        rng = np.random.default_rng(SEED + idx)
        for lvl, s in enumerate(NOISE_STD, 1):
            n = rng.standard_normal(img.shape, dtype=np.float32)
            n = np.rint(n * np.float32(s) + img)
            put("noise", lvl, s, np.clip(n, 0, 255).astype(np.uint8))
        for lvl, q in enumerate(JPEG_Q, 1):
            put("jpeg", lvl, q, img, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, q])
        for lvl, ev in enumerate(EV, 1):
            put("over", lvl, ev, cv2.LUT(img, exposure_lut(ev)))
            put("under", lvl, -ev, cv2.LUT(img, exposure_lut(-ev)))

    with open(os.path.join(a.outdir, "manifest.csv.tmp"), "w",
              newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["photo", "split", "distortion", "level", "param", "path"])
        w.writerows(rows)
    os.replace(os.path.join(a.outdir, "manifest.csv.tmp"),
               os.path.join(a.outdir, "manifest.csv"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
