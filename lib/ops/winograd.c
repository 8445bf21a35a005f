/*
 * Winograd convolution F(m x m, 3x3) for stride-1 3x3 layers (layer: ops),
 * m = 4 (6x6 input tiles) or m = 2 (4x4 tiles), after Lavin & Gray 2015.
 * With A = m + 2, the output is cut in m x m tiles; each input tile d
 * (A x A, zero outside the image) becomes V = B^T d B, each 3x3 kernel
 * g becomes U = G g G^T, and the A*A elementwise products summed over the
 * input channels are A*A independent GEMMs
 *     M[xi] [OC][T] = U[xi] [OC][IC] . V[xi] [IC][T]     (xi < A*A)
 * run through iqs_ops_gemm_bias_act (the AVX-512 conv GEMM or BLAS), T
 * being the tiles of one group of tile rows. The output tile is then
 * Y = A^T M A, finished with bias, scaled residual and activation exactly
 * as iqs_conv2d does. F(4x4) needs 36/16 = 2.25 multiplies per output and
 * input channel against 9 for im2col (F(2x2): 16/4 = 4).
 *
 * The transforms are vectorised across 16 neighbouring tiles of a tile row
 * (GCC vector extensions, built twice: portable C and AVX-512, picked at
 * run time). To make a tile's A columns contiguous across tiles, each
 * input row is first split by phase, P[ph][tx] = row[tx*m + ph - PL], so
 * column c of tile tx is P[c % m][tx + c / m]. Vector loads and stores run
 * in whole 16-lane blocks: lanes past the row's last tile compute garbage
 * that lands in the next tile row's slots (written later) or in padding,
 * and is never used. Large maps are processed in groups of tile rows so
 * that the V and M matrices stay within a fixed budget (a pure function of
 * the shape, like the scratch size).
 *
 * Weights are transformed on every call (no model change); the building
 * blocks in winograd.h let a caller transform them once instead. Measured
 * on one AVX-512 core (bench/bench_winograd.c): 1.2-2.0x faster than
 * im2col + GEMM on the stem and on 35x35 maps, about even on block35's
 * narrow 25x25 layers, slower on 17x17 and smaller maps, where the
 * 36/9 = 4x larger transformed weights and thin GEMMs (N = 4..25 tiles)
 * dominate; iqs_winograd_applies encodes that.
 */
#include "ops/winograd.h"

#include <string.h>

#include "base/common.h"

/* Bytes the V and M matrices of one group of tile rows may take. */
#ifndef WG_BUDGET
#define WG_BUDGET (2u << 20)
#endif
/* Fewest tiles per group (the GEMMs' N) when the budget allows less. */
#ifndef WG_MIN_T
#define WG_MIN_T 64
#endif

#ifdef __clang__
#define UNROLL _Pragma("clang loop unroll(full)")
#else
#define UNROLL _Pragma("GCC unroll 16")
#endif
#define INL static inline __attribute__((always_inline))

typedef float v16 __attribute__((vector_size(64)));
typedef int vi16 __attribute__((vector_size(64)));

/* Two-vector lane shuffles (the AVX-512 build turns them into vpermt2ps;
 * the portable build keeps scalar loops instead). */
#ifdef __clang__
#define SHUF(a, b, idx) __builtin_shufflevector(a, b, idx)
#else
#define SHUF(a, b, idx) __builtin_shuffle(a, b, (vi16){idx})
#endif
#define EVEN 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define ODD 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#define ILO 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23
#define IHI 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31
#define LD(v, p) memcpy(&(v), (p), sizeof(v16))
#define ST(p, v) memcpy((p), &(v), sizeof(v16))

static size_t up16(size_t n) { return (n + 15) & ~(size_t)15; }

/* ---------------------------------------------------------- geometry */

