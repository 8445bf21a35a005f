#!/usr/bin/env python3
"""Checks of the generated frozen test graphs (tests/gen) and of the OpenCV reference path.

Prints "PASS name" / "FAIL name" per check; exits 1 if any check failed.
Models are taken from $IQS_MODELS (default build/models); a missing one is generated with
tests/gen/gen_graph.py using the same arguments as tests/gen/make_models.sh.

The GraphDef files are parsed with the official protobuf runtime (google.protobuf, shipped
with onnx) through a descriptor of the TensorFlow messages written out independently below,
so the hand-written encoder in tests/gen/pbwire.py is checked against a real decoder.
Expected node and constant counts are the ones in shared/reference/frozen-graph.md.
"""

import collections
import hashlib
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
GEN = os.path.join(ROOT, "tests", "gen")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, GEN)

import photos  # noqa: E402

PYTHON = os.environ.get("PYTHON", "/usr/bin/python3")
MODELS = os.environ.get("IQS_MODELS", os.path.join(ROOT, "build", "models"))
os.environ.setdefault("IQS_SHARED", os.path.abspath(os.path.join(ROOT, "..", "shared")))

# name -> (arch, style, size, classes, seed); must match tests/gen/make_models.sh
SPECS = {
    "irv2_224_tf2_c3": ("irv2", "tf2", 224, 3, 1),
    "irv2_224_tf1_c3": ("irv2", "tf1", 224, 3, 1),
    "irv2_any_tf2_c3": ("irv2", "tf2", 0, 3, 1),
    "irv2_299_tf2_c10": ("irv2", "tf2", 299, 10, 2),
    "irv2_299_tf1_c3": ("irv2", "tf1", 299, 3, 2),
    "v3_299_tf2_c3": ("v3", "tf2", 299, 3, 3),
    "v3_299_tf1_c3": ("v3", "tf1", 299, 3, 3),
    "v3_224_tf2_c10": ("v3", "tf2", 224, 10, 4),
}

# frozen-graph.md
CENSUS = {
    "irv2_224_tf2_c3": dict(total=2950, Conv2D=244, FusedBatchNormV3=204, Relu=243, ConcatV2=43, BiasAdd=41,
                            Mul=40, AddV2=40, MaxPool=4, AvgPool=1, Mean=1, MatMul=1, Softmax=1,
                            Identity=900, Const=1186, Placeholder=1),
    "v3_299_tf2_c3": dict(total=1190, Conv2D=94, FusedBatchNormV3=94, Relu=95, ConcatV2=15, AvgPool=9,
                          MaxPool=4, Mean=1, MatMul=2, BiasAdd=2, Softmax=1, Identity=382, Const=490,
                          Placeholder=1),
}
FLOATS = {"irv2_224_tf2_c3": 54371619, "v3_299_tf2_c3": 21951331}
GAMMAS = {"irv2_224_tf2_c3": 30272, "v3_299_tf2_c3": 17216}

results = []


def report(name, ok, detail=""):
    results.append(ok)
    print("%s %s%s" % ("PASS" if ok else "FAIL", name, (" : " + detail) if detail else ""))
    sys.stdout.flush()


def check(name, fn):
    try:
        ok, detail = fn()
    except Exception as e:  # a crashing check is a failing check
        ok, detail = False, "%s: %s" % (type(e).__name__, e)
    report(name, ok, detail)
    return ok


# ---- TensorFlow message subset, for google.protobuf -----------------------------------------

