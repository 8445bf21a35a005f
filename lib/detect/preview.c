/*
 * The detectors' preview (layer: detect): the caller image, in any
 * iqs_pixfmt, is shrunk to a long side of about preview_max pixels by area
 * averaging, as digiKam's loadFastSynchronously(path, 1024) does, and the
 * RGB8 result is converted to gray with OpenCV's fixed-point luma.
 *
 * Two scalers:
 *  - exact: every output pixel is the area-weighted mean of the source
 *    rectangle it covers, rounded to nearest (DEFAULT profile);
 *  - floor: the integer arithmetic of Imlib2's smoothScale as digiKam ported
 *    it (14-bit weights, products shifted right by 9, row sums scaled by the
 *    row weight and shifted by 14, the total shifted by 5). Every shift
 *    rounds down, so a flat area of value v usually comes out as v - 1 and
 *    clipped 255 highlights become 254; digiKam's exposure labels depend on
 *    it (reference Q2).
 * The optional first stage emulates libjpeg's DCT-domain scaling with a
 * power-of-two box average (rounded), which is close to, not bit-equal with,
 * a scaled IDCT. Both scalers stream: they keep one output row of
 * accumulators and one source row, never a full intermediate image.
 */
/* The hot loops here are written to vectorise; gcc's -O2 cost model
 * ("very cheap") refuses most of them, so ask for -O3 in this file. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#include <string.h>

#include "detect/detect.h"

void iqs_detect_fit(int w, int h, int max, int *ow, int *oh)
{
    /* QSize::scale(max, max, KeepAspectRatio): try full height first. */
    int64_t rw = (int64_t)max * w / h;
    if (rw <= max) {
        *ow = (int)rw;
        *oh = max;
    } else {
        *ow = max;
        *oh = (int)((int64_t)max * h / w);
    }
    if (*ow < 1)
        *ow = 1;
    if (*oh < 1)
        *oh = 1;
}

/* One axis of the floor scaler: for output i, the first source index and
 * the 14-bit weights of the consecutive source samples (sum 2^14, or
 * slightly more when d == s). */
typedef struct floor_axis {
    int32_t *start; /* [d]   first source index                         */
    int32_t *off;   /* [d+1] offsets into w                             */
    int32_t *w;     /* weights, at most s + 2*d entries                 */
} floor_axis;

static size_t floor_axis_bytes(int s, int d)
{
    return ((size_t)d + (size_t)d + 1 + (size_t)s + 2 * (size_t)d) *
           sizeof(int32_t);
}

static void floor_axis_init(floor_axis *a, int s, int d, int32_t *mem)
{
    /* Imlib2's "scaling down" points: position step inc in 16.16, per
     * source pixel weight Cp = d/s in 14 bits (+1), the first sample
     * weighted by its uncovered fraction (8-bit precision) times Cp. */
    const int64_t inc = ((int64_t)s << 16) / d;
    const int32_t cp = (int32_t)((((int64_t)d << 14) / s) + 1);
    int64_t val = 0;
    int32_t n = 0;
    int i;

    a->start = mem;
    a->off = mem + d;
    a->w = mem + 2 * (size_t)d + 1;
    for (i = 0; i < d; i++, val += inc) {
        int32_t ap = (int32_t)(((0x100 - ((val >> 8) & 0xff)) * cp) >> 8);
        int32_t rest;
        a->start[i] = (int32_t)(val >> 16);
        a->off[i] = n;
        a->w[n++] = ap;
        for (rest = (1 << 14) - ap; rest > cp; rest -= cp)
            a->w[n++] = cp;
        if (rest > 0)
            a->w[n++] = rest;
    }
    a->off[d] = n;
}

size_t iqs_detect_scale_floor_scratch(int sw, int sh, int dw, int dh)
{
    (void)sh;
    /* x axis, y axis, one row of 32-bit accumulators per channel. */
    return floor_axis_bytes(sw, dw) + floor_axis_bytes(sh, dh) +
           (size_t)dw * 3 * sizeof(uint32_t) * 2 + 64;
}

/* A source row provider: either rows of packed RGB8 or rows made on the fly
 * from the caller image (format conversion and optional box prescale). */
typedef struct row_src {
    const iqs_image *img; /* caller image, or NULL for packed RGB8 rows  */
    const uint8_t *rgb;   /* packed RGB8 (img == NULL)                   */
    int w, h;             /* size of the rows delivered                  */
    int pre;              /* box factor applied to img                   */
    uint8_t *buf;         /* one delivered row (w*3)                     */
    uint16_t *sum;        /* prescale accumulator (w*3), pre > 1         */
} row_src;

