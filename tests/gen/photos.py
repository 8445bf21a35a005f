"""Shared preprocessing of test photos: the one definition used for weight calibration
(gen_graph.py), the OpenCV reference (tests/ref/opencv_ref.py) and tests/py/test_gen.py.

cv2.imread (BGR) -> BGR2RGB (unless bgr=True: digiKam's accidental BGR feeding)
-> cv2.resize to (size, size) with INTER_NEAREST_EXACT
-> float32 x * float32(1/127.5) - float32(1), HWC.
"""

import os

import numpy as np


def photo_dir(shared=None):
    # IQS_PHOTO_DIR (the demo points it at the repository's samples/) wins.
    if os.environ.get("IQS_PHOTO_DIR"):
        return os.environ["IQS_PHOTO_DIR"]
    shared = shared or os.environ.get("IQS_SHARED")
    if not shared:
        here = os.path.dirname(os.path.abspath(__file__))
        shared = os.path.join(here, "..", "..", "..", "shared")
    return os.path.join(shared, "testdata", "photos")


def photo_paths(shared=None):
    d = photo_dir(shared)
    names = sorted(n for n in os.listdir(d) if n.lower().endswith((".jpg", ".jpeg", ".png")))
    return [os.path.join(d, n) for n in names]


def calibration_paths(shared=None, count=8):
    """The fixed calibration subset: the first `count` photos in sorted name order."""
    paths = photo_paths(shared)
    if os.environ.get("IQS_PHOTO_DIR") and len(paths) >= 4:
        count = min(count, len(paths))  # the demo's smaller bundled set
    if len(paths) < count:
        raise RuntimeError("need %d calibration photos in %s, found %d" % (count, photo_dir(shared), len(paths)))
    return paths[:count]


def preprocess(path, size, bgr=False):
    """Returns the float32 HWC tensor (size x size x 3) fed to the network."""
    import cv2
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise RuntimeError("cannot read image %s" % path)
    if not bgr:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    img = cv2.resize(img, (size, size), interpolation=cv2.INTER_NEAREST_EXACT)
    return img.astype(np.float32) * np.float32(1.0 / 127.5) - np.float32(1.0)