def tf_messages():
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    F = descriptor_pb2.FieldDescriptorProto
    fd = descriptor_pb2.FileDescriptorProto(name="iqs_test_tf_subset.proto", package="tfsub", syntax="proto3")

    def message(name, fields, parent=None):
        m = (parent.nested_type if parent is not None else fd.message_type).add(name=name)
        for num, fname, ftype, label, tname in fields:
            f = m.field.add(name=fname, number=num, type=ftype, label=label)
            if tname:
                f.type_name = tname
        return m

    OPT, REP = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    message("TensorShapeProto", [(2, "dim", F.TYPE_MESSAGE, REP, ".tfsub.TensorShapeProto.Dim"),
                                 (3, "unknown_rank", F.TYPE_BOOL, OPT, None)])
    message("Dim", [(1, "size", F.TYPE_INT64, OPT, None), (2, "name", F.TYPE_STRING, OPT, None)],
            parent=fd.message_type[0])
    message("TensorProto", [(1, "dtype", F.TYPE_ENUM, OPT, ".tfsub.DataType"),
                            (2, "tensor_shape", F.TYPE_MESSAGE, OPT, ".tfsub.TensorShapeProto"),
                            (4, "tensor_content", F.TYPE_BYTES, OPT, None),
                            (5, "float_val", F.TYPE_FLOAT, REP, None),
                            (7, "int_val", F.TYPE_INT32, REP, None)])
    av = message("AttrValue", [(1, "list", F.TYPE_MESSAGE, OPT, ".tfsub.AttrValue.ListValue"),
                               (2, "s", F.TYPE_BYTES, OPT, None), (3, "i", F.TYPE_INT64, OPT, None),
                               (4, "f", F.TYPE_FLOAT, OPT, None), (5, "b", F.TYPE_BOOL, OPT, None),
                               (6, "type", F.TYPE_ENUM, OPT, ".tfsub.DataType"),
                               (7, "shape", F.TYPE_MESSAGE, OPT, ".tfsub.TensorShapeProto"),
                               (8, "tensor", F.TYPE_MESSAGE, OPT, ".tfsub.TensorProto")])
    av.oneof_decl.add(name="value")
    for f in av.field:
        f.oneof_index = 0
    message("ListValue", [(2, "s", F.TYPE_BYTES, REP, None), (3, "i", F.TYPE_INT64, REP, None),
                          (4, "f", F.TYPE_FLOAT, REP, None), (5, "b", F.TYPE_BOOL, REP, None),
                          (6, "type", F.TYPE_ENUM, REP, ".tfsub.DataType")], parent=av)
    nd = message("NodeDef", [(1, "name", F.TYPE_STRING, OPT, None), (2, "op", F.TYPE_STRING, OPT, None),
                             (3, "input", F.TYPE_STRING, REP, None), (4, "device", F.TYPE_STRING, OPT, None),
                             (5, "attr", F.TYPE_MESSAGE, REP, ".tfsub.NodeDef.AttrEntry")])
    entry = message("AttrEntry", [(1, "key", F.TYPE_STRING, OPT, None),
                                  (2, "value", F.TYPE_MESSAGE, OPT, ".tfsub.AttrValue")], parent=nd)
    entry.options.map_entry = True
    message("VersionDef", [(1, "producer", F.TYPE_INT32, OPT, None)])
    message("GraphDef", [(1, "node", F.TYPE_MESSAGE, REP, ".tfsub.NodeDef"),
                         (4, "versions", F.TYPE_MESSAGE, OPT, ".tfsub.VersionDef")])
    en = fd.enum_type.add(name="DataType")
    for n, v in (("DT_INVALID", 0), ("DT_FLOAT", 1), ("DT_DOUBLE", 2), ("DT_INT32", 3)):
        en.value.add(name=n, number=v)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    desc = pool.FindMessageTypeByName("tfsub.GraphDef")
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(pool).GetPrototype(desc)


_GraphDef = None


def parse(path):
    global _GraphDef
    if _GraphDef is None:
        _GraphDef = tf_messages()
    g = _GraphDef()
    with open(path, "rb") as fh:
        g.ParseFromString(fh.read())
    return g


def const_elems(node):
    t = node.attr["value"].tensor
    dims = [d.size for d in t.tensor_shape.dim]
    n = int(np.prod(dims)) if dims else 1
    return t, dims, n


# ---- helpers ---------------------------------------------------------------------------------

def model_path(name):
    p = os.path.join(MODELS, name + ".pb")
    if not os.path.exists(p):
        arch, style, size, classes, seed = SPECS[name]
        os.makedirs(MODELS, exist_ok=True)
        subprocess.run([PYTHON, os.path.join(GEN, "gen_graph.py"), "--arch", arch, "--style", style,
                        "--size", str(size), "--classes", str(classes), "--seed", str(seed), "--out", p,
                        "--cache-dir", os.path.join(MODELS, "cache")], check=True, stdout=subprocess.DEVNULL)
    return p


