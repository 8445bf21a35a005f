/*
 * Noise detector (layer: detect), after digiKam's NoiseDetector: the noise
 * variance is estimated from the kurtosis of 15 band-pass responses
 * ("projection kurtosis", Lyu, Pan, Zhang, IJCV 2014). Natural images have
 * heavy-tailed (high kurtosis) band-pass responses, Gaussian noise has zero
 * excess kurtosis; with sigma_k^2 the band variances and kappa_k the excess
 * kurtoses, the model sqrt(kappa_k) = sqrt(K) (sigma_k^2 - V) / sigma_k^2
 * has the least-squares solution used below, and the score is the sigmoid
 * 1 / (1 + exp(-(V - 18) / 7)).
 *
 * The 4x4 Haar kernels are outer products, so each band is a horizontal
 * 4-tap pass (4 shared results) then a vertical 4-tap pass; rows stream
 * through a 4-row ring and each band's moments accumulate per column in
 * float, flushed to double every 32 rows, so the loops vectorise and
 * nothing image-sized is stored. OpenCV's filter2D sums the 16 products in
 * another order; the difference is float rounding only.
 */
/* The hot loops here are written to vectorise; gcc's -O2 cost model
 * ("very cheap") refuses most of them, so ask for -O3 in this file. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#include <math.h>
#include <string.h>

#include "detect/detect.h"

#define NB 15
#define FLUSH 32

static const float hb[4][4] = {
    { 0.5f, 0.5f, 0.5f, 0.5f },
    { 0.5f, 0.5f, -0.5f, -0.5f },
    { 0.7071f, -0.7071f, 0.0f, 0.0f },
    { 0.0f, 0.0f, 0.7071f, -0.7071f },
};

size_t iqs_noise_scratch(int w, int h)
{
    (void)h;
    /* 4 double and 4 float moments per band per column, a ring of 4
     * rows x 4 horizontal responses, one padded gray row. */
    return (size_t)16 * w * sizeof(float) + ((size_t)w + 4) +
           (size_t)NB * 4 * w * (sizeof(float) + sizeof(double)) + 256;
}

/* Horizontal pass of one gray row with replicate border: out_j[x] =
 * sum_v b_j[v] * g[clamp(x + v - 2)]. pad holds w + 3 bytes. */
static void hrow(const uint8_t *g, int w, uint8_t *pad, float *out[4])
{
    int x, j;
    pad[0] = g[0];
    pad[1] = g[0];
    memcpy(pad + 2, g, (size_t)w);
    pad[w + 2] = g[w - 1];
    for (j = 0; j < 4; j++) {
        const float b0 = hb[j][0], b1 = hb[j][1], b2 = hb[j][2], b3 = hb[j][3];
        float *restrict o = out[j];
        for (x = 0; x < w; x++)
            o[x] = b0 * pad[x] + b1 * pad[x + 1] + b2 * pad[x + 2] +
                   b3 * pad[x + 3];
    }
}

/* One output row of one band, c = a0 r0 + a1 r1 + a2 r2 + a3 r3, added to
 * the per-column moment rows m[0..3][x] (c, c^2, c^3, c^4). */
static void band_row(const float *r0, const float *r1, const float *r2,
                     const float *r3, float a0, float a1, float a2, float a3,
                     float *restrict m, int w)
{
    float *restrict m1 = m, *restrict m2 = m + w, *restrict m3 = m + 2 * w,
                    *restrict m4 = m + 3 * w;
    int x;
    for (x = 0; x < w; x++) {
        const float c = a0 * r0[x] + a1 * r1[x] + a2 * r2[x] + a3 * r3[x];
        const float c2 = c * c;
        m1[x] += c;
        m2[x] += c2;
        m3[x] += c2 * c;
        m4[x] += c2 * c2;
    }
}

double iqs_noise_fit(const double *var, const double *kurt, int n)
{
    double a = 0, b = 0, c = 0, d = 0, sk, v;
    int k, m = 0;

    for (k = 0; k < n; k++) {
        double s2 = var[k], ks;
        if (!(s2 > 1e-9))
            continue; /* a flat band carries no information */
        ks = sqrt(kurt[k] > 0 ? kurt[k] : 0);
        a += ks;
        b += 1.0 / s2;
        c += 1.0 / (s2 * s2);
        d += ks / s2;
        m++;
    }
    if (m == 0)
        return 0.0; /* flat image: no noise */
    a /= m;
    b /= m;
    c /= m;
    d /= m;
    sk = (c - b * b) > 0 ? (a * c - b * d) / (c - b * b) : 0;
    /* Equal band variances or zero kurtosis leave sqrt(K) undefined; the
     * limit of the model is then V = 1/b (pure noise, harmonic mean). */
    if (!(sk > 0) || !isfinite(sk))
        v = 1.0 / b;
    else
        v = (1.0 - a / sk) / b;
    return isfinite(v) ? v : 0.0;
}

