#!/usr/bin/python3
"""iqs benchmark side by side with OpenCV DNN and ONNX Runtime: one command, `make bench-run`.

  /usr/bin/python3 bench/run.py [--quick] [--rounds R] [--iters K] [--skip-ort]

For InceptionResNetV2 at 224 and 299 and InceptionV3 at 299 (generated models in build/models,
made by tests/models.sh when missing), with 1 then 2 threads:

  * iqs (build/bench/bench_net --serve), OpenCV DNN (python3-opencv, readNetFromTensorflow on the
    same .pb) and ONNX Runtime (onnxruntime-node, bench/ort_bench.js, model exported from the same
    .iqsw by bench/export_onnx.py) each run in their own process, all fed the SAME preprocessed
    tensor (the .f32 tests/ref/opencv_ref.py wrote); their outputs are checked against OpenCV's
    reference probabilities (<= 1e-4) before any timing;
  * latency in interleaved rounds (round r: every engine runs K images, engine order rotated),
    median and p90; model open/load time; the process's peak RSS (getrusage);
  * folder throughput with 2 parallel single-threaded workers (iqs: two threads sharing one model,
    the way `iqs sort -j 2` works; OpenCV and ONNX Runtime: two processes), on tensors, and for
    iqs and OpenCV also end to end from the JPEG files (decode + resize + network);
  * an sgemm peak probe (bench_net --sgemm) and iqs's effective GFLOPS against it;
  * a per-layer profile (bench_net --profile) next to ONNX Runtime's own per-node profile,
    grouped by layer kind, with the gap to the issue's targets.

Results: printed, and written to build/bench/results.{json,md}; full profiles in build/bench/.
The machine is a noisy shared 2-core VM: one thread is measured first, rounds are interleaved and
medians reported; treat differences below ~10 % as noise.

Internal modes (used by this script itself): --worker-cv serve|folder ...
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.environ.get("BUILD", "build")
MODELS = os.environ.get("IQS_MODELS", os.path.join(ROOT, "build", "models"))
OUT = os.path.join(ROOT, BUILD, "bench")
BENCH_NET = os.path.join(ROOT, BUILD, "bench", "bench_net")
IQS_CLI = os.path.join(ROOT, BUILD, "bin", "iqs")
PYTHON = "/usr/bin/python3"
TOL = 1e-4

# name, side, label
ALL_MODELS = [
    ("irv2_224_tf2_c3", 224, "InceptionResNetV2 224"),
    ("irv2_299_tf1_c3", 299, "InceptionResNetV2 299"),
    ("v3_299_tf2_c3", 299, "InceptionV3 299"),
]
ENGINES = ("iqs", "opencv", "ort")
ENGINE_LABEL = {"iqs": "iqs", "opencv": "OpenCV DNN", "ort": "ONNX Runtime",
                "iqs512": "iqs (SkylakeX BLAS)"}
# Debian's OpenBLAS 0.3.21 does not know this CPU (AMD family 26) and falls back to its
# Haswell (AVX2) kernels; the application may pick the AVX-512 ones with this variable. The
# "iqs512" row measures that: same binary, same library, only the environment differs.
AVX512_ENV = {"OPENBLAS_CORETYPE": "SkylakeX"}


# ------------------------------------------------------------------------ OpenCV worker

def now_ms():
    return time.perf_counter() * 1e3


def rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def cv_load_input(path, side):
    import numpy as np
    if path.endswith(".f32"):
        a = np.fromfile(path, dtype="<f4")
        if a.size != 3 * side * side:
            raise SystemExit("%s: %d floats, expected 3x%dx%d" % (path, a.size, side, side))
        return a.reshape(1, 3, side, side)
    sys.path.insert(0, os.path.join(ROOT, "tests", "gen"))
    import photos  # the preprocessing the fidelity tests use: RGB, nearest-exact, x/127.5-1
    hwc = photos.preprocess(path, side, bgr=False)
    return np.ascontiguousarray(hwc.transpose(2, 0, 1))[None].astype(np.float32)


def cv_net(pb, threads):
    import cv2
    cv2.setNumThreads(threads)
    t0 = now_ms()
    net = cv2.dnn.readNetFromTensorflow(pb)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    return net, now_ms() - t0, cv2.__version__


def cv_forward(net, x):
    import numpy as np
    net.setInput(x)
    return np.asarray(net.forward(), dtype=np.float32).reshape(-1)


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def worker_cv(argv):
    mode = argv[0]
    if mode == "serve":
        pb, f32, side, threads = argv[1], argv[2], int(argv[3]), int(argv[4])
        net, open_ms, ver = cv_net(pb, threads)
        x = cv_load_input(f32, side)
        t0 = now_ms()
        p = cv_forward(net, x)
        first = now_ms() - t0
        say({"engine": "opencv", "version": ver, "open_ms": open_ms, "first_ms": first,
             "probs": [float(v) for v in p], "rss_kb": rss_kb()})
        for line in sys.stdin:
            m = re.match(r"run (\d+)$", line.strip())
            if not m:
                break
            lat = []
            for _ in range(int(m.group(1))):
                t0 = now_ms()
                cv_forward(net, x)
                lat.append(now_ms() - t0)
            say({"lat_ms": lat})
        say({"rss_kb": rss_kb()})
    elif mode == "folder":
        pb, side, threads, repeat, files = argv[1], int(argv[2]), int(argv[3]), int(argv[4]), argv[5:]
        net, open_ms, _ = cv_net(pb, threads)
        tensors = [f for f in files if f.endswith(".f32")]
        xs = {f: cv_load_input(f, side) for f in tensors}  # tensors preloaded, images decoded per call
        refs = {}
        for f in tensors:
            pp = f[:-4] + ".probs"
            if os.path.exists(pp):
                refs[f] = [float(v) for v in open(pp).read().split()]
        cv_forward(net, cv_load_input(files[0], side))  # warm-up (OpenCV initialises lazily)
        say({"ready": True, "open_ms": open_ms})
        if sys.stdin.readline().strip() != "go":
            return
        worst = 0.0
        t0 = now_ms()
        for _ in range(repeat):
            for f in files:
                p = cv_forward(net, xs[f] if f in xs else cv_load_input(f, side))
                if f in refs:
                    worst = max(worst, max(abs(float(a) - b) for a, b in zip(p, refs[f])))
        say({"images": repeat * len(files), "seconds": (now_ms() - t0) / 1e3,
             "worst_diff": worst, "rss_kb": rss_kb()})
    else:
        raise SystemExit("unknown worker mode %s" % mode)


# ------------------------------------------------------------------------ helpers

def log(msg=""):
    print(msg, flush=True)


class Worker:
    """A long-lived engine process speaking one JSON line per command."""

    def __init__(self, name, argv, env=None):
        self.name = name
        os.makedirs(os.path.join(OUT, "logs"), exist_ok=True)
        self.err_path = os.path.join(OUT, "logs", "%s.stderr" % name)
        self.err = open(self.err_path, "w")
        e = dict(os.environ)
        e.update(env or {})
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.err, text=True, bufsize=1, env=e, cwd=ROOT)

    def read(self):
        line = self.p.stdout.readline()
        if not line:
            self.p.wait()
            self.err.flush()
            tail = open(self.err_path).read()[-2000:]
            raise RuntimeError("%s exited (%s): %s" % (self.name, self.p.returncode, tail))
        return json.loads(line)

    def cmd(self, s):
        self.p.stdin.write(s + "\n")
        self.p.stdin.flush()
        return self.read()

    def close(self):
        try:
            r = self.cmd("quit")
        finally:
            self.p.stdin.close()
            self.p.wait()
            self.err.close()
        return r


def median(v):
    return statistics.median(v) if v else float("nan")


def p90(v):
    s = sorted(v)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)] if s else float("nan")


def maxdiff(a, b):
    if len(a) != len(b):
        return float("inf")
    return max(abs(x - y) for x, y in zip(a, b))


def read_probs(path):
    return [float(v) for v in open(path).read().split()]


def machine_info():
    info = {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "kernel": platform.release()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for key in ("Model name", "CPU(s)", "Thread(s) per core", "L2 cache", "L3 cache"):
            m = re.search(r"^%s:\s*(.+)$" % re.escape(key), lscpu, re.M)
            if m:
                info[key] = m.group(1).strip()
        flags = re.search(r"^Flags:\s*(.+)$", lscpu, re.M)
        if flags:
            f = flags.group(1).split()
            info["simd"] = " ".join(x for x in ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni")
                                    if x in f)
    except OSError:
        pass
    try:
        mem = open("/proc/meminfo").read()
        info["memory"] = "%.1f GiB" % (int(re.search(r"MemTotal:\s*(\d+)", mem).group(1)) / 2**20)
    except (OSError, AttributeError):
        pass
    return info


def ensure_models(models, update):
    """tests/models.sh keeps .pb, .iqsw and the OpenCV references in step (a no-op when they
    are up to date); without `update` it only runs when something is missing."""
    missing = [n for n, _, _ in models
               if not os.path.exists(os.path.join(MODELS, n + ".iqsw"))
               or not os.path.isdir(os.path.join(MODELS, "ref", n, "jpg"))]
    if missing or update:
        log("tests/models.sh (generated models and OpenCV references%s)" % (
            ", missing: " + ", ".join(missing) if missing else ""))
        env = dict(os.environ, BUILD=BUILD, PYTHON=PYTHON, IQS_MODELS=MODELS)
        subprocess.run(["bash", os.path.join(ROOT, "tests", "models.sh")], check=True, env=env,
                       cwd=ROOT)


def ensure_ort():
    mod = os.path.join(HERE, "node_modules", "onnxruntime-node", "package.json")
    if os.path.exists(mod):
        return True, ""
    if not shutil.which("node") or not shutil.which("npm"):
        return False, "node/npm not installed"
    log("installing onnxruntime-node into bench/node_modules (npm install --ignore-scripts)")
    r = subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund"],
                       cwd=HERE, capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(mod):
        return False, "npm install failed: " + (r.stderr or r.stdout)[-300:]
    return True, ""


def export_onnx(name):
    src = os.path.join(MODELS, name + ".iqsw")
    dst = os.path.join(OUT, "onnx", name + ".onnx")
    exporter = os.path.join(HERE, "export_onnx.py")
    if (os.path.exists(dst) and os.path.getmtime(dst) >= os.path.getmtime(src)
            and os.path.getmtime(dst) >= os.path.getmtime(exporter)):
        return dst
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    t0 = time.time()
    subprocess.run([PYTHON, exporter, src, dst], check=True, stdout=subprocess.DEVNULL)
    log("  exported %s (%.1f s)" % (os.path.relpath(dst, ROOT), time.time() - t0))
    return dst


def tensors_of(name):
    d = os.path.join(MODELS, "ref", name, "jpg")
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".f32"))


def jpegs_of(name):
    shared = os.environ.get("IQS_SHARED", os.path.join(ROOT, "..", "shared"))
    d = os.path.join(shared, "testdata", "photos")
    stems = [os.path.basename(f)[:-4] for f in tensors_of(name)]
    return [os.path.join(d, s + ".jpg") for s in stems if os.path.exists(os.path.join(d, s + ".jpg"))]


def start_worker(engine, name, side, threads, f32, onnx):
    pb = os.path.join(MODELS, name + ".pb")
    tag = "%s_%s_%dt" % (engine, name, threads)
    if engine in ("iqs", "iqs512"):
        argv = [BENCH_NET, "--model", os.path.join(MODELS, name + ".iqsw"), "--input", f32,
                "--threads", str(threads), "--serve", "--open-reps", "5"]
        return Worker(tag, argv, AVX512_ENV if engine == "iqs512" else None)
    if engine == "opencv":
        argv = [PYTHON, os.path.abspath(__file__), "--worker-cv", "serve", pb, f32, str(side),
                str(threads)]
        return Worker(tag, argv, {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    argv = ["node", os.path.join(HERE, "ort_bench.js"), "serve", onnx, f32, str(side), str(threads)]
    return Worker(tag, argv)


# ------------------------------------------------------------------------ measurements

def latency(name, side, label, threads, engines, onnx, rounds, iters, res):
    f32 = tensors_of(name)[0]
    ref = read_probs(f32[:-4] + ".probs")
    log("\n== %s, %d thread%s: latency on %s" % (label, threads, "s" if threads > 1 else "",
                                                  os.path.basename(f32)))
    workers, ready = {}, {}
    try:
        for e in engines:  # one at a time: load times are not disturbed by each other
            w = start_worker(e, name, side, threads, f32, onnx)
            workers[e] = w
            ready[e] = w.read()
        # OpenCV DNN on the same .pb in this run is the reference; the stored .probs file
        # (tests/ref/opencv_ref.py) is checked too, to catch a stale model/reference pair.
        live = ready["opencv"]["probs"] if "opencv" in ready else ref
        ok = {}
        for e in engines:
            d = maxdiff(ready[e]["probs"], live)
            dfile = maxdiff(ready[e]["probs"], ref)
            ok[e] = d <= TOL
            log("  %-19s open %9.2f ms  first run %8.1f ms  |probs - OpenCV| %.1e "
                "(stored ref %.1e) %s" % (
                    ENGINE_LABEL[e], ready[e]["open_ms"], ready[e]["first_ms"], d, dfile,
                    "OK" if ok[e] else "MISMATCH (excluded from timing)"))
            res.setdefault("checks", []).append(
                {"model": name, "threads": threads, "engine": e, "max_diff": d,
                 "max_diff_stored_ref": dfile, "ok": ok[e]})
        timed = [e for e in engines if ok[e]]
        lat = {e: [] for e in timed}
        for e in timed:  # warm-up round, not counted
            workers[e].cmd("run 1")
        for r in range(rounds if timed else 0):
            order = timed[r % len(timed):] + timed[:r % len(timed)]
            for e in order:
                lat[e] += workers[e].cmd("run %d" % iters)["lat_ms"]
        for e in engines:
            rss = workers.pop(e).close()["rss_kb"]
            row = {"model": name, "label": label, "side": side, "threads": threads, "engine": e,
                   "open_ms": ready[e]["open_ms"], "first_ms": ready[e]["first_ms"],
                   "rss_mib": rss / 1024.0, "ok": ok[e]}
            if e in ("iqs", "iqs512"):
                row["open_skip_crc_ms"] = ready[e]["open_skip_crc_ms"]
                row["gmac"] = ready[e]["gmac"]
                row["weights_mib"] = ready[e]["weights"] / 2**20
                row["workspace_mib"] = ready[e]["workspace"] / 2**20
            if e in lat:
                row.update(median_ms=median(lat[e]), p90_ms=p90(lat[e]), n=len(lat[e]),
                           min_ms=min(lat[e]))
                log("  %-19s median %8.2f ms  p90 %8.2f ms  (n=%d)  peak RSS %7.1f MiB" % (
                    ENGINE_LABEL[e], row["median_ms"], row["p90_ms"], row["n"], row["rss_mib"]))
            res["latency"].append(row)
    finally:
        for w in workers.values():
            w.p.kill()


def throughput_procs(engine, name, side, files, repeat, onnx):
    """Two single-threaded processes, each with half the files; wall = the slower one."""
    pb = os.path.join(MODELS, name + ".pb")
    ws = []
    try:
        for k in range(2):
            part = files[k::2]
            tag = "tp_%s_%s_%d" % (engine, name, k)
            if engine == "opencv":
                argv = [PYTHON, os.path.abspath(__file__), "--worker-cv", "folder", pb, str(side),
                        "1", str(repeat)] + part
                ws.append(Worker(tag, argv, {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}))
            else:
                argv = ["node", os.path.join(HERE, "ort_bench.js"), "folder", onnx, str(side), "1",
                        str(repeat)] + part
                ws.append(Worker(tag, argv))
        for w in ws:
            w.read()  # ready
        for w in ws:
            w.p.stdin.write("go\n")
            w.p.stdin.flush()
        outs = [w.read() for w in ws]
    finally:
        for w in ws:
            w.p.kill()
            w.p.wait()
    images = sum(o["images"] for o in outs)
    secs = max(o["seconds"] for o in outs)
    return {"ips": images / secs, "images": images, "seconds": secs,
            "worst_diff": max(o["worst_diff"] for o in outs),
            "rss_mib": sum(o["rss_kb"] for o in outs) / 1024.0}


def throughput_iqs(name, files, repeat, env=None):
    argv = [BENCH_NET, "--model", os.path.join(MODELS, name + ".iqsw"), "--folder", "-j", "2",
            "--repeat", str(repeat)] + files
    r = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT,
                       env=dict(os.environ, **(env or {})))
    m = re.search(r"^FOLDER_JSON (.*)$", r.stdout, re.M)
    if not m:
        raise RuntimeError("bench_net --folder failed: %s%s" % (r.stdout[-500:], r.stderr[-500:]))
    o = json.loads(m.group(1))
    return {"ips": o["ips"], "images": o["images"], "seconds": o["seconds"],
            "worst_diff": o["worst_diff"], "failed": o["failed"], "rss_mib": o["rss_kb"] / 1024.0}


def iqs_sort_available():
    if not os.access(IQS_CLI, os.X_OK):
        return False
    r = subprocess.run([IQS_CLI, "sort", "--help"], capture_output=True, text=True)
    return r.returncode == 0 and "-j" in (r.stdout + r.stderr)


def throughput_iqs_sort(name, jpegs, jobs, detectors):
    """End to end through the CLI: open, walk, decode, (detectors,) network, print."""
    d = tempfile.mkdtemp(prefix="iqs_bench_")
    try:
        for k, f in enumerate(jpegs):
            os.symlink(f, os.path.join(d, "%03d_%s" % (k, os.path.basename(f))))
        argv = [IQS_CLI, "sort", "--model", os.path.join(MODELS, name + ".iqsw"), "-j", str(jobs),
                "--format", "json", "--no-progress", d]
        if not detectors:
            argv.insert(2, "--no-detectors")
        t0 = time.perf_counter()
        r = subprocess.run(argv, capture_output=True, text=True)
        secs = time.perf_counter() - t0
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if r.returncode not in (0, 1):
        raise RuntimeError("iqs sort failed (%d): %s" % (r.returncode, r.stderr[-300:]))
    return {"ips": len(jpegs) / secs, "images": len(jpegs), "seconds": secs}


def throughput(name, side, label, engines, onnx, n_images, res, with_sort, e2e, t_rounds):
    files = tensors_of(name)
    tens = (files * (n_images // len(files) + 1))[:n_images]
    jpg = jpegs_of(name) if e2e else []
    jpgs = (jpg * (n_images // max(1, len(jpg)) + 1))[:n_images] if jpg else []
    log("\n== %s: folder throughput, 2 single-threaded workers, %d images (model load excluded)"
        % (label, n_images))
    rows = []
    runs = {e: [] for e in engines}
    for k in range(t_rounds):  # interleaved, engine order rotated
        for e in engines[k % len(engines):] + engines[:k % len(engines)]:
            if e == "iqs":
                r = throughput_iqs(name, tens, 1)
            elif e == "iqs512":
                r = throughput_iqs(name, tens, 1, AVX512_ENV)
            else:
                r = throughput_procs(e, name, side, tens, 1, onnx)
            runs[e].append(r)
    for e in engines:
        r = dict(runs[e][0])
        r["ips_runs"] = [x["ips"] for x in runs[e]]
        r["ips"] = median(r["ips_runs"])
        r["worst_diff"] = max(x["worst_diff"] for x in runs[e])
        r["failed"] = sum(x.get("failed", 0) for x in runs[e])
        r.update(engine=e, input="tensor")
        rows.append(r)
        log("  %-19s %-7s %7.2f images/s  (median of %s; %d images per run, worst |diff| %.1e)" % (
            ENGINE_LABEL[e], "tensor", r["ips"], " ".join("%.2f" % x for x in r["ips_runs"]),
            r["images"], r["worst_diff"]))
    for e in ("iqs", "opencv"):
        if not jpgs or e not in engines:
            continue
        r = throughput_iqs(name, jpgs, 1) if e == "iqs" else \
            throughput_procs(e, name, side, jpgs, 1, onnx)
        r.update(engine=e, input="jpeg")
        rows.append(r)
        log("  %-19s %-7s %7.2f images/s  (%d in %.2f s; decode + resize + network)" % (
            ENGINE_LABEL[e], "jpeg", r["ips"], r["images"], r["seconds"]))
    if with_sort and jpgs:
        for j, det in ((1, False), (2, False), (2, True)):
            tag = "iqs sort -j %d%s" % (j, "" if det else " --no-detectors")
            try:
                r = throughput_iqs_sort(name, jpgs, j, det)
            except RuntimeError as ex:
                log("  %s: %s" % (tag, ex))
                continue
            r.update(engine=tag, input="jpeg, CLI")
            rows.append(r)
            log("  %-34s %7.2f images/s  (%d in %.2f s, incl. model open%s)" % (
                tag, r["ips"], r["images"], r["seconds"], ", detectors" if det else ""))
    for r in rows:
        r.update(model=name, label=label)
    res["throughput"] += rows


def layer_kinds(name):
    """Kind of every layer of the IQSW table, the same rules as bench_net.c."""
    sys.path.insert(0, HERE)
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    import export_onnx
    _, _, layers = export_onnx.read_iqsw(os.path.join(MODELS, name + ".iqsw"))
    kinds = []
    for L in layers:
        op = L["op"]
        if op == 1:
            (kh, kw), (sh, sw) = L["k"], L["s"]
            if sh > 1 or sw > 1:
                k = "conv strided"
            elif kh == 1 and kw == 1:
                k = "conv 1x1 residual" if len(L["ins"]) == 2 else "conv 1x1"
            elif kh == 3 and kw == 3:
                k = "conv 3x3 s1"
            elif kh == 1 or kw == 1:
                k = "conv 1xN/Nx1"
            else:
                k = "conv other (5x5)"
        else:
            k = {0: "input", 2: "maxpool", 3: "avgpool", 4: "concat", 5: "global avg pool",
                 6: "dense+softmax"}.get(op, "other")
        kinds.append(k)
    return kinds


def ort_profile(name, side, onnx, threads, rounds):
    f32 = tensors_of(name)[0]
    prefix = os.path.join(OUT, "ort_profile_%s_%dt" % (name, threads))
    r = subprocess.run(["node", os.path.join(HERE, "ort_bench.js"), "profile", onnx, f32,
                        str(side), str(threads), str(rounds), prefix],
                       capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-500:])
    # onnxruntime-node writes OUTPREFIX_<date>.json (endProfiling returns nothing in node)
    d, base = os.path.dirname(prefix), os.path.basename(prefix) + "_"
    found = [os.path.join(d, f) for f in os.listdir(d) if f.startswith(base) and f.endswith(".json")]
    if not found:
        raise RuntimeError("no ONNX Runtime profile written")
    path = max(found, key=os.path.getmtime)
    events = json.load(open(path))
    kinds = layer_kinds(name)
    per_node = {}
    for ev in events:
        if ev.get("cat") != "Node" or not ev.get("name", "").endswith("_kernel_time"):
            continue
        per_node.setdefault(ev["name"], []).append(ev["dur"])
    per_node = {k: v[1:] if len(v) > 1 else v for k, v in per_node.items()}  # drop the first run
    ms = {}
    unmapped = 0.0
    for node, durs in per_node.items():
        t = median(durs) / 1e3  # us -> ms, median over the runs
        # node names: "L<id>_<op>" as exported, or the output value "v<id>" after ORT's
        # NCHWc layout pass renamed the node ("v12_nchwc"); "probs" is the last layer
        m = re.match(r"(?:L|v)(\d+)(?:_|$)", node)
        if node.startswith("probs"):
            ms[kinds[-1]] = ms.get(kinds[-1], 0.0) + t
        elif m and int(m.group(1)) < len(kinds):
            k = kinds[int(m.group(1))]
            ms[k] = ms.get(k, 0.0) + t
        else:
            unmapped += t
    if unmapped:
        ms["other (unmapped)"] = unmapped  # layout reorders ORT inserted
    os.replace(path, prefix + ".json")
    return ms


def iqs_profile(name, threads, rounds, env=None, suffix=""):
    argv = [BENCH_NET, "--model", os.path.join(MODELS, name + ".iqsw"),
            "--input", tensors_of(name)[0], "--threads", str(threads), "--rounds", str(rounds),
            "--open-reps", "1", "--profile"]
    r = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT,
                       env=dict(os.environ, **(env or {})))
    txt = os.path.join(OUT, "profile_%s_%dt%s.txt" % (name, threads, suffix))
    open(txt, "w").write(r.stdout + r.stderr)
    m = re.search(r"^PROFILE_JSON (.*)$", r.stdout, re.M)
    if not m:
        raise RuntimeError("bench_net --profile failed, see %s" % txt)
    return json.loads(m.group(1)), txt


def profile(name, side, label, onnx, threads, rounds, res, with_ort, with_avx512):
    prof, txt = iqs_profile(name, threads, rounds)
    if with_avx512:
        p512, _ = iqs_profile(name, threads, rounds, AVX512_ENV, "_skylakex")
        by_kind = {k["kind"]: k["ms"] for k in p512["kinds"]}
        for k in prof["kinds"]:
            k["avx512_ms"] = by_kind.get(k["kind"])
        prof["avx512_layers_ms"] = p512["layers_ms"]
    ort_ms = {}
    if with_ort:
        try:
            ort_ms = ort_profile(name, side, onnx, threads, rounds)
        except (RuntimeError, OSError, ValueError) as ex:
            log("  ONNX Runtime profile failed: %s" % ex)
    log("\n== %s, %d thread%s: time per layer kind (iqs median of %d rounds per layer; "
        "ONNX Runtime's per-node profile)" % (label, threads, "s" if threads > 1 else "", rounds))
    log("  %-20s %6s %9s %9s %8s %10s %8s %12s" % ("kind", "layers", "GMAC", "iqs ms", "iqs GF/s",
                                                  "ORT ms", "iqs/ORT", "iqs SKX ms"))
    for k in prof["kinds"]:
        o = ort_ms.get(k["kind"])
        k["ort_ms"] = o
        log("  %-20s %6d %9.3f %9.2f %8.1f %10s %8s %12s" % (
            k["kind"], k["layers"], k["gmac"], k["ms"],
            2 * k["gmac"] / (k["ms"] * 1e-3) if k["gmac"] else 0.0,
            "%.2f" % o if o is not None else "-", "%.2f" % (k["ms"] / o) if o else "-",
            "%.2f" % k["avx512_ms"] if k.get("avx512_ms") is not None else "-"))
    if "other (unmapped)" in ort_ms:
        log("  ORT time not mapped to a layer: %.2f ms" % ort_ms["other (unmapped)"])
    log("  blocks: " + ", ".join("%s %.1f ms" % (b["block"], b["ms"]) for b in prof["blocks"]))
    log("  full per-layer table: %s" % os.path.relpath(txt, ROOT))
    prof.update(model=name, label=label, threads=threads,
                ort_total_ms=sum(ort_ms.values()) if ort_ms else None)
    res["profile"].append(prof)


def sgemm_probe(res, avx512):
    """Best-of-10 square sgemm, default OpenBLAS core and (optionally) SkylakeX kernels; keeps
    the best value seen in this run (the probe runs at the start and at the end)."""
    runs = [("", {})] + ([("avx512_", AVX512_ENV)] if avx512 else [])
    for prefix, env in runs:
        r = subprocess.run([BENCH_NET, "--sgemm"], capture_output=True, text=True,
                           env=dict(os.environ, **env))
        m = re.search(r"^SGEMM_JSON (.*)$", r.stdout, re.M)
        if not m:
            log("sgemm probe failed: %s" % r.stderr[-300:])
            continue
        o = json.loads(m.group(1))
        log(r.stdout.splitlines()[0])
        s = res.setdefault("sgemm", {"n": o["n"]})
        s[prefix + "core"] = o["core"]
        for t in ("1t", "2t"):
            key = prefix + "gflops_" + t
            s[key] = max(s.get(key, 0.0), o["gflops_" + t])


# ------------------------------------------------------------------------ report

def report(res):
    lat = res["latency"]
    peak = res.get("sgemm", {})
    lines = []
    lines.append("| model | threads | engine | median ms | p90 ms | min ms | open ms | peak RSS MiB |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for r in lat:
        lines.append("| %s | %d | %s | %s | %s | %s | %.1f | %.0f |" % (
            r["label"], r["threads"], ENGINE_LABEL[r["engine"]],
            "%.1f" % r["median_ms"] if "median_ms" in r else "mismatch",
            "%.1f" % r["p90_ms"] if "p90_ms" in r else "-",
            "%.1f" % r["min_ms"] if "min_ms" in r else "-", r["open_ms"], r["rss_mib"]))
    lines.append("")
    lines.append("| model | threads | iqs/OpenCV (target <= 0.5) | iqs/ORT (target <= 0.9) | "
                 "same, ratio of min | iqs GFLOPS | sgemm peak GFLOPS | of peak |")
    lines.append("|---|---|---|---|---|---|---|---|")
    keyed = {(r["model"], r["threads"], r["engine"]): r for r in lat}
    for (model, threads, engine), r in keyed.items():
        if engine not in ("iqs", "iqs512") or "median_ms" not in r:
            continue
        cv = keyed.get((model, threads, "opencv"), {}).get("median_ms")
        ort = keyed.get((model, threads, "ort"), {}).get("median_ms")
        cvm = keyed.get((model, threads, "opencv"), {}).get("min_ms")
        ortm = keyed.get((model, threads, "ort"), {}).get("min_ms")
        mins = "%s / %s" % ("%.2f" % (r["min_ms"] / cvm) if cvm else "-",
                            "%.2f" % (r["min_ms"] / ortm) if ortm else "-")
        gf = 2 * r["gmac"] / (r["median_ms"] * 1e-3)
        pk = peak.get("gflops_%dt" % threads)
        if engine == "iqs512":
            pk = peak.get("avx512_gflops_%dt" % threads)
        lines.append("| %s | %d | %s | %s | %s | %.1f | %s | %s |" % (
            r["label"] + (" (SkylakeX kernels)" if engine == "iqs512" else ""), threads,
            "%.2f" % (r["median_ms"] / cv) if cv else "-",
            "%.2f" % (r["median_ms"] / ort) if ort else "-", mins,
            gf, "%.1f" % pk if pk else "-", "%.0f %%" % (100 * gf / pk) if pk else "-"))
    lines.append("")
    lines.append("| model | engine | input | images/s (2 workers) |")
    lines.append("|---|---|---|---|")
    for r in res["throughput"]:
        lines.append("| %s | %s | %s | %.2f |" % (r["label"], ENGINE_LABEL.get(r["engine"], r["engine"]),
                                                r["input"], r["ips"]))
    lines.append("")
    lines.append("| model | iqs open ms (data CRC) | iqs open ms (skip data CRC) | weights MiB | "
                 "workspace MiB | iqs peak RSS MiB | RSS - weights |")
    lines.append("|---|---|---|---|---|---|---|")
    for r in lat:
        if r["engine"] == "iqs" and r["threads"] == 1:
            lines.append("| %s | %.2f | %.2f | %.1f | %.1f | %.1f | %.1f |" % (
                r["label"], r["open_ms"], r["open_skip_crc_ms"], r["weights_mib"],
                r["workspace_mib"], r["rss_mib"], r["rss_mib"] - r["weights_mib"]))
    for p in res["profile"]:
        lines.append("")
        lines.append("%s, %d thread: iqs %.1f ms summed over layers, %.3f GMAC%s" % (
            p["label"], p["threads"], p["layers_ms"], p["gmac"],
            ", ONNX Runtime %.1f ms summed over nodes" % p["ort_total_ms"] if p["ort_total_ms"] else ""))
        lines.append("")
        lines.append("| layer kind | layers | GMAC | iqs ms | iqs GFLOPS | ORT ms | iqs/ORT | "
                     "gap to 0.9x ORT, ms | iqs ms, SkylakeX kernels |")
        lines.append("|---|---|---|---|---|---|---|---|---|")
        for k in p["kinds"]:
            o = k.get("ort_ms")
            a5 = k.get("avx512_ms")
            lines.append("| %s | %d | %.3f | %.2f | %.1f | %s | %s | %s | %s |" % (
                k["kind"], k["layers"], k["gmac"], k["ms"],
                2 * k["gmac"] / (k["ms"] * 1e-3) if k["gmac"] else 0.0,
                "%.2f" % o if o is not None else "-", "%.2f" % (k["ms"] / o) if o else "-",
                "%+.1f" % (k["ms"] - 0.9 * o) if o is not None else "-",
                "%.2f" % a5 if a5 is not None else "-"))
        lines.append("")
        lines.append("| block | layers | GMAC | iqs ms |")
        lines.append("|---|---|---|---|")
        for b in p["blocks"]:
            lines.append("| %s | %d | %.3f | %.2f |" % (b["block"], b["layers"], b["gmac"], b["ms"]))
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------ main

def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker-cv":
        worker_cv(argv[1:])
        return 0
    ap = argparse.ArgumentParser(description="iqs vs OpenCV DNN vs ONNX Runtime")
    ap.add_argument("--quick", action="store_true",
                    help="CI smoke run: InceptionResNetV2 224 only, 1 thread, 1 round")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    ap.add_argument("--iters", type=int, default=3, help="images per engine per round (default 3)")
    ap.add_argument("--images", type=int, default=24, help="images in the throughput runs")
    ap.add_argument("--models", default="", help="comma-separated subset of model names")
    ap.add_argument("--threads", default="1,2", help="thread counts, in order (default 1,2)")
    ap.add_argument("--skip-ort", action="store_true", help="do not run ONNX Runtime")
    ap.add_argument("--no-models-update", action="store_true",
                    help="use build/models as it is (tests/models.sh only if files are missing)")
    a = ap.parse_args(argv)
    models = ALL_MODELS
    threads = [int(t) for t in a.threads.split(",")]
    rounds, iters, n_images, prof_rounds = a.rounds, a.iters, a.images, 5
    if a.quick:
        models, threads, rounds, iters, n_images, prof_rounds = ALL_MODELS[:1], [1], 1, 1, 2, 1
    if a.models:
        models = [m for m in ALL_MODELS if m[0] in a.models.split(",")]
    t_start = time.time()
    os.makedirs(OUT, exist_ok=True)
    if not os.access(BENCH_NET, os.X_OK):
        raise SystemExit("%s missing: run `make bench` first" % BENCH_NET)
    ensure_models(models, not a.no_models_update)

    engines = list(ENGINES)
    ort_note = ""
    if a.skip_ort:
        engines.remove("ort")
        ort_note = "skipped (--skip-ort)"
    else:
        ok, why = ensure_ort()
        if not ok:
            engines.remove("ort")
            ort_note = why
    res = {"machine": machine_info(), "loadavg_start": os.getloadavg(), "quick": a.quick, "rounds": rounds, "iters": iters,
           "latency": [], "throughput": [], "profile": [], "engines": engines, "ort_note": ort_note}
    log("iqs benchmark (%s): %s" % ("quick" if a.quick else "full", json.dumps(res["machine"])))
    log("Noisy shared 2-core VM: 1 thread first, interleaved rounds, medians; "
        "differences below ~10 % are noise.")
    if ort_note:
        log("ONNX Runtime: " + ort_note)

    sgemm_probe(res, not a.quick)
    if not a.quick:
        engines.insert(1, "iqs512")

    onnx = {}
    if "ort" in engines:
        for name, _, _ in models:
            onnx[name] = export_onnx(name)

    for t in threads:
        for name, side, label in models:
            latency(name, side, label, t, engines, onnx.get(name), rounds, iters, res)
    sort_ok = iqs_sort_available()  # (not in --quick: the JPEG runs are skipped there)
    for name, side, label in models:
        throughput(name, side, label, engines, onnx.get(name), n_images, res,
                   sort_ok and not a.quick, not a.quick, 1 if a.quick else 2)
    if not sort_ok:
        log("\n(`iqs sort` not available in this build: folder throughput measured with "
            "bench_net --folder -j 2 only)")
    for name, side, label in models:
        profile(name, side, label, onnx.get(name), 1, prof_rounds, res, "ort" in engines,
                "iqs512" in engines)

    sgemm_probe(res, not a.quick)  # again at the end: the peak is the best of both
    res["loadavg_end"] = os.getloadavg()
    md = report(res)
    md += ("\nLoad average (1/5/15 min) at start %s, at end %s (other jobs on this 2-core VM).\n"
           % ("/".join("%.1f" % x for x in res["loadavg_start"]),
              "/".join("%.1f" % x for x in res["loadavg_end"])))
    res["seconds"] = time.time() - t_start
    with open(os.path.join(OUT, "results.json"), "w") as fh:
        json.dump(res, fh, indent=1)
    with open(os.path.join(OUT, "results.md"), "w") as fh:
        fh.write(md)
    log("\n" + md)
    log("results: %s, %s (%.0f s)" % (os.path.relpath(os.path.join(OUT, "results.md"), ROOT),
                                        os.path.relpath(os.path.join(OUT, "results.json"), ROOT),
                                        res["seconds"]))
    bad = [c for c in res.get("checks", []) if not c["ok"]]
    bad += [t for t in res["throughput"] if t.get("worst_diff", 0) > TOL or t.get("failed")]
    if bad:
        log("OUTPUT MISMATCH: %s" % bad)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