typedef struct geom {
    int m, A;                  /* output tile edge, input tile edge m+2  */
    int pt, pl;
    size_t ic, oc, ih, iw, oh, ow;
    size_t tw, th;             /* tiles per row, tile rows               */
    size_t nty;                /* tile rows per group                    */
    size_t twp;                /* up16(tw + 1): stride of one phase      */
    size_t lq;                 /* m * twp: one phase-split row           */
    size_t ln;                 /* one zero-padded input line             */
    size_t ldt;                /* row stride of V and M (>= T + 16)      */
    size_t uplane;             /* floats per transformed-weight plane    */
    size_t vn, mn, pn, qn;     /* floats of V, M, P, Q in the scratch    */
} geom;

static void geom_init(geom *g, const iqs_conv_desc *d, int m)
{
    const size_t A = (size_t)m + 2;
    g->m = m;
    g->A = m + 2;
    g->pt = d->pt;
    g->pl = d->pl;
    g->ic = (size_t)d->ic;
    g->oc = (size_t)d->oc;
    g->ih = (size_t)d->ih;
    g->iw = (size_t)d->iw;
    g->oh = (size_t)d->oh;
    g->ow = (size_t)d->ow;
    g->tw = (g->ow + (size_t)m - 1) / (size_t)m;
    g->th = (g->oh + (size_t)m - 1) / (size_t)m;
    /* tile rows per group within the budget, then evened out so the last
     * group is not a sliver */
    const size_t row = A * A * (g->ic + g->oc) * g->tw * sizeof(float);
    size_t nty = WG_BUDGET / row;
    /* but the GEMMs need a wide enough N to run at speed */
    if (nty * g->tw < WG_MIN_T)
        nty = (WG_MIN_T + g->tw - 1) / g->tw;
    if (nty > g->th)
        nty = g->th;
    const size_t groups = (g->th + nty - 1) / nty;
    g->nty = (g->th + groups - 1) / groups;
    g->twp = up16(g->tw + 1);
    g->lq = (size_t)m * g->twp;
    g->ln = g->lq + 16; /* >= PL + IW: (tw + 1) * m >= OW + m >= PL + IW */
    g->ldt = up16(g->nty * g->tw) + 16;
    g->uplane = up16(g->oc * g->ic) + 16;
    g->vn = A * A * g->ic * g->ldt;
    g->mn = A * A * g->oc * g->ldt;
    g->pn = (g->nty * (size_t)m + 2) * g->lq + 32;
    g->qn = A * g->lq + 32 + g->ln;
}

/* ------------------------------------------------ 1-D transforms, 16 wide */

/* B^T d: A inputs -> A outputs */
INL void bt(int m, const v16 *d, v16 *o)
{
    if (m == 4) {
        o[0] = d[0] * 4.0f - d[2] * 5.0f + d[4];
        o[1] = d[3] + d[4] - (d[1] + d[2]) * 4.0f;
        o[2] = d[4] - d[3] + (d[1] - d[2]) * 4.0f;
        o[3] = d[4] - d[2] + (d[3] - d[1]) * 2.0f;
        o[4] = d[4] - d[2] + (d[1] - d[3]) * 2.0f;
        o[5] = d[1] * 4.0f - d[3] * 5.0f + d[5];
    } else {
        o[0] = d[0] - d[2];
        o[1] = d[1] + d[2];
        o[2] = d[2] - d[1];
        o[3] = d[1] - d[3];
    }
}

/* A^T x: A inputs -> m outputs */
INL void at(int m, const v16 *x, v16 *y)
{
    if (m == 4) {
        const v16 a = x[1] + x[2], b = x[1] - x[2];
        const v16 c = x[3] + x[4], e = x[3] - x[4];
        y[0] = x[0] + a + c;
        y[1] = b + e * 2.0f;
        y[2] = a + c * 4.0f;
        y[3] = b + e * 8.0f + x[5];
    } else {
        y[0] = x[0] + x[1] + x[2];
        y[1] = x[1] - x[2] - x[3];
    }
}

