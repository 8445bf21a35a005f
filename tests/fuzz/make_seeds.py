#!/usr/bin/python3
"""Writes the seed corpora of the fuzz harnesses (tests/fuzz/corpus/<name>/).

Deterministic; run from the repository root:
    /usr/bin/python3 tests/fuzz/make_seeds.py [--models build/models] [--shared ../shared]
Sources: the generated models and graphs (make models), the shared test
photos, tests/img. Everything written is small (< 2 MB in all); tests/bad/
is given to every harness at run time and is not copied.

  model/   header+tables prefix (exactly data_off bytes) of generated .iqsw files
  iqsw/    a few small valid or nearly valid files written here from scratch
  pb/      "skeletons" of the generated graphs (every float tensor_content
           replaced by a single float_val: the same graph, valid, ~100 KB),
           the first 4 KiB of each graph, and a skeleton cut in half
  image/   photos downscaled to 48-96 px as JPEG (baseline, progressive),
           PNG, BMP, PPM/PGM; small tests/img images (EXIF orientation, 16-bit,
           gray, alpha, restart markers, the decompression bombs)
  assess/  5 option bytes + raw pixels (see fuzz_assess.c)
  xmp/     sidecars: digiKam, darktable and Adobe styles, attribute and element
           forms, a BOM, comments, an empty rdf:RDF
"""
import argparse
import os
import struct
import sys
import zlib

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def wr(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ------------------------------------------------------------ protobuf
def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return v, i


def fields(b):
    """Yields (field, wire type, raw bytes of the whole field, payload)."""
    i = 0
    while i < len(b):
        start = i
        k, i = read_varint(b, i)
        f, wt = k >> 3, k & 7
        if wt == 0:
            _, i = read_varint(b, i)
            payload = None
        elif wt == 1:
            i += 8
            payload = None
        elif wt == 5:
            i += 4
            payload = None
        elif wt == 2:
            n, i = read_varint(b, i)
            payload = b[i:i + n]
            i += n
        else:
            raise ValueError("wire type %d" % wt)
        yield f, wt, b[start:i], payload


def ld(field, payload):
    return varint((field << 3) | 2) + varint(len(payload)) + payload


def slim_tensor(t):
    """TensorProto: float tensor_content (field 4) -> one float_val (5)."""
    dtype = 0
    for f, wt, raw, p in fields(t):
        if f == 1 and wt == 0:
            dtype = read_varint(raw, 1)[0]
    out = bytearray()
    for f, wt, raw, p in fields(t):
        if f == 4 and dtype == 1 and len(p) > 16:
            out += ld(5, p[:4])
        else:
            out += raw
    return bytes(out)


def slim_attr_value(a):
    out = bytearray()
    for f, wt, raw, p in fields(a):
        out += ld(8, slim_tensor(p)) if f == 8 and wt == 2 else raw
    return bytes(out)


def slim_entry(e):
    out = bytearray()
    for f, wt, raw, p in fields(e):
        out += ld(2, slim_attr_value(p)) if f == 2 and wt == 2 else raw
    return bytes(out)


def slim_node(n):
    out = bytearray()
    for f, wt, raw, p in fields(n):
        out += ld(5, slim_entry(p)) if f == 5 and wt == 2 else raw
    return bytes(out)


def skeleton(pb):
    out = bytearray()
    for f, wt, raw, p in fields(pb):
        out += ld(1, slim_node(p)) if f == 1 and wt == 2 else raw
    return bytes(out)


# ------------------------------------------------------------ builders
def seeds_model(models, out):
    for name in ("irv2_any_tf2_c3", "irv2_299_tf2_c10", "v3_299_tf1_c3", "v3_224_tf2_c10"):
        p = os.path.join(models, name + ".iqsw")
        if not os.path.exists(p):
            print("make_seeds: %s missing (make models)" % p, file=sys.stderr)
            continue
        with open(p, "rb") as f:
            head = f.read(128)
            doff = struct.unpack_from("<Q", head, 96)[0]
            f.seek(0)
            wr(out, name + ".prefix", f.read(doff))


def seeds_pb(models, out):
    for name in ("irv2_any_tf2_c3", "v3_299_tf1_c3", "v3_224_tf2_c10"):
        p = os.path.join(models, name + ".pb")
        if not os.path.exists(p):
            print("make_seeds: %s missing (make models)" % p, file=sys.stderr)
            continue
        with open(p, "rb") as f:
            pb = f.read()
        sk = skeleton(pb)
        wr(out, name + ".skel.pb", sk)
        wr(out, name + ".head4k.pb", pb[:4096])
        if name.startswith("v3_299"):
            wr(out, name + ".skel_half.pb", sk[: len(sk) // 2])


def iqsw_file(n_tensors, dims_list, labels=b"a\0b\0c\0"):
    """A minimal file: tensors only, no layers (the reader accepts it; the
    model openers refuse the architecture)."""
    strings = b"\0" + b"".join(b"t%d\0" % i for i in range(n_tensors)) + labels
    t_off = 128
    l_off = t_off + 48 * n_tensors
    s_off = l_off
    data_off = (s_off + len(strings) + 63) // 64 * 64
    recs = bytearray()
    data = bytearray()
    name = 1
    for i, dims in enumerate(dims_list):
        n = 1
        for d in dims:
            n *= d
        d4 = list(dims) + [1] * (4 - len(dims))
        off = data_off + len(data)
        recs += struct.pack("<IIIIIIIIQQ", name, 1, len(dims), *d4, 0, off, 4 * n)
        name += len(b"t%d\0" % i)
        data += struct.pack("<%df" % n, *[0.5 * k for k in range(n)])
        data += b"\0" * ((-len(data)) % 64)
    lab = strings.index(labels)
    h = bytearray(128)
    h[0:4] = b"IQSW"
    struct.pack_into("<HHIIII", h, 4, 1, 0, 128, 48, 64, 64)
    struct.pack_into("<IIIIIIIff", h, 24, 1, 1, 0, 0, 3, 1, 0, 1 / 127.5, -1.0)
    struct.pack_into("<IIIIIIIIIQQQ", h, 60, 3, lab, 224, t_off, n_tensors, l_off, 0,
                     s_off, len(strings), data_off, len(data), data_off + len(data))
    f = bytearray(h) + recs + strings
    f += b"\0" * (data_off - len(f)) + data
    meta = zlib.crc32(bytes(f[0:120]))
    meta = zlib.crc32(bytes(f[128:data_off]), meta)
    struct.pack_into("<II", f, 120, meta, zlib.crc32(bytes(f[data_off:])))
    return bytes(f)


def seeds_iqsw(out):
    wr(out, "one_tensor.iqsw", iqsw_file(1, [(4,)]))
    wr(out, "three_tensors.iqsw", iqsw_file(3, [(2, 3), (1, 2, 2, 2), (5,)]))


def seeds_image(shared, out):
    photos = os.path.join(shared, "testdata", "photos")
    names = sorted(n for n in os.listdir(photos) if n.lower().endswith(".jpg"))[:6]
    for k, n in enumerate(names):
        im = cv2.imread(os.path.join(photos, n), cv2.IMREAD_COLOR)
        side = (48, 64, 96)[k % 3]
        h, w = im.shape[:2]
        s = side / max(h, w)
        im = cv2.resize(im, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA)
        base = os.path.splitext(n)[0]
        ok, b = cv2.imencode(".jpg", im, [cv2.IMWRITE_JPEG_QUALITY, 80])
        wr(out, base + ".jpg", b.tobytes())
        if k == 0:
            ok, b = cv2.imencode(".jpg", im, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
            wr(out, base + ".prog.jpg", b.tobytes())
            ok, b = cv2.imencode(".bmp", im)
            wr(out, base + ".bmp", b.tobytes())
            ok, b = cv2.imencode(".ppm", im)
            wr(out, base + ".ppm", b.tobytes())
            ok, b = cv2.imencode(".pgm", cv2.cvtColor(im, cv2.COLOR_BGR2GRAY))
            wr(out, base + ".pgm", b.tobytes())
        if k == 1:
            ok, b = cv2.imencode(".png", im)
            wr(out, base + ".png", b.tobytes())
            ok, b = cv2.imencode(".jpg", cv2.cvtColor(im, cv2.COLOR_BGR2GRAY))
            wr(out, base + ".gray.jpg", b.tobytes())
    img = os.path.join(ROOT, "tests", "img")
    for n in ("bomb.jpg", "bomb.png", "orient_6.jpg", "orient_6.png", "orient_3.jpg",
              "progressive.jpg", "restart.jpg", "gray16.png", "rgb16.png", "rgba.png",
              "gray.png", "one.jpg", "resize_src.png"):
        p = os.path.join(img, n)
        if os.path.exists(p):
            with open(p, "rb") as f:
                wr(out, "img_" + n, f.read())


def seeds_assess(shared, out):
    photos = os.path.join(shared, "testdata", "photos")
    names = sorted(n for n in os.listdir(photos) if n.lower().endswith(".jpg"))[:3]
    for k, n in enumerate(names):
        im = cv2.imread(os.path.join(photos, n), cv2.IMREAD_COLOR)
        im = cv2.resize(im, (64, 48), interpolation=cv2.INTER_AREA)
        rgb = cv2.cvtColor(im, cv2.COLOR_BGR2RGB)
        # byte0: format RGB8 (0 -> 1+0), byte1: width-1, byte2: no padding,
        # all detectors; byte3: preview 64 (index 4); byte4: 90 angles (4)
        wr(out, "%s.rgb" % n[:-4], bytes([0 + (0x80 if k else 0), 63, 0, 4, 4]) + rgb.tobytes())
    gray = (np.arange(40 * 30) % 251).astype(np.uint8)
    wr(out, "ramp.gray", bytes([4, 39, 3, 3, 7]) + gray.tobytes())
    wr(out, "flat.rgba", bytes([2, 15, 0x8f, 0x12, 1]) + bytes([200, 10, 10, 255]) * 256)


XMP_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def seeds_xmp(out):
    digikam = ('<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
               '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">\n'
               ' <rdf:RDF xmlns:rdf="%s">\n'
               '  <rdf:Description rdf:about=""\n'
               '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
               '    xmlns:digiKam="http://www.digikam.org/ns/1.0/"\n'
               '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
               '   xmp:Rating="3"\n   digiKam:PickLabel="2">\n'
               '   <dc:subject>\n    <rdf:Bag>\n     <rdf:li>holiday</rdf:li>\n'
               '    </rdf:Bag>\n   </dc:subject>\n'
               '  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n'
               '<?xpacket end="w"?>' % XMP_RDF)
    wr(out, "digikam.xmp", digikam.encode("latin-1"))
    darktable = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                 '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">\n'
                 ' <rdf:RDF xmlns:rdf="%s">\n'
                 '  <rdf:Description rdf:about=""\n'
                 '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
                 '    xmlns:darktable="http://darktable.sf.net/"\n'
                 '   xmp:Rating="1"\n   darktable:xmp_version="4">\n'
                 '   <darktable:history>\n    <rdf:Seq>\n'
                 '     <rdf:li darktable:operation="exposure" darktable:enabled="1"/>\n'
                 '    </rdf:Seq>\n   </darktable:history>\n'
                 '  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n' % XMP_RDF)
    wr(out, "darktable.xmp", darktable.encode())
    adobe = ('<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
             '<!-- written by hand -->\n'
             '<rdf:RDF xmlns:rdf="%s">\n'
             '<rdf:Description rdf:about="" xmlns:xap="http://ns.adobe.com/xap/1.0/"'
             ' xmlns:dk="http://www.digikam.org/ns/1.0/">\n'
             '<xap:Rating>4</xap:Rating><dk:PickLabel>1</dk:PickLabel>'
             '<xap:Label>Red &amp; &#x42;lue</xap:Label>\n'
             '</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n' % XMP_RDF)
    wr(out, "elements.xmp", adobe.encode())
    wr(out, "empty_rdf.xmp", ('<rdf:RDF xmlns:rdf="%s"></rdf:RDF>' % XMP_RDF).encode())
    wr(out, "default_ns.xmp", ('<RDF xmlns="%s"><Description about=""/></RDF>' % XMP_RDF).encode())
    wr(out, "bom.xmp", b"\xef\xbb\xbf" + ('<rdf:RDF xmlns:rdf="%s"><rdf:Description '
                                          'rdf:about=\'\' xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
                                          "xmp:Rating='5'/></rdf:RDF>" % XMP_RDF).encode())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=os.path.join(ROOT, "build", "models"))
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    a = ap.parse_args()
    c = os.path.join(ROOT, "tests", "fuzz", "corpus")
    seeds_model(a.models, os.path.join(c, "model"))
    seeds_pb(a.models, os.path.join(c, "pb"))
    seeds_iqsw(os.path.join(c, "iqsw"))
    seeds_image(a.shared, os.path.join(c, "image"))
    seeds_assess(a.shared, os.path.join(c, "assess"))
    seeds_xmp(os.path.join(c, "xmp"))


if __name__ == "__main__":
    main()
