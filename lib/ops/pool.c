/*
 * Pooling (layer: ops): max and average pools over explicit four-sided
 * pads, and the global average pool. Padded cells never take part: max
 * ignores them and the average divides by the number of real cells, as
 * TensorFlow's SAME pooling does.
 *
 * The fast pools are separable. Each input line is reduced once over KW
 * into a line buffer on the stack (a ring of KMAX lines, so a line shared
 * by overlapping windows is reduced once), then each output line folds the
 * KH buffered lines that its window covers. The line kernels run over
 * output columns with SIMD: on x86-64 an SSE build (the baseline ISA) and
 * an AVX-512 build (masked loads and stores for ragged ends) chosen by
 * __builtin_cpu_supports; elsewhere the same source with one-lane
 * "vectors" (plain C). 3-wide windows with stride 1 or 2 take the vector
 * line kernels; other window widths, and windows clipped by the pads, are
 * folded in plain C inside the same driver. The AVX-512 build has one
 * more path for output lines of at most 16 columns (the late, small planes
 * with many channels, where per-line driver work dominated): one vector
 * holds a whole output line, input lines fold straight into a ring of
 * vectors, and cells outside the image load as a fill that never changes
 * the result (0 for the sum, -inf for the max: it loses, or ties with a
 * bit-identical -inf). Shapes whose output lines or windows do not fit the
 * fixed stack buffers (OW > LINE or KH > KMAX) take the clip path: one
 * loop nest per output cell over the window clipped to the image, which
 * is also the NaN fallback below. Nothing is allocated, nothing is kept.
 *
 * Bit-exactness of the max: the reference folds a window in row-major
 * order with m = v > m ? v : m starting from its first real cell, so the
 * result is the first cell (in that order) that holds the maximum; this
 * decides which of -0.0 and +0.0 wins, and a NaN wins only when it is the
 * first real cell (a later NaN never compares greater). The separable fold
 * (each line left to right, then the lines top to bottom, with the same
 * operator, which is exactly what the x86 MAXPS instruction computes)
 * picks the same cell for every input without NaN. With a NaN it can
 * differ: a line segment other than the window's first that starts with a
 * NaN drops out entirely, and behind a -inf fill a NaN first real cell is
 * skipped. So the kernels flag any NaN in a line buffer (the small-line
 * path: among the cells it loads) and recompute such a channel with the
 * clip path, which folds in the reference's order. Result: the max is
 * bit-identical to iqs_maxpool_ref for every input, NaN included (a NaN
 * output is the window's first real cell, payload copied; the reference's
 * double round trip would also quiet a signalling NaN, which we do not).
 * A channel holding NaN costs the clip path's time, about 4x the fast one.
 * The average sums in float in another order than the reference's double
 * sum and scales by reciprocals of the counts: within 1e-6 of the window's
 * mean |x| (tests/test_pool.c), i.e. 1e-6 relative for non-negative data.
 */
#include "base/common.h"
#include "ops/ops.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define IQS_POOL_X86 1
#endif

/* Output columns per stack line buffer and window lines held in the ring
 * (a power of two, so input line iy lives in slot iy & (KMAX - 1); any
 * KH <= KMAX window then finds its lines in distinct slots): LINE * KMAX
 * floats = 4 KiB of stack. */
enum { LINE = 256, KMAX = 4 };

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

/* ------------------------------------------------------------- clip path */

/* Channels [c0, c1) of [C,IH,IW] -> [C,OH,OW]: one fold per output cell
 * over its clipped window, in the reference's row-major order (the max is
 * bit-identical to it). */