float iqs_noise_score_from_variance(double v)
{
    const double s = 1.0 / (1.0 + exp(-(v - 18.0) / 7.0));
    return (float)(isfinite(s) ? s : (v > 0 ? 1.0 : 0.0));
}

double iqs_noise_variance(const uint8_t *gray, int w, int h, void *scratch)
{
    double *dm = scratch;                        /* [NB][4][w] */
    float *fm = (float *)(void *)(dm + (size_t)NB * 4 * w); /* [NB][4][w] */
    float *ring = fm + (size_t)NB * 4 * w;       /* [4 rows][4 j][w] */
    uint8_t *pad = (uint8_t *)(ring + (size_t)16 * w);
    int ring_row[4] = { -1, -1, -1, -1 };
    double var[NB], kurt[NB];
    int y, x, k, u;

    memset(fm, 0, (size_t)NB * 4 * w * sizeof(float));
    memset(dm, 0, (size_t)NB * 4 * w * sizeof(double));
    for (y = 0; y < h; y++) {
        const float *src[4][4]; /* [u][j] */
        for (u = 0; u < 4; u++) {
            int r = y + u - 2, slot, j;
            r = r < 0 ? 0 : r >= h ? h - 1 : r;
            slot = r & 3;
            if (ring_row[slot] != r) {
                float *out[4];
                for (j = 0; j < 4; j++)
                    out[j] = ring + ((size_t)slot * 4 + j) * w;
                hrow(gray + (size_t)r * w, w, pad, out);
                ring_row[slot] = r;
            }
            for (j = 0; j < 4; j++)
                src[u][j] = ring + ((size_t)slot * 4 + j) * w;
        }
        for (k = 1; k <= NB; k++) {
            const int i = k >> 2, j = k & 3;
            const float a0 = hb[i][0], a1 = hb[i][1], a2 = hb[i][2],
                        a3 = hb[i][3];
            band_row(src[0][j], src[1][j], src[2][j], src[3][j], a0, a1, a2,
                     a3, fm + ((size_t)(k - 1) * 4) * w, w);
        }
        if ((y + 1) % FLUSH == 0 || y == h - 1) {
            const size_t n = (size_t)NB * 4 * w;
            size_t q;
            for (q = 0; q < n; q++)
                dm[q] += fm[q];
            memset(fm, 0, n * sizeof(float));
        }
    }
    {
        const double N = (double)w * h;
        for (k = 0; k < NB; k++) {
            double s[4] = { 0, 0, 0, 0 }, m1, m2, m3, m4, v;
            for (u = 0; u < 4; u++) {
                const double *p = dm + ((size_t)k * 4 + u) * w;
                for (x = 0; x < w; x++)
                    s[u] += p[x];
            }
            m1 = s[0] / N;
            m2 = s[1] / N;
            m3 = s[2] / N;
            m4 = s[3] / N;
            v = m2 - m1 * m1;
            var[k] = v;
            kurt[k] = v > 1e-9 ? (m4 - 4 * m1 * m3 + 6 * m1 * m1 * m2 -
                                  3 * m1 * m1 * m1 * m1) / (v * v) - 3.0
                               : 0.0;
        }
    }
    return iqs_noise_fit(var, kurt, NB);
}

/* ------------------------------------------------------------------------
 * Calibrated noise (IQS_SCORING_CALIBRATED): Immerkaer's fast estimate
 * (J. Immerkaer, "Fast noise variance estimation", CVIU 1996) per block,
 * read where the picture is flattest. The mask M = [1 -2 1; -2 4 -2;
 * 1 -2 1] cancels planes and most smooth structure, so on a flat area
 * mean |I * M| = 6 sigma sqrt(2 / pi) for gaussian noise of std sigma;
 * texture and edges add to it, so the 10th percentile of the per-block
 * values measures the noise and not the content.
 */
#define NS_BLOCK 16
#define NS_PCT 0.10
#define NS_LO 16   /* block mean range: clipped areas hide noise */
#define NS_HI 239