/* Channel offsets of R, G, B within a pixel of format f (gray: all 0). */
static void rgb_offsets(iqs_pixfmt f, int *r, int *g, int *b)
{
    switch (f) {
    case IQS_PIX_BGR8:
    case IQS_PIX_BGRA8:
        *r = 2, *g = 1, *b = 0;
        break;
    case IQS_PIX_GRAY8:
        *r = 0, *g = 0, *b = 0;
        break;
    default:
        *r = 0, *g = 1, *b = 2;
        break;
    }
}

int iqs_detect_bpp(iqs_pixfmt f)
{
    switch (f) {
    case IQS_PIX_RGB8:
    case IQS_PIX_BGR8: return 3;
    case IQS_PIX_RGBA8:
    case IQS_PIX_BGRA8: return 4;
    case IQS_PIX_GRAY8: return 1;
    }
    return 0;
}

static const uint8_t *row_get(row_src *s, int y)
{
    const iqs_image *im = s->img;
    int bpp, ro, go, bo, x;

    if (!im)
        return s->rgb + (size_t)y * s->w * 3;
    bpp = iqs_detect_bpp(im->format);
    rgb_offsets(im->format, &ro, &go, &bo);
    if (s->pre == 1) {
        const uint8_t *p = (const uint8_t *)im->data + (size_t)y * im->stride;
        uint8_t *restrict d = s->buf;
        if (im->format == IQS_PIX_RGB8)
            return p;
        for (x = 0; x < s->w; x++, p += bpp, d += 3) {
            d[0] = p[ro];
            d[1] = p[go];
            d[2] = p[bo];
        }
        return s->buf;
    }
    {
        /* Box average of a pre x pre block, rounded to nearest. */
        const int pre = s->pre;
        const uint32_t area = (uint32_t)pre * (uint32_t)pre;
        uint16_t *restrict acc = s->sum;
        int dy;
        memset(acc, 0, (size_t)s->w * 3 * sizeof(*acc));
        for (dy = 0; dy < pre; dy++) {
            const uint8_t *p = (const uint8_t *)im->data +
                               ((size_t)y * pre + dy) * im->stride;
            for (x = 0; x < s->w; x++) {
                uint32_t r = 0, g = 0, b = 0;
                int dx;
                for (dx = 0; dx < pre; dx++, p += bpp) {
                    r += p[ro];
                    g += p[go];
                    b += p[bo];
                }
                acc[3 * x] = (uint16_t)(acc[3 * x] + r);
                acc[3 * x + 1] = (uint16_t)(acc[3 * x + 1] + g);
                acc[3 * x + 2] = (uint16_t)(acc[3 * x + 2] + b);
            }
        }
        for (x = 0; x < s->w * 3; x++)
            s->buf[x] = (uint8_t)((acc[x] + area / 2) / area);
        return s->buf;
    }
}

/* Floor scaler over a row provider. acc and rowx hold dw*3 uint32 each. */
static void scale_floor_rows(row_src *s, uint8_t *dst, int dw, int dh,
                             const floor_axis *ax, const floor_axis *ay,
                             uint32_t *acc, uint32_t *rowx)
{
    const int sw = s->w, sh = s->h;
    int y, x, c;

    for (y = 0; y < dh; y++) {
        const int32_t y0 = ay->start[y];
        int32_t k;
        memset(acc, 0, (size_t)dw * 3 * sizeof(*acc));
        for (k = ay->off[y]; k < ay->off[y + 1]; k++) {
            int sy = y0 + (k - ay->off[y]);
            const uint32_t wy = (uint32_t)ay->w[k];
            const uint8_t *row;
            if (sy > sh - 1) /* Imlib2 would read past the last row */
                sy = sh - 1;
            row = row_get(s, sy);
            for (x = 0; x < dw; x++) {
                const int32_t x0 = ax->start[x];
                uint32_t r = 0, g = 0, b = 0;
                int32_t j;
                for (j = ax->off[x]; j < ax->off[x + 1]; j++) {
                    int sx = x0 + (j - ax->off[x]);
                    const uint32_t wx = (uint32_t)ax->w[j];
                    const uint8_t *p;
                    if (sx > sw - 1)
                        sx = sw - 1;
                    p = row + 3 * (size_t)sx;
                    r += (p[0] * wx) >> 9;
                    g += (p[1] * wx) >> 9;
                    b += (p[2] * wx) >> 9;
                }
                rowx[3 * x] = r;
                rowx[3 * x + 1] = g;
                rowx[3 * x + 2] = b;
            }
            for (x = 0; x < dw * 3; x++)
                acc[x] += (rowx[x] * wy) >> 14;
        }
        for (x = 0; x < dw; x++)
            for (c = 0; c < 3; c++) {
                uint32_t v = acc[3 * x + c] >> 5;
                dst[((size_t)y * dw + x) * 3 + c] =
                    (uint8_t)(v > 255 ? 255 : v);
            }
    }
}

