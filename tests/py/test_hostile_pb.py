#!/usr/bin/python3
"""Hostile GraphDefs whose cost grew with the product of two sizes
(tools/convert_pb): each must be refused quickly, not after minutes.

- a chain of 50,000 Identity nodes read by 50,000 consumers (2.6 MB):
  every consumer used to walk the whole chain again (50,000 x 50,000
  lookups, over a minute); each Identity now learns its answer once.

The bound (60 s) is a hang detector with a wide margin, not a benchmark:
the fixed converter takes well under a second on this input.

Prints "PASS name" / "FAIL name: detail" per check; exits 1 on any FAIL.
"""
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("IQS_ROOT") or os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("IQS_BUILD") or os.path.join(ROOT, "build")
CONVERT = os.path.join(BUILD, "bin", "convert_pb")
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "tests", "gen"))

import pbwire  # noqa: E402

failed = 0


def check(name, cond, detail=""):
    global failed
    print(("PASS " if cond else "FAIL ") + name +
          ((": " + detail) if detail and not cond else ""))
    failed += not cond


def identity_chain(k, m):
    nodes = [pbwire.node_def("c", "Const", [], {})]
    prev = "c"
    for i in range(k):
        nodes.append(pbwire.node_def("i%d" % i, "Identity", [prev], {}))
        prev = "i%d" % i
    for i in range(m):
        nodes.append(pbwire.node_def("u%d" % i, "Relu", [prev], {}))
    return pbwire.graph_def(nodes, 1087)


def main():
    if not os.access(CONVERT, os.X_OK):
        check("convert_pb built", False, CONVERT)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        pb = os.path.join(tmp, "chain.pb")
        out = os.path.join(tmp, "chain.iqsw")
        with open(pb, "wb") as f:
            f.write(identity_chain(50000, 50000))
        t0 = time.monotonic()
        try:
            r = subprocess.run([CONVERT, pb, out], capture_output=True,
                               text=True, timeout=60)
        except subprocess.TimeoutExpired:
            check("identity chain x consumers refused in time", False,
                  "still running after 60 s")
            return 1
        dt = time.monotonic() - t0
        check("identity chain x consumers refused in time",
              r.returncode != 0 and "outputs" in r.stderr,
              "exit %d after %.1f s: %s" % (r.returncode, dt, r.stderr[-300:]))
        check("identity chain: no output file", not os.path.exists(out))
        print("  (refused after %.2f s)" % dt)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
