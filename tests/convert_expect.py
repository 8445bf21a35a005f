#!/usr/bin/env python3
"""Expected values for tests/test_convert.c, computed independently of the C converter.

Decodes a frozen GraphDef with Google's protobuf runtime (a schema built here at run time
from TensorFlow's field numbers, so no TensorFlow is needed), finds every Conv2D and MatMul,
follows their consumers forward (BiasAdd, FusedBatchNorm*, Mul by a scalar Const) and folds
BatchNorm in float64 with numpy:

    s = gamma / sqrt(var + eps),  W' = W * s (HWIO -> OIHW),  b' = (b_in - mean) * s + beta + b_out

Prints, per conv/dense layer (Keras name = node name without the op suffix and "model/"):

    L <name> <CONV|DENSE> <OC> <IC> <KH> <KW> <sum|W'|> <sum W'^2> <residual scale or 0>
    W <name> <flat OIHW index> <value>      (40 deterministic samples)
    B <name> <index> <value>                (every bias value)

Usage: convert_expect.py IN.pb            (expected values)
       convert_expect.py --drop-block BLOCK IN.pb OUT.pb   (a graph missing one residual block)
       import convert_expect; convert_expect.graphdef_class()   (the schema, for tests/bad)
"""

import sys

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto


def _add(msg, name, num, ftype, label=_F.LABEL_OPTIONAL, type_name=None, packed=None):
    f = msg.field.add(name=name, number=num, type=ftype, label=label)
    if type_name:
        f.type_name = type_name
    if packed is not None:
        f.options.packed = packed
    return f


_CACHE = {}


def graphdef_class():
    """GraphDef message class (fields used by frozen inference graphs; others stay unknown)."""
    if "g" in _CACHE:
        return _CACHE["g"]
    fd = descriptor_pb2.FileDescriptorProto(name="iqs_tf_subset.proto", package="iqs_tf",
                                            syntax="proto3")
    R = _F.LABEL_REPEATED
    shape = fd.message_type.add(name="TensorShapeProto")
    dim = shape.nested_type.add(name="Dim")
    _add(dim, "size", 1, _F.TYPE_INT64)
    _add(dim, "name", 2, _F.TYPE_STRING)
    _add(shape, "dim", 2, _F.TYPE_MESSAGE, R, ".iqs_tf.TensorShapeProto.Dim")
    _add(shape, "unknown_rank", 3, _F.TYPE_BOOL)

    t = fd.message_type.add(name="TensorProto")
    _add(t, "dtype", 1, _F.TYPE_INT32)
    _add(t, "tensor_shape", 2, _F.TYPE_MESSAGE, type_name=".iqs_tf.TensorShapeProto")
    _add(t, "version_number", 3, _F.TYPE_INT32)
    _add(t, "tensor_content", 4, _F.TYPE_BYTES)
    _add(t, "float_val", 5, _F.TYPE_FLOAT, R)
    _add(t, "double_val", 6, _F.TYPE_DOUBLE, R)
    _add(t, "int_val", 7, _F.TYPE_INT32, R)
    _add(t, "string_val", 8, _F.TYPE_BYTES, R)
    _add(t, "int64_val", 10, _F.TYPE_INT64, R)
    _add(t, "bool_val", 11, _F.TYPE_BOOL, R)
    _add(t, "half_val", 13, _F.TYPE_INT32, R)

    a = fd.message_type.add(name="AttrValue")
    lv = a.nested_type.add(name="ListValue")
    _add(lv, "s", 2, _F.TYPE_BYTES, R)
    _add(lv, "i", 3, _F.TYPE_INT64, R)
    _add(lv, "f", 4, _F.TYPE_FLOAT, R)
    _add(lv, "b", 5, _F.TYPE_BOOL, R)
    _add(lv, "type", 6, _F.TYPE_INT32, R)
    _add(lv, "shape", 7, _F.TYPE_MESSAGE, R, ".iqs_tf.TensorShapeProto")
    _add(lv, "tensor", 8, _F.TYPE_MESSAGE, R, ".iqs_tf.TensorProto")
    _add(a, "list", 1, _F.TYPE_MESSAGE, type_name=".iqs_tf.AttrValue.ListValue")
    _add(a, "s", 2, _F.TYPE_BYTES)
    _add(a, "i", 3, _F.TYPE_INT64)
    _add(a, "f", 4, _F.TYPE_FLOAT)
    _add(a, "b", 5, _F.TYPE_BOOL)
    _add(a, "type", 6, _F.TYPE_INT32)
    _add(a, "shape", 7, _F.TYPE_MESSAGE, type_name=".iqs_tf.TensorShapeProto")
    _add(a, "tensor", 8, _F.TYPE_MESSAGE, type_name=".iqs_tf.TensorProto")

    n = fd.message_type.add(name="NodeDef")
    entry = n.nested_type.add(name="AttrEntry")
    entry.options.map_entry = True
    _add(entry, "key", 1, _F.TYPE_STRING)
    _add(entry, "value", 2, _F.TYPE_MESSAGE, type_name=".iqs_tf.AttrValue")
    _add(n, "name", 1, _F.TYPE_STRING)
    _add(n, "op", 2, _F.TYPE_STRING)
    _add(n, "input", 3, _F.TYPE_STRING, R)
    _add(n, "device", 4, _F.TYPE_STRING)
    _add(n, "attr", 5, _F.TYPE_MESSAGE, R, ".iqs_tf.NodeDef.AttrEntry")

    vd = fd.message_type.add(name="VersionDef")
    _add(vd, "producer", 1, _F.TYPE_INT32)
    g = fd.message_type.add(name="GraphDef")
    _add(g, "node", 1, _F.TYPE_MESSAGE, R, ".iqs_tf.NodeDef")
    _add(g, "versions", 4, _F.TYPE_MESSAGE, type_name=".iqs_tf.VersionDef")

    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    desc = pool.FindMessageTypeByName("iqs_tf.GraphDef")
    if hasattr(message_factory, "GetMessageClass"):
        cls = message_factory.GetMessageClass(desc)
    else:
        cls = message_factory.MessageFactory(pool).GetPrototype(desc)
    _CACHE["g"] = cls
    return cls