/* G g: 3 inputs -> A outputs */
INL void gt(int m, const v16 *g, v16 *u)
{
    if (m == 4) {
        const v16 s = g[0] + g[2];
        u[0] = g[0] * 0.25f;
        u[1] = (s + g[1]) * (-1.0f / 6.0f);
        u[2] = (s - g[1]) * (-1.0f / 6.0f);
        const v16 p = g[0] * (1.0f / 24.0f) + g[2] * (1.0f / 6.0f);
        const v16 q = g[1] * (1.0f / 12.0f);
        u[3] = p + q;
        u[4] = p - q;
        u[5] = g[2];
    } else {
        const v16 s = g[0] + g[2];
        u[0] = g[0];
        u[1] = (s + g[1]) * 0.5f;
        u[2] = (s - g[1]) * 0.5f;
        u[3] = g[2];
    }
}

/* ---------------------------------------------------- kernel bodies */

/* w [OC][IC][3][3] -> u [A*A][OC][IC] (plane stride uplane), 16 input
 * channels at a time. */
INL void wt_body(const geom *g, int m, const float *restrict w,
                 float *restrict u)
{
    const int A = m + 2;
    const size_t IC = g->ic, OC = g->oc, plane = g->uplane;
    for (size_t oc = 0; oc < OC; oc++) {
        for (size_t ic0 = 0; ic0 < IC; ic0 += 16) {
            const size_t n = IC - ic0 < 16 ? IC - ic0 : 16;
            const float *src = w + (oc * IC + ic0) * 9;
            float buf[9][16];
            for (size_t l = 0; l < 16; l++)
                for (int k = 0; k < 9; k++)
                    buf[k][l] = l < n ? src[l * 9 + (size_t)k] : 0.0f;
            v16 t[6][3];
            UNROLL
            for (int c = 0; c < 3; c++) {
                v16 col[3], o[6];
                UNROLL
                for (int r = 0; r < 3; r++)
                    LD(col[r], buf[r * 3 + c]);
                gt(m, col, o);
                UNROLL
                for (int a = 0; a < A; a++)
                    t[a][c] = o[a];
            }
            float *dst = u + oc * IC + ic0;
            UNROLL
            for (int a = 0; a < A; a++) {
                v16 o[6];
                gt(m, t[a], o);
                /* past IC, the lanes spill into the next oc's slots
                 * (written later) or the plane's padding */
                UNROLL
                for (int b = 0; b < A; b++)
                    ST(dst + (size_t)(a * A + b) * plane, o[b]);
            }
        }
    }
}

/* One input channel (plane src [IH][IW]) over tile rows [ty0, ty0+nty):
 * V[xi][t] (xi stride IC*ldt, t = j*TW + tx) = B^T d B. */
