#!/usr/bin/env python3
"""OpenCV DNN reference outputs for the C fidelity tests.

  opencv_ref.py --pb M.pb --size N --out-dir DIR [--bgr] IMAGE...
  opencv_ref.py --pb M.pb --size N --out-dir DIR --from-f32 TENSOR.f32...

For each input writes
  DIR/<basename>.f32    the exact float32 tensor fed to OpenCV: raw little-endian, CHW 3 x N x N
                        (image mode only; in --from-f32 mode the input file already is that)
  DIR/<basename>.probs  the network output, one float per line (9 significant digits)
and prints one summary line per input. <basename> is the file name without its extension.

Preprocessing (tests/gen/photos.py): cv2.imread BGR -> RGB (skipped with --bgr, i.e. digiKam's
accidental BGR feeding) -> cv2.resize (N, N) INTER_NEAREST_EXACT -> x * float32(1/127.5) - 1.
"""

import argparse
import os
import sys

import numpy as np

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gen"))

import photos  # noqa: E402


def load_chw(path, size):
    a = np.fromfile(path, dtype="<f4")
    if a.size != 3 * size * size:
        raise SystemExit("%s: %d floats, expected 3x%dx%d" % (path, a.size, size, size))
    return a.reshape(3, size, size)


def main(argv=None):
    ap = argparse.ArgumentParser(description="OpenCV DNN reference probabilities")
    ap.add_argument("--pb", required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--bgr", action="store_true", help="feed BGR (skip the BGR->RGB swap)")
    ap.add_argument("--from-f32", action="store_true", help="inputs are CHW float32 tensors")
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args(argv)

    import cv2
    os.makedirs(a.out_dir, exist_ok=True)
    net = cv2.dnn.readNetFromTensorflow(a.pb)
    for path in a.inputs:
        base = os.path.splitext(os.path.basename(path))[0]
        if a.from_f32:
            chw = load_chw(path, a.size)
        else:
            hwc = photos.preprocess(path, a.size, bgr=a.bgr)
            chw = np.ascontiguousarray(hwc.transpose(2, 0, 1))
            chw.astype("<f4").tofile(os.path.join(a.out_dir, base + ".f32"))
        net.setInput(chw[None].astype(np.float32))
        out = np.asarray(net.forward(), dtype=np.float32).reshape(-1)
        with open(os.path.join(a.out_dir, base + ".probs"), "w") as fh:
            for v in out:
                fh.write("%.9g\n" % float(v))
        print("%s: argmax %d top %.6f sum %.6f [%s]" % (
            base, int(out.argmax()), float(out.max()), float(out.sum()),
            " ".join("%.4f" % v for v in out[:10])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
