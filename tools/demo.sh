#!/usr/bin/env bash
# `make demo`: generate and convert the demo network (deterministic, untrained
# weights), then run the iqs command on the bundled sample photos.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
out="$root/build/demo"
mkdir -p "$out"
model="$out/demo_irv2_224.iqsw"
if [ ! -f "$model" ]; then
    echo "== generating the demo network (InceptionResNetV2 224, UNTRAINED deterministic weights)"
    IQS_PHOTO_DIR="$root/samples" "$PYTHON" "$root/tests/gen/gen_graph.py" --arch irv2 --style tf2 \
        --size 224 --classes 3 --seed 1 --cache-dir "$out/cache" --out "$out/demo_irv2_224.pb"
    "$root/$BUILD/bin/convert_pb" "$out/demo_irv2_224.pb" "$model"
    rm -f "$out/demo_irv2_224.pb"
fi
echo "== iqs sort samples/ (classic detectors)"
"$root/$BUILD/bin/iqs" sort "$root/samples"
echo "== iqs classify with the demo network (untrained: labels are not meaningful)"
"$root/$BUILD/bin/iqs" classify --model "$model" "$root"/samples/*.jpg
