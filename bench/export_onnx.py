#!/usr/bin/env python3
"""Exports an IQSW weights file to ONNX, for the ONNX Runtime anchor of the benchmark only.

  export_onnx.py MODEL.iqsw OUT.onnx [--size N]

The IQSW file is read with struct (layout: lib/format/iqsw.h), so ONNX Runtime runs exactly the
weights iqs runs: batch norm is already folded into the convolution weights and biases, pads are
explicit four-sided numbers, the layer table is in canonical order. Each layer becomes:

  CONV     Conv(x, W, B) [+ Mul(scale) + Add(shortcut)] [+ Relu]   (residual: x + s*(Wx+b))
  MAXPOOL  MaxPool with explicit pads
  AVGPOOL  AveragePool, count_include_pad=0 (TensorFlow divides by the valid cells)
  CONCAT   Concat on the channel axis
  GAP      GlobalAveragePool + Flatten
  DENSE    Gemm(transB=1) + Relu | Softmax

Input "input" is the preprocessed NCHW float tensor [1, 3, H, W] (what iqs_classify_tensor and
OpenCV's net.setInput get); output "probs" is [1, classes]. Node names are "L<id>_<op>" so a
profile can be mapped back to the layer table.
"""

import argparse
import mmap
import os
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OP_INPUT, OP_CONV, OP_MAXPOOL, OP_AVGPOOL, OP_CONCAT, OP_GAP, OP_DENSE = range(7)
ACT_NONE, ACT_RELU, ACT_SOFTMAX = range(3)
NONE = 0xFFFFFFFF


