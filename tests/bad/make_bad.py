#!/usr/bin/env python3
"""Writes the small hostile inputs of tests/bad/ and their MANIFEST (see README.md).

Run from anywhere: /usr/bin/python3 tests/bad/make_bad.py. Deterministic: rerunning gives
byte-identical files. The .pb files are encoded with Google's protobuf runtime through the
schema in tests/convert_expect.py; the .iqsw files with a small IQSW writer written here
from docs/weights-format.md (not from the C code), so the C reader is checked against an
independent encoder.
"""

import os
import struct
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from convert_expect import graphdef_class  # noqa: E402

DT_FLOAT, DT_INT32, DT_HALF = 1, 3, 19


# ---------------------------------------------------------------- .pb graphs

class G:
    def __init__(self):
        self.g = graphdef_class()()
        self.g.versions.producer = 808

    def node(self, name, op, inputs=(), **attrs):
        n = self.g.node.add(name=name, op=op)
        n.input.extend(inputs)
        for k, v in attrs.items():
            a = n.attr[k]
            if isinstance(v, tuple) and v[0] == "type":
                a.type = v[1]
            elif isinstance(v, tuple) and v[0] == "shape":
                for d in v[1]:
                    a.shape.dim.add(size=d)
            elif isinstance(v, bool):
                a.b = v
            elif isinstance(v, float):
                a.f = v
            elif isinstance(v, int):
                a.i = v
            elif isinstance(v, bytes):
                a.s = v
            elif isinstance(v, list):
                a.list.i.extend(v)
        return n

    def const(self, name, arr, dtype=DT_FLOAT):
        n = self.g.node.add(name=name, op="Const")
        n.attr["dtype"].type = dtype
        t = n.attr["value"].tensor
        t.dtype = dtype
        for d in arr.shape:
            t.tensor_shape.dim.add(size=d)
        if dtype == DT_FLOAT:
            t.tensor_content = arr.astype("<f4").tobytes()
        elif dtype == DT_INT32:
            t.int_val.extend(int(x) for x in arr.reshape(-1))
        elif dtype == DT_HALF:
            t.half_val.extend(int(x) for x in arr.astype(np.float16).view(np.uint16).reshape(-1))
        return n

    def bytes(self):
        return self.g.SerializeToString(deterministic=True)


