#!/usr/bin/env python3
"""The library's layering (docs/architecture.md): every #include "x/..." in
lib/<module>/ must name a module that <module> may depend on; only
lib/image/decode_stb.c includes stb_image; nothing under lib/ includes
OpenCV, prints or exits."""
import os, re, sys

root = os.environ.get("IQS_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
allowed = {
    "base": {"base"},
    "format": {"base", "format"},
    "io": {"base", "io"},
    "image": {"base", "image", "io"},
    "ops": {"base", "ops"},
    "net": {"base", "ops", "net", "format"},   # format: the iqsw_layer struct only
    "detect": {"base", "detect", "image", "io"},
    "api": {"base", "format", "io", "image", "ops", "net", "detect", "api"},
}
failed = 0
def check(name, cond, detail=""):
    global failed
    print(("PASS " if cond else "FAIL ") + name + ((": " + detail) if detail and not cond else ""))
    failed += not cond

libdir = os.path.join(root, "lib")
mods = sorted(d for d in os.listdir(libdir) if os.path.isdir(os.path.join(libdir, d)))
check("known modules", set(mods) <= set(allowed), str(set(mods) - set(allowed)))
for mod in mods:
    bad = []
    for f in sorted(os.listdir(os.path.join(libdir, mod))):
        if not f.endswith((".c", ".h")):
            continue
        text = open(os.path.join(libdir, mod, f), encoding="utf-8").read()
        for inc in re.findall(r'#\s*include\s+"([^"]+)"', text):
            dep = inc.split("/")[0] if "/" in inc else mod
            if dep == "iqs" or dep == "stb":
                continue
            if dep not in allowed.get(mod, set()):
                bad.append("%s/%s -> %s" % (mod, f, inc))
        code = re.sub(r"/\*.*?\*/|//[^\n]*", "", text, flags=re.S)
        for fn in ("printf(", "fprintf(", "puts(", "exit(", "abort(", "perror("):
            for m in re.finditer(r"(?<![\w.>])" + re.escape(fn), code):
                line = code[:m.start()].count("\n") + 1
                bad.append("%s/%s calls %s (line ~%d)" % (mod, f, fn[:-1], line))
        if "stb_image" in code and not (mod == "image" and f == "decode_stb.c"):
            bad.append("%s/%s includes stb_image" % (mod, f))
        if "opencv" in code.lower() and "#include" in code and re.search(r'#\s*include\s*[<"]opencv', code):
            bad.append("%s/%s includes OpenCV" % (mod, f))
    check("layering of lib/%s" % mod, not bad, "; ".join(bad))
sys.exit(1 if failed else 0)