def read_iqsw(path):
    with open(path, "rb") as fh:
        buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    if buf[:4] != b"IQSW":
        raise SystemExit("%s: not an IQSW file" % path)
    u32 = lambda off: struct.unpack_from("<I", buf, off)[0]  # noqa: E731
    major = struct.unpack_from("<H", buf, 4)[0]
    if major != 1:
        raise SystemExit("%s: IQSW major version %d, this exporter reads 1" % (path, major))
    h = {
        "tensor_rec": u32(12), "layer_rec": u32(16), "arch": u32(24),
        "input_h": u32(32), "input_w": u32(36), "input_c": u32(40),
        "classes": u32(60), "default_side": u32(68),
        "tensors_off": u32(72), "tensor_count": u32(76),
        "layers_off": u32(80), "layer_count": u32(84),
        "strings_off": u32(88), "strings_size": u32(92),
    }

    def string(off):
        start = h["strings_off"] + off
        end = buf.find(b"\0", start)
        return buf[start:end].decode("utf-8", "replace")

    tensors = []
    for i in range(h["tensor_count"]):
        o = h["tensors_off"] + i * h["tensor_rec"]
        name, dtype, rank = struct.unpack_from("<III", buf, o)
        dims = struct.unpack_from("<4I", buf, o + 12)[:rank]
        offset, nbytes = struct.unpack_from("<QQ", buf, o + 32)
        if dtype != 1 or nbytes != 4 * int(np.prod(dims)):
            raise SystemExit("tensor %d: unsupported dtype %d or size" % (i, dtype))
        arr = np.frombuffer(buf, dtype="<f4", count=nbytes // 4, offset=offset).reshape(dims)
        tensors.append((string(name), arr))

    layers = []
    for i in range(h["layer_count"]):
        o = h["layers_off"] + i * h["layer_rec"]
        name, op, act, n_in = struct.unpack_from("<IHHI", buf, o)
        ins = struct.unpack_from("<4I", buf, o + 12)[:n_in]
        out_c = u32(o + 28)
        kh, kw, sh, sw, pt, pl, pb, pr = struct.unpack_from("<8H", buf, o + 32)
        scale, weight, bias = struct.unpack_from("<fII", buf, o + 48)
        layers.append(dict(name=string(name), op=op, act=act, ins=list(ins), out_c=out_c,
                           k=(kh, kw), s=(sh, sw), pads=(pt, pl, pb, pr), scale=scale,
                           weight=weight, bias=bias))
    return h, tensors, layers


def export(src, dst, size=0):
    h, tensors, layers = read_iqsw(src)
    ih, iw = h["input_h"], h["input_w"]
    if ih == 0 or iw == 0:
        ih = iw = size or h["default_side"]
    elif size and (size, size) != (ih, iw):
        raise SystemExit("%s takes %dx%d input only" % (src, ih, iw))
    nodes, inits = [], []
    used = set()

    def init(tid):
        name = "t%d" % tid
        if tid not in used:
            used.add(tid)
            inits.append(numpy_helper.from_array(np.ascontiguousarray(tensors[tid][1]), name))
        return name

    def const(name, value):
        inits.append(numpy_helper.from_array(np.array(value, dtype=np.float32), name))
        return name

    v = lambda i: "v%d" % i  # noqa: E731
    last = len(layers) - 1
    for i, L in enumerate(layers):
        op, nm = L["op"], "L%d" % i
        out = "probs" if i == last else v(i)
        if op == OP_INPUT:
            continue
        x = v(L["ins"][0]) if L["ins"][0] != 0 else "input"
        ins = [v(j) if j != 0 else "input" for j in L["ins"]]
        if op == OP_CONV:
            conv_in = [x, init(L["weight"])] + ([init(L["bias"])] if L["bias"] != NONE else [])
            res = len(ins) == 2
            relu = L["act"] == ACT_RELU
            y = out if not (res or relu) else nm + "_conv"
            nodes.append(helper.make_node("Conv", conv_in, [y], name=nm + "_conv",
                                          kernel_shape=list(L["k"]), strides=list(L["s"]),
                                          pads=list(L["pads"])))
            if res:
                s = const(nm + "_scale", L["scale"])
                nodes.append(helper.make_node("Mul", [y, s], [nm + "_mul"], name=nm + "_mul"))
                y2 = out if not relu else nm + "_add"
                nodes.append(helper.make_node("Add", [ins[1], nm + "_mul"], [y2], name=nm + "_add"))
                y = y2
            if relu:
                nodes.append(helper.make_node("Relu", [y], [out], name=nm + "_relu"))
        elif op in (OP_MAXPOOL, OP_AVGPOOL):
            kw = dict(kernel_shape=list(L["k"]), strides=list(L["s"]), pads=list(L["pads"]))
            if op == OP_MAXPOOL:
                nodes.append(helper.make_node("MaxPool", [x], [out], name=nm + "_maxpool", **kw))
            else:
                nodes.append(helper.make_node("AveragePool", [x], [out], name=nm + "_avgpool",
                                              count_include_pad=0, **kw))
        elif op == OP_CONCAT:
            nodes.append(helper.make_node("Concat", ins, [out], name=nm + "_concat", axis=1))
        elif op == OP_GAP:
            nodes.append(helper.make_node("GlobalAveragePool", [x], [nm + "_gap"], name=nm + "_gap"))
            nodes.append(helper.make_node("Flatten", [nm + "_gap"], [out], name=nm + "_flatten",
                                          axis=1))
        elif op == OP_DENSE:
            y = nm + "_gemm" if L["act"] != ACT_NONE else out
            gin = [x, init(L["weight"])] + ([init(L["bias"])] if L["bias"] != NONE else [])
            nodes.append(helper.make_node("Gemm", gin, [y], name=nm + "_gemm", transB=1))
            if L["act"] == ACT_RELU:
                nodes.append(helper.make_node("Relu", [y], [out], name=nm + "_relu"))
            elif L["act"] == ACT_SOFTMAX:
                nodes.append(helper.make_node("Softmax", [y], [out], name=nm + "_softmax", axis=1))
        else:
            raise SystemExit("layer %d: unknown op %d" % (i, op))

    graph = helper.make_graph(
        nodes, "iqs_" + os.path.splitext(os.path.basename(src))[0],
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, ih, iw])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, h["classes"]])],
        inits)
    model = helper.make_model(graph, producer_name="iqs bench/export_onnx.py",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7  # readable by every ONNX Runtime since 1.6
    onnx.checker.check_model(model)
    tmp = dst + ".tmp"
    onnx.save(model, tmp)
    os.replace(tmp, dst)
    return len(nodes), ih


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("iqsw")
    ap.add_argument("onnx")
    ap.add_argument("--size", type=int, default=0, help="input side for 'any size' files")
    a = ap.parse_args(argv)
    n, side = export(a.iqsw, a.onnx, a.size)
    print("%s: %d ONNX nodes, input 1x3x%dx%d" % (a.onnx, n, side, side))
    return 0


if __name__ == "__main__":
    sys.exit(main())
