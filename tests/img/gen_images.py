#!/usr/bin/python3
"""Generates the small test images and reference tables in tests/img.

Run from anywhere with /usr/bin/python3 (numpy + cv2 4.6); output is
deterministic, so re-running must leave `git status` clean. See README.md
for what each file is for. The references come from OpenCV and numpy, never
from iqs itself.
"""
import os
import struct
import zlib

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def out(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def pattern_rgb(w, h):
    """Asymmetric pattern of 8x8 blocks, every block a distinct, saturated
    colour far from its neighbours (so JPEG keeps block centres exact to a
    few levels and any wrong rotation or flip is visible)."""
    img = np.zeros((h, w, 3), np.uint8)
    bw, bh = w // 8, h // 8
    for by in range(bh):
        for bx in range(bw):
            k = by * bw + bx
            col = ((k * 67) % 256, (k * 151 + 40) % 256, (255 - k * 29) % 256)
            img[by * 8:(by + 1) * 8, bx * 8:(bx + 1) * 8] = col
    return img


def jpeg_bytes(rgb, quality=95):
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def png_bytes(arr):
    ok, buf = cv2.imencode(".png", arr)
    assert ok
    return buf.tobytes()


def tiff_ifd0(orientation, big):
    """A TIFF header + IFD0 with Make, Orientation, XResolution entries
    (orientation deliberately not first) and an empty IFD1 link."""
    e = ">" if big else "<"
    hdr = (b"MM" if big else b"II") + struct.pack(e + "HI", 42, 8)
    n = 3
    data_off = 8 + 2 + n * 12 + 4
    make = b"iqs-test\0"
    xres_off = data_off + len(make)
    ents = b""
    ents += struct.pack(e + "HHI", 0x010F, 2, len(make)) + struct.pack(e + "I", data_off)
    if big:
        ents += struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)
    else:
        ents += struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)
    ents += struct.pack(e + "HHII", 0x011A, 5, 1, xres_off)
    body = struct.pack(e + "H", n) + ents + struct.pack(e + "I", 0)
    return hdr + body + make + struct.pack(e + "II", 72, 1)


def splice_app1(jpg, tiff):
    seg = b"Exif\0\0" + tiff
    app1 = b"\xFF\xE1" + struct.pack(">H", len(seg) + 2) + seg
    assert jpg[:2] == b"\xFF\xD8"
    return jpg[:2] + app1 + jpg[2:]


def png_chunk(typ, data):
    return struct.pack(">I", len(data)) + typ + data + \
        struct.pack(">I", zlib.crc32(typ + data) & 0xFFFFFFFF)


def png_insert_before_idat(png, chunk):
    i = png.index(b"IDAT") - 4
    return png[:i] + chunk + png[i:]