static void clip_pool(const iqs_pool_desc *d, long c0, long c1, int is_max,
                      const float *restrict in, float *restrict out)
{
    const long IH = d->ih, IW = d->iw, OH = d->oh, OW = d->ow;
    for (long c = c0; c < c1; c++) {
        const float *restrict p = in + (size_t)c * (size_t)IH * (size_t)IW;
        float *restrict q = out + (size_t)c * (size_t)OH * (size_t)OW;
        for (long y = 0; y < OH; y++) {
            long y0, y1;
            clip(y, d->sh, d->pt, d->kh, IH, &y0, &y1);
            for (long x = 0; x < OW; x++) {
                long x0, x1;
                clip(x, d->sw, d->pl, d->kw, IW, &x0, &x1);
                /* the check guarantees a non-empty window */
                float m = p[(size_t)y0 * (size_t)IW + (size_t)x0], s = 0.0f;
                for (long iy = y0; iy < y1; iy++) {
                    const float *restrict r = p + (size_t)iy * (size_t)IW;
                    for (long ix = x0; ix < x1; ix++) {
                        m = r[ix] > m ? r[ix] : m;
                        s += r[ix];
                    }
                }
                q[(size_t)y * (size_t)OW + (size_t)x] =
                    is_max ? m : s / (float)((y1 - y0) * (x1 - x0));
            }
        }
    }
}

/* ------------------------------------------------------ vector primitives */

/*
 * One set per instruction set: a vector type V of W floats; unaligned
 * load/store; ldn/stn, the same for lanes [0, k) only (0 <= k; lanes >= W
 * ignored, lanes >= k load as 0; nothing is read or written outside
 * p[0, k), so no pointer past the data is formed); max(v, m) = v > m ? v : m
 * per lane (MAXPS returns its second operand on ties and NaN, exactly the
 * reference's fold); add; mul; splat; for stride-2 windows the even and
 * odd lanes of the 2W-float concatenation (a, b), and even1(a, b), the
 * cells 0, 2, .., 2W-2 of a line when a holds cells [0, W) and b cells
 * [W-1, 2W-1) (so no load reaches past cell 2W-2); nan, a nonzero bit for
 * each NaN lane below k. MASK is 1 when ldn/stn are cheap (masked moves),
 * else the kernels finish ragged ends with scalar code.
 */
#define INL static inline __attribute__((always_inline))

/* Generic: one lane, plain C (non-x86 targets; also tested on x86). */
typedef float g_v;
enum { g_W = 1, g_MASK = 0 };
INL g_v g_ld(const float *p) { return *p; }
INL void g_st(float *p, g_v v) { *p = v; }
INL g_v g_ldn(const float *p, long k) { return k > 0 ? *p : 0.0f; }
INL void g_stn(float *p, g_v v, long k)
{
    if (k > 0)
        *p = v;
}
INL g_v g_max(g_v v, g_v m) { return v > m ? v : m; }
INL g_v g_add(g_v a, g_v b) { return a + b; }
INL g_v g_mul(g_v a, g_v b) { return a * b; }
INL g_v g_set1(float s) { return s; }
INL g_v g_even(g_v a, g_v b) { (void)b; return a; }
INL g_v g_odd(g_v a, g_v b) { (void)a; return b; }
INL g_v g_even1(g_v a, g_v b) { (void)b; return a; }
INL int g_nan(g_v v, long k) { return k > 0 && v != v; }

#ifdef IQS_POOL_X86
/* SSE: the x86-64 baseline. */
typedef __m128 s_v;
enum { s_W = 4, s_MASK = 0 };
INL s_v s_ld(const float *p) { return _mm_loadu_ps(p); }
INL void s_st(float *p, s_v v) { _mm_storeu_ps(p, v); }
INL s_v s_ldn(const float *p, long k)
{
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (long i = 0; i < k && i < 4; i++)
        t[i] = p[i];
    return _mm_loadu_ps(t);
}
INL void s_stn(float *p, s_v v, long k)
{
    float t[4];
    _mm_storeu_ps(t, v);
    for (long i = 0; i < k && i < 4; i++)
        p[i] = t[i];
}
INL s_v s_max(s_v v, s_v m) { return _mm_max_ps(v, m); }
INL s_v s_add(s_v a, s_v b) { return _mm_add_ps(a, b); }
INL s_v s_mul(s_v a, s_v b) { return _mm_mul_ps(a, b); }
INL s_v s_set1(float s) { return _mm_set1_ps(s); }
INL s_v s_even(s_v a, s_v b) { return _mm_shuffle_ps(a, b, 0x88); }
INL s_v s_odd(s_v a, s_v b) { return _mm_shuffle_ps(a, b, 0xdd); }
INL s_v s_even1(s_v a, s_v b) { return _mm_shuffle_ps(a, b, 0xd8); }
INL int s_nan(s_v v, long k)
{
    const int lanes = k >= 4 ? 15 : (1 << (k > 0 ? k : 0)) - 1;
    return _mm_movemask_ps(_mm_cmpunord_ps(v, v)) & lanes;
}

