"""Minimal protobuf wire encoder for TensorFlow GraphDef files (no TensorFlow needed).

Only what a frozen inference graph uses is implemented. Field numbers follow
tensorflow/core/framework/{graph,node_def,attr_value,tensor,tensor_shape,versions}.proto:

  GraphDef         node=1 (NodeDef, repeated), versions=4 (VersionDef)
  VersionDef       producer=1
  NodeDef          name=1, op=2, input=3 (repeated), device=4, attr=5 (map<string, AttrValue>)
  AttrValue        list=1, s=2, i=3, f=4, b=5, type=6, shape=7, tensor=8
  AttrValue.List   s=2, i=3 (packed), f=4 (packed), b=5 (packed), type=6 (packed), shape=7, tensor=8
  TensorProto      dtype=1, tensor_shape=2, tensor_content=4, float_val=5 (packed), int_val=7 (packed)
  TensorShapeProto dim=2 (Dim{size=1}), unknown_rank=3

Map entries are written sorted by key, as TensorFlow's deterministic serialisation
(tf.io.write_graph) does, so equal graphs give byte-identical files.
"""

import struct

import numpy as np

DT_FLOAT = 1
DT_INT32 = 3

_WT_VARINT = 0
_WT_I32 = 5
_WT_LEN = 2


def varint(v):
    """Encodes an integer as a protobuf varint (negative ints as 64-bit two's complement)."""
    if v < 0:
        v += 1 << 64
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wt):
    return varint((field << 3) | wt)


def f_varint(field, v):
    return key(field, _WT_VARINT) + varint(v)


def f_bytes(field, payload):
    """Length-delimited field. payload may be bytes or a list of byte chunks."""
    if isinstance(payload, (list, tuple)):
        n = sum(len(p) for p in payload)
        return [key(field, _WT_LEN) + varint(n)] + list(payload)
    return key(field, _WT_LEN) + varint(len(payload)) + payload


def f_str(field, s):
    return f_bytes(field, s.encode("utf-8"))


def f_float(field, v):
    return key(field, _WT_I32) + struct.pack("<f", v)


def packed_varints(field, values):
    return f_bytes(field, b"".join(varint(int(v)) for v in values))


def packed_floats(field, values):
    return f_bytes(field, np.asarray(values, dtype="<f4").tobytes())


def flatten(chunks):
    """Flattens nested lists of byte chunks into one list."""
    out = []
    stack = [chunks]
    while stack:
        c = stack.pop()
        if isinstance(c, (bytes, bytearray)):
            out.append(c)
        else:
            stack.extend(reversed(c))
    return out


def msg(*parts):
    """Concatenates encoded fields into a chunk list (kept unjoined: tensors are large)."""
    return flatten(list(parts))


def nbytes(chunks):
    return sum(len(c) for c in chunks)


def sub(field, chunks):
    """Embeds a message (chunk list) as a length-delimited field."""
    chunks = flatten(chunks)
    return [key(field, _WT_LEN) + varint(nbytes(chunks))] + chunks


# ---- TensorShapeProto / TensorProto -------------------------------------------------------

def shape_proto(dims):
    """TensorShapeProto; dims None -> unknown_rank, -1 -> unknown dimension."""
    if dims is None:
        return msg(f_varint(3, 1))
    return msg([sub(2, msg(f_varint(1, d)) if d != 0 else []) for d in dims])


def tensor_proto(arr):
    """TensorProto like tensor_util.make_tensor_proto: tensor_content when more than one
    element, float_val / int_val for scalars and one-element tensors."""
    arr = np.asarray(arr)
    if arr.dtype == np.float32:
        dt = DT_FLOAT
    elif arr.dtype == np.int32:
        dt = DT_INT32
    else:
        raise ValueError("unsupported dtype %s" % arr.dtype)
    parts = [f_varint(1, dt), sub(2, shape_proto(list(arr.shape)))]
    if arr.size > 1:
        parts.append(f_bytes(4, np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes()))
    elif dt == DT_FLOAT:
        parts.append(packed_floats(5, arr.reshape(-1)))
    else:
        parts.append(packed_varints(7, arr.reshape(-1)))
    return msg(*parts)


# ---- AttrValue -------------------------------------------------------------------------------

class Attr:
    """Tagged attribute value; the constructors below pick the AttrValue oneof field."""

    def __init__(self, chunks):
        self.chunks = chunks


def a_type(dt):
    return Attr(msg(f_varint(6, dt)))


def a_int(v):
    return Attr(msg(f_varint(3, v)))


def a_float(v):
    return Attr(msg(f_float(4, v)))


def a_bool(v):
    return Attr(msg(f_varint(5, 1 if v else 0)))


def a_str(s):
    return Attr(msg(f_bytes(2, s.encode("utf-8") if isinstance(s, str) else s)))


def a_shape(dims):
    return Attr(msg(sub(7, shape_proto(dims))))


def a_tensor(arr):
    return Attr(msg(sub(8, tensor_proto(arr))))


def a_list_int(values):
    """list(int); an empty list is still a present (empty) ListValue."""
    inner = packed_varints(3, values) if len(values) else b""
    return Attr(msg(f_bytes(1, inner)))


def a_list_str(values):
    inner = b"".join(f_bytes(2, v.encode("utf-8")) for v in values)
    return Attr(msg(f_bytes(1, inner)))


# ---- NodeDef / GraphDef ----------------------------------------------------------------------

def node_def(name, op, inputs, attrs):
    parts = [f_str(1, name), f_str(2, op)]
    for i in inputs:
        parts.append(f_str(3, i))
    for k in sorted(attrs):
        entry = msg(f_str(1, k), sub(2, attrs[k].chunks))
        parts.append(sub(5, entry))
    return msg(*parts)


def graph_def(nodes, producer):
    """nodes: list of chunk lists from node_def(). Returns the serialised GraphDef bytes."""
    parts = []
    for n in nodes:
        parts.extend(sub(1, n))
    parts.extend(sub(4, msg(f_varint(1, producer))))
    return b"".join(parts)
