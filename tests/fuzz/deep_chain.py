#!/usr/bin/python3
"""Writes a GraphDef whose single path is N MaxPool nodes deep (default 19990,
just under the converter's MAX_DEPTH of 20000): a Placeholder and a chain of
1x1 VALID max-pools. ~2.3 MB, so it is generated, not committed. The builder
recurses once per layer; at this depth the recursion needs 4-8 MB of stack in
an optimised build and overflows the 8 MB main-thread stack under ASan (found
by fuzz_pb's harness on a hand-made input; see docs/security.md).

    /usr/bin/python3 tests/fuzz/deep_chain.py OUT.pb [N]
"""
import sys


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


def ld(f, p):
    return varint(f << 3 | 2) + varint(len(p)) + p


def vi(f, v):
    return varint(f << 3) + varint(v)


def attr(k, v):
    return ld(5, ld(1, k) + ld(2, v))


def node(name, op, inputs=(), attrs=b""):
    return ld(1, ld(1, name) + ld(2, op) + b"".join(ld(3, i) for i in inputs) + attrs)


def ints(values):
    return ld(1, ld(3, b"".join(varint(x) for x in values)))


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 19990
    shape = b"".join(ld(2, vi(1, d)) for d in (1, 299, 299, 3))
    pool = (attr(b"T", vi(6, 1)) + attr(b"ksize", ints([1, 1, 1, 1])) +
            attr(b"strides", ints([1, 1, 1, 1])) + attr(b"padding", ld(2, b"VALID")) +
            attr(b"data_format", ld(2, b"NHWC")))
    pb = bytearray(node(b"in", b"Placeholder", (), attr(b"dtype", vi(6, 1)) +
                        attr(b"shape", ld(7, shape))))
    prev = b"in"
    for i in range(n):
        name = b"p%d" % i
        pb += node(name, b"MaxPool", (prev,), pool)
        prev = name
    with open(out, "wb") as f:
        f.write(pb)


if __name__ == "__main__":
    main()