/* AVX-512F: 16 lanes, masked moves for the ragged ends. */
#define Z_TGT __attribute__((target("avx512f")))
typedef __m512 z_v;
enum { z_W = 16, z_MASK = 1 };
Z_TGT INL __mmask16 z_lanes(long k)
{
    return (__mmask16)(k >= 16 ? 0xffffu : (1u << (k > 0 ? k : 0)) - 1u);
}
Z_TGT INL z_v z_ld(const float *p) { return _mm512_loadu_ps(p); }
Z_TGT INL void z_st(float *p, z_v v) { _mm512_storeu_ps(p, v); }
Z_TGT INL z_v z_ldn(const float *p, long k)
{
    return _mm512_maskz_loadu_ps(z_lanes(k), p);
}
Z_TGT INL void z_stn(float *p, z_v v, long k)
{
    _mm512_mask_storeu_ps(p, z_lanes(k), v);
}
Z_TGT INL z_v z_max(z_v v, z_v m) { return _mm512_max_ps(v, m); }
Z_TGT INL z_v z_add(z_v a, z_v b) { return _mm512_add_ps(a, b); }
Z_TGT INL z_v z_mul(z_v a, z_v b) { return _mm512_mul_ps(a, b); }
Z_TGT INL z_v z_set1(float s) { return _mm512_set1_ps(s); }
Z_TGT INL z_v z_even(z_v a, z_v b)
{
    const __m512i i = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                        20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(a, i, b);
}
Z_TGT INL z_v z_odd(z_v a, z_v b)
{
    const __m512i i = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19,
                                        21, 23, 25, 27, 29, 31);
    return _mm512_permutex2var_ps(a, i, b);
}
Z_TGT INL z_v z_even1(z_v a, z_v b)
{
    const __m512i i = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 17, 19,
                                        21, 23, 25, 27, 29, 31);
    return _mm512_permutex2var_ps(a, i, b);
}
Z_TGT INL int z_nan(z_v v, long k)
{
    return _mm512_mask_cmp_ps_mask(z_lanes(k), v, v, _CMP_UNORD_Q);
}
#endif

/* ---------------------------------------------------------- line kernels */

/*
 * IQS_POOL_LINES(NAME, ATTR, P) defines, for primitive set P, NAME_row3
 * and NAME_col; every build runs the same code with its own vector width.
 *
 * NAME_row3: h[i] = fold of the 3 cells r[i*S .. i*S+2] for i < n, S = 1
 * or 2 (s2), all cells inside the image. max folds left to right; the
 * average is the sum times 1/3. Returns nonzero if a max is NaN.
 *
 * NAME_col: out[i] = fold of rows[0..ny)[i] for i < n (max: top to
 * bottom; average: sum times sc).
 *
 * The chunk bodies take K, the number of windows (columns) they produce,
 * and LD(P, p, cnt), a load of the cnt (>= K) cells the windows need from
 * p on: full vectors in the main loops, ldn/stn for a ragged end.
 */
#define IQS_POOL_FULL_LD(P, p, cnt) P##_ld(p)
#define IQS_POOL_FULL_ST(P, p, v, cnt) P##_st(p, v)
#define IQS_POOL_PART_LD(P, p, cnt) P##_ldn(p, cnt)
#define IQS_POOL_PART_ST(P, p, v, cnt) P##_stn(p, v, cnt)

#define IQS_POOL_ROW3_BODY(P, S2, IS_MAX, LD, ST, K)                          \
    do {                                                                      \
        P##_v a, b, c, m;                                                     \
        if (S2) {                                                             \
            const long e = 2 * (K) + 1; /* cells of K windows */             \
            (void)e; /* unused by full loads */                               \
            const float *restrict s = r + 2 * x;                              \
            const P##_v u = LD(P, s, e), v = LD(P, s + P##_W, e - P##_W);     \
            const P##_v w = LD(P, s + 2, e - 2);                              \
            const P##_v t = LD(P, s + P##_W + 1, e - P##_W - 1);              \
            a = P##_even(u, v);                                               \
            b = P##_odd(u, v);                                                \
            c = P##_even1(w, t);                                              \
        } else {                                                              \
            a = LD(P, r + x, K);                                              \
            b = LD(P, r + x + 1, K);                                          \
            c = LD(P, r + x + 2, K);                                          \
        }                                                                     \
        if (IS_MAX) {                                                         \
            m = P##_max(c, P##_max(b, a));                                    \
            bad |= P##_nan(m, K);                                             \
        } else {                                                              \
            m = P##_mul(P##_add(P##_add(a, b), c), P##_set1(1.0f / 3.0f));   \
        }                                                                     \
        ST(P, h + x, m, K);                                                   \
    } while (0)

