/*
 * Blur detector (layer: detect), after digiKam's BlurDetector:
 *  - defocus: |Laplacian| clamped to >= 1, log base 30, 5x5 box, 5x5 median,
 *    x255 <= 115 marks a pixel blurred;
 *  - motion: every full 40x40 block whose Laplacian > 8 holds more than 3
 *    Hough segments with angular stddev < 0.65 is blurred as a whole;
 *  - weight: full 40x40 blocks whose channel-0 stddev is < 10 are flat
 *    background and do not count (the AF-point rule needs ExifTool maker
 *    notes; iqs has none, like digiKam without ExifTool);
 *  - score = blurred counted pixels / counted pixels. When nothing counts
 *    (digiKam: 0/0 = NaN) every pixel counts instead, so a flat image scores
 *    as the blur it is (1.0) and the score is never NaN.
 * Exact shortcuts that do not change the score: blocks that are background,
 * or whose pixels are all defocus-blurred already, or that hold fewer set
 * pixels than the Hough threshold, skip the Hough transform.
 */
/* The hot loops here are written to vectorise; gcc's -O2 cost model
 * ("very cheap") refuses most of them, so ask for -O3 in this file. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#include <math.h>
#include <string.h>

#include "detect/detect.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define BLOCK 40
#define EDGE_T 8
#define HOUGH_T 15
#define MIN_LEN 30
#define MAX_GAP 10
#define MIN_LINES 3
#define MAX_STD 0.65
#define MONO_STD 10.0
#define DEFOCUS_T 115.0f
#define LOG_BASE 30.0

typedef struct blur_layout {
    size_t lap, f, tmp, bin, tmp8, defocus, plan, hs, blk, lines, total;
    size_t plan_bytes;
} blur_layout;

static int layout(int w, int h, const iqs_blur_params *bp, blur_layout *L)
{
    const size_t P = (size_t)w * h;
    size_t o = 0;

    memset(L, 0, sizeof(*L));
#define TAKE(field, bytes) \
    do {                   \
        L->field = o;      \
        o = iqs_align_up(o + (bytes), 64); \
    } while (0)
    TAKE(lap, P * sizeof(int16_t));
    TAKE(f, P * sizeof(float));
    TAKE(tmp, P * sizeof(float));
    TAKE(bin, P);
    TAKE(tmp8, P);
    TAKE(defocus, P);
    if (bp->motion && bp->nangle > 0 && w >= BLOCK && h >= BLOCK) {
        iqs_hough_plan hp;
        L->plan_bytes = iqs_hough_plan_size(BLOCK, BLOCK, bp->nangle);
        if (!L->plan_bytes)
            return 0;
        TAKE(plan, L->plan_bytes);
        /* Scratch size depends on the plan's accsize: bound it by the
         * dense accumulator. */
        hp.w = BLOCK;
        hp.h = BLOCK;
        hp.nangle = bp->nangle;
        hp.accsize = bp->nangle * (4 * BLOCK + 1);
        TAKE(hs, iqs_hough_scratch_size(&hp));
        TAKE(blk, BLOCK * BLOCK);
        TAKE(lines, BLOCK * BLOCK * sizeof(iqs_hough_line));
    }
#undef TAKE
    L->total = o;
    return 1;
}

size_t iqs_blur_scratch(int w, int h, const iqs_blur_params *bp)
{
    blur_layout L;
    return layout(w, h, bp, &L) ? L.total : 0;
}

int iqs_blur_motion_test(const iqs_hough_line *lines, int n)
{
    double sum = 0, sum2 = 0, mean, var;
    int k;

    if (n <= MIN_LINES)
        return 0;
    for (k = 0; k < n; k++) {
        const int dx = lines[k].x2 - lines[k].x1;
        const int dy = lines[k].y2 - lines[k].y1;
        /* digiKam divides the integers, so the slope is truncated. */
        double a = dx == 0 ? 0.0 : atan((double)(dy / dx));
        if (a < 0)
            a += M_PI;
        if (a < M_PI / 20)
            a = M_PI - a;
        sum += a;
        sum2 += a * a;
    }
    mean = sum / n;
    var = sum2 / n - mean * mean;
    return sqrt(var > 0 ? var : 0) < MAX_STD;
}

/* Population stddev of one channel of a 40x40 RGB block. */
static double block_std(const uint8_t *rgb, int w, int bx, int by, int ch)
{
    uint64_t s = 0, s2 = 0;
    int x, y;
    for (y = 0; y < BLOCK; y++) {
        const uint8_t *p = rgb + (((size_t)(by + y) * w) + bx) * 3 + ch;
        for (x = 0; x < BLOCK; x++, p += 3) {
            s += *p;
            s2 += (uint32_t)*p * *p;
        }
    }
    {
        const double n = BLOCK * BLOCK, m = (double)s / n;
        const double v = (double)s2 / n - m * m;
        return sqrt(v > 0 ? v : 0);
    }
}