INL void in_body(const geom *g, int m, int fast, const float *restrict src,
                 size_t ty0, size_t nty, float *restrict P,
                 float *restrict Q, float *restrict V)
{
    const int A = m + 2;
    const size_t TW = g->tw, TWP = g->twp, LQ = g->lq, IW = g->iw;
    const size_t R = nty * (size_t)m + 2, vs = g->ic * g->ldt;
    const size_t PL = (size_t)g->pl;
    const long y0 = (long)(ty0 * (size_t)m) - g->pt;
    float *line = Q + (size_t)A * LQ + 32;
    /* phase split: P[r][ph][tx] = in[y0 + r][tx*m + ph - PL], 0 outside */
    for (size_t r = 0; r < R; r++) {
        float *pr = P + r * LQ;
        const long y = y0 + (long)r;
        if (y < 0 || y >= (long)g->ih) {
            memset(pr, 0, LQ * sizeof *pr);
            continue;
        }
        const float *s = src + (size_t)y * IW;
        if (!fast) {
            for (int ph = 0; ph < m; ph++) {
                float *pp = pr + (size_t)ph * TWP;
                for (size_t tx = 0; tx < TWP; tx++) {
                    const long x = (long)(tx * (size_t)m) + ph - g->pl;
                    pp[tx] = x >= 0 && x < (long)IW ? s[x] : 0.0f;
                }
            }
            continue;
        }
        /* zero-padded copy of the line, then split 16 tiles at a time */
        memset(line, 0, PL * sizeof *line);
        memcpy(line + PL, s, IW * sizeof *line);
        memset(line + PL + IW, 0, (g->ln - PL - IW) * sizeof *line);
        for (size_t tx0 = 0; tx0 < TWP; tx0 += 16) {
            const float *l = line + tx0 * (size_t)m;
            v16 a0, a1;
            LD(a0, l);
            LD(a1, l + 16);
            if (m == 4) {
                v16 a2, a3;
                LD(a2, l + 32);
                LD(a3, l + 48);
                const v16 b0 = SHUF(a0, a1, EVEN), b1 = SHUF(a0, a1, ODD);
                const v16 b2 = SHUF(a2, a3, EVEN), b3 = SHUF(a2, a3, ODD);
                const v16 p0 = SHUF(b0, b2, EVEN), p2 = SHUF(b0, b2, ODD);
                const v16 p1 = SHUF(b1, b3, EVEN), p3 = SHUF(b1, b3, ODD);
                ST(pr + tx0, p0);
                ST(pr + TWP + tx0, p1);
                ST(pr + 2 * TWP + tx0, p2);
                ST(pr + 3 * TWP + tx0, p3);
            } else {
                const v16 p0 = SHUF(a0, a1, EVEN), p1 = SHUF(a0, a1, ODD);
                ST(pr + tx0, p0);
                ST(pr + TWP + tx0, p1);
            }
        }
    }
    for (size_t j = 0; j < nty; j++) {
        /* vertical: Q[i] = sum_r BT[i][r] P[j*m + r], whole split rows */
        const float *p0 = P + j * (size_t)m * LQ;
        for (size_t off = 0; off < LQ; off += 16) {
            v16 d[6], o[6];
            UNROLL
            for (int r = 0; r < A; r++)
                LD(d[r], p0 + (size_t)r * LQ + off);
            bt(m, d, o);
            UNROLL
            for (int i = 0; i < A; i++)
                ST(Q + (size_t)i * LQ + off, o[i]);
        }
        /* horizontal: tile tx's column c is Q[i][c % m][tx + c / m] */
        for (size_t tx0 = 0; tx0 < TW; tx0 += 16) {
            float *dst = V + j * TW + tx0;
            UNROLL
            for (int i = 0; i < A; i++) {
                const float *q = Q + (size_t)i * LQ + tx0;
                v16 d[6], o[6];
                UNROLL
                for (int c = 0; c < A; c++)
                    LD(d[c], q + (size_t)(c % m) * TWP + (size_t)(c / m));
                bt(m, d, o);
                UNROLL
                for (int k = 0; k < A; k++)
                    ST(dst + (size_t)(i * A + k) * vs, o[k]);
            }
        }
    }
}

/* One output channel over tile rows [ty0, ty0+nty): Y = A^T M A from
 * Mx[xi][t] (xi stride OC*ldt), then out = act(res + s*Y + sb) (res NULL:
 * s*Y + sb) into the plane out [OH][OW]. */