void iqs_detect_scale_floor(const uint8_t *src, int sw, int sh, uint8_t *dst,
                            int dw, int dh, void *scratch)
{
    floor_axis ax, ay;
    uint8_t *mem = scratch;
    row_src s;

    floor_axis_init(&ax, sw, dw, (int32_t *)mem);
    mem += floor_axis_bytes(sw, dw);
    floor_axis_init(&ay, sh, dh, (int32_t *)mem);
    mem += floor_axis_bytes(sh, dh);
    memset(&s, 0, sizeof(s));
    s.rgb = src;
    s.w = sw;
    s.h = sh;
    s.pre = 1;
    scale_floor_rows(&s, dst, dw, dh, &ax, &ay, (uint32_t *)mem,
                     (uint32_t *)mem + (size_t)dw * 3);
}

/* One axis of the exact scaler: output i covers source [i*s/d, (i+1)*s/d);
 * float weights are the covered fractions divided by s/d. */
typedef struct exact_axis {
    int32_t *start, *off;
    float *w;
} exact_axis;

static size_t exact_axis_bytes(int s, int d)
{
    return (2 * (size_t)d + 1) * sizeof(int32_t) +
           ((size_t)s + 2 * (size_t)d) * sizeof(float);
}

static void exact_axis_init(exact_axis *a, int s, int d, void *mem)
{
    const double scale = (double)s / d;
    int32_t n = 0;
    int i;

    a->start = mem;
    a->off = a->start + d;
    a->w = (float *)(a->off + d + 1);
    for (i = 0; i < d; i++) {
        /* Integer bounds in units of 1/d source pixels are exact. */
        const int64_t lo = (int64_t)i * s, hi = (int64_t)(i + 1) * s;
        int64_t p = lo / d;
        a->start[i] = (int32_t)p;
        a->off[i] = n;
        for (; p * d < hi; p++) {
            int64_t a0 = p * d > lo ? p * d : lo;
            int64_t a1 = (p + 1) * d < hi ? (p + 1) * d : hi;
            a->w[n++] = (float)((double)(a1 - a0) / d / scale);
        }
    }
    a->off[d] = n;
}

static void scale_exact_rows(row_src *s, uint8_t *dst, int dw, int dh,
                             const exact_axis *ax, const exact_axis *ay,
                             float *acc, float *rowx)
{
    int y, x;

    for (y = 0; y < dh; y++) {
        int32_t k;
        memset(acc, 0, (size_t)dw * 3 * sizeof(*acc));
        for (k = ay->off[y]; k < ay->off[y + 1]; k++) {
            const int sy = ay->start[y] + (k - ay->off[y]);
            const float wy = ay->w[k];
            const uint8_t *row = row_get(s, sy);
            for (x = 0; x < dw; x++) {
                const uint8_t *p = row + 3 * (size_t)ax->start[x];
                float r = 0, g = 0, b = 0;
                int32_t j;
                for (j = ax->off[x]; j < ax->off[x + 1]; j++, p += 3) {
                    const float wx = ax->w[j];
                    r += p[0] * wx;
                    g += p[1] * wx;
                    b += p[2] * wx;
                }
                rowx[3 * x] = r;
                rowx[3 * x + 1] = g;
                rowx[3 * x + 2] = b;
            }
            for (x = 0; x < dw * 3; x++)
                acc[x] += rowx[x] * wy;
        }
        for (x = 0; x < dw * 3; x++) {
            float v = acc[x] + 0.5f;
            dst[(size_t)y * dw * 3 + x] =
                (uint8_t)(v >= 255.0f ? 255 : v <= 0.0f ? 0 : (int)v);
        }
    }
}

