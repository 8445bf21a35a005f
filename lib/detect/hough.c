/*
 * Progressive probabilistic Hough transform (layer: detect), ported from
 * the algorithm of OpenCV's HoughLinesP (Matas, Galambos, Kittler 2000):
 * visit the set pixels in the order of OpenCV's RNG seeded with all ones,
 * vote each still-unused pixel into nangle (rho, theta) bins, and when a bin
 * reaches the threshold walk the line both ways (fixed point, gap limit),
 * un-vote and clear its pixels, keep it when it is long enough. Every step
 * keeps OpenCV's arithmetic (float trig tables from a float theta, cvRound
 * as round-half-even, the same walk), so digiKam's motion-blur blocks see
 * the same segments.
 *
 * Tuning: per block the cost is the votes (nangle per visited pixel). The
 * tuned run computes a pixel's nangle cells four at a time with SSE2 (same
 * float operations, so the same cells) and keeps a 16-bit accumulator laid
 * out rho-major: neighbouring angles mostly vote into the same rho, so one
 * pixel's votes touch a few hundred cache lines instead of one per angle.
 * A precomputed (pixel, angle) table was tried first and was 10x slower:
 * at 900 angles it is 2.9 MB and every vote missed L2. The reference run
 * below it is OpenCV's loop with a dense int accumulator.
 */
/* The hot loops here are written to vectorise; gcc's -O2 cost model
 * ("very cheap") refuses most of them, so ask for -O3 in this file. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detect.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* cvRound on a float: round half to even (default FP environment). */
static inline int cvround(float v)
{
    return (int)lrintf(v);
}

/* OpenCV's RNG: multiply-with-carry, state seeded with all ones. */
static inline uint32_t rng_next(uint64_t *s)
{
    *s = (uint64_t)(uint32_t)*s * 4164903690u + (uint32_t)(*s >> 32);
    return (uint32_t)*s;
}

static inline int rng_uniform(uint64_t *s, int a, int b)
{
    return a == b ? a : (int)(rng_next(s) % (uint32_t)(b - a) + (uint32_t)a);
}

static void trig_table(int nangle, float *trig)
{
    /* OpenCV receives theta as float and widens n * theta to double. */
    const float theta = (float)(M_PI / nangle);
    int n;
    for (n = 0; n < nangle; n++) {
        trig[2 * n] = (float)cos((double)n * theta);
        trig[2 * n + 1] = (float)sin((double)n * theta);
    }
}

/* Rho range of angle n over the w x h grid: the float form j*c + i*s is
 * monotone in j and in i, so the extremes sit at the corners. */
static void rho_range(const float *t, int w, int h, int *lo, int *hi)
{
    const int xs[2] = { 0, w - 1 }, ys[2] = { 0, h - 1 };
    int a, b;
    *lo = 1 << 30;
    *hi = -(1 << 30);
    for (a = 0; a < 2; a++)
        for (b = 0; b < 2; b++) {
            int r = cvround((float)xs[a] * t[0] + (float)ys[b] * t[1]);
            if (r < *lo)
                *lo = r;
            if (r > *hi)
                *hi = r;
        }
}

size_t iqs_hough_plan_size(int w, int h, int nangle)
{
    if (w < 1 || h < 1 || w > IQS_HOUGH_MAX_SIDE || h > IQS_HOUGH_MAX_SIDE ||
        nangle < 1 || nangle > 3600)
        return 0;
    /* cos and sin tables, padded to a multiple of 8 angles. */
    return 2 * iqs_align_up((size_t)nangle, 8) * sizeof(float);
}