INL void out_body(const geom *g, int m, int fast, const float *restrict Mx,
                  size_t ty0, size_t nty, float s, float sb, const float *res,
                  float *out, int relu)
{
    const int A = m + 2;
    const size_t TW = g->tw, OH = g->oh, OW = g->ow, ms = g->oc * g->ldt;
    const v16 vs = (v16){0} + s, vb = (v16){0} + sb;
    for (size_t j = 0; j < nty; j++) {
        for (size_t tx0 = 0; tx0 < TW; tx0 += 16) {
            const float *src = Mx + j * TW + tx0;
            v16 S[4][6];
            UNROLL
            for (int k = 0; k < A; k++) {
                v16 x[6], y[4];
                UNROLL
                for (int r = 0; r < A; r++)
                    LD(x[r], src + (size_t)(r * A + k) * ms);
                at(m, x, y);
                UNROLL
                for (int i = 0; i < m; i++)
                    S[i][k] = y[i];
            }
            const size_t nt = TW - tx0 < 16 ? TW - tx0 : 16;
            const size_t x0 = tx0 * (size_t)m;
            const size_t x1 = x0 + nt * (size_t)m < OW ? x0 + nt * (size_t)m
                                                       : OW;
            for (int i = 0; i < m; i++) {
                const size_t y = (ty0 + j) * (size_t)m + (size_t)i;
                if (y >= OH)
                    break;
                float *o = out + y * OW;
                const float *rr = res ? res + y * OW : NULL;
                v16 yv[4];
                at(m, S[i], yv);
                float yb[4][16];
                if (!fast) {
                    /* scatter the real tiles' pixels back to CHW rows */
                    UNROLL
                    for (int q = 0; q < m; q++) {
                        const v16 v = yv[q] * vs + vb;
                        ST(yb[q], v);
                    }
                    for (size_t x = x0; x < x1; x++) {
                        float v = yb[x % (size_t)m][x / (size_t)m - tx0];
                        if (rr)
                            v += rr[x];
                        if (relu && v < 0.0f)
                            v = 0.0f;
                        o[x] = v;
                    }
                    continue;
                }
                /* interleave the m phase vectors into m*16 pixels */
                v16 px[4];
                if (m == 4) {
                    const v16 c0 = SHUF(yv[0], yv[2], ILO);
                    const v16 c1 = SHUF(yv[0], yv[2], IHI);
                    const v16 d0 = SHUF(yv[1], yv[3], ILO);
                    const v16 d1 = SHUF(yv[1], yv[3], IHI);
                    px[0] = SHUF(c0, d0, ILO);
                    px[1] = SHUF(c0, d0, IHI);
                    px[2] = SHUF(c1, d1, ILO);
                    px[3] = SHUF(c1, d1, IHI);
                } else {
                    px[0] = SHUF(yv[0], yv[1], ILO);
                    px[1] = SHUF(yv[0], yv[1], IHI);
                }
                for (int k = 0; k < m; k++) {
                    const size_t x = x0 + 16 * (size_t)k;
                    if (x >= x1)
                        break;
                    v16 v = px[k] * vs + vb;
                    const size_t n = x1 - x < 16 ? x1 - x : 16;
                    if (n == 16) {
                        if (rr) {
                            v16 r;
                            LD(r, rr + x);
                            v += r;
                        }
                        if (relu) /* keeps NaN, as the scalar path */
                            v = (v16)((vi16)v & ~(v < (v16){0}));
                        ST(o + x, v);
                    } else {
                        ST(yb[0], v);
                        for (size_t e = 0; e < n; e++) {
                            float f = yb[0][e];
                            if (rr)
                                f += rr[x + e];
                            if (relu && f < 0.0f)
                                f = 0.0f;
                            o[x + e] = f;
                        }
                    }
                }
            }
        }
    }
}

/* ------------------------------------------ per instruction-set builds */

typedef struct kern {
    void (*wt)(const geom *, const float *, float *);
    void (*tin)(const geom *, const float *, size_t, size_t, float *,
                float *, float *);
    void (*tout)(const geom *, const float *, size_t, size_t, float, float,
                 const float *, float *, int);
} kern;

/* One build of the three kernels per instruction set; fast selects the
 * shuffle-based phase split and interleave (AVX-512), else scalar loops. */
