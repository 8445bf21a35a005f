/*
 * Exposure detector (layer: detect), after digiKam's ExposureDetector: a
 * weighted count of gray pixels in the bright bands [245,255) (weight 15)
 * and [235,245) (weight 1), and in the dark bands [0,15) (weight 15) and
 * [15,30) (weight 6), each against the pixels outside its own bands:
 *   over  = (15 O + Do) / (normal_o + 15 O + Do),  normal_o = n - O - Do
 *   under = (15 U + 6 Du) / (normal_u + 15 U + 6 Du), normal_u = n - U - Du
 * digiKam's bands are half-open, so a clipped 255 counts as "normal"
 * (reference Q2). count255 != 0 puts 255 into the top band instead (the
 * DEFAULT profile: a blown highlight is the most over-exposed pixel there
 * is). One histogram pass; exact integer counts.
 */
#include "detect/detect.h"

void iqs_exposure_scores(const uint8_t *gray, size_t n, int count255,
                         float *over, float *under)
{
    uint64_t hist[256] = { 0 };
    uint64_t o = 0, dov = 0, u = 0, du = 0;
    double no, nu;
    size_t i;
    int v;

    for (i = 0; i < n; i++)
        hist[gray[i]]++;
    for (v = 245; v < 255; v++)
        o += hist[v];
    if (count255)
        o += hist[255];
    for (v = 235; v < 245; v++)
        dov += hist[v];
    for (v = 0; v < 15; v++)
        u += hist[v];
    for (v = 15; v < 30; v++)
        du += hist[v];
    no = (double)(n - o - dov) + 15.0 * (double)o + (double)dov;
    nu = (double)(n - u - du) + 15.0 * (double)u + 6.0 * (double)du;
    *over = no > 0 ? (float)((15.0 * (double)o + (double)dov) / no) : 0.0f;
    *under = nu > 0 ? (float)((15.0 * (double)u + 6.0 * (double)du) / nu)
                    : 0.0f;
}

/* ------------------------------------------------------------------------
 * Calibrated exposure measures (IQS_SCORING_CALIBRATED). Over-exposure
 * blows highlights (any channel at 254-255: clipped colour is lost colour)
 * and lifts everything below them, so the 35th percentile of gray (the lower
 * mid-tones) rises with the gain; a bright scene's white areas lie above
 * it. Under-exposure pulls the highlights down, so the 99th percentile of
 * gray says how far the brightest part of the picture is from white.
 * Percentiles are interpolated inside their histogram bin, so they move
 * continuously with a gain. The 5th percentile (the previous over measure's
 * "lifted shadows") is still reported for the calibration tools.
 */
static double percentile(const uint64_t hist[256], size_t n, double q)
{
    const double target = q * (double)n;
    double cum = 0;
    int v;
    for (v = 0; v < 256; v++) {
        if (hist[v] && cum + (double)hist[v] >= target) {
            const double r = v - 0.5 + (target - cum) / (double)hist[v];
            return r < 0 ? 0.0 : r > 255 ? 255.0 : r;
        }
        cum += (double)hist[v];
    }
    return 255.0;
}

void iqs_exposure_stats(const uint8_t *rgb, const uint8_t *gray, size_t n,
                        double *clip, double *shadow, double *midtone,
                        double *highlight)
{
    uint64_t hist[256] = { 0 }, c = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        const uint8_t *p = rgb + 3 * i;
        hist[gray[i]]++;
        c += (p[0] >= 254) | (p[1] >= 254) | (p[2] >= 254);
    }
    *clip = (double)c / (double)n;
    *shadow = percentile(hist, n, 0.05);
    *midtone = percentile(hist, n, 0.35);
    *highlight = percentile(hist, n, 0.99);
}

void iqs_exposure_measures(const uint8_t *rgb, const uint8_t *gray, size_t n,
                           double *clip, double *shadow, double *highlight)
{
    double midtone;
    iqs_exposure_stats(rgb, gray, n, clip, shadow, &midtone, highlight);
}
