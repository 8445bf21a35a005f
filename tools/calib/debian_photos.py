#!/usr/bin/python3
"""A second calibration set for the DEFAULT profile: 25 more photographs
from Debian's wallpaper packages, prepared like ../shared/testdata/photos
(JPEG quality 92, long side at most 1024 px, sRGB, no metadata).

None of these photos is in the shared set, and none is ever reported as a
validation result: tools/calib/ladder.py --role calib labels every ladder
made from them "calib" (docs/verdict.md, "Calibration data"). They were
added because the first calibration half (12 photos) held no photo with few
bright areas, the kind the +2 EV row missed.

The photos are not bundled in the repository (GPL-2+ and CC-BY-SA files
with attribution); this script fetches them from the Debian archive:

  debian_photos.py OUTDIR              apt-get download the four packages
                                       into a temporary directory
  debian_photos.py OUTDIR --root DIR   use packages already unpacked with
                                       dpkg-deb -x into DIR

It writes OUTDIR/<name>.jpg and OUTDIR/SOURCES.csv (file, package, original
path, license as the package's copyright file states it). The selection
(every photograph of those packages not already in the shared set; the
illustrations, renders and paintings left out) was made from thumbnails
before any of them was measured.
"""
import argparse
import csv
import glob
import os
import subprocess
import sys
import tempfile

import cv2

PACKAGES = ["lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04",
            "mate-backgrounds", "plasma-workspace-wallpapers"]

LOMIRI = "usr/share/backgrounds/"
MATE = "usr/share/backgrounds/mate/nature/"
PLASMA = "usr/share/wallpapers/%s/contents/images/2560x1600.jpg"

# (name, package, path inside the package, license)
PHOTOS = [
    ("deb_lomiri_analogpattern", "lomiri-wallpapers-16.04",
     LOMIRI + "analogpattern_by_Peter_Nerlich.jpg",
     "CC-BY-SA-4.0, (c) 2018 Peter Nerlich"),
    ("deb_lomiri_infinitesea", "lomiri-wallpapers-20.04",
     LOMIRI + "Infinite-Sea_by_Aury88.jpg", "CC-BY-SA-3.0, (c) 2019 Aury88"),
] + [
    ("deb_mate_" + n.lower(), "mate-backgrounds", MATE + n + ".jpg",
     "GPL-2+, see mate-backgrounds' copyright file")
    for n in ["Aqua", "Blinds", "Dune", "FreshFlower", "Garden",
              "GreenMeadow", "LadyBird", "RainDrops", "Storm", "TwoWings",
              "Wood", "YellowFlower"]
] + [
    ("deb_plasma_" + n.lower(), "plasma-workspace-wallpapers", PLASMA % n,
     "GPL-2+, (c) 2014 KDE Visual Design Group")
    for n in ["BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour",
              "EveningGlow", "FallenLeaf", "Grey", "Kite", "OneStandsOut",
              "Path", "summer_1am"]
]


def fetch(root):
    """apt-get download PACKAGES and unpack them into root."""
    subprocess.run(["apt-get", "download"] + PACKAGES, cwd=root, check=True)
    for deb in glob.glob(os.path.join(root, "*.deb")):
        subprocess.run(["dpkg-deb", "-x", deb, root], check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--root", help="directory the packages are unpacked in")
    a = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = a.root
        if root is None:
            root = tmp
            fetch(root)
        os.makedirs(a.outdir, exist_ok=True)
        rows = []
        for name, pkg, path, lic in PHOTOS:
            img = cv2.imread(os.path.join(root, path), cv2.IMREAD_COLOR)
            if img is None:
                print("debian_photos.py: cannot read %s from %s"
                      % (path, pkg), file=sys.stderr)
                return 1
            h, w = img.shape[:2]
            scale = 1024.0 / max(h, w)
            if scale < 1.0:
                img = cv2.resize(img, (round(w * scale), round(h * scale)),
                                 interpolation=cv2.INTER_AREA)
            out = os.path.join(a.outdir, name + ".jpg")
            if not cv2.imwrite(out, img, [cv2.IMWRITE_JPEG_QUALITY, 92]):
                print("debian_photos.py: cannot write %s" % out,
                      file=sys.stderr)
                return 1
            rows.append((name + ".jpg", pkg, "/" + path, lic))
    with open(os.path.join(a.outdir, "SOURCES.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["file", "debian_package", "original_path", "license"])
        w.writerows(rows)
    print("debian_photos.py: %d photos in %s" % (len(rows), a.outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