#define KERNELS(sfx, attr, fast)                                            \
    attr static void wt_##sfx(const geom *g, const float *w, float *u)      \
    {                                                                        \
        if (g->m == 4)                                                       \
            wt_body(g, 4, w, u);                                             \
        else                                                                 \
            wt_body(g, 2, w, u);                                             \
    }                                                                        \
    attr static void in_##sfx(const geom *g, const float *src, size_t ty0,  \
                              size_t nty, float *P, float *Q, float *V)     \
    {                                                                        \
        if (g->m == 4)                                                       \
            in_body(g, 4, fast, src, ty0, nty, P, Q, V);                     \
        else                                                                 \
            in_body(g, 2, fast, src, ty0, nty, P, Q, V);                     \
    }                                                                        \
    attr static void out_##sfx(const geom *g, const float *Mx, size_t ty0,  \
                               size_t nty, float s, float sb,               \
                               const float *res, float *out, int relu)      \
    {                                                                        \
        if (g->m == 4)                                                       \
            out_body(g, 4, fast, Mx, ty0, nty, s, sb, res, out, relu);       \
        else                                                                 \
            out_body(g, 2, fast, Mx, ty0, nty, s, sb, res, out, relu);       \
    }                                                                        \
    static const kern kern_##sfx = {wt_##sfx, in_##sfx, out_##sfx};

KERNELS(gen, , 0)

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_AVX512 1
KERNELS(avx512, __attribute__((target("avx512f,fma"))), 1)
#else
#define HAVE_AVX512 0
#endif

/* The kernels for isa (-1 best, 0 portable, 2 AVX-512), NULL if absent. */
static const kern *pick(int isa)
{
#if HAVE_AVX512
    const int has512 = __builtin_cpu_supports("avx512f");
    if (isa == 2)
        return has512 ? &kern_avx512 : NULL;
    if (isa == -1 && has512)
        return &kern_avx512;
#endif
    return isa == 2 ? NULL : &kern_gen;
}

/* ---------------------------------------------------------------- API */

size_t iqs_winograd_weights_size(const iqs_conv_desc *d, int m)
{
    geom g;
    geom_init(&g, d, m);
    return (size_t)(g.A * g.A) * g.uplane * sizeof(float);
}

size_t iqs_winograd_work_size(const iqs_conv_desc *d, int m)
{
    geom g;
    geom_init(&g, d, m);
    return (up16(g.vn) + up16(g.mn) + up16(g.pn) + up16(g.qn)) *
           sizeof(float);
}

void iqs_winograd_weights(const iqs_conv_desc *d, int m, const float *w,
                          float *u)
{
    geom g;
    geom_init(&g, d, m);
    pick(-1)->wt(&g, w, u);
}

/* Tile rows [ty_a, ty_b) of the convolution (all of them: 0, th). */
static int winograd_run(const iqs_conv_desc *d, int m, int isa,
                        const float *in, const float *u, const float *bias,
                        const float *residual, float *out, void *scratch,
                        size_t ty_a, size_t ty_b)
{
    const kern *k = pick(isa);
    if (!k)
        return 0;
    geom g;
    geom_init(&g, d, m);
    if (ty_b > g.th)
        ty_b = g.th;
    const size_t AA = (size_t)(g.A * g.A), IC = g.ic, OC = g.oc;
    const size_t ldt = g.ldt, plane_in = g.ih * g.iw, plane_out = g.oh * g.ow;
    float *V = scratch;
    float *Mx = V + up16(g.vn);
    float *P = Mx + up16(g.mn);
    float *Q = P + up16(g.pn);
    /* the spill-over lanes read these pads: keep them finite */
    memset(Q + (size_t)g.A * g.lq, 0, 32 * sizeof *Q);
    const float s = residual ? d->res_scale : 1.0f;
    const int relu = d->act == IQS_ACT_RELU;
    for (size_t ty0 = ty_a; ty0 < ty_b; ty0 += g.nty) {
        const size_t nty = ty_b - ty0 < g.nty ? ty_b - ty0 : g.nty;
        const size_t T = nty * g.tw;
        for (size_t c = 0; c < IC; c++)
            k->tin(&g, in + c * plane_in, ty0, nty, P, Q, V + c * ldt);
        for (size_t xi = 0; xi < AA; xi++) {
            float *mo = Mx + xi * OC * ldt;
            iqs_ops_gemm_bias_act(OC, T, IC, 1.0f, u + xi * g.uplane, IC,
                                  V + xi * IC * ldt, ldt, 0.0f, mo, ldt, NULL,
                                  IQS_ACT_NONE);
            for (size_t o = 0; o < OC; o++)
                memset(mo + o * ldt + T, 0, (ldt - T) * sizeof *mo);
        }
        for (size_t o = 0; o < OC; o++)
            k->tout(&g, Mx + o * ldt, ty0, nty, s, bias ? s * bias[o] : 0.0f,
                    residual ? residual + o * plane_out : NULL,
                    out + o * plane_out, relu);
    }
    return 1;
}