void iqs_hough_plan_init(iqs_hough_plan *p, int w, int h, int nangle,
                         void *mem)
{
    const size_t np = iqs_align_up((size_t)nangle, 8);
    float *c = mem, *s = c + np, t[2];
    int n, lo, hi, rlo = 1 << 30, rhi = -(1 << 30);

    /* OpenCV receives theta as float and widens n * theta to double. */
    const float theta = (float)(M_PI / nangle);
    for (n = 0; n < (int)np; n++) {
        c[n] = n < nangle ? (float)cos((double)n * theta) : 0.0f;
        s[n] = n < nangle ? (float)sin((double)n * theta) : 0.0f;
    }
    for (n = 0; n < nangle; n++) {
        t[0] = c[n];
        t[1] = s[n];
        rho_range(t, w, h, &lo, &hi);
        rlo = lo < rlo ? lo : rlo;
        rhi = hi > rhi ? hi : rhi;
    }
    p->w = w;
    p->h = h;
    p->nangle = nangle;
    p->numrho = cvround((float)((w + h) * 2 + 1));
    p->cos_t = c;
    p->sin_t = s;
    p->rmin = rlo;
    p->accsize = (rhi - rlo + 1) * nangle;
}

size_t iqs_hough_scratch_size(const iqs_hough_plan *p)
{
    return iqs_align_up((size_t)p->accsize * sizeof(int16_t), 64) +
           iqs_align_up((size_t)p->nangle, 8) *
               (sizeof(int32_t) + sizeof(int16_t)) +
           (size_t)p->w * p->h * (sizeof(int32_t) + 1) + 64;
}

/* Accumulator cell of every angle for pixel (j, i), r-major so that the
 * cells of neighbouring angles (mostly the same rho) share cache lines:
 * idx[n] = (round(j cos_n + i sin_n) - rmin) * nangle + n.
 * The SSE2 path does the same float multiplies, add and round-half-even
 * conversion as the scalar one, lane by lane, so both are bit-identical. */
static void cells(const iqs_hough_plan *p, int j, int i, int32_t *idx)
{
    const int na = p->nangle;
    int n = 0;
#if defined(__SSE2__)
    {
        const __m128 xj = _mm_set1_ps((float)j), yi = _mm_set1_ps((float)i);
        const __m128i off = _mm_set1_epi32(-p->rmin);
        const __m128 fna = _mm_set1_ps((float)na);
        __m128 fn = _mm_setr_ps(0.0f, 1.0f, 2.0f, 3.0f);
        const __m128 four = _mm_set1_ps(4.0f);
        for (; n + 4 <= na; n += 4, fn = _mm_add_ps(fn, four)) {
            const __m128 v = _mm_add_ps(_mm_mul_ps(xj, _mm_loadu_ps(p->cos_t + n)),
                                        _mm_mul_ps(yi, _mm_loadu_ps(p->sin_t + n)));
            const __m128i r = _mm_add_epi32(_mm_cvtps_epi32(v), off);
            /* (r - rmin) * nangle + n < 2^24: exact in float. */
            const __m128 f = _mm_add_ps(_mm_mul_ps(_mm_cvtepi32_ps(r), fna), fn);
            _mm_storeu_si128((__m128i *)(void *)(idx + n), _mm_cvttps_epi32(f));
        }
    }
#endif
    for (; n < na; n++)
        idx[n] = (cvround((float)j * p->cos_t[n] + (float)i * p->sin_t[n]) -
                  p->rmin) * na + n;
}

/* Segment extraction shared by both runs: from the pixel (j, i) along the
 * line of angle n. Returns 1 for a good line and fills *ln; the walk state
 * needed for clearing is returned through the out-parameters. */
typedef struct walk {
    int x0, y0, dx0, dy0, xflag;
    int ex[2], ey[2];
} walk;