def input_size(name):
    return SPECS[name][2] or 224


_nets = {}


def run_opencv(name, paths):
    import cv2
    if name not in _nets:
        _nets.clear()  # one large net at a time
        _nets[name] = cv2.dnn.readNetFromTensorflow(model_path(name))
    net = _nets[name]
    out = []
    for p in paths:
        x = photos.preprocess(p, input_size(name)).transpose(2, 0, 1)[None]
        net.setInput(np.ascontiguousarray(x))
        out.append(np.asarray(net.forward(), dtype=np.float64).reshape(-1))
    return np.array(out)


ALL = photos.photo_paths()
THREE = [ALL[0], ALL[len(ALL) // 2], ALL[-1]]
_cache3 = {}


def probs3(name):
    if name not in _cache3:
        _cache3[name] = run_opencv(name, THREE)
    return _cache3[name]


# ---- checks ----------------------------------------------------------------------------------

def check_loads(name):
    def fn():
        p = probs3(name)
        classes = SPECS[name][3]
        ok = p.shape == (3, classes) and np.isfinite(p).all() and (p >= 0).all() \
            and np.abs(p.sum(axis=1) - 1).max() < 1e-4
        return ok, "shape %s, sums %s, top %s" % (p.shape, np.round(p.sum(axis=1), 6).tolist(),
                                                  np.round(p.max(axis=1), 4).tolist())
    return fn


def check_healthy(name):
    def fn():
        p = run_opencv(name, ALL)
        top = p.max(axis=1)
        classes = SPECS[name][3]
        distinct = len(set(p.argmax(axis=1).tolist()))
        ok = top.max() <= 0.97 and top.min() >= 1.0 / classes + 0.01 and top.std() > 0.02 and distinct >= 2
        return ok, "%d photos: top-prob min %.3f median %.3f max %.3f std %.3f, %d distinct argmax" % (
            len(ALL), top.min(), np.median(top), top.max(), top.std(), distinct)
    return fn


def check_census(name):
    def fn():
        g = parse(model_path(name))
        ops = collections.Counter(n.op for n in g.node)
        want = CENSUS[name]
        got = dict(ops)
        got["total"] = len(g.node)
        bad = {k: (got.get(k, 0), v) for k, v in want.items() if got.get(k, 0) != v}
        extra = sorted(set(ops) - set(want))
        return not bad and not extra, "%d nodes%s%s" % (
            len(g.node), "; mismatches (got, want) %s" % bad if bad else "",
            "; unexpected ops %s" % extra if extra else "")
    return fn


def check_floats(name):
    def fn():
        g = parse(model_path(name))
        total = scalars = gammas = 0
        badlen = []
        for n in g.node:
            if n.op != "Const" or n.attr["dtype"].type != 1:
                continue
            t, dims, cnt = const_elems(n)
            stored = len(t.tensor_content) // 4 if t.tensor_content else len(t.float_val)
            if stored != cnt:
                badlen.append(n.name)
            if dims:
                total += cnt
            else:
                scalars += 1
            if n.name.endswith(("/Const", "/scale")):
                vals = np.frombuffer(t.tensor_content, "<f4")
                if (vals == 1.0).all():
                    gammas += cnt
        want = FLOATS[name]
        want_scalars = 40 if name.startswith("irv2") else 0
        ok = total == want and not badlen and scalars == want_scalars and gammas == GAMMAS[name]
        return ok, "%d floats in tensors (doc %d), %d ones-gammas (doc %d), %d float scalars (mul/y, " \
                   "not in the doc's count)%s" % (total, want, gammas, GAMMAS[name], scalars,
                                                 "; bad sizes %s" % badlen[:3] if badlen else "")
    return fn


def check_structure(name):
    """Every input resolves to an earlier node; convs are NHWC with HWIO kernels matching the
    producer's channel count; BN attributes as Keras freezes them; placeholder shape."""
    def fn():
        g = parse(model_path(name))
        arch, style, size, classes, seed = SPECS[name]
        seen = {}
        chans = {}
        errs = []
        consts = {}
        for n in g.node:
            for i in n.input:
                if i.split(":")[0] not in seen:
                    errs.append("%s uses %s before it is defined" % (n.name, i))
            seen[n.name] = n
            a = n.attr
            if n.op == "Const":
                t, dims, _ = const_elems(n)
                consts[n.name] = dims
            elif n.op == "Identity":
                src = n.input[0]
                if src in consts:
                    consts[n.name] = consts[src]
                chans[n.name] = chans.get(src)
            elif n.op == "Placeholder":
                dims = [d.size for d in a["shape"].shape.dim]
                want = [-1, size, size, 3] if size else [-1, -1, -1, 3]
                if dims != want:
                    errs.append("placeholder shape %s" % dims)
                chans[n.name] = 3
            elif n.op == "Conv2D":
                k = consts.get(n.input[1])
                cin = chans.get(n.input[0])
                if a["data_format"].s != b"NHWC" or a["padding"].s not in (b"SAME", b"VALID"):
                    errs.append("%s attrs" % n.name)
                if k is None or len(k) != 4 or k[2] != cin:
                    errs.append("%s kernel %s for %s input channels" % (n.name, k, cin))
                else:
                    chans[n.name] = k[3]
            elif n.op.startswith("FusedBatchNorm"):
                if abs(a["epsilon"].f - 0.001) > 1e-9 or a["is_training"].b:
                    errs.append("%s attrs" % n.name)
                if n.op != ("FusedBatchNormV3" if style == "tf2" else "FusedBatchNorm"):
                    errs.append("%s op %s" % (n.name, n.op))
                chans[n.name] = chans.get(n.input[0])
            elif n.op == "ConcatV2":
                chans[n.name] = sum(chans.get(i, 0) or 0 for i in n.input[:-1])
                if a["N"].i != len(n.input) - 1:
                    errs.append("%s N" % n.name)
            elif n.op == "MatMul":
                chans[n.name] = consts[n.input[1]][1]
            else:
                chans[n.name] = chans.get(n.input[0]) if n.input else None
        last = g.node[-1]
        want_out = ("Identity" if style == "tf2" else "Softmax")
        if last.op != want_out or chans.get(last.name) != classes:
            errs.append("output node %s %s with %s classes" % (last.name, last.op, chans.get(last.name)))
        if style == "tf1" and any(n.op in ("AddV2", "FusedBatchNormV3") for n in g.node):
            errs.append("tf1 graph has TF2 ops")
        return not errs, "; ".join(errs[:4]) if errs else "%d nodes, output %s" % (len(g.node), last.name)
    return fn


def check_same_outputs(a, b):
    def fn():
        pa, pb = probs3(a), probs3(b)
        d = np.abs(pa - pb).max()
        return d == 0.0, "max |d prob| %.3g on %d photos" % (d, len(THREE))
    return fn


def check_reproducible(name):
    """Regenerates without the calibration cache (fresh float64 calibration) and compares bytes
    with the file made by make_models.sh (there a replay of the cached calibration)."""
    def fn():
        arch, style, size, classes, seed = SPECS[name]
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, name + ".pb")
            subprocess.run([PYTHON, os.path.join(GEN, "gen_graph.py"), "--arch", arch, "--style", style,
                            "--size", str(size), "--classes", str(classes), "--seed", str(seed), "--out", out,
                            "--no-cache"], check=True, stdout=subprocess.DEVNULL)
            h1 = hashlib.sha256(open(out, "rb").read()).hexdigest()
        h0 = hashlib.sha256(open(model_path(name), "rb").read()).hexdigest()
        return h0 == h1, "sha256 %s %s %s" % (h0[:16], "==" if h0 == h1 else "!=", h1[:16])
    return fn


def check_calibration_agrees(name):
    """The generator's own float64 forward pass (calibration photos) vs OpenCV on the .pb:
    catches any mismatch between the weights computed and the graph written."""
    def fn():
        import gen_graph
        arch, style, size, classes, seed = SPECS[name]
        _, info = gen_graph.generate(arch, style, size, classes, seed, os.path.join(MODELS, "cache"))
        p = run_opencv(name, info["calib_paths"])
        d = np.abs(p - info["calib_probs"]).max()
        return d < 1e-4, "max |d prob| %.2g over %d calibration photos (tolerance 1e-4)" % (d, len(p))
    return fn


def check_opencv_ref_script():
    """tests/ref/opencv_ref.py: the .f32 it writes is the preprocessed CHW tensor, --from-f32 on
    that file reproduces the .probs exactly, .probs match a direct OpenCV run, and --bgr feeds
    the channel-swapped tensor."""
    def fn():
        name = "v3_224_tf2_c10"
        script = os.path.join(ROOT, "tests", "ref", "opencv_ref.py")
        img = ALL[3]
        base = os.path.splitext(os.path.basename(img))[0]

        def run(*args):
            subprocess.run([PYTHON, script, "--pb", model_path(name), "--size", "224"] + list(args),
                           check=True, stdout=subprocess.DEVNULL)

        with tempfile.TemporaryDirectory() as d:
            out = lambda sub, ext: os.path.join(d, sub, base + ext)
            run("--out-dir", os.path.join(d, "rgb"), img)
            run("--out-dir", os.path.join(d, "bgr"), "--bgr", img)
            run("--out-dir", os.path.join(d, "f32"), "--from-f32", out("rgb", ".f32"))
            f32 = np.fromfile(out("rgb", ".f32"), "<f4")
            bgr = np.fromfile(out("bgr", ".f32"), "<f4")
            texts = {sub: open(out(sub, ".probs")).read() for sub in ("rgb", "bgr", "f32")}
        want = photos.preprocess(img, 224).transpose(2, 0, 1)
        p_rgb = np.array(texts["rgb"].split(), dtype=np.float64)
        p_bgr = np.array(texts["bgr"].split(), dtype=np.float64)
        direct = run_opencv(name, [img])[0]
        errs = []
        if not np.array_equal(f32, want.reshape(-1)):
            errs.append(".f32 is not the preprocessed CHW tensor")
        if not np.array_equal(bgr, want[::-1].reshape(-1)):
            errs.append("--bgr tensor is not the channel swap")
        if texts["f32"] != texts["rgb"]:
            errs.append("--from-f32 output differs")
        if p_rgb.shape != (10,) or np.abs(p_rgb - direct).max() > 1e-8:
            errs.append(".probs differ from a direct run")
        elif np.abs(p_rgb - p_bgr).max() < 1e-3:
            errs.append("--bgr gives the same output")
        return not errs, "; ".join(errs) if errs else "max |d prob| rgb vs bgr %.3f" % np.abs(p_rgb - p_bgr).max()
    return fn

def main():
    if len(ALL) < 8:
        report("photos_present", False, "need the 25 photos in %s" % photos.photo_dir())
        return 1
    for name in SPECS:
        check("opencv_loads_%s" % name, check_loads(name))
    check("healthy_softmax_irv2_224_tf2_c3", check_healthy("irv2_224_tf2_c3"))
    check("healthy_softmax_v3_299_tf2_c3", check_healthy("v3_299_tf2_c3"))
    for name in CENSUS:
        check("census_%s" % name, check_census(name))
        check("float_count_%s" % name, check_floats(name))
    for name in ("irv2_224_tf2_c3", "irv2_224_tf1_c3", "irv2_any_tf2_c3", "v3_299_tf1_c3", "v3_224_tf2_c10"):
        check("structure_%s" % name, check_structure(name))
    check("tf1_equals_tf2_irv2_224", check_same_outputs("irv2_224_tf2_c3", "irv2_224_tf1_c3"))
    check("tf1_equals_tf2_v3_299", check_same_outputs("v3_299_tf2_c3", "v3_299_tf1_c3"))
    check("any_size_equals_224_irv2", check_same_outputs("irv2_224_tf2_c3", "irv2_any_tf2_c3"))
    check("calibration_float64_vs_opencv_irv2_224", check_calibration_agrees("irv2_224_tf2_c3"))
    check("calibration_float64_vs_opencv_v3_224_c10", check_calibration_agrees("v3_224_tf2_c10"))
    check("opencv_ref_script", check_opencv_ref_script())
    check("same_seed_byte_identical_v3_299_tf1_c3", check_reproducible("v3_299_tf1_c3"))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
