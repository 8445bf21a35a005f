/*
 * Compression detector (layer: detect), after digiKam's CompressionDetector
 * (which cites a blockiness measure from ARPN JEAS 2016):
 *  - block-edge map: along rows and along columns, position i (2 <= i <=
 *    N-2) is an edge when, in saturating 8-bit arithmetic,
 *      s = sat(g[i] - g[i+1]),  a = sat(s - sat(g[i-1] - g[i])),
 *      b = sat(s - sat(g[i+1] - g[i-2])),  a >= 2 and b >= 2
 *    (a downward step larger than its neighbours; the third difference
 *    really spans i+1 back to i-2, as in digiKam);
 *  - "mono-colour" map M: the pixel equals its own 5x5 median (replicate
 *    border) in all three channels;
 *  - score = (10 Mc + 2 E) / (10 Mc + n) with Mc = |M|, E = |M and edge|:
 *    digiKam's formula after its double subtraction of E simplifies to this
 *    (its edge weight 120 and sigmoid constants are unused). Clamped to 1.
 */
/* The hot loops here are written to vectorise; gcc's -O2 cost model
 * ("very cheap") refuses most of them, so ask for -O3 in this file. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#include <string.h>

#include "detect/detect.h"

static inline int sat(int v)
{
    return v > 0 ? v : 0;
}

static inline int is_edge(int gm2, int gm1, int g0, int gp1)
{
    const int s = sat(g0 - gp1);
    const int a = sat(s - sat(gm1 - g0));
    const int b = sat(s - sat(gp1 - gm2));
    return a >= 2 && b >= 2;
}

void iqs_compression_edges(const uint8_t *gray, int w, int h, uint8_t *edge)
{
    int x, y;

    memset(edge, 0, (size_t)w * h);
    for (y = 0; y < h; y++) {
        const uint8_t *g = gray + (size_t)y * w;
        uint8_t *e = edge + (size_t)y * w;
        for (x = 2; x <= w - 2; x++)
            e[x] |= (uint8_t)is_edge(g[x - 2], g[x - 1], g[x], g[x + 1]);
    }
    for (y = 2; y <= h - 2; y++) {
        const uint8_t *r0 = gray + (size_t)(y - 2) * w;
        const uint8_t *r1 = r0 + w, *r2 = r1 + w, *r3 = r2 + w;
        uint8_t *restrict e = edge + (size_t)y * w;
        for (x = 0; x < w; x++)
            e[x] |= (uint8_t)is_edge(r0[x], r1[x], r2[x], r3[x]);
    }
}

size_t iqs_compression_scratch(int w, int h)
{
    return 2 * (size_t)w * h + 5 * ((size_t)w + 4) * 3 + 6 * (size_t)w + 64;
}

float iqs_compression_score(const uint8_t *rgb, const uint8_t *gray, int w,
                            int h, void *scratch)
{
    const size_t n = (size_t)w * h;
    uint8_t *edge = scratch, *mono = edge + n, *rows = mono + n;
    uint64_t mc = 0, e = 0;
    double s;
    size_t i;

    iqs_compression_edges(gray, w, h, edge);
    iqs_detect_median_equal_rgb(rgb, w, h, rows, mono);
    for (i = 0; i < n; i++) {
        mc += mono[i];
        e += mono[i] & edge[i];
    }
    s = (10.0 * (double)mc + 2.0 * (double)e) / (10.0 * (double)mc + (double)n);
    return (float)(s < 1.0 ? s : 1.0);
}

/* ------------------------------------------------------------------------
 * Calibrated compression (IQS_SCORING_CALIBRATED): blocking at the 8x8 JPEG
 * grid. A JPEG quantises each 8x8 block on its own, so the step between two
 * pixels on either side of a block boundary grows with the quantisation
 * while steps inside a block shrink. Mean |step| per grid phase: the phase
 * with the largest mean is taken as the boundary (the grid of a cropped JPEG
 * need not start at 0), its two neighbouring phases as the interior they
 * are compared with. Flat areas give equal, small steps everywhere (ratio
 * near 1), unlike digiKam's "equal to its median" count, which is flatness.
 */
static void phase_means(const uint64_t sum[8], const uint64_t cnt[8],
                        double *b, double *n)
{
    double m[8];
    int p, best = 0;
    for (p = 0; p < 8; p++) {
        m[p] = cnt[p] ? (double)sum[p] / (double)cnt[p] : 0.0;
        if (m[p] > m[best])
            best = p;
    }
    *b = m[best];
    *n = 0.5 * (m[(best + 7) & 7] + m[(best + 1) & 7]);
}

double iqs_compression_blockiness(const uint8_t *gray, int w, int h)
{
    uint64_t hs[8] = { 0 }, hc[8] = { 0 }, vs[8] = { 0 }, vc[8] = { 0 };
    double bh, nh, bv, nv;
    int x, y, p;

    if (w < 16 || h < 16)
        return 1.0;
    /* Rows: the step after pixel x belongs to phase x mod 8. */
    for (y = 0; y < h; y++) {
        const uint8_t *g = gray + (size_t)y * w;
        uint32_t s[8] = { 0 };
        for (x = 0; x + 1 < w; x++) {
            const int d = g[x + 1] - g[x];
            s[x & 7] += (uint32_t)(d < 0 ? -d : d);
        }
        for (p = 0; p < 8; p++) {
            hs[p] += s[p];
            hc[p] += (uint64_t)((w - 1 - p + 7) / 8);
        }
    }
    /* Columns: the step after row y belongs to phase y mod 8. */
    for (y = 0; y + 1 < h; y++) {
        const uint8_t *g0 = gray + (size_t)y * w, *g1 = g0 + w;
        uint64_t s = 0;
        for (x = 0; x < w; x++) {
            const int d = g1[x] - g0[x];
            s += (uint32_t)(d < 0 ? -d : d);
        }
        vs[y & 7] += s;
        vc[y & 7] += (uint64_t)w;
    }
    phase_means(hs, hc, &bh, &nh);
    phase_means(vs, vc, &bv, &nv);
    return (bh + bv + 2.0) / (nh + nv + 2.0);
}