def tensor_value(tp):
    """numpy array of a TensorProto (float32 / int32 only)."""
    dims = [d.size for d in tp.tensor_shape.dim]
    n = int(np.prod(dims)) if dims else 1
    if tp.dtype == 1:
        if tp.tensor_content:
            arr = np.frombuffer(tp.tensor_content, dtype="<f4").copy()
        else:
            v = list(tp.float_val)
            arr = np.array(v + [v[-1] if v else 0.0] * (n - len(v)), dtype=np.float32)
    elif tp.dtype == 3:
        if tp.tensor_content:
            arr = np.frombuffer(tp.tensor_content, dtype="<i4").copy()
        else:
            v = list(tp.int_val)
            arr = np.array(v + [v[-1] if v else 0] * (n - len(v)), dtype=np.int32)
    else:
        raise ValueError("dtype %d" % tp.dtype)
    return arr.reshape(dims)


def layer_name(node_name):
    parts = node_name.split("/")
    if len(parts) > 1:
        parts = parts[:-1]
    if len(parts) > 1 and (parts[0] == "model" or
                           (parts[0].startswith("model_") and parts[0][6:].isdigit())):
        parts = parts[1:]
    return "/".join(parts)


class Graph:
    def __init__(self, data):
        g = graphdef_class()()
        g.ParseFromString(data)
        self.nodes = {n.name: n for n in g.node}
        self.consumers = {}
        for n in g.node:
            if n.op == "Identity":
                continue
            for i, ref in enumerate(n.input):
                if ref.startswith("^"):
                    continue
                src = self.resolve(ref)
                self.consumers.setdefault(src, []).append(n.name)

    def resolve(self, ref):
        name = ref.split(":")[0] if ":" in ref and ref.rsplit(":", 1)[1].isdigit() else ref
        n = self.nodes[name]
        while n.op == "Identity":
            n = self.nodes[self._data_inputs(n)[0].split(":")[0]]
        return n.name

    @staticmethod
    def _data_inputs(n):
        return [r for r in n.input if not r.startswith("^")]

    def inp(self, n, k):
        return self.nodes[self.resolve(self._data_inputs(n)[k])]

    def const(self, n, k):
        c = self.inp(n, k)
        assert c.op == "Const", (n.name, c.op)
        return tensor_value(c.attr["value"].tensor).astype(np.float64)

    def only_consumer(self, name):
        c = self.consumers.get(name, [])
        return self.nodes[c[0]] if len(c) == 1 else None


