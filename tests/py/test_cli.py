#!/usr/bin/python3
"""End-to-end tests of the iqs command (build/bin/iqs).

Builds a temporary photo folder from ../shared/testdata/photos with real
photos, a nested folder, a PNG, a corrupt JPEG, a text file named .jpg, an
empty file, an image whose header claims 3.6 gigapixels, non-images, a
file name that needs escaping, an existing sidecar with foreign properties,
an unparsable sidecar and an immutable folder, then runs the binary and
checks its output, exit status and the files it leaves behind.

Prints "PASS name" / "FAIL name: detail" per check; exits 1 on any FAIL.
Generated models come from $IQS_MODELS (default build/models); a missing
model is a FAIL, never a silent pass.
"""
import csv
import io
import json
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import xml.etree.ElementTree as ET
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("IQS_ROOT") or os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("IQS_BUILD") or os.path.join(ROOT, "build")
IQS = os.path.join(BUILD, "bin", "iqs")
SHARED = os.environ.get("IQS_SHARED") or os.path.join(ROOT, "..", "shared")
MODELS = os.environ.get("IQS_MODELS") or os.path.join(ROOT, "build", "models")
PHOTOS = os.path.join(SHARED, "testdata", "photos")
MODEL_C3 = os.path.join(MODELS, "irv2_224_tf2_c3.iqsw")
MODEL_C10 = os.path.join(MODELS, "irv2_299_tf2_c10.iqsw")

NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_DK = "http://www.digikam.org/ns/1.0/"
NS_XMP = "http://ns.adobe.com/xap/1.0/"
PICK = {"rejected": 1, "pending": 2, "accepted": 3}
SORT_FIELDS = ["file", "label", "quality", "blur", "noise", "exposure", "compression",
               "class", "score", "probs", "reason", "xmp", "error"]

failures = 0


def report(name, ok, detail=""):
    global failures
    if ok:
        print("PASS " + name)
    else:
        failures += 1
        print("FAIL " + name + (": " + detail if detail else ""))
    sys.stdout.flush()


def check(name, fn):
    """Runs fn(); it returns (ok, detail) or raises."""
    try:
        res = fn()
        ok, detail = res if isinstance(res, tuple) else (bool(res), "")
    except AssertionError as e:
        ok, detail = False, str(e)
    except Exception:
        ok, detail = False, traceback.format_exc(limit=3).strip().replace("\n", " | ")
    report(name, ok, detail)


def base_env():
    env = dict(os.environ)
    env.pop("IQS_MODEL", None)
    env["NO_COLOR"] = "1"
    return env


def run(args, env=None, timeout=600, cwd=None):
    return subprocess.run([IQS] + args, capture_output=True, env=env or base_env(),
                          timeout=timeout, cwd=cwd)


def jsonl(out):
    return [json.loads(line) for line in out.decode("utf-8").splitlines() if line.strip()]


def need_model(path):
    if not os.path.isfile(path):
        raise AssertionError("model missing: %s (run tests/models.sh)" % path)
    return path


# ------------------------------------------------------------ test data

FOREIGN_SIDECAR = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">\n'
    ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
    '  <rdf:Description rdf:about=""\n'
    '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
    '    xmlns:digiKam="http://www.digikam.org/ns/1.0/"\n'
    '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
    '    xmlns:acme="urn:example:acme/1.0/"\n'
    '   xmp:Rating="4"\n'
    '   digiKam:PickLabel="0"\n'
    "   acme:Secret='keep &amp; me'>\n"
    '   <!-- written by test_cli.py -->\n'
    '   <dc:subject>\n'
    '    <rdf:Bag>\n'
    '     <rdf:li>holiday</rdf:li>\n'
    '    </rdf:Bag>\n'
    '   </dc:subject>\n'
    '   <digiKam:TagsList><rdf:Seq><rdf:li>People/Anna</rdf:li></rdf:Seq></digiKam:TagsList>\n'
    '  </rdf:Description>\n'
    ' </rdf:RDF>\n'
    '</x:xmpmeta>\n'
    '<?xpacket end="w"?>').encode("utf-8")

# A Lightroom-style sidecar without the digiKam and xmp namespaces.
ADOBE_SIDECAR = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
    '<rdf:Description rdf:about=""\n'
    '  xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"\n'
    '  crs:Exposure2012="+0.35">\n'
    '<crs:ToneCurvePV2012><rdf:Seq><rdf:li>0, 0</rdf:li></rdf:Seq></crs:ToneCurvePV2012>\n'
    '</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n').encode("utf-8")