float iqs_blur_score(const uint8_t *rgb, const uint8_t *gray, int w, int h,
                     const iqs_blur_params *bp, void *scratch)
{
    const size_t P = (size_t)w * h;
    uint8_t *base = scratch;
    blur_layout L;
    int16_t *lap;
    float *f, *tmp;
    uint8_t *bin, *defocus;
    float lut[1021];
    const int nbx = w / BLOCK, nby = h / BLOCK;
    iqs_hough_plan hp;
    int have_plan = 0, bx, by, k;
    uint64_t counted = 0, blurred = 0, all_blurred = 0;
    size_t i;

    if (!layout(w, h, bp, &L))
        return 0.0f; /* unreachable: sized by iqs_blur_scratch */
    lap = (int16_t *)(void *)(base + L.lap);
    f = (float *)(void *)(base + L.f);
    tmp = (float *)(void *)(base + L.tmp);
    bin = base + L.bin;
    defocus = base + L.defocus;

    /* Defocus map: log-magnitude of the Laplacian, |L| <= 1020. */
    iqs_detect_laplacian(gray, w, h, lap);
    lut[0] = 0.0f;
    for (k = 1; k <= 1020; k++)
        lut[k] = (float)(log((double)k) / log(LOG_BASE));
    for (i = 0; i < P; i++)
        f[i] = lut[lap[i] < 0 ? -lap[i] : lap[i]];
    iqs_detect_box5(f, w, h, tmp, f);
    for (i = 0; i < P; i++)
        bin[i] = (uint8_t)(f[i] * 255.0f <= DEFOCUS_T);
    iqs_detect_majority5(bin, w, h, base + L.tmp8, defocus);

    /* Blocks: background test and, where it can matter, motion blur. */
    if (L.plan_bytes) {
        iqs_hough_plan_init(&hp, BLOCK, BLOCK, bp->nangle, base + L.plan);
        have_plan = 1;
    }
    for (by = 0; by < nby; by++)
        for (bx = 0; bx < nbx; bx++) {
            const int x0 = bx * BLOCK, y0 = by * BLOCK;
            const int ch = bp->swap ? 0 : 2; /* digiKam's channel 0 */
            int x, y, nz = 0, nd = 0, motion = 0;
            uint8_t *blk = base + L.blk;
            if (block_std(rgb, w, x0, y0, ch) < MONO_STD) {
                /* Background: mark with 2 so the count below skips it. */
                for (y = 0; y < BLOCK; y++)
                    for (x = 0; x < BLOCK; x++)
                        defocus[(size_t)(y0 + y) * w + x0 + x] |= 2;
                continue;
            }
            if (!have_plan)
                continue;
            for (y = 0; y < BLOCK; y++) {
                const int16_t *lr = lap + (size_t)(y0 + y) * w + x0;
                const uint8_t *dr = defocus + (size_t)(y0 + y) * w + x0;
                for (x = 0; x < BLOCK; x++) {
                    blk[y * BLOCK + x] = (uint8_t)(lr[x] > EDGE_T);
                    nz += lr[x] > EDGE_T;
                    nd += dr[x];
                }
            }
            if (nd == BLOCK * BLOCK || nz < HOUGH_T)
                continue;
            {
                iqs_hough_line *lines =
                    (iqs_hough_line *)(void *)(base + L.lines);
                int n = iqs_hough_run(&hp, blk, HOUGH_T, MIN_LEN, MAX_GAP,
                                      base + L.hs, lines, BLOCK * BLOCK);
                motion = iqs_blur_motion_test(lines, n);
            }
            if (motion)
                for (y = 0; y < BLOCK; y++)
                    memset(defocus + (size_t)(y0 + y) * w + x0, 1, BLOCK);
        }

    for (i = 0; i < P; i++) {
        const uint8_t d = defocus[i];
        counted += !(d & 2);
        blurred += d == 1;
        all_blurred += d & 1;
    }
    if (counted == 0)
        return (float)((double)all_blurred / (double)P);
    return (float)((double)blurred / (double)counted);
}

/* ------------------------------------------------------------------------
 * Calibrated blur (IQS_SCORING_CALIBRATED): edge width by re-blurring.
 * A gaussian edge of width s has a peak gradient proportional to 1/s; after
 * a further gaussian of sigma b it is 1/sqrt(s^2 + b^2). The ratio of the
 * two, summed over the strongest edges, gives s whatever the contrast, and
 * the strongest edges are where the subject is in focus: a smooth sky or a
 * shallow-focus background has weak gradients and does not count.
 */
#define EW_SIGMA 4.0
#define EW_RADIUS 12       /* 3 sigma */
#define EW_TOP 0.05        /* strongest 5% of the pixels */
#define EW_MIN_GRAD 1.0f   /* below one grey level per pixel: no edge */
#define EW_MIN_PIXELS 16
#define EW_BINS 2048       /* histogram of G in 1/8 steps, G <= 180.3 */

