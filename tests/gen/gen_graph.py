#!/usr/bin/env python3
"""Writes a frozen TensorFlow GraphDef (.pb) of Keras InceptionResNetV2 or InceptionV3 with a
digiKam-style head and healthy deterministic test weights, without TensorFlow.

  gen_graph.py --arch irv2|v3 --style tf2|tf1 --size 224|299|0 --classes 3|10 --seed N --out F.pb

--size 0 gives an input Placeholder of shape [-1,-1,-1,3] (weights calibrated at 224).
Structure, node names and weight recipe: shared/reference/frozen-graph.md; architecture and
weights: nets.py; protobuf encoding: pbwire.py.

tf2 style (convert_variables_to_constants_v2 of a tf.function around a flattened Keras model):
  Placeholder "inputs", "model/<layer>/..." names, variables as Const ".../ReadVariableOp/resource"
  + Identity ".../ReadVariableOp", FusedBatchNormV3, AddV2, trailing Identity "Identity".
tf1 style (freeze_graph of a TF1 Keras session): Placeholder "input_1", "<layer>/kernel" Const +
  "<layer>/kernel/read" Identity, FusedBatchNorm (v1), Add, output "dense*/Softmax".

The measured calibration numbers and pooled calibration features are cached per
(arch, calibration size, seed) in --cache-dir (default $IQS_MODELS/cache, else <out dir>/cache);
the cache only saves time: a replay redraws the same random numbers and gives the same bytes.
"""

import argparse
import hashlib
import os
import sys
import time

import numpy as np

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import nets  # noqa: E402
import pbwire as pb  # noqa: E402
import photos  # noqa: E402

PRODUCER = 808
N_CALIB = 8


def source_hash():
    """Hash of the generator sources and of the calibration photo set (names and sizes): a
    cache made by other code or from other photos is not reused."""
    h = hashlib.sha256()
    here = os.path.dirname(os.path.abspath(__file__))
    for f in ("nets.py", "photos.py"):
        with open(os.path.join(here, f), "rb") as fh:
            h.update(fh.read())
    for p in photos.calibration_paths(count=N_CALIB):
        h.update(("%s %d\n" % (os.path.basename(p), os.path.getsize(p))).encode())
    return h.hexdigest()[:16]


# ---- emission --------------------------------------------------------------------------------

class Emitter:
    def __init__(self, style):
        self.style = style
        self.nodes = []
        self.out = {}
        self.prefix = "model/" if style == "tf2" else ""

    def node(self, name, op, inputs, attrs):
        self.nodes.append(pb.node_def(name, op, inputs, attrs))
        return name

    def const(self, name, arr):
        arr = np.asarray(arr)
        dt = pb.DT_FLOAT if arr.dtype == np.float32 else pb.DT_INT32
        return self.node(name, "Const", [], {"dtype": pb.a_type(dt), "value": pb.a_tensor(arr)})

    def variable(self, layer, op_scope, var, arr, read_index=""):
        """A frozen variable: returns the name of the Identity that reads it.
        tf2: <op_scope>/ReadVariableOp<idx>/resource -> <op_scope>/ReadVariableOp<idx>
        tf1: <layer>/<var> -> <layer>/<var>/read (with the _class colocation attr)."""
        if self.style == "tf2":
            base = self.prefix + op_scope + "/ReadVariableOp" + read_index
            self.const(base + "/resource", arr)
            return self.node(base, "Identity", [base + "/resource"], {"T": pb.a_type(pb.DT_FLOAT)})
        base = layer + "/" + var
        self.const(base, arr)
        return self.node(base + "/read", "Identity", [base],
                         {"T": pb.a_type(pb.DT_FLOAT), "_class": pb.a_list_str(["loc:@" + base])})


T_F = pb.a_type(pb.DT_FLOAT)