def tiny(variant=""):
    """A tiny classifier: conv-BN-relu, GAP, dense softmax. Valid protobuf, unknown arch."""
    rng = np.random.default_rng(7)
    g = G()
    side = -1 if variant == "any" else 8
    g.node("input", "Placeholder", dtype=("type", DT_FLOAT), shape=("shape", [-1, side, side, 3]))
    kdt = DT_HALF if variant == "f16" else DT_FLOAT
    if variant == "not_frozen":
        g.node("model/conv2d/kernel", "VarHandleOp", dtype=("type", DT_FLOAT))
        g.node("model/conv2d/Conv2D/ReadVariableOp", "ReadVariableOp", ["model/conv2d/kernel"])
    else:
        g.const("model/conv2d/Conv2D/ReadVariableOp/resource",
                rng.standard_normal((3, 3, 3, 4)).astype(np.float32), kdt)
        g.node("model/conv2d/Conv2D/ReadVariableOp", "Identity",
               ["model/conv2d/Conv2D/ReadVariableOp/resource"], T=("type", DT_FLOAT))
    stride = 2 if variant == "any" else 1
    g.node("model/conv2d/Conv2D", "Conv2D", ["input", "model/conv2d/Conv2D/ReadVariableOp"],
           T=("type", DT_FLOAT), strides=[1, stride, stride, 1], padding=b"SAME",
           data_format=b"NHWC", dilations=[1, 1, 1, 1])
    nbn = 5 if variant == "wrong_shape" else 4
    g.const("model/batch_normalization/Const", np.ones(nbn, np.float32))
    g.const("model/batch_normalization/beta", np.zeros(4, np.float32))
    g.const("model/batch_normalization/mean", np.zeros(4, np.float32))
    g.const("model/batch_normalization/var", np.ones(4, np.float32))
    bn = "model/batch_normalization/FusedBatchNormV3"
    if variant != "missing_layer":
        g.node(bn, "FusedBatchNormV3",
               ["model/conv2d/Conv2D", "model/batch_normalization/Const",
                "model/batch_normalization/beta", "model/batch_normalization/mean",
                "model/batch_normalization/var"],
               T=("type", DT_FLOAT), U=("type", DT_FLOAT), epsilon=0.001, is_training=False,
               data_format=b"NHWC")
    act = "Sigmoid" if variant == "unsupported_op" else "Relu"
    g.node("model/activation/" + act, act, [bn], T=("type", DT_FLOAT))
    if variant == "two_outputs":
        g.node("model/extra/Relu", "Relu", ["model/activation/" + act], T=("type", DT_FLOAT))
    g.const("model/gap/Mean/reduction_indices", np.array([1, 2], np.int32), DT_INT32)
    g.node("model/gap/Mean", "Mean", ["model/activation/" + act, "model/gap/Mean/reduction_indices"],
           T=("type", DT_FLOAT), keep_dims=False)
    g.const("model/dense/MatMul/ReadVariableOp/resource",
            rng.standard_normal((4, 3)).astype(np.float32))
    g.node("model/dense/MatMul", "MatMul", ["model/gap/Mean", "model/dense/MatMul/ReadVariableOp/resource"],
           T=("type", DT_FLOAT), transpose_a=False, transpose_b=False)
    g.const("model/dense/BiasAdd/ReadVariableOp/resource", np.zeros(3, np.float32))
    g.node("model/dense/BiasAdd", "BiasAdd", ["model/dense/MatMul", "model/dense/BiasAdd/ReadVariableOp/resource"],
           T=("type", DT_FLOAT), data_format=b"NHWC")
    g.node("model/dense/Softmax", "Softmax", ["model/dense/BiasAdd"], T=("type", DT_FLOAT))
    g.node("Identity", "Identity", ["model/dense/Softmax"], T=("type", DT_FLOAT))
    return g.bytes()


# --------------------------------------------------------------- .iqsw files

TREC, LREC = 48, 64
NONE = 0xFFFFFFFF


