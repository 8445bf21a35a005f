#!/usr/bin/env python3
"""Host-side inputs for tests/embedded/test_embedded.c (run by mk/embedded.mk).

  prep_data.py REFDIR PHOTOS OUTDIR

Writes OUTDIR/list.txt (the basenames of REFDIR/*.probs that have a .f32
tensor, sorted) and OUTDIR/<first>.rgb, the raw RGB8 pixels OpenCV decoded
from PHOTOS/<first>.jpg (the same decode that produced REFDIR's reference
tensor), then prints the test program's arguments:
  --ref REFDIR --list OUTDIR/list.txt --rgb OUTDIR/<first>.rgb W H REFDIR/<first>.probs
The test program then needs no directory listing and no image decoder, so it
runs unchanged on any target (cross-compiled, under qemu).
Prints nothing (a note on stderr) and exits 1 when REFDIR has no reference.
"""
import os
import sys


def main():
    refdir, photos, outdir = sys.argv[1:4]
    names = []
    if os.path.isdir(refdir):
        names = sorted(f[:-6] for f in os.listdir(refdir)
                       if f.endswith(".probs") and os.path.exists(os.path.join(refdir, f[:-6] + ".f32")))
    if not names:
        sys.stderr.write("prep_data: no reference tensors in %s; fidelity checks skipped\n" % refdir)
        return 1
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "list.txt"), "w") as fh:
        fh.write("\n".join(names) + "\n")
    args = ["--ref", refdir, "--list", os.path.join(outdir, "list.txt")]
    jpg = os.path.join(photos, names[0] + ".jpg")
    if os.path.exists(jpg):
        import cv2
        bgr = cv2.imread(jpg, cv2.IMREAD_COLOR)
        rgb = bgr[:, :, ::-1].copy()
        out = os.path.join(outdir, names[0] + ".rgb")
        rgb.tofile(out)
        args += ["--rgb", out, str(rgb.shape[1]), str(rgb.shape[0]),
                 os.path.join(refdir, names[0] + ".probs")]
    print(" ".join(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