def emit(layers, params, style, input_dims):
    e = Emitter(style)
    p = e.prefix
    tf2 = style == "tf2"
    for L in layers:
        kind, name = L["kind"], L["name"]
        ins = [e.out[i] for i in L["inputs"]]
        if kind == "input":
            ph = "inputs" if tf2 else "input_1"
            attrs = {"dtype": T_F, "shape": pb.a_shape(input_dims)}
            if tf2:
                attrs["_user_specified_name"] = pb.a_str("inputs")
            e.out[name] = e.node(ph, "Placeholder", [], attrs)
        elif kind == "conv":
            k = e.variable(name, name + "/Conv2D", "kernel", params[name + "/kernel"])
            s = L["stride"]
            y = e.node(p + name + "/Conv2D", "Conv2D", [ins[0], k], {
                "T": T_F, "data_format": pb.a_str("NHWC"), "dilations": pb.a_list_int([1, 1, 1, 1]),
                "explicit_paddings": pb.a_list_int([]), "padding": pb.a_str(L["padding"]),
                "strides": pb.a_list_int([1, s, s, 1]), "use_cudnn_on_gpu": pb.a_bool(True)})
            if L["use_bias"]:
                bv = e.variable(name, name + "/BiasAdd", "bias", params[name + "/bias"])
                y = e.node(p + name + "/BiasAdd", "BiasAdd", [y, bv],
                           {"T": T_F, "data_format": pb.a_str("NHWC")})
            e.out[name] = y
        elif kind == "bn":
            c = L["channels"]
            gname = name + ("/Const" if (c <= 128 or not tf2) else "/scale")
            gamma = e.const(p + gname, params[name + "/gamma"])
            op = "FusedBatchNormV3" if tf2 else "FusedBatchNorm"
            beta = e.variable(name, name, "beta", params[name + "/beta"])
            mean = e.variable(name, name + "/" + op, "moving_mean", params[name + "/moving_mean"])
            var = e.variable(name, name + "/" + op, "moving_variance", params[name + "/moving_variance"], "_1")
            attrs = {"T": T_F, "data_format": pb.a_str("NHWC"), "epsilon": pb.a_float(nets.EPS),
                     "is_training": pb.a_bool(False)}
            if tf2:
                attrs["U"] = T_F
                attrs["exponential_avg_factor"] = pb.a_float(1.0)
            e.out[name] = e.node(p + name + "/" + op, op, [ins[0], gamma, beta, mean, var], attrs)
        elif kind == "relu":
            e.out[name] = e.node(p + name + "/Relu", "Relu", ins, {"T": T_F})
        elif kind in ("maxpool", "avgpool"):
            op = "MaxPool" if kind == "maxpool" else "AvgPool"
            k, s = L["k"], L["stride"]
            attrs = {"T": T_F, "data_format": pb.a_str("NHWC"), "ksize": pb.a_list_int([1, k, k, 1]),
                     "padding": pb.a_str(L["padding"]), "strides": pb.a_list_int([1, s, s, 1])}
            if op == "MaxPool" and tf2:
                attrs["explicit_paddings"] = pb.a_list_int([])
            e.out[name] = e.node(p + name + "/" + op, op, ins, attrs)
        elif kind == "concat":
            axis = e.const(p + name + "/concat/axis", np.array(3, np.int32))
            e.out[name] = e.node(p + name + "/concat", "ConcatV2", ins + [axis], {
                "N": pb.a_int(len(ins)), "T": T_F, "Tidx": pb.a_type(pb.DT_INT32)})
        elif kind == "residual":
            y = e.const(p + name + "/mul/y", np.array(L["scale"], np.float32))
            m = e.node(p + name + "/mul", "Mul", [ins[1], y], {"T": T_F})
            e.out[name] = e.node(p + name + "/add", "AddV2" if tf2 else "Add", [ins[0], m], {"T": T_F})
        elif kind == "gap":
            ri = e.const(p + name + "/Mean/reduction_indices", np.array([1, 2], np.int32))
            e.out[name] = e.node(p + name + "/Mean", "Mean", [ins[0], ri], {
                "T": T_F, "Tidx": pb.a_type(pb.DT_INT32), "keep_dims": pb.a_bool(False)})
        elif kind == "dropout":
            e.out[name] = e.node(p + name + "/Identity", "Identity", ins, {"T": T_F})
        elif kind == "dense":
            k = e.variable(name, name + "/MatMul", "kernel", params[name + "/kernel"])
            mm = e.node(p + name + "/MatMul", "MatMul", [ins[0], k], {
                "T": T_F, "transpose_a": pb.a_bool(False), "transpose_b": pb.a_bool(False)})
            bv = e.variable(name, name + "/BiasAdd", "bias", params[name + "/bias"])
            y = e.node(p + name + "/BiasAdd", "BiasAdd", [mm, bv], {"T": T_F, "data_format": pb.a_str("NHWC")})
            act = "Softmax" if L["activation"] == "softmax" else "Relu"
            e.out[name] = e.node(p + name + "/" + act, act, [y], {"T": T_F})
        else:
            raise ValueError(kind)
    if tf2:
        e.node("Identity", "Identity", [e.out[layers[-1]["name"]]], {"T": T_F})
    return e.nodes


