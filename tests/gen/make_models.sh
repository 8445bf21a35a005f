#!/usr/bin/env bash
# Generates the frozen test graphs into $IQS_MODELS and, when $CONVERT is an executable
# convert_pb, converts each X.pb into X.iqsw. Called by tests/models.sh.
# Env: IQS_MODELS (output dir), IQS_SHARED (shared data: calibration photos),
#      PYTHON (default /usr/bin/python3), CONVERT (path of convert_pb; may not exist yet).
# Up-to-date check: X.pb.stamp holds sha256(generator sources + arguments); X.iqsw.stamp
# holds sha256(converter binary + X.pb stamp + arguments). Only stale files are rebuilt.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
: "${IQS_MODELS:?IQS_MODELS must be set}"
export IQS_SHARED=${IQS_SHARED:-$here/../../../shared}
CONVERT=${CONVERT:-}
mkdir -p "$IQS_MODELS"

# Generator sources plus the photo set (names and sizes; the first 8 calibrate the weights).
src_hash=$( (cat "$here"/gen_graph.py "$here"/nets.py "$here"/pbwire.py "$here"/photos.py
             cd "$IQS_SHARED/testdata/photos" && stat -c '%n %s' -- *) | sha256sum | cut -d' ' -f1)

# name arch style size classes seed
models="
irv2_224_tf2_c3  irv2 tf2 224 3  1
irv2_224_tf1_c3  irv2 tf1 224 3  1
irv2_any_tf2_c3  irv2 tf2 0   3  1
irv2_299_tf2_c10 irv2 tf2 299 10 2
irv2_299_tf1_c3  irv2 tf1 299 3  2
v3_299_tf2_c3    v3   tf2 299 3  3
v3_299_tf1_c3    v3   tf1 299 3  3
v3_224_tf2_c10   v3   tf2 224 10 4
"

stamp_of() { printf '%s\n' "$@" | sha256sum | cut -d' ' -f1; }
now_ms() { date +%s%3N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }

have_convert=0
if [ -n "$CONVERT" ] && [ -x "$CONVERT" ]; then
    have_convert=1
    conv_hash=$(sha256sum "$CONVERT" | cut -d' ' -f1)
fi

while read -r name arch style size classes seed; do
    [ -n "$name" ] || continue
    pb="$IQS_MODELS/$name.pb"
    args="--arch $arch --style $style --size $size --classes $classes --seed $seed"
    want=$(stamp_of "$src_hash" "$args")
    if [ -f "$pb" ] && [ -f "$pb.stamp" ] && [ "$(cat "$pb.stamp")" = "$want" ]; then
        :
    else
        t0=$(now_ms)
        rm -f "$pb.stamp"
        # shellcheck disable=SC2086
        "$PYTHON" "$here/gen_graph.py" $args --out "$pb" --cache-dir "$IQS_MODELS/cache" >/dev/null
        echo "$want" >"$pb.stamp"
        t1=$(now_ms)
        printf 'model %-18s generated  %6s s  %s bytes\n' "$name" "$(secs "$t0" "$t1")" "$(stat -c %s "$pb")"
    fi
    if [ "$have_convert" -eq 1 ]; then
        iq="$IQS_MODELS/$name.iqsw"
        cargs=()
        if [ "$size" = 0 ]; then cargs=(--input-size 224); fi
        cwant=$(stamp_of "$conv_hash" "$want" "${cargs[*]:-}")
        if [ -f "$iq" ] && [ -f "$iq.stamp" ] && [ "$(cat "$iq.stamp")" = "$cwant" ]; then
            continue
        fi
        t0=$(now_ms)
        rm -f "$iq.stamp"
        "$CONVERT" "$pb" "$iq" "${cargs[@]}" >/dev/null
        echo "$cwant" >"$iq.stamp"
        t1=$(now_ms)
        printf 'model %-18s converted  %6s s  %s bytes\n' "$name" "$(secs "$t0" "$t1")" "$(stat -c %s "$iq")"
    fi
done <<<"$models"