size_t iqs_noise_sigma_scratch(int w, int h)
{
    const size_t nb = (size_t)(w > 2 ? (w - 2) / NS_BLOCK : 0) *
                      (size_t)(h > 2 ? (h - 2) / NS_BLOCK : 0);
    /* per-block |.| and gray sums for one block row, then block values */
    return 2 * (size_t)(w / NS_BLOCK + 1) * sizeof(uint64_t) +
           2 * nb * sizeof(float) + 64;
}

/* The k-th smallest of v[0..n) (0-based), partially reordering v:
 * Hoare's quickselect, middle pivot. No allocation (glibc's qsort may
 * malloc, and iqs_assess must not). */
static float select_k(float *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        const float piv = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < piv)
                i++;
            while (v[j] > piv)
                j--;
            if (i <= j) {
                const float t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return v[k];
    }
    return v[k];
}

/* Sum of |I * M| over row y (1 <= y <= h-2), columns 1..w-2, added per
 * block column into acc (columns past the last full block go to extra). */
static void imm_row(const uint8_t *gray, int w, int y, uint64_t *acc,
                    int nbx, uint64_t *extra)
{
    const uint8_t *r0 = gray + (size_t)(y - 1) * w, *r1 = r0 + w,
                  *r2 = r1 + w;
    int x;
    for (x = 1; x <= w - 2; x++) {
        const int v = r0[x - 1] - 2 * r0[x] + r0[x + 1] - 2 * r1[x - 1] +
                      4 * r1[x] - 2 * r1[x + 1] + r2[x - 1] - 2 * r2[x] +
                      r2[x + 1];
        const int bx = (x - 1) / NS_BLOCK;
        const uint64_t av = (uint64_t)(v < 0 ? -v : v);
        if (bx < nbx)
            acc[bx] += av;
        else
            *extra += av;
    }
}

double iqs_noise_sigma(const uint8_t *gray, int w, int h, void *scratch)
{
    const double k = 1.2533141373155003 / 6.0; /* sqrt(pi / 2) / 6 */
    const int nbx = w > 2 ? (w - 2) / NS_BLOCK : 0;
    const int nby = h > 2 ? (h - 2) / NS_BLOCK : 0;
    uint64_t *acc = scratch, *gs = acc + (w / NS_BLOCK + 1);
    float *all = (float *)(void *)(gs + (w / NS_BLOCK + 1));
    float *ok = all + (size_t)nbx * nby;
    size_t nall = 0, nok = 0, pos;
    uint64_t extra = 0;
    int bx, by, y, x;

    if (w < 3 || h < 3)
        return 0.0;
    if (nbx == 0 || nby == 0) { /* no full block: the whole interior */
        acc[0] = 0;
        for (y = 1; y <= h - 2; y++)
            imm_row(gray, w, y, acc, 0, &extra);
        return k * (double)extra / ((double)(w - 2) * (h - 2));
    }
    for (by = 0; by < nby; by++) {
        memset(acc, 0, (size_t)nbx * sizeof(uint64_t));
        memset(gs, 0, (size_t)nbx * sizeof(uint64_t));
        for (y = 1 + by * NS_BLOCK; y < 1 + (by + 1) * NS_BLOCK; y++) {
            const uint8_t *r = gray + (size_t)y * w;
            imm_row(gray, w, y, acc, nbx, &extra);
            for (bx = 0; bx < nbx; bx++) {
                uint32_t s = 0;
                for (x = 1 + bx * NS_BLOCK; x < 1 + (bx + 1) * NS_BLOCK; x++)
                    s += r[x];
                gs[bx] += s;
            }
        }
        for (bx = 0; bx < nbx; bx++) {
            const double n = NS_BLOCK * NS_BLOCK;
            const double m = (double)gs[bx] / n;
            const float v = (float)(k * (double)acc[bx] / n);
            all[nall++] = v;
            if (m >= NS_LO && m <= NS_HI)
                ok[nok++] = v;
        }
    }
    if (nok == 0) { /* everything dark or clipped: use every block */
        memcpy(ok, all, nall * sizeof(float));
        nok = nall;
    }
    {
        /* Linear interpolation between order statistics pos and pos + 1;
         * after select_k, the latter is the minimum of ok[pos+1..). */
        const double f = NS_PCT * (double)(nok - 1);
        float a, b;
        size_t i;
        pos = (size_t)f;
        a = select_k(ok, nok, pos);
        if (pos + 1 >= nok)
            return a;
        b = ok[pos + 1];
        for (i = pos + 2; i < nok; i++)
            b = ok[i] < b ? ok[i] : b;
        return a + (f - (double)pos) * (b - a);
    }
}