# ---- calibration + cache ---------------------------------------------------------------------

def calibrate(arch, size, seed, cache_dir, verbose):
    """Returns (builder, pooled tensor, feats) with every trunk weight set."""
    h = source_hash()
    path = None
    cal = None
    if cache_dir:
        path = os.path.join(cache_dir, "%s_%d_s%d.npz" % (arch, size, seed))
        if os.path.exists(path):
            with np.load(path, allow_pickle=False) as z:
                if str(z["__hash__"]) == h:
                    cal = {k: z[k] for k in z.files if not k.startswith("__")}
                    feats = z["__feats__"]
    rng = np.random.default_rng(seed)
    if cal is not None:
        b, pooled = nets.build(arch, rng, cal=cal)
        return b, pooled, feats
    paths = photos.calibration_paths(count=N_CALIB)
    x = np.stack([photos.preprocess(pth, size) for pth in paths]).astype(np.float64)
    b, pooled = nets.build(arch, rng, x=x)
    feats = pooled.val
    if verbose:
        groups = [("stem", lambda n: n in ("activation", "activation_1", "activation_2", "activation_3",
                                           "activation_4")),
                  ("block35", lambda n: n.startswith("block35_") and n.endswith("_ac")),
                  ("block17", lambda n: n.startswith("block17_") and n.endswith("_ac")),
                  ("block8", lambda n: n.startswith("block8_") and n.endswith("_ac")),
                  ("block8_10", lambda n: n == "block8_10"),
                  ("conv_7b", lambda n: n == "conv_7b_ac"),
                  ("all relu", lambda n: True)]
        parts = []
        for g, f in groups:
            v = [sd for n, sd in b.std if f(n)]
            if v:
                parts.append("%s %.2f-%.2f" % (g, min(v), max(v)))
        sys.stderr.write("  activation std: " + ", ".join(parts) + "\n")
        sys.stderr.write("  pooled feature std %.3f mean %.3f\n" % (feats.std(), feats.mean()))
    if path:
        os.makedirs(cache_dir, exist_ok=True)
        tmp = "%s.%d.tmp.npz" % (path, os.getpid())
        np.savez(tmp, __hash__=np.array(h), __feats__=feats, **b.cal)
        os.replace(tmp, path)
    return b, pooled, feats


def generate(arch, style, size, classes, seed, cache_dir=None, verbose=False):
    """Returns (graphdef bytes, info dict)."""
    cal_size = size if size else 224
    b, pooled, feats = calibrate(arch, cal_size, seed, cache_dir, verbose)
    head_rng = np.random.default_rng([seed, classes, 1000])
    head = nets.choose_head(arch, feats, classes, head_rng)
    nets.add_head(b, arch, pooled, head)
    probs = nets.forward_head(feats, head)
    dims = [-1, size, size, 3] if size else [-1, -1, -1, 3]
    nodes = emit(b.layers, b.params, style, dims)
    data = pb.graph_def(nodes, PRODUCER)
    return data, {"nodes": len(nodes), "calib_probs": probs, "calib_top": probs.max(axis=1),
                  "calib_paths": photos.calibration_paths(count=N_CALIB)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", choices=["irv2", "v3"], required=True)
    ap.add_argument("--style", choices=["tf2", "tf1"], required=True)
    ap.add_argument("--size", type=int, choices=[0, 224, 299], required=True)
    ap.add_argument("--classes", type=int, choices=[3, 10], required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    cache_dir = None
    if not a.no_cache:
        cache_dir = a.cache_dir
        if cache_dir is None:
            base = os.environ.get("IQS_MODELS") or os.path.dirname(os.path.abspath(a.out))
            cache_dir = os.path.join(base, "cache")
    t0 = time.time()
    data, info = generate(a.arch, a.style, a.size, a.classes, a.seed, cache_dir, a.verbose)
    # An identical existing file is left alone (its mtime keys downstream caches).
    same = False
    if os.path.exists(a.out) and os.path.getsize(a.out) == len(data):
        with open(a.out, "rb") as fh:
            same = fh.read() == data
    if not same:
        tmp = "%s.%d.tmp" % (a.out, os.getpid())
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, a.out)
    print("%s: %d nodes, %d bytes, calib top-prob %.3f-%.3f, %.1f s" % (
        a.out, info["nodes"], len(data), info["calib_top"].min(), info["calib_top"].max(), time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