size_t iqs_blur_width_scratch(int w, int h)
{
    return 3 * iqs_align_up((size_t)w * h * sizeof(float), 64) +
           (size_t)EW_BINS * sizeof(uint32_t) + 64;
}

/* Sobel magnitude / 8 at (x, y) of a float picture, replicate border. */
static inline float sobel_at(const float *a, int w, int h, int x, int y)
{
    const int xm = x > 0 ? x - 1 : 0, xp = x < w - 1 ? x + 1 : w - 1;
    const float *r0 = a + (size_t)(y > 0 ? y - 1 : 0) * w;
    const float *r1 = a + (size_t)y * w;
    const float *r2 = a + (size_t)(y < h - 1 ? y + 1 : h - 1) * w;
    const float gx = (r0[xp] - r0[xm]) + 2 * (r1[xp] - r1[xm]) +
                     (r2[xp] - r2[xm]);
    const float gy = (r2[xm] - r0[xm]) + 2 * (r2[x] - r0[x]) +
                     (r2[xp] - r0[xp]);
    return sqrtf(gx * gx + gy * gy) * 0.125f;
}

/* Separable gaussian (sigma EW_SIGMA, replicate border) of a into a, via
 * tmp. */
static void gauss_ew(float *a, int w, int h, float *tmp)
{
    float k[2 * EW_RADIUS + 1], s = 0;
    int x, y, j;

    for (j = -EW_RADIUS; j <= EW_RADIUS; j++) {
        k[j + EW_RADIUS] = (float)exp(-0.5 * j * j / (EW_SIGMA * EW_SIGMA));
        s += k[j + EW_RADIUS];
    }
    for (j = 0; j < 2 * EW_RADIUS + 1; j++)
        k[j] /= s;
    for (y = 0; y < h; y++) {
        const float *src = a + (size_t)y * w;
        float *restrict d = tmp + (size_t)y * w;
        for (x = 0; x < w; x++) {
            float acc = 0;
            if (x >= EW_RADIUS && x < w - EW_RADIUS) {
                for (j = 0; j < 2 * EW_RADIUS + 1; j++)
                    acc += k[j] * src[x + j - EW_RADIUS];
            } else {
                for (j = 0; j < 2 * EW_RADIUS + 1; j++) {
                    int xx = x + j - EW_RADIUS;
                    xx = xx < 0 ? 0 : xx >= w ? w - 1 : xx;
                    acc += k[j] * src[xx];
                }
            }
            d[x] = acc;
        }
    }
    for (y = 0; y < h; y++) {
        float *restrict d = a + (size_t)y * w;
        memset(d, 0, (size_t)w * sizeof(float));
        for (j = 0; j < 2 * EW_RADIUS + 1; j++) {
            int yy = y + j - EW_RADIUS;
            const float kj = k[j];
            const float *src;
            yy = yy < 0 ? 0 : yy >= h ? h - 1 : yy;
            src = tmp + (size_t)yy * w;
            for (x = 0; x < w; x++)
                d[x] += kj * src[x];
        }
    }
}

double iqs_blur_edge_width(const uint8_t *gray, int w, int h, void *scratch)
{
    const size_t P = (size_t)w * h;
    const size_t fb = iqs_align_up(P * sizeof(float), 64);
    uint8_t *base = scratch;
    float *a = (float *)(void *)base;
    float *g = (float *)(void *)(base + fb);
    float *tmp = (float *)(void *)(base + 2 * fb);
    uint32_t *hist = (uint32_t *)(void *)(base + 3 * fb);
    double sf = 0, sc = 0, r2;
    uint64_t above = 0, need;
    float t;
    size_t i;
    int x, y, b;

    for (i = 0; i < P; i++)
        a[i] = gray[i];
    memset(hist, 0, (size_t)EW_BINS * sizeof(uint32_t));
    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++) {
            const float v = sobel_at(a, w, h, x, y);
            int bin = (int)(v * 8.0f);
            g[(size_t)y * w + x] = v;
            hist[bin < EW_BINS ? bin : EW_BINS - 1]++;
        }
    /* Threshold: lower edge of the bin where the top EW_TOP is reached. */
    need = (uint64_t)ceil(EW_TOP * (double)P);
    for (b = EW_BINS - 1; b > 0; b--) {
        above += hist[b];
        if (above >= need)
            break;
    }
    t = (float)b / 8.0f;
    if (t < EW_MIN_GRAD)
        t = EW_MIN_GRAD;
    gauss_ew(a, w, h, tmp);
    above = 0;
    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++) {
            const float v = g[(size_t)y * w + x];
            if (v < t)
                continue;
            sf += v;
            sc += sobel_at(a, w, h, x, y);
            above++;
        }
    if (above < EW_MIN_PIXELS || !(sc > 0))
        return -1.0;
    r2 = (sf / sc) * (sf / sc) - 1.0;
    /* r <= 1 happens only for edges far wider than the probe; cap there. */
    return EW_SIGMA / sqrt(r2 > 1e-4 ? r2 : 1e-4);
}
