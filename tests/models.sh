#!/usr/bin/env bash
# Generates the frozen test graphs (tests/gen/make_models.sh), converts them,
# and computes OpenCV DNN reference outputs (tests/ref/opencv_ref.py) into
# $IQS_MODELS (default build/models). Everything is cached by a stamp of the
# inputs, so a second run costs seconds.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
IQS_MODELS=${IQS_MODELS:-$root/build/models}
IQS_SHARED=${IQS_SHARED:-$root/../shared}
export IQS_MODELS IQS_SHARED PYTHON
mkdir -p "$IQS_MODELS"
CONVERT="$root/$BUILD/bin/convert_pb" bash "$here/gen/make_models.sh"

photos="$IQS_SHARED/testdata/photos"
# Lossless PNG copies of the photos (decoded by OpenCV's libjpeg), so both
# engines can be fed from their own decoders with identical pixels.
pngdir="$IQS_MODELS/png"
mkdir -p "$pngdir"
for f in "$photos"/*.jpg; do
    b=$(basename "$f" .jpg)
    [ -s "$pngdir/$b.png" ] || "$PYTHON" -c "import cv2,sys; cv2.imwrite(sys.argv[2], cv2.imread(sys.argv[1]))" "$f" "$pngdir/$b.png"
done

# name size nphotos: reference sets used by tests/test_fidelity.c
refs="irv2_224_tf2_c3:224:25 irv2_224_tf1_c3:224:6 irv2_299_tf2_c10:299:6 irv2_299_tf1_c3:299:6 irv2_any_tf2_c3:224:6 v3_299_tf2_c3:299:25 v3_299_tf1_c3:299:6 v3_224_tf2_c10:224:6"
stamp_src=$(cat "$here/ref/opencv_ref.py" | sha256sum | cut -c1-16)
for spec in $refs; do
    IFS=: read -r name size count <<<"$spec"
    pb="$IQS_MODELS/$name.pb"
    [ -f "$pb" ] || { echo "missing $pb"; exit 1; }
    out="$IQS_MODELS/ref/$name"
    stamp="$stamp_src $(stat -c %Y-%s "$pb") $count"
    if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ]; then continue; fi
    rm -rf "$out"; mkdir -p "$out/jpg" "$out/png"
    imgs=$(ls "$photos"/*.jpg | sort | head -n "$count")
    pngs=$(for f in $imgs; do echo "$pngdir/$(basename "$f" .jpg).png"; done)
    t0=$(date +%s)
    "$PYTHON" "$here/ref/opencv_ref.py" --pb "$pb" --size "$size" --out-dir "$out/jpg" $imgs >/dev/null
    "$PYTHON" "$here/ref/opencv_ref.py" --pb "$pb" --size "$size" --out-dir "$out/png" $pngs >/dev/null
    echo "$stamp" > "$out/stamp"
    echo "reference $name: $count photos x 2 in $(( $(date +%s) - t0 )) s"
done