def iqsw(trec=TREC, lrec=LREC, minor=0):
    """A small valid IQSW file (same network as tests/test_iqsw.c) and its section offsets."""
    labels = [b"bad", b"normal", b"good"]
    lnames = [b"input", b"conv", b"block_conv", b"pool", b"mixed", b"gap", b"dense"]
    tdims = [(4, 3, 3, 3), (4,), (4, 4, 1, 1), (4,), (3, 8), (3,)]
    strings = b""
    for s in labels:
        strings += s + b"\0"
    loff = []
    for s in lnames:
        loff.append(len(strings))
        strings += s + b"\0"
    toff = []
    for i in range(len(tdims)):
        toff.append(len(strings))
        strings += b"t%d\0" % i
    tab = 128
    lay = tab + len(tdims) * trec
    st = lay + len(lnames) * lrec
    data = (st + len(strings) + 63) // 64 * 64
    offs, pos = [], data
    for d in tdims:
        offs.append(pos)
        pos = (pos + 4 * int(np.prod(d)) + 63) // 64 * 64
    size = offs[-1] + 4 * int(np.prod(tdims[-1]))
    buf = bytearray(size)
    struct.pack_into("<4sHHIIII", buf, 0, b"IQSW", 1, minor, 128, trec, lrec, 64)
    struct.pack_into("<IIIIIIIffIII", buf, 24, 1, 1, 8, 8, 3, 1, 0, 1 / 127.5, -1.0, 3, 0, 8)
    struct.pack_into("<IIIIII", buf, 72, tab, len(tdims), lay, len(lnames), st, len(strings))
    struct.pack_into("<QQQ", buf, 96, data, size - data, size)
    for i, d in enumerate(tdims):
        dims = list(d) + [1] * (4 - len(d))
        rec = struct.pack("<IIIIIIIIQQ", toff[i], 1, len(d), *dims, 0, offs[i], 4 * int(np.prod(d)))
        buf[tab + i * trec: tab + i * trec + 48] = rec
        vals = (np.arange(int(np.prod(d)), dtype=np.float32) * 0.01 + i).astype("<f4").tobytes()
        buf[offs[i]: offs[i] + len(vals)] = vals
    #          op act n_in  in[4]            out_c kh kw sh sw pt pl pb pr scale  w     b
    layers = [(0, 0, 0, [NONE] * 4, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0.0, NONE, NONE),
              (1, 1, 1, [0, NONE, NONE, NONE], 4, 3, 3, 1, 1, 1, 1, 1, 1, 0.0, 0, 1),
              (1, 0, 2, [1, 1, NONE, NONE], 4, 1, 1, 1, 1, 0, 0, 0, 0, 0.5, 2, 3),
              (2, 0, 1, [2, NONE, NONE, NONE], 0, 2, 2, 2, 2, 0, 0, 0, 0, 0.0, NONE, NONE),
              (4, 0, 2, [3, 3, NONE, NONE], 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0, NONE, NONE),
              (5, 0, 1, [4, NONE, NONE, NONE], 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0, NONE, NONE),
              (6, 2, 1, [5, NONE, NONE, NONE], 3, 0, 0, 0, 0, 0, 0, 0, 0, 0.0, 4, 5)]
    for i, (op, act, nin, ins, oc, kh, kw, sh, sw, pt, pl, pb, pr, sc, w, b) in enumerate(layers):
        rec = struct.pack("<IHHI4IIHHHHHHHHfIII", loff[i], op, act, nin, *ins, oc, kh, kw, sh, sw,
                          pt, pl, pb, pr, sc, w, b, 0)
        buf[lay + i * lrec: lay + i * lrec + 64] = rec
    buf[st: st + len(strings)] = strings
    sec = dict(tab=tab, lay=lay, st=st, data=data, offs=offs, size=size)
    return buf, sec


def seal(buf):
    hs = struct.unpack_from("<I", buf, 8)[0]
    data = struct.unpack_from("<Q", buf, 96)[0]
    meta = zlib.crc32(bytes(buf[hs:data]), zlib.crc32(bytes(buf[0:120])))
    struct.pack_into("<II", buf, 120, meta, zlib.crc32(bytes(buf[data:])))
    return buf


