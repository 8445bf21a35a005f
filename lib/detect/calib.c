/*
 * Score mappings of the calibrated detectors (layer: detect): each raw
 * measure (detect.h, iqs_calib_raw) becomes a damage score in [0,1] through
 * a logistic curve fixed by two anchors, the raw value scoring 0.4 (the
 * highest score that is still Accepted under the default thresholds, since
 * quality = (1 - worst score) x 100 must exceed 60) and the raw value
 * scoring 0.9 (Rejected: quality <= 10 needs a score above 0.89). The
 * anchors were chosen on calibration photos only (the calibration half of
 * the shared photo ladders, tools/calib/ladder.py, and the photos of
 * tools/calib/debian_photos.py; docs/verdict.md lists the measurements); the
 * held-out half is what tests/test_verdict.c checks.
 */
#include <math.h>

#include "detect/detect.h"

/* logit(0.9) - logit(0.4) and -logit(0.4). */
#define SPAN 2.6026896854443837
#define L40 0.4054651081081644

/* Logistic through (x40, 0.4) and (x90, 0.9); x90 < x40 makes it fall. */
static float anchored(double x, double x40, double x90)
{
    const double k = (x90 - x40) / SPAN;
    const double z = (x - x40) / k - L40;
    return (float)(1.0 / (1.0 + exp(-z)));
}

/* Blur: ln of the edge width at a 1024 px long side. Sharp photos measure
 * 0.5-2 px, a gaussian blur of sigma s adds to it in quadrature. */
#define BLUR_W40 2.6
#define BLUR_W90 5.0

float iqs_calib_blur(double w)
{
    if (!(w > 0))
        return 1.0f; /* no edge at all: a flat picture is all blur */
    return anchored(log(w), log(BLUR_W40), log(BLUR_W90));
}

/* Noise: std (grey levels) of the noise in the flattest areas. */
#define NOISE_S40 4.5
#define NOISE_S90 9.5

float iqs_calib_noise(double sigma)
{
    return anchored(sigma, NOISE_S40, NOISE_S90);
}

/* Compression: blockiness ratio. Below BLOCK_NONE no blocking is
 * measurable (clean photos and quality 90 re-encodes spread up to 1.16),
 * and the score is 0; above it the curve is rescaled to start at 0. */
#define BLOCK_NONE 1.20
#define BLOCK_R40 1.45
#define BLOCK_R90 1.95

float iqs_calib_compression(double r)
{
    const double s0 = anchored(BLOCK_NONE, BLOCK_R40, BLOCK_R90);
    double s;
    if (!(r > BLOCK_NONE))
        return 0.0f;
    s = (anchored(r, BLOCK_R40, BLOCK_R90) - s0) / (1.0 - s0);
    return (float)(s < 0 ? 0 : s);
}

/* Over-exposure: clipped fraction + half the 35th percentile of gray as a
 * fraction of white. A gain lifts the lower mid-tones with the highlights;
 * a bright scene's white areas mostly lie above its 35th percentile, so
 * they count only once they clip. Anchors: 0.4 at the clean photos' mean +
 * 2 sd; 0.9 where the margins to the issue's +0.5 EV (<= 25% Rejected) and
 * +2 EV (>= 70%) targets are equal on the 37 calibration photos
 * (tools/calib/anchors.py, docs/verdict.md "Exposure"). */
#define OVER_X40 0.40
#define OVER_X90 0.58

float iqs_calib_over(double clip, double midtone)
{
    return anchored(clip + 0.5 * midtone / 255.0, OVER_X40, OVER_X90);
}

/* Under-exposure: the 99th percentile of gray, falling. 0.9 anchor by the
 * same equal-margin rule (-0.5 EV, -2 EV) as over-exposure. */
#define UNDER_H40 185.0
#define UNDER_H90 136.7

float iqs_calib_under(double highlight)
{
    return anchored(highlight, UNDER_H40, UNDER_H90);
}