BAD_SIDECAR = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>unclosed'


def huge_png():
    """A PNG header claiming 60000 x 60000 pixels (the decoder must refuse
    it before allocating), with valid chunk CRCs."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def photos(n):
    names = sorted(f for f in os.listdir(PHOTOS) if f.lower().endswith(".jpg"))
    if len(names) < n:
        raise AssertionError("need %d photos in %s" % (n, PHOTOS))
    return [os.path.join(PHOTOS, f) for f in names[:n]]


def make_tree(top):
    """The shared test folder. Returns the lists the tests reason about."""
    src = photos(6)
    os.makedirs(os.path.join(top, "nested", "deeper"))
    shutil.copy(src[0], os.path.join(top, "a.jpg"))
    shutil.copy(src[1], os.path.join(top, "b.jpg"))
    shutil.copy(src[2], os.path.join(top, "c.JPG"))
    shutil.copy(src[3], os.path.join(top, "nested", "d.jpg"))
    shutil.copy(src[5], os.path.join(top, 'we"ird, ü.jpg'))
    shutil.copy(src[0], os.path.join(top, ".hidden.jpg"))
    import cv2
    img = cv2.imread(src[4])
    cv2.imwrite(os.path.join(top, "nested", "deeper", "e.png"), img)
    with open(src[1], "rb") as f:
        head = f.read(64)
    with open(os.path.join(top, "corrupt.jpg"), "wb") as f:
        f.write(head + bytes((i * 37 + 11) & 0xff for i in range(4000)))
    with open(os.path.join(top, "text.jpg"), "w") as f:
        f.write("this is not a JPEG\n")
    open(os.path.join(top, "empty.jpg"), "wb").close()
    with open(os.path.join(top, "huge.png"), "wb") as f:
        f.write(huge_png())
    with open(os.path.join(top, "readme.txt"), "w") as f:
        f.write("not an image\n")
    with open(os.path.join(top, "a.jpg.xmp"), "wb") as f:
        f.write(FOREIGN_SIDECAR)
    with open(os.path.join(top, "b.jpg.xmp"), "wb") as f:
        f.write(BAD_SIDECAR)
    good_top = ["a.jpg", "b.jpg", "c.JPG", 'we"ird, ü.jpg']
    good_nested = ["nested/d.jpg", "nested/deeper/e.png"]
    bad = ["corrupt.jpg", "text.jpg", "empty.jpg", "huge.png"]
    non_images = 3  # readme.txt, a.jpg.xmp, b.jpg.xmp
    return good_top, good_nested, bad, non_images


def snapshot(top):
    """Every file under top with its bytes and mtime."""
    snap = {}
    for d, _, files in os.walk(top):
        for f in files:
            p = os.path.join(d, f)
            st = os.lstat(p)
            with open(p, "rb") as fh:
                snap[os.path.relpath(p, top)] = (fh.read(), st.st_mtime_ns)
    return snap


def xmp_props(path):
    """PickLabel and Rating of a sidecar read with an independent parser
    (attribute or element form)."""
    root = ET.parse(path).getroot()
    out = {}
    for desc in root.iter("{%s}Description" % NS_RDF):
        for key, ns, local in (("pick", NS_DK, "PickLabel"), ("rating", NS_XMP, "Rating")):
            v = desc.get("{%s}%s" % (ns, local))
            if v is None:
                el = desc.find("{%s}%s" % (ns, local))
                v = el.text if el is not None else None
            if v is not None:
                out[key] = int(v)
    return out


def rel(rec, top):
    return os.path.relpath(rec["file"], top)


# ---------------------------------------------------------------- tests

def t_version():
    r = run(["--version"])
    with open(os.path.join(ROOT, "include", "iqs", "iqs.h")) as f:
        h = f.read()
    ver = ".".join(re.search(r"#define IQS_VERSION_%s (\d+)" % k, h).group(1)
                   for k in ("MAJOR", "MINOR", "PATCH"))
    out = r.stdout.decode()
    return r.returncode == 0 and out.startswith("iqs " + ver), "rc %d out %r" % (r.returncode, out)


def t_help():
    bad = []
    for args in (["--help"], ["classify", "--help"], ["assess", "--help"], ["sort", "--help"]):
        r = run(args)
        if r.returncode != 0 or b"Usage:" not in r.stdout:
            bad.append(" ".join(args))
    return not bad, "no usage/rc 0 for: " + ", ".join(bad)


def t_usage_errors(tree):
    cases = [[], ["frobnicate"], ["sort"], ["sort", "--bogus", tree], ["sort", "-j", "x", tree],
             ["sort", "--format", "yaml", tree], ["sort", "--rating", "great=9", tree],
             ["sort", "--dry-run", tree], ["classify", os.path.join(tree, "a.jpg")],
             ["classify", "-r", "--model", "m", tree],
             ["sort", "--model", os.path.join(tree, "no-such-model.iqsw"), tree]]
    bad = []
    for c in cases:
        r = run(c)
        if r.returncode != 2 or not r.stderr:
            bad.append("%s -> %d" % (" ".join(os.path.basename(a) for a in c), r.returncode))
    return not bad, "; ".join(bad)


def t_sort_detectors(tree, good_top, good_nested, bad, non_images):
    r = run(["sort", "-r", "--format", "json", "--no-progress", tree])
    recs = jsonl(r.stdout)
    files = sorted(rel(x, tree) for x in recs)
    want = sorted(good_top + good_nested + bad)
    if files != want:
        return False, "files %s != %s" % (files, want)
    if r.returncode != 1:
        return False, "exit %d, want 1 (failed files)" % r.returncode
    for x in recs:
        name = rel(x, tree)
        if name in bad:
            if "error" not in x or "label" in x:
                return False, "%s: want an error record, got %s" % (name, x)
            continue
        if x.get("label") not in PICK or "error" in x:
            return False, "%s: bad record %s" % (name, x)
        for k in ("blur", "noise", "exposure", "compression", "overexposure", "underexposure"):
            if not 0.0 <= x[k] <= 1.0:
                return False, "%s: %s=%r out of [0,1]" % (name, k, x[k])
        if abs(x["exposure"] - max(x["overexposure"], x["underexposure"])) > 1e-4:
            return False, "%s: exposure is not max(over, under): %s" % (name, x)
        if not 0.0 <= x["quality"] <= 100.0 or not x.get("reason"):
            return False, "%s: quality/reason %s" % (name, x)
        if "probs" in x:
            return False, "network fields without a model: %s" % x
    err = r.stderr.decode()
    m = re.search(r"(\d+) other files? skipped", err)
    if not m or int(m.group(1)) != non_images:
        return False, "summary does not count %d skipped files: %r" % (non_images, err)
    if "docs/models.md" not in err:
        return False, "no hint to docs/models.md without a model: %r" % err
    if "\r" in err:
        return False, "progress line written although stderr is not a terminal"
    return True, ""


def t_sort_not_recursive(tree, good_top, bad):
    r = run(["sort", "--format", "json", tree])
    files = sorted(rel(x, tree) for x in jsonl(r.stdout))
    return files == sorted(good_top + bad), "got %s" % files


def t_sorted_order(tree):
    r = run(["sort", "-r", "-j", "2", "--sorted", "--format", "json", tree])
    files = [x["file"] for x in jsonl(r.stdout)]
    # Walk order: names sorted bytewise, folders entered in place.
    expect = []

    def walk(d):
        for name in sorted(os.listdir(d), key=os.fsencode):
            if name.startswith("."):
                continue
            p = os.path.join(d, name)
            if os.path.isdir(p):
                walk(p)
            elif re.search(r"\.(jpe?g|png)$", name, re.I):
                expect.append(p)
    walk(tree)
    return files == expect, "order %s != %s" % ([rel({"file": f}, tree) for f in files],
                                                 [rel({"file": f}, tree) for f in expect])


def t_csv(tree, good_top, bad):
    r = run(["sort", "--format", "csv", tree])
    rows = list(csv.reader(io.StringIO(r.stdout.decode("utf-8"))))
    if rows[0] != SORT_FIELDS:
        return False, "header %s" % rows[0]
    body = {os.path.relpath(row[0], tree): dict(zip(SORT_FIELDS, row)) for row in rows[1:]}
    if sorted(body) != sorted(good_top + bad):
        return False, "rows %s" % sorted(body)
    for name in good_top:
        row = body[name]
        if row["label"] not in PICK or row["error"] or not row["blur"]:
            return False, "%s: %s" % (name, row)
    for name in bad:
        if not body[name]["error"] or body[name]["label"]:
            return False, "%s: %s" % (name, body[name])
    return True, ""


def t_table(tree):
    r = run(["sort", tree])
    lines = r.stdout.decode("utf-8").splitlines()
    if not lines or not lines[0].startswith("FILE") or "LABEL" not in lines[0]:
        return False, "header %r" % lines[:1]
    if "\033[" in r.stdout.decode("utf-8"):
        return False, "colour codes although stdout is not a terminal"
    col = lines[0].index("LABEL")
    labels = [ln[col:].split()[0] for ln in lines[1:] if "error:" not in ln]
    return labels and all(l in PICK for l in labels), "labels not aligned: %s" % lines[1:4]


def t_weird_name(tree):
    name = os.path.join(tree, 'we"ird, ü.jpg')
    rj = jsonl(run(["sort", "--format", "json", name]).stdout)
    rc = list(csv.reader(io.StringIO(run(["sort", "--format", "csv", name]).stdout.decode())))
    return (len(rj) == 1 and rj[0]["file"] == name and rc[1][0] == name,
            "json %s csv %s" % (rj, rc))


def t_xmp(tree, good_top, good_nested, bad):
    before = snapshot(tree)
    r = run(["sort", "-r", "--xmp", "--format", "json", tree])
    recs = {rel(x, tree): x for x in jsonl(r.stdout)}
    if r.returncode != 1:
        return False, "exit %d, want 1 (bad images, unparsable sidecar)" % r.returncode
    # The unparsable sidecar is untouched and reported.
    with open(os.path.join(tree, "b.jpg.xmp"), "rb") as f:
        if f.read() != BAD_SIDECAR:
            return False, "unparsable sidecar was modified"
    b = recs["b.jpg"]
    if b.get("xmp") != "failed" or "sidecar" not in b.get("error", ""):
        return False, "unparsable sidecar not reported: %s" % b
    # The foreign sidecar keeps every other byte.
    a = recs["a.jpg"]
    pick = PICK[a["label"]]
    want = FOREIGN_SIDECAR.replace(b'digiKam:PickLabel="0"', b'digiKam:PickLabel="%d"' % pick)
    if pick == 1:
        want = want.replace(b'xmp:Rating="4"', b'xmp:Rating="-1"')
    with open(os.path.join(tree, "a.jpg.xmp"), "rb") as f:
        got = f.read()
    if got != want:
        return False, "foreign sidecar not preserved byte for byte:\n%r" % got
    if a.get("xmp") != "written":
        return False, "a.jpg xmp status %s" % a.get("xmp")
    # New sidecars for the other good images, readable by another parser.
    for name in good_top + good_nested:
        if name in ("a.jpg", "b.jpg"):
            continue
        x = recs[name]
        props = xmp_props(os.path.join(tree, name + ".xmp"))
        if x.get("xmp") != "created" or props.get("pick") != PICK[x["label"]]:
            return False, "%s: %s / %s" % (name, x, props)
        if (props.get("rating") == -1) != (x["label"] == "rejected"):
            return False, "%s: rating %s for %s" % (name, props.get("rating"), x["label"])
    for name in bad:
        if os.path.exists(os.path.join(tree, name + ".xmp")):
            return False, "sidecar written for failed image " + name
    leftovers = [f for f in os.listdir(tree) if f.endswith(".tmp")]
    if leftovers:
        return False, "temporary files left: %s" % leftovers
    # A second run changes nothing.
    mid = snapshot(tree)
    r2 = run(["sort", "-r", "--xmp", "--format", "json", tree])
    if snapshot(tree) != mid:
        return False, "second run rewrote sidecars"
    st = {x.get("xmp") for x in jsonl(r2.stdout) if "label" in x and rel(x, tree) != "b.jpg"}
    if st != {"unchanged"}:
        return False, "second run statuses %s" % st
    # Restore for the other tests.
    restore(tree, before)
    return True, ""


def restore(tree, snap):
    for d, _, files in os.walk(tree):
        for f in files:
            p = os.path.join(d, f)
            if os.path.relpath(p, tree) not in snap:
                os.unlink(p)
    for k, (data, _) in snap.items():
        with open(os.path.join(tree, k), "wb") as f:
            f.write(data)


def t_dry_run(tree):
    before = snapshot(tree)
    r = run(["sort", "-r", "--xmp", "--dry-run", "--format", "json", tree])
    st = {x.get("xmp") for x in jsonl(r.stdout) if "label" in x}
    if snapshot(tree) != before:
        return False, "--dry-run changed files"
    return st <= {"would-create", "would-write", "unchanged", "failed"} and \
        "would-create" in st, "statuses %s" % st


def t_adobe_and_rating(tree):
    before = snapshot(tree)
    c = os.path.join(tree, "c.xmp")
    with open(c, "wb") as f:
        f.write(ADOBE_SIDECAR)
    try:
        r = run(["sort", "--xmp", "--sidecar-style", "adobe", "--rating",
                 "rejected=-1,pending=2,accepted=5", "--format", "json", tree])
        recs = {rel(x, tree): x for x in jsonl(r.stdout)}
        if os.path.exists(os.path.join(tree, "c.JPG.xmp")):
            return False, "digiKam-style sidecar written in adobe mode"
        x = recs["c.JPG"]
        props = xmp_props(c)
        want_rating = {"rejected": -1, "pending": 2, "accepted": 5}[x["label"]]
        if props != {"pick": PICK[x["label"]], "rating": want_rating}:
            return False, "props %s for %s" % (props, x)
        with open(c, "rb") as f:
            got = f.read()
        # Removing what iqs added must give back the original bytes.
        stripped = re.sub(rb'\s+(xmlns:digiKam|xmlns:xmp|digiKam:PickLabel|xmp:Rating)="[^"]*"',
                          b"", got)
        if stripped != ADOBE_SIDECAR:
            return False, "adobe sidecar not preserved: %r" % got
        d = recs["a.jpg"]
        if xmp_props(os.path.join(tree, "a.xmp")).get("rating") != \
                {"rejected": -1, "pending": 2, "accepted": 5}[d["label"]]:
            return False, "--rating not applied to a new sidecar"
        return True, ""
    finally:
        restore(tree, before)


def make_readonly(path):
    """Makes a folder unwritable in a way root respects. Returns (how, undo).
    Root ignores permission bits, so as root the folder gets the immutable
    attribute (chattr +i, needs CAP_LINUX_IMMUTABLE and ext2/3/4, btrfs,
    xfs...). If that is refused, the sidecar path of the photo is occupied
    by a folder instead, which fails the same write path (open/rename)."""
    if os.geteuid() != 0:
        os.chmod(path, 0o555)
        return "chmod 555", lambda: os.chmod(path, 0o755)
    r = subprocess.run(["chattr", "+i", path], capture_output=True)
    if r.returncode == 0:
        return "chattr +i", lambda: subprocess.run(["chattr", "-i", path])
    for f in os.listdir(path):
        if f.endswith(".jpg"):
            os.mkdir(os.path.join(path, f + ".xmp"))
    return "sidecar path is a folder", lambda: None


def t_readonly(tmp):
    ro = os.path.join(tmp, "ro")
    os.mkdir(ro)
    for i, src in enumerate(photos(2)):
        shutil.copy(src, os.path.join(ro, "r%d.jpg" % i))
    how, undo = make_readonly(ro)
    try:
        r = run(["sort", "--xmp", "--format", "json", ro])
        recs = jsonl(r.stdout)
        ok = (r.returncode == 1 and len(recs) == 2 and
              all(x.get("label") in PICK and x.get("xmp") == "failed" and
                  "sidecar" in x.get("error", "") for x in recs) and
              not [f for f in os.listdir(ro) if f.endswith(".xmp") and
                   os.path.isfile(os.path.join(ro, f))])
        return ok, "(%s) rc %d records %s" % (how, r.returncode, recs)
    finally:
        undo()
        print("# read-only folder made with: " + how)


def t_interrupt(tmp):
    """SIGINT mid-run: stops after the images in hand, exit 130, every
    sidecar complete, no temporary file."""
    d = os.path.join(tmp, "many")
    os.mkdir(d)
    for i in range(24):
        src = photos(6)[i % 6]
        shutil.copy(src, os.path.join(d, "m%02d.jpg" % i))
    p = subprocess.Popen([IQS, "sort", "-j", "1", "--xmp", "--format", "json", d],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=base_env())
    first = p.stdout.readline()
    p.send_signal(signal.SIGINT)
    try:
        rest, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        return False, "did not stop after SIGINT"
    n = len([l for l in (first + rest).splitlines() if l.strip()])
    side = [f for f in os.listdir(d) if f.endswith(".xmp")]
    for f in side:
        xmp_props(os.path.join(d, f))  # raises on a partial file
    tmpf = [f for f in os.listdir(d) if f.endswith(".tmp")]
    ok = p.returncode == 130 and 1 <= n < 24 and len(side) == n and not tmpf and \
        b"interrupted" in err
    return ok, "rc %d, %d records, %d sidecars, tmp %s, stderr %r" % (
        p.returncode, n, len(side), tmpf, err[-200:])


def t_broken_pipe(tree):
    """`iqs sort ... | head -1` ends promptly without an error storm."""
    sh = "'%s' sort -r -j 1 --format json '%s' | head -n 1" % (IQS, tree)
    t0 = time.time()
    r = subprocess.run(["bash", "-c", "set -o pipefail; " + sh], capture_output=True,
                       env=base_env(), timeout=120)
    lines = r.stdout.decode().splitlines()
    return len(lines) == 1 and json.loads(lines[0]).get("file"), \
        "rc %d out %r (%.1f s)" % (r.returncode, r.stdout[:200], time.time() - t0)


def t_progress_tty(tree):
    """A progress line on stderr only when stderr is a terminal."""
    master, slave = pty.openpty()
    p = subprocess.Popen([IQS, "sort", "-j", "1", "--format", "json", tree],
                         stdout=subprocess.PIPE, stderr=slave, env=base_env())
    os.close(slave)
    buf = b""
    while True:
        rl, _, _ = select.select([master], [], [], 60)
        if not rl:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
    p.wait(timeout=60)
    os.close(master)
    text = buf.decode("utf-8", "replace")
    return (re.search(r"\d+/\d+ +[\d.]+ img/s +ETA \d+:\d\d", text) is not None and
            b"\033[K" not in p.stdout.read()), "stderr on tty: %r" % text[-300:]


def t_classify(tree, model, nclass):
    need_model(model)
    imgs = [os.path.join(tree, f) for f in ("a.jpg", "corrupt.jpg", "missing.jpg", "b.jpg")]
    r = run(["classify", "--model", model, "--format", "json"] + imgs)
    recs = jsonl(r.stdout)
    if [x["file"] for x in recs] != imgs:
        return False, "records %s" % [x["file"] for x in recs]
    if r.returncode != 1:
        return False, "exit %d with failing files" % r.returncode
    for x in (recs[0], recs[3]):
        p = x["probs"]
        if len(p) != nclass or abs(sum(p) - 1) > 1e-3 or x["class"] != p.index(max(p)):
            return False, "bad record %s" % x
        if not isinstance(x["label"], str):
            return False, "no label in %s" % x
        if nclass == 10:
            s = sum((i + 1) * v for i, v in enumerate(p))
            if abs(x.get("score", -1) - s) > 2e-3:
                return False, "score %s != sum i*p_i %.4f" % (x.get("score"), s)
        elif "score" in x:
            return False, "score for a class head: %s" % x
    if "error" not in recs[1] or "error" not in recs[2] or "probs" in recs[1]:
        return False, "errors not reported: %s" % recs[1:3]
    # The table and CSV show the same classes.
    rc = list(csv.reader(io.StringIO(run(["classify", "--model", model, "--format", "csv"] +
                                         imgs).stdout.decode())))
    if rc[0] != ["file", "class", "label", "score", "probs", "error"] or \
            int(rc[1][1]) != recs[0]["class"]:
        return False, "csv %s" % rc[:2]
    ok = run(["classify", "--model", model, imgs[0]])
    return ok.returncode == 0, "exit %d for a good image" % ok.returncode


def t_env_model(tree):
    model = need_model(MODEL_C3)
    env = base_env()
    env["IQS_MODEL"] = model
    a = os.path.join(tree, "a.jpg")
    with_env = jsonl(run(["sort", "--format", "json", a], env=env).stdout)
    no_model = jsonl(run(["sort", "--no-model", "--format", "json", a], env=env).stdout)
    return ("probs" in with_env[0] and "probs" not in no_model[0],
            "%s / %s" % (with_env, no_model))


def expected_label(x, nclass):
    if nclass == 3:
        return ["rejected", "pending", "accepted"][x["class"]]
    s = x["score"]
    return "rejected" if s < 4.0 else "accepted" if s >= 6.0 else "pending"


def t_network_only(tree, model, nclass):
    need_model(model)
    r = run(["sort", "-r", "--no-detectors", "--model", model, "--format", "json", tree])
    recs = [x for x in jsonl(r.stdout) if "error" not in x]
    bad = [x for x in recs if x["label"] != expected_label(x, nclass) or "blur" in x]
    return recs and not bad, "label does not follow the head: %s" % bad[:2]


def t_jobs_identical(tree, model):
    args = ["sort", "-r", "--sorted", "--format", "json", tree]
    if model:
        args += ["--model", need_model(model)]
    j1 = run(args + ["-j", "1"])
    j4 = run(args + ["-j", "4"])
    u4 = run([a for a in args if a != "--sorted"] + ["-j", "4"])  # completion order
    same = j1.stdout == j4.stdout and j1.returncode == j4.returncode
    lines1 = sorted(j1.stdout.decode().splitlines())
    lines4 = sorted(u4.stdout.decode().splitlines())
    return same and lines1 == lines4 and len(lines1) > 5, \
        "-j 1 and -j 4 differ:\n%s\n%s" % (j1.stdout[:300], j4.stdout[:300])


def t_combined(tree):
    model = need_model(MODEL_C10)
    r = run(["sort", "--model", model, "--format", "json", os.path.join(tree, "a.jpg"),
             os.path.join(tree, "b.jpg")])
    recs = jsonl(r.stdout)
    ok = r.returncode == 0 and len(recs) == 2 and all(
        x["label"] in PICK and len(x["probs"]) == 10 and "score" in x and "blur" in x and
        "quality" in x for x in recs)
    return ok, "rc %d %s" % (r.returncode, recs)


def t_assess(tree):
    imgs = [os.path.join(tree, "b.jpg"), os.path.join(tree, "text.jpg"),
            os.path.join(tree, "a.jpg")]
    r = run(["assess", "--format", "json"] + imgs)
    recs = jsonl(r.stdout)
    ok = (r.returncode == 1 and [x["file"] for x in recs] == imgs and
          "error" in recs[1] and recs[0]["label"] in PICK and "blur" in recs[2])
    return ok, "rc %d %s" % (r.returncode, recs)


def main():
    if not os.access(IQS, os.X_OK):
        report("binary_exists", False, IQS + " not built")
        return 1
    tmp = tempfile.mkdtemp(prefix="iqs_cli_")
    try:
        tree = os.path.join(tmp, "tree")
        os.mkdir(tree)
        good_top, good_nested, bad, non_images = make_tree(tree)
        check("version", t_version)
        check("help", t_help)
        check("usage_errors_exit_2", lambda: t_usage_errors(tree))
        check("sort_detectors_recursive", lambda: t_sort_detectors(
            tree, good_top, good_nested, bad, non_images))
        check("sort_not_recursive", lambda: t_sort_not_recursive(tree, good_top, bad))
        check("sort_sorted_walk_order", lambda: t_sorted_order(tree))
        check("sort_csv_stable_fields", lambda: t_csv(tree, good_top, bad))
        check("sort_table", lambda: t_table(tree))
        check("json_csv_escaping", lambda: t_weird_name(tree))
        check("assess", lambda: t_assess(tree))
        check("xmp_merge_create_untouched", lambda: t_xmp(tree, good_top, good_nested, bad))
        check("xmp_dry_run_writes_nothing", lambda: t_dry_run(tree))
        check("xmp_adobe_style_and_rating", lambda: t_adobe_and_rating(tree))
        check("xmp_readonly_folder", lambda: t_readonly(tmp))
        check("interrupt_clean", lambda: t_interrupt(tmp))
        check("broken_pipe", lambda: t_broken_pipe(tree))
        check("progress_only_on_tty", lambda: t_progress_tty(tree))
        check("jobs_identical_detectors", lambda: t_jobs_identical(tree, None))
        check("classify_c3", lambda: t_classify(tree, MODEL_C3, 3))
        check("classify_nima10", lambda: t_classify(tree, MODEL_C10, 10))
        check("model_from_env", lambda: t_env_model(tree))
        check("network_only_labels_c3", lambda: t_network_only(tree, MODEL_C3, 3))
        check("network_only_labels_nima10", lambda: t_network_only(tree, MODEL_C10, 10))
        check("detectors_plus_model", lambda: t_combined(tree))
        check("jobs_identical_with_model", lambda: t_jobs_identical(tree, MODEL_C3))
    finally:
        for d, dirs, _ in os.walk(tmp):
            for x in dirs:
                subprocess.run(["chattr", "-i", os.path.join(d, x)], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