def main():
    rng = np.random.RandomState(20240611)

    # --- EXIF orientation: one pattern, eight tags, both byte orders.
    pat = pattern_rgb(48, 32)
    base = jpeg_bytes(pat)
    out("orient_none.jpg", base)
    for o in range(1, 9):
        out("orient_%d.jpg" % o, splice_app1(base, tiff_ifd0(o, big=(o % 2 == 0))))
    # PNG with an eXIf chunk (orientation 6, big-endian TIFF).
    png = png_bytes(cv2.cvtColor(pat, cv2.COLOR_RGB2BGR))
    out("orient_6.png", png_insert_before_idat(png, png_chunk(b"eXIf", tiff_ifd0(6, True))))
    out("pattern.rgb", pat.tobytes())  # lossless reference for the PNG

    # --- Decoder format coverage; expectations from cv2.imread (libpng).
    g = rng.randint(0, 256, (7, 13), np.uint8)
    out("gray.png", png_bytes(g))
    g16 = rng.randint(0, 65536, (7, 13)).astype(np.uint16)
    out("gray16.png", png_bytes(g16))
    c16 = rng.randint(0, 65536, (5, 9, 3)).astype(np.uint16)
    out("rgb16.png", png_bytes(c16))  # stored BGR by cv2
    rgba = rng.randint(0, 256, (6, 11, 4), np.uint8)
    out("rgba.png", png_bytes(rgba))  # BGRA for cv2
    for name in ("gray.png", "gray16.png", "rgb16.png", "rgba.png"):
        im = cv2.imread(os.path.join(HERE, name), cv2.IMREAD_COLOR)  # BGR8
        out(name.replace(".png", ".expect.rgb"), cv2.cvtColor(im, cv2.COLOR_BGR2RGB).tobytes())
    one = np.array([[[200, 100, 50]]], np.uint8)  # RGB
    out("one.png", png_bytes(one[:, :, ::-1].copy()))
    out("one.jpg", jpeg_bytes(one, 100))

    # Progressive and restart-marker JPEGs (marker walk coverage).
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(pattern_rgb(64, 48), cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    assert ok
    out("progressive.jpg", buf.tobytes())
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(pattern_rgb(64, 48), cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_RST_INTERVAL, 1])
    assert ok
    out("restart.jpg", buf.tobytes())
    for name in ("progressive.jpg", "restart.jpg"):
        im = cv2.imread(os.path.join(HERE, name), cv2.IMREAD_COLOR)
        out(name.replace(".jpg", ".cv2.rgb"), cv2.cvtColor(im, cv2.COLOR_BGR2RGB).tobytes())

    # --- Hostile inputs.
    # PNG declaring 60000 x 60000 RGB, with a tiny (inconsistent) IDAT.
    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + \
        png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + png_chunk(b"IEND", b"")
    out("bomb.png", bomb)
    # A valid small JPEG whose SOF0 claims 60000 x 60000.
    jb = bytearray(base)
    i = jb.index(b"\xFF\xC0")
    struct.pack_into(">HH", jb, i + 5, 60000, 60000)
    out("bomb.jpg", bytes(jb))
    # Truncated files: JPEG cut in the scan data, PNG cut in IDAT.
    photo = jpeg_bytes(pattern_rgb(64, 64), 90)
    out("truncated.jpg", photo[: len(photo) * 6 // 10])
    out("truncated.png", png[: len(png) * 6 // 10])
    out("random.bin", rng.randint(0, 256, 4096).astype(np.uint8).tobytes())

    # --- OpenCV INTER_NEAREST_EXACT index tables, one line per size pair:
    # "src dst i0 i1 ...". A 1-row uint16 image holding its own column index
    # is resized; each output value is the source index OpenCV sampled.
    pairs = [(4, 3), (3, 7), (1024, 224), (683, 224), (5, 1), (1, 299),
             (1024, 299), (768, 299), (299, 299), (2, 3), (7, 2), (1000, 299),
             (4000, 224), (224, 1024), (3, 1000), (17, 16), (16, 17), (2, 1),
             (1, 1), (999, 998), (6000, 299), (13, 299), (300, 299)]
    lines = []
    for s, d in pairs:
        row = np.arange(s, dtype=np.uint16).reshape(1, s)
        r = cv2.resize(row, (d, 1), interpolation=cv2.INTER_NEAREST_EXACT)
        lines.append("%d %d %s" % (s, d, " ".join(str(int(v)) for v in r[0])))
    with open(os.path.join(HERE, "nn_exact.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")

    # --- numpy normalisation reference: float32 bit patterns of
    # x * np.float32(1/127.5) - np.float32(1) for x = 0..255 (uint8 array).
    x = np.arange(256, dtype=np.uint8)
    y = x * np.float32(1 / 127.5) - np.float32(1)
    assert y.dtype == np.float32
    with open(os.path.join(HERE, "norm_numpy.txt"), "w") as f:
        f.write("\n".join("%08x" % v for v in y.view(np.uint32)) + "\n")

    # --- End to end: PNG -> cv2 nearest-exact resize -> numpy normalise ->
    # CHW float32 (little-endian), for RGB and BGR plane order.
    src = rng.randint(0, 256, (23, 37, 3), np.uint8)  # RGB
    out("resize_src.png", png_bytes(src[:, :, ::-1].copy()))
    for (ow, oh) in ((29, 16), (53, 31)):
        r = cv2.resize(src, (ow, oh), interpolation=cv2.INTER_NEAREST_EXACT)
        n = r * np.float32(1 / 127.5) - np.float32(1)
        chw = np.ascontiguousarray(n.transpose(2, 0, 1)).astype("<f4")
        out("resize_%dx%d_rgb.f32" % (ow, oh), chw.tobytes())
        out("resize_%dx%d_bgr.f32" % (ow, oh), chw[::-1].copy().tobytes())


if __name__ == "__main__":
    main()
