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