def expectations(data):
    g = Graph(data)
    out = []
    for n in g.nodes.values():
        if n.op == "Conv2D":
            w = g.const(n, 1)                      # HWIO
            kh, kw, ic, oc = w.shape
            b_in = np.zeros(oc)
            s = np.ones(oc)
            shift = np.zeros(oc)
            scale = 0.0
            cur = n
            nxt = g.only_consumer(cur.name)
            if nxt is not None and nxt.op == "BiasAdd" and \
                    g.only_consumer(nxt.name) is not None and \
                    g.only_consumer(nxt.name).op.startswith("FusedBatchNorm"):
                b_in = g.const(nxt, 1)
                cur, nxt = nxt, g.only_consumer(nxt.name)
            if nxt is not None and nxt.op.startswith("FusedBatchNorm"):
                gamma, beta, mean, var = (g.const(nxt, k) for k in range(1, 5))
                eps = float(np.float32(nxt.attr["epsilon"].f)) if "epsilon" in nxt.attr else 1e-4
                s = gamma / np.sqrt(var + eps)
                shift = (b_in - mean) * s + beta
                b_in = np.zeros(oc)
                cur, nxt = nxt, g.only_consumer(nxt.name)
            b = shift + b_in
            if nxt is not None and nxt.op == "BiasAdd":
                b = b + g.const(nxt, 1)
                cur, nxt = nxt, g.only_consumer(nxt.name)
            if nxt is not None and nxt.op == "Mul":
                for k in range(2):
                    c = g.inp(nxt, k)
                    if c.op == "Const":
                        scale = float(tensor_value(c.attr["value"].tensor).reshape(-1)[0])
            wf = np.transpose(w, (3, 2, 0, 1)) * s[:, None, None, None]   # OIHW
            out.append(("CONV", layer_name(n.name), wf, b, (oc, ic, kh, kw), scale))
        elif n.op == "MatMul":
            w = g.const(n, 1)
            if n.attr["transpose_b"].b:
                w = w.T
            inn, oc = w.shape
            b = np.zeros(oc)
            nxt = g.only_consumer(n.name)
            if nxt is not None and nxt.op == "BiasAdd":
                b = g.const(nxt, 1)
            out.append(("DENSE", layer_name(n.name), w.T.copy(), b, (oc, inn, 1, 1), 0.0))
    return out


def drop_block(data, block):
    """The graph with residual block `block` (e.g. block35_5) removed: consumers of its output
    read the block's input instead, and nodes no longer on the path to the output are pruned.
    Shapes still chain, so only the structure (one block missing) is wrong."""
    cls = graphdef_class()
    g = cls()
    g.ParseFromString(data)
    gr = Graph(data)
    out = next(n for n in gr.nodes.values() if n.op == "Relu" and layer_name(n.name) == block + "_ac")
    add = gr.inp(out, 0)
    a0, a1 = gr.inp(add, 0), gr.inp(add, 1)
    shortcut = a0 if a1.op == "Mul" else a1
    for n in g.node:
        for i, ref in enumerate(n.input):
            if not ref.startswith("^") and n.op != "Identity" and gr.resolve(ref) == out.name:
                n.input[i] = shortcut.name
    byname = {n.name: n for n in g.node}
    root = byname["Identity"] if "Identity" in byname else \
        next(n for n in g.node if n.op == "Softmax")
    keep, stack = set(), [root.name]
    while stack:
        name = stack.pop()
        if name in keep:
            continue
        keep.add(name)
        for ref in byname[name].input:
            stack.append(ref.lstrip("^").split(":")[0])
    pruned = cls()
    pruned.versions.CopyFrom(g.versions)
    pruned.node.extend(n for n in g.node if n.name in keep)
    return pruned.SerializeToString(deterministic=True)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--drop-block":
        with open(sys.argv[3], "rb") as f:
            data = f.read()
        with open(sys.argv[4], "wb") as f:
            f.write(drop_block(data, sys.argv[2]))
        return
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    lines = []
    for kind, name, w, b, dims, scale in expectations(data):
        flat = w.reshape(-1)
        lines.append("L %s %s %d %d %d %d %r %r %r" % (name, kind, dims[0], dims[1], dims[2],
                                                        dims[3], float(np.abs(flat).sum()),
                                                        float((flat * flat).sum()), scale))
        n = flat.size
        idx = sorted({0, n - 1} | {(k * 2654435761 + 12345) % n for k in range(38)})
        for i in idx:
            lines.append("W %s %d %r" % (name, i, float(flat[i])))
        for i, v in enumerate(b):
            lines.append("B %s %d %r" % (name, i, float(v)))
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
