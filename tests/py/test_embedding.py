#!/usr/bin/env python3
"""The embedded configuration end to end (issue 8, docs/embedding.md).

1. `make firmware-check` passes (BLAS=none STDIO=0 MALLOC=0 library with no
   heap, stdio, exit or BLAS symbol).
2. tests/embedded/test_embedded.c passes in that configuration on this host
   (fidelity: every OpenCV reference tensor of the model within 1e-4).
3. The example program of docs/embedding.md (the ```c block after the
   `example: classify_rgb.c` marker) compiles with -Werror against the public
   header only, links the generated irv2_224_tf2_c3.iqsw weights as a byte
   array (ld -r -b binary + objcopy, as the document says) and that library,
   and references no heap function.
4. Run on real photos (raw RGB8 decoded by OpenCV, fed on stdin), it prints
   the probabilities OpenCV DNN computed for the same pixels, within 1e-4,
   with the same arg-max.

Prints PASS/FAIL lines; exits 1 on failure. Env: IQS_ROOT, IQS_MODELS,
IQS_SHARED (as tests/run.sh sets them), EMBED_PHOTOS (photos to run, 3).
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("IQS_ROOT") or os.path.abspath(os.path.join(HERE, "..", ".."))
MODELS = os.environ.get("IQS_MODELS") or os.path.join(ROOT, "build", "models")
SHARED = os.environ.get("IQS_SHARED") or os.path.join(ROOT, "..", "shared")
MODEL = "irv2_224_tf2_c3"
TOL = 1e-4
FW_LIB = os.path.join(ROOT, "build", "none-stdio0-malloc0", "lib", "libiqs.a")
OUT = os.path.join(ROOT, "build", "embedding-example")
HEAP = {"malloc", "calloc", "realloc", "free", "aligned_alloc", "posix_memalign"}

failed = 0


def report(ok, name, why=""):
    global failed
    if ok:
        print("PASS %s" % name)
    else:
        failed += 1
        print("FAIL %s%s" % (name, (": " + why) if why else ""))
    sys.stdout.flush()
    return ok


def run(cmd, cwd=ROOT, **kw):
    # tests/run.sh exports BUILD for the default configuration; the firmware
    # build must pick its own directory.
    env = dict(os.environ)
    env.pop("BUILD", None)
    return subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, **kw)


def extract_example():
    with open(os.path.join(ROOT, "docs", "embedding.md")) as fh:
        text = fh.read()
    m = re.search(r"example: classify_rgb\.c.*?```c\n(.*?)```", text, re.S)
    return m.group(1) if m else None


def main():
    r = run(["make", "-s", "--no-print-directory", "firmware-check"])
    out = r.stdout.decode(errors="replace")
    if not report(r.returncode == 0 and "PASS firmware-check" in out, "firmware_check",
                  out[-2000:]):
        return 1
    for line in out.splitlines():
        if line.startswith("libiqs.a"):
            print("  " + line)

    # tests/embedded in the firmware configuration on this host: kernels,
    # format, detectors and every OpenCV reference tensor of the model
    # within 1e-4 through the static API and the portable GEMM.
    env_models = ["EMB_MODEL=" + os.path.join(MODELS, MODEL + ".iqsw"),
                  "EMB_REF=" + os.path.join(MODELS, "ref", MODEL, "jpg"),
                  "EMB_PHOTOS=" + os.path.join(SHARED, "testdata", "photos")]
    r = run(["make", "-s", "--no-print-directory", "BLAS=none", "STDIO=0", "MALLOC=0",
             "embedded-test"] + env_models)
    out = r.stdout.decode(errors="replace")
    lines = [l for l in out.splitlines() if l.startswith("FAIL") or l.endswith(" failed")]
    report(r.returncode == 0 and "fidelity_" in out, "embedded_suite_firmware",
           "\n".join(lines[-12:]) if lines else out[-1500:])

    src = extract_example()
    if not report(src is not None, "example_in_docs", "no ```c block after the marker"):
        return 1
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "classify_rgb.c"), "w") as fh:
        fh.write(src)
    cc = os.environ.get("CC", "cc")
    r = run([cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-I", os.path.join(ROOT, "include"),
             "-c", "classify_rgb.c", "-o", "classify_rgb.o"], cwd=OUT)
    if not report(r.returncode == 0, "example_compiles", r.stdout.decode(errors="replace")):
        return 1

    weights = os.path.join(MODELS, MODEL + ".iqsw")
    if not report(os.path.exists(weights), "example_model_present", "missing %s (tests/models.sh)" % weights):
        return 1
    link = os.path.join(OUT, "model.iqsw")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink(weights, link)
    # The commands of docs/embedding.md, "Linking the weights".
    steps = [["ld", "-r", "-b", "binary", "-o", "model.o", "model.iqsw"],
             ["objcopy", "--set-section-alignment", ".data=64", "--rename-section",
              ".data=.rodata,alloc,load,readonly,data,contents", "model.o"],
             [cc, "-o", "classify_rgb", "classify_rgb.o", "model.o", FW_LIB, "-lm"]]
    for cmd in steps:
        r = run(cmd, cwd=OUT)
        if not report(r.returncode == 0, "example_" + os.path.basename(cmd[0]),
                      " ".join(cmd) + ": " + r.stdout.decode(errors="replace")):
            return 1
    os.remove(os.path.join(OUT, "model.o"))  # 207 MiB, now inside the program
    exe = os.path.join(OUT, "classify_rgb")
    und = set(run(["nm", "-u", exe]).stdout.decode().split())
    und = {s.split("@")[0] for s in und}
    report(not (und & HEAP) and not any(s.startswith("cblas_") for s in und), "example_no_heap",
           "references %s" % sorted(und & HEAP))

    import cv2
    refdir = os.path.join(MODELS, "ref", MODEL, "jpg")
    photos = os.path.join(SHARED, "testdata", "photos")
    names = sorted(f[:-6] for f in os.listdir(refdir) if f.endswith(".probs")) if os.path.isdir(refdir) else []
    names = [n for n in names if os.path.exists(os.path.join(photos, n + ".jpg"))]
    count = int(os.environ.get("EMBED_PHOTOS", "3"))
    if not report(len(names) > 0, "example_references", "no references in %s" % refdir):
        return 1
    for n in names[:count]:
        rgb = cv2.imread(os.path.join(photos, n + ".jpg"), cv2.IMREAD_COLOR)[:, :, ::-1].copy()
        h, w = rgb.shape[:2]
        r = subprocess.run([exe, str(w), str(h)], input=rgb.tobytes(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        text = r.stdout.decode(errors="replace")
        m = re.search(r"^probs:(.*)$", text, re.M)
        if not report(r.returncode == 0 and m is not None, "example_runs_" + n, text[-500:]):
            continue
        got = [float(v) for v in m.group(1).split()]
        with open(os.path.join(refdir, n + ".probs")) as fh:
            ref = [float(v) for v in fh.read().split()]
        diff = max(abs(a - b) for a, b in zip(got, ref)) if len(got) == len(ref) else float("inf")
        top_ok = got.index(max(got)) == ref.index(max(ref)) if got and ref else False
        print("  %s: %dx%d max |diff| %.3g" % (n, w, h, diff))
        report(diff <= TOL and top_ok, "example_matches_opencv_" + n,
               "%d vs %d classes, max diff %g, same top %s" % (len(got), len(ref), diff, top_ok))
    os.remove(exe)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
