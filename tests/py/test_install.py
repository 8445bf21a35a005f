#!/usr/bin/env python3
"""make install into a temporary DESTDIR, then compile docs/api.md's example
against the installed header and library via pkg-config (shared and static),
run it on a generated model and a photo, and check the exported symbols."""
import os, re, subprocess, sys, tempfile

root = os.environ.get("IQS_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
models = os.environ.get("IQS_MODELS", os.path.join(root, "build/models"))
shared = os.environ.get("IQS_SHARED", os.path.join(root, "../shared"))
build = os.environ.get("IQS_BUILD", os.path.join(root, "build"))
failed = 0

def check(name, cond, detail=""):
    global failed
    print(("PASS " if cond else "FAIL ") + name + ((": " + detail) if detail and not cond else ""))
    if not cond:
        failed += 1

with tempfile.TemporaryDirectory() as tmp:
    dest = os.path.join(tmp, "root")
    r = subprocess.run(["make", "-s", "-C", root, "install", "DESTDIR=" + dest, "PREFIX=/opt/iqs"],
                       capture_output=True, text=True)
    check("make install", r.returncode == 0, r.stderr[-2000:])
    pc = os.path.join(dest, "opt/iqs/lib/pkgconfig")
    check("iqs.pc installed", os.path.isfile(os.path.join(pc, "iqs.pc")))
    check("header installed", os.path.isfile(os.path.join(dest, "opt/iqs/include/iqs/iqs.h")))
    so = os.path.join(dest, "opt/iqs/lib/libiqs.so.0")
    check("soname library installed", os.path.isfile(so))
    if os.path.isfile(so):
        r = subprocess.run(["objdump", "-p", so], capture_output=True, text=True)
        check("soname is libiqs.so.0", "SONAME               libiqs.so.0" in r.stdout)
        r = subprocess.run(["nm", "-D", "--defined-only", so], capture_output=True, text=True)
        syms = [l.split()[-1] for l in r.stdout.splitlines() if " T " in l]
        bad = [s for s in syms if not s.startswith("iqs_")]
        check("only iqs_* exported", len(syms) > 10 and not bad, str(bad[:10]))
    doc = open(os.path.join(root, "docs/api.md")).read()
    m = re.search(r"<!-- example:begin -->\s*```c\n(.*?)```\s*<!-- example:end -->", doc, re.S)
    check("example found in docs/api.md", m is not None)
    env = dict(os.environ, PKG_CONFIG_PATH=pc, PKG_CONFIG_SYSROOT_DIR=dest)
    src = os.path.join(tmp, "example.c")
    open(src, "w").write(m.group(1) if m else "")
    model = os.path.join(models, "irv2_224_tf2_c3.iqsw")
    photo = os.path.join(shared, "testdata/photos/jxl_coast.jpg")
    for kind, flags in (("shared", "--libs"), ("static", "--static --libs")):
        cf = subprocess.run("pkg-config --cflags iqs", shell=True, env=env, capture_output=True, text=True).stdout.split()
        lf = subprocess.run("pkg-config " + flags + " iqs", shell=True, env=env, capture_output=True, text=True).stdout.split()
        exe = os.path.join(tmp, "example_" + kind)
        if kind == "static":
            # link the archive explicitly (the directory also holds the .so)
            lf = [os.path.join(dest, "opt/iqs/lib/libiqs.a") if x == "-liqs" else x for x in lf]
        r = subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", src, "-o", exe] + cf + lf,
                           capture_output=True, text=True)
        check("example compiles (%s)" % kind, r.returncode == 0, r.stderr[-2000:])
        if r.returncode == 0:
            runenv = dict(os.environ, LD_LIBRARY_PATH=os.path.join(dest, "opt/iqs/lib"))
            r = subprocess.run([exe, model, photo, "/nonexistent.jpg"], capture_output=True, text=True, env=runenv)
            ok = r.returncode == 1 and re.match(r"\S+jxl_coast\.jpg (bad|normal|good) [0-9.]+ [0-9.]+ [0-9.]+\n", r.stdout) is not None
            check("example runs (%s)" % kind, ok, "rc=%d out=%r err=%r" % (r.returncode, r.stdout, r.stderr))
            check("example reports the missing file (%s)" % kind, "/nonexistent.jpg" in r.stderr)
sys.exit(1 if failed else 0)