static int walk_find(const uint8_t *mask, int w, int h, float cs, float sn,
                     int j, int i, int min_len, int max_gap, walk *wk)
{
    const int shift = 16;
    const float a = -sn, b = cs;
    int k;

    wk->x0 = j;
    wk->y0 = i;
    if (fabsf(a) > fabsf(b)) {
        wk->xflag = 1;
        wk->dx0 = a > 0 ? 1 : -1;
        wk->dy0 = cvround(b * (float)(1 << shift) / fabsf(a));
        wk->y0 = (wk->y0 << shift) + (1 << (shift - 1));
    } else {
        wk->xflag = 0;
        wk->dy0 = b > 0 ? 1 : -1;
        wk->dx0 = cvround(a * (float)(1 << shift) / fabsf(b));
        wk->x0 = (wk->x0 << shift) + (1 << (shift - 1));
    }
    for (k = 0; k < 2; k++) {
        int gap = 0, x = wk->x0, y = wk->y0, dx = wk->dx0, dy = wk->dy0;
        if (k > 0)
            dx = -dx, dy = -dy;
        for (;; x += dx, y += dy) {
            int i1, j1;
            if (wk->xflag)
                j1 = x, i1 = y >> shift;
            else
                j1 = x >> shift, i1 = y;
            if (j1 < 0 || j1 >= w || i1 < 0 || i1 >= h)
                break;
            if (mask[(size_t)i1 * w + j1]) {
                gap = 0;
                wk->ey[k] = i1;
                wk->ex[k] = j1;
            } else if (++gap > max_gap) {
                break;
            }
        }
    }
    return abs(wk->ex[1] - wk->ex[0]) >= min_len ||
           abs(wk->ey[1] - wk->ey[0]) >= min_len;
}

/* Walks the found segment again, clearing its pixels; calls unvote(j1, i1)
 * for each set pixel when good. Written as a macro-free loop with a tiny
 * callback switch to keep both runs identical. */
typedef struct unvoter {
    int kind; /* 0 none, 1 tuned, 2 reference */
    int16_t *acc16;
    const iqs_hough_plan *plan;
    int32_t *idx;
    int *acc32;
    const float *trig;
    int w, nangle, numrho;
} unvoter;

static void unvote(const unvoter *u, int j1, int i1)
{
    int n;
    if (u->kind == 1) {
        int16_t *restrict acc = u->acc16;
        const int32_t *restrict b = u->idx;
        cells(u->plan, j1, i1, u->idx);
        for (n = 0; n < u->nangle; n++)
            acc[b[n]]--;
    } else if (u->kind == 2) {
        int *adata = u->acc32;
        for (n = 0; n < u->nangle; n++, adata += u->numrho) {
            int r = cvround((float)j1 * u->trig[2 * n] +
                            (float)i1 * u->trig[2 * n + 1]);
            r += (u->numrho - 1) / 2;
            adata[r]--;
        }
    }
}

static void walk_clear(uint8_t *mask, int w, const walk *wk, int good,
                       const unvoter *u)
{
    const int shift = 16;
    int k;

    for (k = 0; k < 2; k++) {
        int x = wk->x0, y = wk->y0, dx = wk->dx0, dy = wk->dy0;
        if (k > 0)
            dx = -dx, dy = -dy;
        for (;; x += dx, y += dy) {
            int i1, j1;
            uint8_t *m;
            if (wk->xflag)
                j1 = x, i1 = y >> shift;
            else
                j1 = x >> shift, i1 = y;
            m = mask + (size_t)i1 * w + j1;
            if (*m) {
                if (good)
                    unvote(u, j1, i1);
                *m = 0;
            }
            if (i1 == wk->ey[k] && j1 == wk->ex[k])
                break;
        }
    }
}