def main():
    out = {}
    manifest = []

    def pb(name, data, needle):
        out[name] = data
        manifest.append("%s EXIT1 %s" % (name, needle))

    def iq(name, data, status, needle=""):
        out[name] = bytes(data)
        manifest.append(("%s %s %s" % (name, status, needle)).rstrip())

    rng = np.random.default_rng(2024)
    pb("random.pb", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(), "")
    t = tiny()
    pb("tiny_unknown_arch.pb", t, "architecture not recognised")
    pb("truncated_small.pb", t[: len(t) * 2 // 3], "malformed protobuf at byte")
    pb("f16_const.pb", tiny("f16"), "DT_HALF")
    pb("missing_layer.pb", tiny("missing_layer"), "does not exist")
    pb("wrong_shape.pb", tiny("wrong_shape"), "BN gamma")
    pb("unsupported_op.pb", tiny("unsupported_op"), "op Sigmoid is not supported")
    pb("not_frozen.pb", tiny("not_frozen"), "expected a Const")
    pb("two_outputs.pb", tiny("two_outputs"), "2 outputs")
    pb("stride2_same_any.pb", tiny("any"), "--input-size")

    b, s = iqsw()
    iq("ok.iqsw", seal(b), "OK")
    b, s = iqsw(56, 72, minor=3)
    iq("newer_minor.iqsw", seal(b), "OK")
    b, s = iqsw()
    b[0:4] = b"GGUF"
    iq("bad_magic.iqsw", seal(b), "E_FORMAT", "magic")
    b, s = iqsw()
    struct.pack_into("<H", b, 4, 2)
    iq("future_major.iqsw", seal(b), "E_VERSION", "major version 2")
    b, s = iqsw()
    seal(b)
    iq("trunc_header.iqsw", b[:100], "E_FORMAT", "header needs 128")
    iq("trunc_tables.iqsw", b[: s["lay"] + 10], "E_FORMAT", "file_size")
    iq("trunc_strings.iqsw", b[: s["st"] + 3], "E_FORMAT", "file_size")
    iq("trunc_data.iqsw", b[: s["offs"][2] + 8], "E_FORMAT", "file_size")
    iq("trunc_last_byte.iqsw", b[:-1], "E_FORMAT", "file_size")
    b, s = iqsw()
    struct.pack_into("<Q", b, s["tab"] + 5 * TREC + 32, (s["size"] + 63) // 64 * 64 + 6400)
    iq("offset_past_end.iqsw", seal(b), "E_FORMAT", "outside the data")
    b, s = iqsw()
    struct.pack_into("<I", b, 88, 1 << 30)
    iq("strings_past_end.iqsw", seal(b), "E_FORMAT", "string table")
    b, s = iqsw()
    struct.pack_into("<Q", b, s["tab"] + 3 * TREC + 32, s["offs"][2])
    iq("overlap.iqsw", seal(b), "E_FORMAT", "overlap")
    b, s = iqsw()
    struct.pack_into("<Q", b, s["tab"] + 1 * TREC + 32, s["offs"][1] + 16)
    iq("misaligned.iqsw", seal(b), "E_FORMAT", "multiple of 64")
    b, s = iqsw()
    struct.pack_into("<Q", b, 96, s["data"] - 8)
    iq("misaligned_data_off.iqsw", seal(b), "E_FORMAT", "multiple of 64")
    b, s = iqsw()
    struct.pack_into("<4I", b, s["tab"] + 12, 1 << 24, 1 << 24, 1 << 24, 1 << 24)
    iq("huge_dims.iqsw", seal(b), "E_FORMAT", "element count")
    b, s = iqsw()
    b[s["tab"] + 4] = 2
    iq("dtype_f64.iqsw", seal(b), "E_UNSUPPORTED", "dtype")
    b, s = iqsw()
    seal(b)
    b[120] ^= 0x01
    iq("crc_meta_flip.iqsw", b, "E_CHECKSUM", "header/table CRC")
    b, s = iqsw()
    seal(b)
    b[127] ^= 0x80
    iq("crc_data_flip.iqsw", b, "E_CHECKSUM", "data CRC")
    b, s = iqsw()
    seal(b)
    b[s["data"] + 17] ^= 0x04
    iq("data_byte_flip.iqsw", b, "E_CHECKSUM", "data CRC")
    b, s = iqsw()
    struct.pack_into("<I", b, s["lay"] + 3 * LREC + 12, 3)
    iq("bad_layer_id.iqsw", seal(b), "E_FORMAT", "earlier layer")
    b, s = iqsw()
    struct.pack_into("<I", b, s["lay"] + 6 * LREC + 52, 77)
    iq("bad_tensor_id.iqsw", seal(b), "E_FORMAT", "weight tensor id 77")
    b, s = iqsw()
    struct.pack_into("<I", b, 80, s["tab"] + 24)
    iq("tables_overlap.iqsw", seal(b), "E_FORMAT", "overlap")

    for name, data in out.items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
    with open(os.path.join(HERE, "MANIFEST"), "w") as f:
        f.write("# file  expected (EXIT1 = convert_pb exits 1; else iqs_iqsw_open status)  "
                "diag/stderr substring\n")
        f.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