#define IQS_POOL_ROW3_LOOP(P, S2, IS_MAX)                                     \
    do {                                                                      \
        for (; x + P##_W <= n; x += P##_W)                                    \
            IQS_POOL_ROW3_BODY(P, S2, IS_MAX, IQS_POOL_FULL_LD,               \
                               IQS_POOL_FULL_ST, P##_W);                      \
        if (P##_MASK && x < n) {                                              \
            IQS_POOL_ROW3_BODY(P, S2, IS_MAX, IQS_POOL_PART_LD,               \
                               IQS_POOL_FULL_ST, n - x);                      \
            x = n;                                                            \
        }                                                                     \
    } while (0)

#define IQS_POOL_COL_BODY(P, NY, IS_MAX, LD, ST, K)                           \
    do {                                                                      \
        P##_v m = LD(P, rows[0] + x, K);                                      \
        for (int j = 1; j < (NY); j++)                                        \
            m = (IS_MAX) ? P##_max(LD(P, rows[j] + x, K), m)                  \
                         : P##_add(m, LD(P, rows[j] + x, K));                 \
        if (!(IS_MAX))                                                        \
            m = P##_mul(m, P##_set1(sc));                                     \
        ST(P, out + x, m, K);                                                 \
    } while (0)

#define IQS_POOL_COL_LOOP(P, NY, IS_MAX)                                      \
    do {                                                                      \
        for (; x + P##_W <= n; x += P##_W)                                    \
            IQS_POOL_COL_BODY(P, NY, IS_MAX, IQS_POOL_FULL_LD,                \
                              IQS_POOL_FULL_ST, P##_W);                       \
        if (P##_MASK && x < n) {                                              \
            IQS_POOL_COL_BODY(P, NY, IS_MAX, IQS_POOL_FULL_LD,                \
                              IQS_POOL_PART_ST, n - x);                       \
            x = n;                                                            \
        }                                                                     \
    } while (0)

#define IQS_POOL_LINES(NAME, ATTR, P)                                         \
    ATTR INL int NAME##_row3(const float *restrict r, long n, int s2,         \
                             int is_max, float *restrict h)                   \
    {                                                                         \
        int bad = 0;                                                          \
        long x = 0;                                                           \
        /* constant flags after inlining: one specialised loop runs */        \
        if (is_max && s2)                                                     \
            IQS_POOL_ROW3_LOOP(P, 1, 1);                                      \
        else if (is_max)                                                      \
            IQS_POOL_ROW3_LOOP(P, 0, 1);                                      \
        else if (s2)                                                          \
            IQS_POOL_ROW3_LOOP(P, 1, 0);                                      \
        else                                                                  \
            IQS_POOL_ROW3_LOOP(P, 0, 0);                                      \
        const long st = s2 ? 2 : 1;                                           \
        for (; x < n; x++) {                                                  \
            const float *restrict w = r + x * st;                             \
            float m = w[0];                                                   \
            if (is_max) {                                                     \
                m = w[1] > m ? w[1] : m;                                      \
                m = w[2] > m ? w[2] : m;                                      \
                bad |= m != m;                                                \
            } else {                                                          \
                m = (m + w[1] + w[2]) * (1.0f / 3.0f);                        \
            }                                                                 \
            h[x] = m;                                                         \
        }                                                                     \
        return bad;                                                           \
    }                                                                         \
    ATTR INL void NAME##_col(const float *const *rows, int ny, long n,        \
                             int is_max, float sc, float *restrict out)       \
    {                                                                         \
        long x = 0;                                                           \
        if (ny == 3 && is_max)                                                \
            IQS_POOL_COL_LOOP(P, 3, 1);                                       \
        else if (ny == 3)                                                     \
            IQS_POOL_COL_LOOP(P, 3, 0);                                       \
        else if (is_max)                                                      \
            IQS_POOL_COL_LOOP(P, ny, 1);                                      \
        else                                                                  \
            IQS_POOL_COL_LOOP(P, ny, 0);                                      \
        for (; x < n; x++) {                                                  \
            float m = rows[0][x];                                             \
            for (int j = 1; j < ny; j++)                                      \
                m = is_max ? (rows[j][x] > m ? rows[j][x] : m)                \
                           : m + rows[j][x];                                  \
            out[x] = is_max ? m : m * sc;                                     \
        }                                                                     \
    }

/* ---------------------------------------------------------------- driver */

typedef int (*row3_fn)(const float *, long, int, int, float *);
typedef void (*col_fn)(const float *const *, int, long, int, float,
                       float *);

/* h[x] = fold of input line r over the window of output column x,
 * clipped by the pads; returns nonzero for a NaN max. */
INL int clipped(const float *restrict r, long x, long SW, long PL, long KW,
                long IW, int is_max, float *restrict h)
{
    long x0, x1;
    clip(x, SW, PL, KW, IW, &x0, &x1);
    float m = r[x0], s = r[x0];
    for (long k = x0 + 1; k < x1; k++) {
        m = r[k] > m ? r[k] : m;
        s += r[k];
    }
    h[x] = is_max ? m : s / (float)(x1 - x0);
    return is_max && m != m;
}

/*
 * [C,IH,IW] -> [C,OH,OW], separable, with the line kernels of one build
 * (constant function pointers once inlined into that build's entry).
 * Needs OW <= LINE and KH <= KMAX.
 */
INL void sep_pool(const iqs_pool_desc *d, const float *restrict in,
                  float *restrict out, int is_max, row3_fn row3, col_fn col)
{
    const long C = d->c, IH = d->ih, IW = d->iw, OH = d->oh, OW = d->ow;
    const long KH = d->kh, KW = d->kw, SH = d->sh, SW = d->sw;
    const long PT = d->pt, PL = d->pl;
    /* Output columns whose window lies inside the image: [xa, xb). */
    const long xa = (PL + SW - 1) / SW < OW ? (PL + SW - 1) / SW : OW;
    const long last = IW - KW + PL; /* start of the last inside window, +PL */
    long xb = last >= 0 ? last / SW + 1 : 0;
    xb = xb > OW ? OW : xb < xa ? xa : xb;
    const int vec = KW == 3 && SW <= 2;
    const float inv_kw = 1.0f / (float)KW;
    float inv_n[KMAX + 1];
    for (int j = 1; j <= KMAX; j++)
        inv_n[j] = 1.0f / (float)j;
    float ring[KMAX][LINE + 16];

    for (long c = 0; c < C; c++) {
        const float *restrict p = in + (size_t)c * (size_t)IH * (size_t)IW;
        float *restrict q = out + (size_t)c * (size_t)OH * (size_t)OW;
        int bad = 0;
        long next = 0; /* input lines below this one are in the ring */
        for (long y = 0; y < OH; y++) {
            long y0, y1;
            clip(y, SH, PT, KH, IH, &y0, &y1);
            for (long iy = y0 > next ? y0 : next; iy < y1; iy++) {
                /* reduce input line iy over KW into its ring slot */
                const float *restrict r = p + (size_t)iy * (size_t)IW;
                float *restrict h = ring[iy & (KMAX - 1)];
                for (long x = 0; x < xa; x++)
                    bad |= clipped(r, x, SW, PL, KW, IW, is_max, h);
                if (vec)
                    bad |= row3(r + xa * SW - PL, xb - xa, SW == 2, is_max,
                                h + xa);
                else
                    for (long i = xa; i < xb; i++) {
                        const float *restrict w = r + i * SW - PL;
                        float m = w[0], s = w[0];
                        for (long k = 1; k < KW; k++) {
                            m = w[k] > m ? w[k] : m;
                            s += w[k];
                        }
                        h[i] = is_max ? m : s * inv_kw;
                        bad |= is_max && m != m;
                    }
                for (long x = xb; x < OW; x++)
                    bad |= clipped(r, x, SW, PL, KW, IW, is_max, h);
            }
            if (y1 > next)
                next = y1;
            const float *rows[KMAX] = {ring[0], ring[1], ring[2], ring[3]};
            const int ny = (int)(y1 - y0);
            for (int j = 0; j < ny; j++)
                rows[j] = ring[(y0 + j) & (KMAX - 1)];
            col(rows, ny, OW, is_max, inv_n[ny], q + (size_t)y * (size_t)OW);
        }
        /* a NaN starting a line segment: redo in the reference's order */
        if (bad)
            clip_pool(d, c, c + 1, 1, in, out);
    }
}

/* One entry per build, specialised for max and average. */
#define IQS_POOL_ENTRY(NAME, ATTR)                                            \
    ATTR static void NAME(const iqs_pool_desc *d, const float *restrict in,  \
                          float *restrict out, int is_max)                    \
    {                                                                         \
        if (is_max)                                                           \
            sep_pool(d, in, out, 1, NAME##_row3, NAME##_col);                 \
        else                                                                  \
            sep_pool(d, in, out, 0, NAME##_row3, NAME##_col);                 \
    }

IQS_POOL_LINES(pool_g, , g)
IQS_POOL_ENTRY(pool_g, )
#ifdef IQS_POOL_X86
IQS_POOL_LINES(pool_s, , s)
IQS_POOL_ENTRY(pool_s, )
IQS_POOL_LINES(pool_z, Z_TGT, z)
IQS_POOL_ENTRY(pool_z, Z_TGT)
#endif

#ifdef IQS_POOL_X86
/*
 * AVX-512, output lines of at most 16 columns (the small late-network
 * planes): one vector holds a whole output line, so each input line's
 * windows are folded across straight into a ring of KMAX vectors, with no
 * line buffer round trip and no per-line driver work. Cells outside the
 * image load as a fill that never changes the result (0 for the sum; -inf
 * for the max, which loses or ties with a bit-identical -inf); a NaN among
 * the loaded cells sends the channel to the clip path, as in sep_pool.
 * Needs KW == 3, SW <= 2, KH <= KMAX, OW <= 16.
 */
Z_TGT INL z_v z_ldf(const float *r, long o, long n, z_v fill)
{
    /* lanes i = r[o + i] where 0 <= o + i < n, else fill; reads and forms
     * no pointer outside r[0, n) */
    if (o >= 0 && o + 16 <= n)
        return _mm512_loadu_ps(r + o);
    if (o >= n)
        return fill;
    if (o >= 0)
        return _mm512_mask_loadu_ps(fill, z_lanes(n - o), r + o);
    /* expand: cells 0.. into lanes -o.. */
    return _mm512_mask_expandloadu_ps(fill, (__mmask16)(z_lanes(n) << -o), r);
}

Z_TGT INL void z1_run(const iqs_pool_desc *d, const float *restrict in,
                      float *restrict out, int is_max)
{
    const long C = d->c, IH = d->ih, IW = d->iw, OH = d->oh, OW = d->ow;
    const long KH = d->kh, SH = d->sh, SW = d->sw, PT = d->pt, PL = d->pl;
    const z_v fill = _mm512_set1_ps(is_max ? -__builtin_inff() : 0.0f);
    /* average: 1/(real columns) per lane, 1/(real lines) per count */
    float cs[16] = {0};
    for (long x = 0; x < OW; x++) {
        long x0, x1;
        clip(x, SW, PL, d->kw, IW, &x0, &x1);
        cs[x] = 1.0f / (float)(x1 - x0);
    }
    const z_v sx = _mm512_loadu_ps(cs);
    float sy[KMAX + 1];
    for (int j = 1; j <= KMAX; j++)
        sy[j] = 1.0f / (float)j;
    for (long c = 0; c < C; c++) {
        const float *restrict p = in + (size_t)c * (size_t)IH * (size_t)IW;
        float *restrict q = out + (size_t)c * (size_t)OH * (size_t)OW;
        int bad = 0;
        z_v ring[KMAX];
        long next = 0; /* input lines below are folded into the ring */
        for (long y = 0; y < OH; y++) {
            long y0, y1;
            clip(y, SH, PT, KH, IH, &y0, &y1);
            for (long iy = y0 > next ? y0 : next; iy < y1; iy++) {
                const float *restrict r = p + (size_t)iy * (size_t)IW;
                z_v a, b, cc;
                if (SW == 2) {
                    const z_v u = z_ldf(r, -PL, IW, fill);
                    const z_v v = z_ldf(r, 16 - PL, IW, fill);
                    const z_v t = z_ldf(r, 17 - PL, IW, fill);
                    a = z_even(u, v);
                    b = z_odd(u, v);
                    cc = z_even1(z_ldf(r, 2 - PL, IW, fill), t);
                    /* u, v, t hold every cell of the lanes */
                    if (is_max)
                        bad |= z_nan(u, 16) | z_nan(v, 16) | z_nan(t, 16);
                } else {
                    a = z_ldf(r, -PL, IW, fill);
                    b = z_ldf(r, 1 - PL, IW, fill);
                    cc = z_ldf(r, 2 - PL, IW, fill);
                    if (is_max) /* a, cc hold every cell of the lanes */
                        bad |= z_nan(a, 16) | z_nan(cc, 16);
                }
                ring[iy & (KMAX - 1)] = is_max ? z_max(cc, z_max(b, a))
                                               : z_add(z_add(a, b), cc);
            }
            next = y1 > next ? y1 : next;
            const int ny = (int)(y1 - y0);
            z_v m = ring[y0 & (KMAX - 1)];
            for (int j = 1; j < ny; j++) {
                const z_v v = ring[(y0 + j) & (KMAX - 1)];
                m = is_max ? z_max(v, m) : z_add(m, v);
            }
            if (!is_max)
                m = z_mul(z_mul(m, sx), z_set1(sy[ny]));
            z_stn(q + (size_t)y * (size_t)OW, m, OW);
        }
        /* a NaN in the way: redo in the reference's order */
        if (bad)
            clip_pool(d, c, c + 1, 1, in, out);
    }
}

/* The AVX-512 build: one-vector lines above, else the separable driver. */
Z_TGT static void pool_z_any(const iqs_pool_desc *d, const float *in,
                             float *out, int is_max)
{
    if (d->ow <= 16 && d->kw == 3 && d->sw <= 2) {
        if (is_max)
            z1_run(d, in, out, 1);
        else
            z1_run(d, in, out, 0);
        return;
    }
    pool_z(d, in, out, is_max);
}
#endif

static int sep_fits(const iqs_pool_desc *d)
{
    return d->ow <= LINE && d->kh <= KMAX;
}

static void pool(const iqs_pool_desc *d, const float *in, float *out,
                 int is_max)
{
    if (!sep_fits(d)) {
        clip_pool(d, 0, d->c, is_max, in, out);
        return;
    }
#ifdef IQS_POOL_X86
    /* __builtin_cpu_supports reads data libgcc fills once at start-up */
    if (__builtin_cpu_supports("avx512f"))
        pool_z_any(d, in, out, is_max);
    else
        pool_s(d, in, out, is_max);
#else
    pool_g(d, in, out, is_max);
#endif
}

/* [C,IH,IW] -> [C,OH,OW], max over clipped windows */
void iqs_maxpool(const iqs_pool_desc *d, const float *in, float *out)
{
    pool(d, in, out, 1);
}

/* [C,IH,IW] -> [C,OH,OW], sum over clipped windows / valid count */
void iqs_avgpool(const iqs_pool_desc *d, const float *in, float *out)
{
    pool(d, in, out, 0);
}

int iqs_ops_pool_isa(int isa, int is_max, const iqs_pool_desc *d,
                     const float *in, float *out)
{
    is_max = is_max != 0;
    if (isa == -1) {
        clip_pool(d, 0, d->c, is_max, in, out);
        return 1;
    }
    if (!sep_fits(d))
        return 0;
    if (isa == 0) {
        pool_g(d, in, out, is_max);
        return 1;
    }
#ifdef IQS_POOL_X86
    if (isa == 1) {
        pool_s(d, in, out, is_max);
        return 1;
    }
    if (isa == 2 && __builtin_cpu_supports("avx512f")) {
        pool_z_any(d, in, out, is_max);
        return 1;
    }
#endif
    return 0;
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