int iqs_detect_preview_plan(int w, int h, unsigned quirks, int preview_max,
                            iqs_preview_plan *plan)
{
    const int lng = w > h ? w : h;
    size_t s = 0, t;

    memset(plan, 0, sizeof(*plan));
    plan->pre = 1;
    plan->mw = w;
    plan->mh = h;
    if (preview_max > 0 && (quirks & IQS_QUIRK_DCT_PRESCALE)) {
        /* libjpeg scale 1/s: the largest s <= 8 keeping the long side at
         * least preview_max. */
        while (plan->pre < 8 && (int64_t)preview_max * plan->pre * 2 <= lng)
            plan->pre *= 2;
        plan->mw = w / plan->pre;
        plan->mh = h / plan->pre;
        if (plan->mw < 1 || plan->mh < 1) {
            plan->pre = 1;
            plan->mw = w;
            plan->mh = h;
        }
    }
    plan->pw = plan->mw;
    plan->ph = plan->mh;
    if (preview_max > 0) {
        const int64_t ml = plan->mw > plan->mh ? plan->mw : plan->mh;
        /* digiKam shrinks only from 1.25 x the target up. */
        const int64_t lim = (quirks & IQS_QUIRK_PREVIEW_FLOOR)
                                ? (int64_t)preview_max * 5 / 4
                                : (int64_t)preview_max + 1;
        if (ml >= lim)
            iqs_detect_fit(plan->mw, plan->mh, preview_max, &plan->pw,
                           &plan->ph);
    }
    /* Scratch: row buffer (+ prescale sums) + the scaler's own. */
    if (!iqs_mul_ok((size_t)plan->mw, 3 * 3, &t))
        return 0;
    s = t + 128;
    if (plan->pw != plan->mw || plan->ph != plan->mh) {
        if (quirks & IQS_QUIRK_PREVIEW_FLOOR)
            t = iqs_detect_scale_floor_scratch(plan->mw, plan->mh, plan->pw,
                                               plan->ph);
        else
            t = exact_axis_bytes(plan->mw, plan->pw) +
                exact_axis_bytes(plan->mh, plan->ph) +
                (size_t)plan->pw * 3 * sizeof(float) * 2 + 64;
        if (!iqs_add_ok(s, t, &s))
            return 0;
    }
    plan->scratch = s;
    return 1;
}

void iqs_detect_preview(const iqs_image *src, const iqs_preview_plan *plan,
                        unsigned quirks, void *scratch, uint8_t *dst)
{
    uint8_t *mem = scratch;
    row_src s;
    int y;

    memset(&s, 0, sizeof(s));
    s.img = src;
    s.w = plan->mw;
    s.h = plan->mh;
    s.pre = plan->pre;
    s.buf = mem;
    s.sum = (uint16_t *)(void *)(mem + iqs_align_up((size_t)s.w * 3, 8));
    mem += iqs_align_up((size_t)plan->mw * 3 * 3 + 64, 8);

    if (plan->pw == plan->mw && plan->ph == plan->mh) {
        for (y = 0; y < plan->ph; y++)
            memcpy(dst + (size_t)y * plan->pw * 3, row_get(&s, y),
                   (size_t)plan->pw * 3);
        return;
    }
    if (quirks & IQS_QUIRK_PREVIEW_FLOOR) {
        floor_axis ax, ay;
        floor_axis_init(&ax, plan->mw, plan->pw, (int32_t *)mem);
        mem += floor_axis_bytes(plan->mw, plan->pw);
        floor_axis_init(&ay, plan->mh, plan->ph, (int32_t *)mem);
        mem += floor_axis_bytes(plan->mh, plan->ph);
        scale_floor_rows(&s, dst, plan->pw, plan->ph, &ax, &ay,
                         (uint32_t *)mem,
                         (uint32_t *)mem + (size_t)plan->pw * 3);
    } else {
        exact_axis ax, ay;
        exact_axis_init(&ax, plan->mw, plan->pw, mem);
        mem += exact_axis_bytes(plan->mw, plan->pw);
        exact_axis_init(&ay, plan->mh, plan->ph, mem);
        mem += exact_axis_bytes(plan->mh, plan->ph);
        scale_exact_rows(&s, dst, plan->pw, plan->ph, &ax, &ay, (float *)mem,
                         (float *)mem + (size_t)plan->pw * 3);
    }
}

void iqs_detect_gray(const uint8_t *rgb, size_t n, int swap, uint8_t *gray)
{
    /* OpenCV BGR2GRAY weights in 14-bit fixed point (B, G, R order). */
    const uint32_t wb = 1868, wg = 9617, wr = 4899;
    const uint32_t k0 = swap ? wb : wr, k2 = swap ? wr : wb;
    size_t i;

    for (i = 0; i < n; i++, rgb += 3)
        gray[i] = (uint8_t)((rgb[0] * k0 + rgb[1] * wg + rgb[2] * k2 + 8192) >>
                            14);
}