int iqs_conv2d_winograd_pre(const iqs_conv_desc *d, int m, int isa,
                            const float *in, const float *u,
                            const float *bias, const float *residual,
                            float *out, void *scratch)
{
    return winograd_run(d, m, isa, in, u, bias, residual, out, scratch, 0,
                        ((size_t)d->oh + (size_t)m - 1) / (size_t)m);
}

int iqs_winograd_tile(const iqs_conv_desc *d)
{
    /* F(4x4) measured faster than F(2x2) on every shape where either beats
     * im2col by a clear margin (bench/bench_winograd.c); its error is ~20x
     * im2col's (about 6e-6 of the output range instead of 3e-7), F(2x2)'s
     * about the same as im2col's. */
    (void)d;
    return 4;
}

/* Measured rule (bench/bench_winograd.c, thread CPU time, per-call weight
 * transform included): F(4x4) wins by >= 15% when there are enough tiles
 * to amortise the weight transform (>= 49, i.e. maps of 25x25 and up; at
 * 12x12 and 17x17 the 4x larger transformed weights dominate) and either
 * the tiles are well filled (output area >= 90% of the tiled area: 35x35,
 * 52x52, 109x109, 147x147 ...) or the channels are wide enough for the
 * GEMMs to hide the transforms (IC*OC >= 96*96: mixed_5b's 96->96 and
 * mixed_6a's 256->256 at 25x25; block35's 32..64 channels at 25x25 are
 * about even and stay on im2col). */
int iqs_winograd_applies(const iqs_conv_desc *d)
{
    if (!iqs_conv2d_check(d) || d->kh != 3 || d->kw != 3 || d->sh != 1 ||
        d->sw != 1)
        return 0;
    const size_t tiles = (size_t)((d->oh + 3) / 4) * (size_t)((d->ow + 3) / 4);
    const size_t area = (size_t)d->oh * (size_t)d->ow;
    if (tiles < 49)
        return 0;
    return 10 * area >= 9 * 16 * tiles ||
           (size_t)d->ic * (size_t)d->oc >= 96 * 96;
}

size_t iqs_winograd_scratch_size(const iqs_conv_desc *d)
{
    const int m = iqs_winograd_tile(d);
    return iqs_winograd_weights_size(d, m) + iqs_winograd_work_size(d, m);
}

void iqs_conv2d_winograd(const iqs_conv_desc *d, const float *in,
                         const float *w, const float *bias,
                         const float *residual, float *out, void *scratch)
{
    iqs_conv2d_winograd_rows(d, in, w, bias, residual, out, scratch, 0,
                             d->oh);
}

void iqs_conv2d_winograd_rows(const iqs_conv_desc *d, const float *in,
                              const float *w, const float *bias,
                              const float *residual, float *out,
                              void *scratch, int oh0, int oh1)
{
    const int m = iqs_winograd_tile(d);
    float *u = scratch;
    iqs_winograd_weights(d, m, w, u);
    winograd_run(d, m, -1, in, u, bias, residual, out,
                 (char *)scratch + iqs_winograd_weights_size(d, m),
                 (size_t)oh0 / (size_t)m,
                 ((size_t)oh1 + (size_t)m - 1) / (size_t)m);
}
