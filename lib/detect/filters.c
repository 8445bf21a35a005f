/*
 * Small image filters of the classic detectors (layer: detect): the 3x3
 * Laplacian, the 5x5 box filter, 5x5 medians (naive sorting references and
 * the tuned threshold forms the detectors actually use), the 4x4 Haar
 * kernels. Border rules follow OpenCV so that results match digiKam's:
 * reflect-101 for the Laplacian and the box filter, replicate for medians
 * and filter2D.
 *
 * Why the medians are "thresholded": both detectors only ask a yes/no
 * question of a 5x5 median (is it <= t? is the pixel equal to it?), and for
 * a window's 13th smallest value both answers follow from counts of window
 * values, which costs O(1) (blur) or 50 byte compares (compression) per
 * pixel and vectorises, instead of a sort of 25 values.
 */
/* The hot loops here are written to vectorise; gcc's -O2 cost model
 * ("very cheap") refuses most of them, so ask for -O3 in this file. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#include <string.h>

#include "detect/detect.h"

/* OpenCV's borderInterpolate for BORDER_REFLECT_101 (gfedcb|abcdefgh|gfedcba). */
static int refl101(int p, int n)
{
    if (n == 1)
        return 0;
    while (p < 0 || p >= n)
        p = p < 0 ? -p : 2 * n - p - 2;
    return p;
}

static int clampi(int p, int n)
{
    return p < 0 ? 0 : p >= n ? n - 1 : p;
}

void iqs_detect_laplacian(const uint8_t *gray, int w, int h, int16_t *lap)
{
    int y, x;

    for (y = 0; y < h; y++) {
        const uint8_t *up = gray + (size_t)refl101(y - 1, h) * w;
        const uint8_t *row = gray + (size_t)y * w;
        const uint8_t *dn = gray + (size_t)refl101(y + 1, h) * w;
        int16_t *restrict out = lap + (size_t)y * w;
        if (w < 3) {
            for (x = 0; x < w; x++)
                out[x] = (int16_t)(up[x] + dn[x] + row[refl101(x - 1, w)] +
                                   row[refl101(x + 1, w)] - 4 * row[x]);
            continue;
        }
        out[0] = (int16_t)(up[0] + dn[0] + 2 * row[1] - 4 * row[0]);
        /* Interior: a plain loop the compiler vectorises. */
        for (x = 1; x < w - 1; x++)
            out[x] = (int16_t)(up[x] + dn[x] + row[x - 1] + row[x + 1] -
                               4 * row[x]);
        out[w - 1] = (int16_t)(up[w - 1] + dn[w - 1] + 2 * row[w - 2] -
                               4 * row[w - 1]);
    }
}

void iqs_detect_box5(const float *src, int w, int h, float *tmp, float *dst)
{
    int y, x, k;

    /* Horizontal 5-sums with reflect-101 indices at the two ends. */
    for (y = 0; y < h; y++) {
        const float *s = src + (size_t)y * w;
        float *restrict t = tmp + (size_t)y * w;
        for (x = 0; x < w; x++) {
            if (x >= 2 && x < w - 2) {
                t[x] = s[x - 2] + s[x - 1] + s[x] + s[x + 1] + s[x + 2];
            } else {
                float a = 0;
                for (k = -2; k <= 2; k++)
                    a += s[refl101(x + k, w)];
                t[x] = a;
            }
        }
    }
    for (y = 0; y < h; y++) {
        const float *r0 = tmp + (size_t)refl101(y - 2, h) * w;
        const float *r1 = tmp + (size_t)refl101(y - 1, h) * w;
        const float *r2 = tmp + (size_t)y * w;
        const float *r3 = tmp + (size_t)refl101(y + 1, h) * w;
        const float *r4 = tmp + (size_t)refl101(y + 2, h) * w;
        float *restrict d = dst + (size_t)y * w;
        for (x = 0; x < w; x++)
            d[x] = (r0[x] + r1[x] + r2[x] + r3[x] + r4[x]) * (1.0f / 25.0f);
    }
}

static void sort_f(float *v, int n)
{
    int i, j;
    for (i = 1; i < n; i++) {
        float t = v[i];
        for (j = i; j > 0 && v[j - 1] > t; j--)
            v[j] = v[j - 1];
        v[j] = t;
    }
}

void iqs_detect_median5_ref_f32(const float *src, int w, int h, float *dst)
{
    int y, x, dy, dx;
    float v[25];

    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++) {
            int n = 0;
            for (dy = -2; dy <= 2; dy++)
                for (dx = -2; dx <= 2; dx++)
                    v[n++] = src[(size_t)clampi(y + dy, h) * w +
                                 clampi(x + dx, w)];
            sort_f(v, 25);
            dst[(size_t)y * w + x] = v[12];
        }
}