int iqs_hough_run(const iqs_hough_plan *p, const uint8_t *img, int threshold,
                  int min_len, int max_gap, void *scratch,
                  iqs_hough_line *lines, int max_lines)
{
    const int w = p->w, h = p->h, nangle = p->nangle;
    int16_t *acc = scratch;
    int32_t *idx = (int32_t *)(void *)((uint8_t *)scratch +
                   iqs_align_up((size_t)p->accsize * sizeof(int16_t), 64));
    int32_t *pts = idx + iqs_align_up((size_t)nangle, 8);
    int16_t *vals = (int16_t *)(void *)(pts + (size_t)w * h);
    uint8_t *mask = (uint8_t *)(vals + iqs_align_up((size_t)nangle, 8));
    uint64_t rng = ~(uint64_t)0;
    int count = 0, nlines = 0, i;
    unvoter u;

    for (i = 0; i < w * h; i++) {
        mask[i] = img[i] ? 1 : 0;
        if (img[i])
            pts[count++] = i;
    }
    if (count < threshold || max_lines <= 0)
        return 0; /* no cell can ever reach the threshold */
    memset(acc, 0, (size_t)p->accsize * sizeof(*acc));
    u.kind = 1;
    u.acc16 = acc;
    u.plan = p;
    u.idx = idx;
    u.w = w;
    u.nangle = nangle;

    for (; count > 0; count--) {
        const int k = rng_uniform(&rng, 0, count);
        const int pt = pts[k];
        const int pi = pt / w, pj = pt % w;
        int max_val = threshold - 1, max_n = 0, n, good;
        walk wk;

        pts[k] = pts[count - 1];
        if (!mask[pt])
            continue;
        cells(p, pj, pi, idx);
        {
            /* Vote, then look for the maximum in a separate, vectorisable
             * pass: a running max would chain every vote on the previous
             * one. The first angle holding the maximum wins, as in OpenCV. */
            int16_t *restrict a = acc;
            int16_t *restrict v = vals;
            const int32_t *restrict b = idx;
            int16_t m = INT16_MIN;
            for (n = 0; n < nangle; n++)
                v[n] = ++a[b[n]];
            for (n = 0; n < nangle; n++)
                m = v[n] > m ? v[n] : m;
            if (m < threshold)
                continue;
            max_val = m;
            for (n = 0; v[n] != max_val; n++)
                ;
            max_n = n;
        }
        good = walk_find(mask, w, h, p->cos_t[max_n], p->sin_t[max_n], pj, pi,
                         min_len, max_gap, &wk);
        walk_clear(mask, w, &wk, good, &u);
        if (good) {
            lines[nlines].x1 = wk.ex[0];
            lines[nlines].y1 = wk.ey[0];
            lines[nlines].x2 = wk.ex[1];
            lines[nlines].y2 = wk.ey[1];
            if (++nlines >= max_lines)
                break;
        }
    }
    return nlines;
}

int iqs_hough_run_ref(int w, int h, int nangle, const uint8_t *img,
                      int threshold, int min_len, int max_gap, int *acc,
                      uint8_t *mask, int *pts, iqs_hough_line *lines,
                      int max_lines)
{
    const int numrho = cvround((float)((w + h) * 2 + 1));
    float trig[2 * 3600];
    uint64_t rng = ~(uint64_t)0;
    int count = 0, nlines = 0, i;
    unvoter u;

    if (nangle < 1 || nangle > 3600)
        return 0;
    trig_table(nangle, trig);
    memset(acc, 0, (size_t)nangle * numrho * sizeof(*acc));
    for (i = 0; i < w * h; i++) {
        mask[i] = img[i] ? 1 : 0;
        if (img[i])
            pts[count++] = i;
    }
    u.kind = 2;
    u.acc32 = acc;
    u.trig = trig;
    u.w = w;
    u.nangle = nangle;
    u.numrho = numrho;

    for (; count > 0; count--) {
        const int idx = rng_uniform(&rng, 0, count);
        const int pt = pts[idx];
        const int pi = pt / w, pj = pt % w;
        int max_val = threshold - 1, max_n = 0, n, good;
        int *adata = acc;
        walk wk;

        pts[idx] = pts[count - 1];
        if (!mask[pt])
            continue;
        for (n = 0; n < nangle; n++, adata += numrho) {
            int r = cvround((float)pj * trig[2 * n] +
                            (float)pi * trig[2 * n + 1]);
            int val;
            r += (numrho - 1) / 2;
            val = ++adata[r];
            if (max_val < val) {
                max_val = val;
                max_n = n;
            }
        }
        if (max_val < threshold)
            continue;
        good = walk_find(mask, w, h, trig[2 * max_n], trig[2 * max_n + 1], pj,
                         pi, min_len, max_gap, &wk);
        walk_clear(mask, w, &wk, good, &u);
        if (good) {
            lines[nlines].x1 = wk.ex[0];
            lines[nlines].y1 = wk.ey[0];
            lines[nlines].x2 = wk.ex[1];
            lines[nlines].y2 = wk.ey[1];
            if (++nlines >= max_lines)
                break;
        }
    }
    return nlines;
}
