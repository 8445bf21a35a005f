/*
 * Pooling (layer: ops): max and average pools over explicit four-sided
 * pads, and the global average pool. Padded cells never take part: max
 * ignores them and the average divides by the number of real cells, as
 * TensorFlow's SAME pooling does. The fast versions clip each window to the
 * image once instead of testing every cell; the references test every cell.
 */
#include "base/common.h"
#include "ops/ops.h"

int iqs_pool_check(const iqs_pool_desc *d)
{
    if (!d)
        return 0;
    if (d->c <= 0 || d->ih <= 0 || d->iw <= 0 || d->oh <= 0 || d->ow <= 0 ||
        d->kh <= 0 || d->kw <= 0 || d->sh <= 0 || d->sw <= 0)
        return 0;
    if (d->pt < 0 || d->pl < 0 || d->pb < 0 || d->pr < 0 || d->pt >= d->kh ||
        d->pb >= d->kh || d->pl >= d->kw || d->pr >= d->kw)
        return 0;
    const long long eh = (long long)d->ih + d->pt + d->pb;
    const long long ew = (long long)d->iw + d->pl + d->pr;
    if (eh < d->kh || ew < d->kw)
        return 0;
    if (d->oh != (eh - d->kh) / d->sh + 1 || d->ow != (ew - d->kw) / d->sw + 1)
        return 0;
    size_t t;
    if (!iqs_mul_ok((size_t)d->c, (size_t)d->ih, &t) ||
        !iqs_mul_ok(t, (size_t)d->iw, &t) ||
        !iqs_mul_ok(t, sizeof(float), &t) ||
        !iqs_mul_ok((size_t)d->c, (size_t)d->oh, &t) ||
        !iqs_mul_ok(t, (size_t)d->ow, &t) ||
        !iqs_mul_ok(t, sizeof(float), &t))
        return 0;
    return 1;
}

/* Window [lo, hi) of output index o along one axis, clipped to [0, n). */
static void clip(long o, long s, long p, long k, long n, long *lo, long *hi)
{
    long a = o * s - p, b = a + k;
    *lo = a < 0 ? 0 : a;
    *hi = b > n ? n : b;
}

/* [C,IH,IW] -> [C,OH,OW], max over clipped windows */
void iqs_maxpool(const iqs_pool_desc *d, const float *restrict in,
                 float *restrict out)
{
    const long C = d->c, IH = d->ih, IW = d->iw, OH = d->oh, OW = d->ow;
    for (long c = 0; c < C; c++) {
        const float *restrict p = in + (size_t)c * (size_t)IH * (size_t)IW;
        float *restrict q = out + (size_t)c * (size_t)OH * (size_t)OW;
        for (long y = 0; y < OH; y++) {
            long y0, y1;
            clip(y, d->sh, d->pt, d->kh, IH, &y0, &y1);
            for (long x = 0; x < OW; x++) {
                long x0, x1;
                clip(x, d->sw, d->pl, d->kw, IW, &x0, &x1);
                /* the check guarantees a non-empty window */
                float m = p[(size_t)y0 * (size_t)IW + (size_t)x0];
                for (long iy = y0; iy < y1; iy++) {
                    const float *restrict r = p + (size_t)iy * (size_t)IW;
                    for (long ix = x0; ix < x1; ix++)
                        m = r[ix] > m ? r[ix] : m;
                }
                q[(size_t)y * (size_t)OW + (size_t)x] = m;
            }
        }
    }
}

/* [C,IH,IW] -> [C,OH,OW], sum over clipped windows / valid count */
void iqs_avgpool(const iqs_pool_desc *d, const float *restrict in,
                 float *restrict out)
{
    const long C = d->c, IH = d->ih, IW = d->iw, OH = d->oh, OW = d->ow;
    for (long c = 0; c < C; c++) {
        const float *restrict p = in + (size_t)c * (size_t)IH * (size_t)IW;
        float *restrict q = out + (size_t)c * (size_t)OH * (size_t)OW;
        for (long y = 0; y < OH; y++) {
            long y0, y1;
            clip(y, d->sh, d->pt, d->kh, IH, &y0, &y1);
            for (long x = 0; x < OW; x++) {
                long x0, x1;
                clip(x, d->sw, d->pl, d->kw, IW, &x0, &x1);
                float s = 0.0f;
                for (long iy = y0; iy < y1; iy++) {
                    const float *restrict r = p + (size_t)iy * (size_t)IW;
                    for (long ix = x0; ix < x1; ix++)
                        s += r[ix];
                }
                q[(size_t)y * (size_t)OW + (size_t)x] =
                    s / (float)((y1 - y0) * (x1 - x0));
            }
        }
    }
}

/* Every window cell tested against the image bounds. */
static void pool_ref(const iqs_pool_desc *d, const float *in, float *out,
                     int is_max)
{
    for (long c = 0; c < d->c; c++) {
        for (long y = 0; y < d->oh; y++) {
            for (long x = 0; x < d->ow; x++) {
                double s = 0.0, m = 0.0;
                long n = 0;
                for (long ky = 0; ky < d->kh; ky++) {
                    for (long kx = 0; kx < d->kw; kx++) {
                        const long iy = y * d->sh - d->pt + ky;
                        const long ix = x * d->sw - d->pl + kx;
                        if (iy < 0 || iy >= d->ih || ix < 0 || ix >= d->iw)
                            continue;
                        const double v = in[((size_t)c * (size_t)d->ih +
                                             (size_t)iy) * (size_t)d->iw +
                                            (size_t)ix];
                        if (n == 0 || v > m)
                            m = v;
                        s += v;
                        n++;
                    }
                }
                out[((size_t)c * (size_t)d->oh + (size_t)y) * (size_t)d->ow +
                    (size_t)x] = (float)(n == 0 ? 0.0 : is_max ? m : s / n);
            }
        }
    }
}

void iqs_maxpool_ref(const iqs_pool_desc *d, const float *in, float *out)
{
    pool_ref(d, in, out, 1);
}

void iqs_avgpool_ref(const iqs_pool_desc *d, const float *in, float *out)
{
    pool_ref(d, in, out, 0);
}

/* [C,HW] -> [C]: four partial sums keep the adds independent */
void iqs_gap(int c, int hw, const float *restrict in, float *restrict out)
{
    const size_t n = (size_t)hw;
    for (size_t i = 0; i < (size_t)c; i++) {
        const float *restrict p = in + i * n;
        float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
        size_t j = 0;
        for (; j + 4 <= n; j += 4) {
            s0 += p[j];
            s1 += p[j + 1];
            s2 += p[j + 2];
            s3 += p[j + 3];
        }
        for (; j < n; j++)
            s0 += p[j];
        out[i] = ((s0 + s1) + (s2 + s3)) / (float)n;
    }
}

void iqs_gap_ref(int c, int hw, const float *in, float *out)
{
    for (size_t i = 0; i < (size_t)c; i++) {
        double s = 0.0;
        for (size_t j = 0; j < (size_t)hw; j++)
            s += in[i * (size_t)hw + j];
        out[i] = (float)(s / hw);
    }
}