void iqs_detect_median5_ref_u8(const uint8_t *src, int w, int h, int nch,
                               int c, uint8_t *dst)
{
    int y, x, dy, dx;
    float v[25];

    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++) {
            int n = 0;
            for (dy = -2; dy <= 2; dy++)
                for (dx = -2; dx <= 2; dx++)
                    v[n++] = src[((size_t)clampi(y + dy, h) * w +
                                  clampi(x + dx, w)) * nch + c];
            sort_f(v, 25);
            dst[(size_t)y * w + x] = (uint8_t)v[12];
        }
}

void iqs_detect_majority5(const uint8_t *bin, int w, int h, uint8_t *tmp,
                          uint8_t *out)
{
    int y, x, k;

    /* Vertical 5-counts (replicate), then horizontal 5-sums >= 13. */
    for (y = 0; y < h; y++) {
        const uint8_t *r0 = bin + (size_t)clampi(y - 2, h) * w;
        const uint8_t *r1 = bin + (size_t)clampi(y - 1, h) * w;
        const uint8_t *r2 = bin + (size_t)y * w;
        const uint8_t *r3 = bin + (size_t)clampi(y + 1, h) * w;
        const uint8_t *r4 = bin + (size_t)clampi(y + 2, h) * w;
        uint8_t *restrict t = tmp + (size_t)y * w;
        for (x = 0; x < w; x++)
            t[x] = (uint8_t)(r0[x] + r1[x] + r2[x] + r3[x] + r4[x]);
    }
    for (y = 0; y < h; y++) {
        const uint8_t *t = tmp + (size_t)y * w;
        uint8_t *restrict o = out + (size_t)y * w;
        for (x = 0; x < w; x++) {
            int s;
            if (x >= 2 && x < w - 2) {
                s = t[x - 2] + t[x - 1] + t[x] + t[x + 1] + t[x + 2];
            } else {
                s = 0;
                for (k = -2; k <= 2; k++)
                    s += t[clampi(x + k, w)];
            }
            o[x] = (uint8_t)(s >= 13);
        }
    }
}

void iqs_detect_median_equal_rgb(const uint8_t *rgb, int w, int h,
                                 uint8_t *rows, uint8_t *out)
{
    const size_t pw = ((size_t)w + 4) * 3, n = (size_t)w * 3;
    uint8_t *lt = rows + 5 * pw, *le = lt + n;
    int y, x, r, dx;

    for (y = 0; y < h; y++) {
        const uint8_t *v = rgb + (size_t)y * n;
        /* Five replicate-padded rows around y. */
        for (r = 0; r < 5; r++) {
            const uint8_t *s = rgb + (size_t)clampi(y + r - 2, h) * n;
            uint8_t *p = rows + r * pw;
            memcpy(p + 6, s, n);
            for (x = 0; x < 2; x++) {
                memcpy(p + 3 * x, s, 3);
                memcpy(p + 6 + n + 3 * x, s + n - 3, 3);
            }
        }
        memset(lt, 0, n);
        memset(le, 0, n);
        for (r = 0; r < 5; r++)
            for (dx = 0; dx < 5; dx++) {
                const uint8_t *restrict q = rows + r * pw + 3 * dx;
                uint8_t *restrict a = lt, *restrict b = le;
                size_t i;
                for (i = 0; i < n; i++) {
                    a[i] = (uint8_t)(a[i] + (q[i] < v[i]));
                    b[i] = (uint8_t)(b[i] + (q[i] <= v[i]));
                }
            }
        for (x = 0; x < w; x++) {
            const uint8_t *a = lt + 3 * x, *b = le + 3 * x;
            out[(size_t)y * w + x] =
                (uint8_t)(a[0] <= 12 && b[0] >= 13 && a[1] <= 12 &&
                          b[1] >= 13 && a[2] <= 12 && b[2] >= 13);
        }
    }
}

void iqs_detect_haar_kernel(int k, float K[4][4])
{
    /* Rows of the orthonormal 4-point Haar basis, 1/sqrt(2) as 0.7071. */
    static const float b[4][4] = {
        { 0.5f, 0.5f, 0.5f, 0.5f },
        { 0.5f, 0.5f, -0.5f, -0.5f },
        { 0.7071f, -0.7071f, 0.0f, 0.0f },
        { 0.0f, 0.0f, 0.7071f, -0.7071f },
    };
    int u, v;

    for (u = 0; u < 4; u++)
        for (v = 0; v < 4; v++)
            K[u][v] = b[(k >> 2) & 3][u] * b[k & 3][v];
}

void iqs_detect_filter4_ref(const uint8_t *gray, int w, int h,
                            const float K[4][4], float *dst)
{
    int y, x, u, v;

    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++) {
            float a = 0;
            for (u = 0; u < 4; u++)
                for (v = 0; v < 4; v++)
                    a += K[u][v] * gray[(size_t)clampi(y + u - 2, h) * w +
                                        clampi(x + v - 2, w)];
            dst[(size_t)y * w + x] = a;
        }
}
