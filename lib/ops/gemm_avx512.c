/*
 * AVX-512 convolution GEMM with the epilogue fused in (layer: ops).
 * C = act(alpha * (A.B + bias) + beta * C), row-major, A = weights [M][K],
 * B = the im2col matrix or the input itself [K][N]. This is the hot path of
 * every convolution on x86-64 CPUs with AVX-512F (chosen per call by
 * __builtin_cpu_supports; elsewhere iqs_ops_gemm_bias_act falls back to
 * iqs_gemm + iqs_ops_bias_act, its reference twin).
 *
 * Why our own kernel next to OpenBLAS: the deployment forces OpenBLAS'
 * Haswell (AVX2) kernels, half the FMA width of a core with full 512-bit
 * units (Zen 5, Intel server cores), and OpenBLAS pays fixed packing costs
 * on the network's many small GEMMs (N = 64 for the 8x8 blocks).
 *
 * Blocking (GotoBLAS-style, B side only): N is cut in panels of up to 64
 * columns (4 zmm; the vectors are spread evenly, N = 144 is 3 panels of 48
 * rather than 64+64+16), K in near-equal blocks of at most KC. Each KC x 64
 * block of B is copied into a contiguous, zero-padded buffer on the stack
 * (32 KiB, so it stays in L1) by the first MR-row strip of A, which loads
 * B from its source rows anyway and stores the vectors as it multiplies
 * (no separate packing pass); the later strips stream past the copy. A
 * B of exactly 64 dense columns (the 8x8 maps) is already in that layout
 * and is read in place. An MR x 64 tile of C lives in zmm registers for
 * the whole K block; A (the weights) is read in place, one broadcast per
 * row per k. Ragged panels use masked loads and stores; strips are
 * near-equal (no thin last strip). Bias and activation are applied when
 * the last K block stores its tile, so C is never re-read by a separate
 * pass. The stack holds the 32 KiB packed block.
 *
 * Every element of C gets the same arithmetic whatever M, N and ldb are
 * (its K blocks depend on K alone, its products run in the same order in
 * whichever panel, strip and lane it lands), so cutting a GEMM by rows or
 * columns, as the parallel forward pass does, changes no bit. Two measured
 * speed-ups broke that and were dropped: longer K blocks for a B read in
 * place, and dot products for the last 1-2 columns when N % 16 is 1 or 2;
 * neither showed beyond noise on the whole network (bench_net at 224).
 *
 * Software prefetch hides what the hardware prefetcher misses: the weights
 * come from DRAM in the real network (207 MB of them), so each tile
 * prefetches the next tile's A rows, its C rows, and the next block's B
 * rows (short strided runs).
 *
 * Measured on Zen 5 (bench_ops --cpu [--cold], one thread; the tile
 * reaches about 205 GFLOPS of a 220 peak in L1): the old separate packing
 * pass compiled to rep movsq per 256-byte row and cost 10-40% on every
 * packed shape; the A prefetch is worth 15% (N = 64) to 45% (N = 25) with
 * the weights cold; more than 8 rows per narrow tile spill row pointers.
 * No gain beyond noise (not kept): KC 96..256, a K-outer block order,
 * M blocks sized for L2 (A reuse across panels), reading strided B in
 * place instead of packing, prefetch hints other than T0.
 */
#include "ops/ops.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <stdint.h>

/* Largest K block (the stack buffer is KC x 64 floats) */
#define KC 128
#define NRMAX 64 /* 4 zmm: the widest panel, the packed row stride */
/* The packing strip prefetches its own source rows this far ahead; the
 * previous block prefetches them only when it is short (<= PF_STRIPS
 * strips), as lines fetched earlier would evict the block in use. */
#define PF_AHEAD 16
#define PF_STRIPS 24

#define TGT __attribute__((target("avx512f,fma")))
#define INL __attribute__((always_inline)) inline
/* Full unrolling of the constant-bound tile loops keeps acc[][] in
 * registers; clang wants its own spelling to unroll them fully. */
#ifdef __clang__
#define UNROLL _Pragma("clang loop unroll(full)")
#else
#define UNROLL _Pragma("GCC unroll 16")
#endif

/* How a tile store combines the new products with C. */
enum { ST_OVER, ST_BETA, ST_ACC };

typedef struct tile_args {
    size_t kc, lda, ldc;
    const float *a;   /* A + i*lda + pc                              */
    const float *bp;  /* B block the FMAs read: packed or in place   */
    size_t ldbp;      /* its row stride                              */
    const float *bs;  /* packing strip: B source rows, stride ldbs   */
    size_t ldbs;
    float *bd;        /* packing strip: the packed copy, NRMAX       */
    const float *pf;  /* next block's B: one line of each row        */
    size_t pfld;      /* its row stride; 0 when nothing to fetch     */
    const float *pfa; /* the next tile's A rows, to prefetch         */
    float *c;         /* C + i*ldc + j                               */
    const float *pfc; /* the next tile's C rows, to prefetch, or NULL */
    __mmask16 m[4];   /* column masks per vector                     */
    int mode;         /* ST_*                                        */
    int last;         /* last K block: apply bias and act            */
    float alpha, beta;
    const float *bias; /* bias + i, or NULL                          */
    int relu;
} tile_args;

/* One MR x (16*NV) tile over a K block; MR, NV and PK are constants after
 * inlining, so acc[][] lives in registers. PK: this strip packs the block,
 * loading B from its source rows (masked at the ragged edge, so the copy
 * is zero-padded) and storing the vectors to bd as it uses them: packing
 * costs only stores, which the FMA loop has room for. */
TGT static INL void tile(const tile_args *t, const int MR, const int NV,
                         const int PK)
{
    __m512 acc[8][4];
UNROLL
    for (int r = 0; r < MR; r++)
UNROLL
        for (int v = 0; v < NV; v++)
            acc[r][v] = _mm512_setzero_ps();
    const float *restrict a = t->a;
    const float *restrict bp = PK ? t->bs : t->bp;
    const size_t ldbp = PK ? t->ldbs : t->ldbp;
    float *restrict bd = t->bd;
    const float *pf = t->pf, *pfa = t->pfa;
    const size_t pfld = t->pfld;
    const size_t lda = t->lda, kc = t->kc;
    /* the next tile's C rows arrive during this K loop */
    if (t->pfc) {
UNROLL
        for (int r = 0; r < MR; r++)
UNROLL
            for (int v = 0; v <= NV; v++)
                _mm_prefetch((const char *)(t->pfc + (size_t)r * t->ldc) +
                                 64 * v,
                             _MM_HINT_T0);
    }
    for (size_t k = 0; k < kc; k++) {
        __m512 b[4];
UNROLL
        for (int v = 0; v < NV; v++)
            b[v] = PK ? _mm512_maskz_loadu_ps(t->m[v], bp + k * ldbp + 16 * v)
                      : _mm512_loadu_ps(bp + k * ldbp + 16 * v);
        if (PK) {
UNROLL
            for (int v = 0; v < NV; v++)
                _mm512_store_ps(bd + k * NRMAX + 16 * v, b[v]);
            /* own source rows PF_AHEAD ahead: NV + 1 lines cover a row
             * that does not start on a line (an address, never
             * dereferenced, may lie past the block) */
            const uintptr_t ahead =
                (uintptr_t)(bp + k * ldbp) + PF_AHEAD * ldbp * sizeof(float);
UNROLL
            for (int v = 0; v <= NV; v++)
                _mm_prefetch((const char *)(ahead + 64 * (uintptr_t)v),
                             _MM_HINT_T0);
        }
        _mm_prefetch((const char *)(pf + k * pfld), _MM_HINT_T0);
        /* one line of each next A row per 16 k: the whole next tile's A
         * block is requested while this one runs */
        if ((k & 15) == 0) {
UNROLL
            for (int r = 0; r < MR; r++)
                _mm_prefetch((const char *)(pfa + (size_t)r * lda + k),
                             _MM_HINT_T0);
        }
UNROLL
        for (int r = 0; r < MR; r++) {
            const __m512 ar = _mm512_set1_ps(a[(size_t)r * lda + k]);
UNROLL
            for (int v = 0; v < NV; v++)
                acc[r][v] = _mm512_fmadd_ps(ar, b[v], acc[r][v]);
        }
    }
    /* the epilogue reads t only through locals: stores to C could alias
     * *t as far as the compiler knows, and it would reload every field
     * for every vector */
    const int mode = t->mode, last = t->last, relu = t->relu;
    const size_t ldc = t->ldc;
    float *const c0 = t->c;
    const float *const bias = last ? t->bias : NULL;
    const float alpha1 = t->alpha;
    __mmask16 m[4];
UNROLL
    for (int v = 0; v < NV; v++)
        m[v] = t->m[v];
    const __m512 alpha = _mm512_set1_ps(alpha1);
    const __m512 beta = _mm512_set1_ps(t->beta);
    const __m512 zero = _mm512_setzero_ps();
UNROLL
    for (int r = 0; r < MR; r++) {
        float *c = c0 + (size_t)r * ldc;
        const __m512 br = _mm512_set1_ps(bias ? alpha1 * bias[r] : 0.0f);
UNROLL
        for (int v = 0; v < NV; v++) {
            __m512 x;
            if (mode == ST_OVER) {
                x = _mm512_mul_ps(alpha, acc[r][v]);
            } else {
                const __m512 old = _mm512_maskz_loadu_ps(m[v], c + 16 * v);
                x = mode == ST_BETA
                        ? _mm512_fmadd_ps(alpha, acc[r][v],
                                          _mm512_mul_ps(beta, old))
                        : _mm512_fmadd_ps(alpha, acc[r][v], old);
            }
            if (last) {
                x = _mm512_add_ps(x, br);
                if (relu)
                    x = _mm512_max_ps(x, zero);
            }
            _mm512_mask_storeu_ps(c + 16 * v, m[v], x);
        }
    }
}

/* Tile dispatch: NV in 1..4, MR in 1..MRMAX(NV). 6 x 4 zmm keeps 24
 * accumulators, 4 B vectors and a broadcast within the 32 zmm; narrower
 * panels stop at 8 rows, as more rows (up to 14 would fit) make the
 * compiler keep one pointer per A row and spill them, and cost 5-10%. */
#define MRMAX(nv) ((nv) == 4 ? 6 : 8)
#define T(mr, nv)                                                             \
    TGT static void tile_##mr##_##nv(const tile_args *t)                      \
    {                                                                         \
        tile(t, mr, nv, 0);                                                   \
    }                                                                         \
    TGT static void ptile_##mr##_##nv(const tile_args *t)                     \
    {                                                                         \
        tile(t, mr, nv, 1);                                                   \
    }
#define T6(nv) T(1, nv) T(2, nv) T(3, nv) T(4, nv) T(5, nv) T(6, nv)
T6(1) T(7, 1) T(8, 1)
T6(2) T(7, 2) T(8, 2)
T6(3) T(7, 3) T(8, 3)
T6(4)
#undef T
#undef T6

typedef void (*tile_fn)(const tile_args *);
#define ROW8(p, nv)                                                           \
    { p##tile_1_##nv, p##tile_2_##nv, p##tile_3_##nv, p##tile_4_##nv,         \
      p##tile_5_##nv, p##tile_6_##nv, p##tile_7_##nv, p##tile_8_##nv }
#define ROW6(p, nv)                                                           \
    { p##tile_1_##nv, p##tile_2_##nv, p##tile_3_##nv, p##tile_4_##nv,         \
      p##tile_5_##nv, p##tile_6_##nv, NULL, NULL }
/* [0] reads a packed or in-place block, [1] packs while it computes */
static const tile_fn tiles[2][4][8] = {
    {ROW8(, 1), ROW8(, 2), ROW8(, 3), ROW6(, 4)},
    {ROW8(p, 1), ROW8(p, 2), ROW8(p, 3), ROW6(p, 4)}};
#undef ROW8
#undef ROW6

/* Block b: panel b / nkb, K block b % nkb (each panel goes through all its
 * K blocks, so its C tiles stay in L2). The np panels share the nvt
 * vectors evenly; the nkb K blocks differ by at most one in size: K = 288
 * is 96+96+96, not 128+128+32, as a short block pays a whole pass over C
 * for few products. Gives the first column j and width nr, the first k pc
 * and depth kc, and the K block index kb. */
typedef struct grid {
    size_t N, K, np, nvt, nkb;
} grid;

static void block_at(const grid *g, size_t b, size_t *j, size_t *nr,
                     size_t *pc, size_t *kc, size_t *kb)
{
    const size_t jp = b / g->nkb;
    const size_t vq = g->nvt / g->np, vr = g->nvt % g->np;
    *j = 16 * (jp * vq + (jp < vr ? jp : vr));
    const size_t w = 16 * (vq + (jp < vr));
    *nr = g->N - *j < w ? g->N - *j : w;
    const size_t q = g->K / g->nkb, r = g->K % g->nkb;
    *kb = b % g->nkb;
    *pc = *kb * q + (*kb < r ? *kb : r);
    *kc = q + (*kb < r);
}

TGT static void gemm_bias_act_avx512(size_t M, size_t N, size_t K,
                                     float alpha, const float *A, size_t lda,
                                     const float *B, size_t ldb, float beta,
                                     float *C, size_t ldc, const float *bias,
                                     int relu)
{
    float bp[KC * NRMAX] __attribute__((aligned(64)));
    /* B rows of exactly one full panel (the 8x8 maps' N = 64) already are
     * the packed layout: used in place */
    const int inplace = N == NRMAX && ldb == NRMAX;
    const size_t kcmax = KC;
    grid g;
    g.N = N;
    g.K = K;
    g.np = (N + NRMAX - 1) / NRMAX;
    g.nvt = (N + 15) / 16;
    g.nkb = (K + kcmax - 1) / kcmax;
    tile_args t;
    t.ldc = ldc;
    t.lda = lda;
    t.alpha = alpha;
    t.beta = beta;
    t.relu = relu;
    t.ldbs = ldb;
    t.bd = bp;
    const size_t nblk = g.np * g.nkb;
    for (size_t b = 0; b < nblk; b++) {
        size_t j, nr, pc, kc, kb;
        block_at(&g, b, &j, &nr, &pc, &kc, &kb);
        const int nv = (int)((nr + 15) / 16);
        const int mrmax = MRMAX(nv);
        for (int v = 0; v < 4; v++) {
            const size_t c0 = (size_t)v * 16;
            const size_t left = nr > c0 ? nr - c0 : 0;
            t.m[v] = left >= 16 ? (__mmask16)0xffff
                                : (__mmask16)((1u << left) - 1u);
        }
        t.kc = kc;
        t.mode = pc > 0 ? ST_ACC : beta == 0.0f ? ST_OVER : ST_BETA;
        t.last = kb + 1 == g.nkb;
        t.bs = B + pc * ldb + j;
        t.bp = inplace ? t.bs : bp;
        t.ldbp = inplace ? ldb : NRMAX;
        /* the next block: the last strips prefetch its B rows (unless
         * read in place: dense rows the hardware prefetcher follows), the
         * last strip its first A and C rows */
        const float *nb = NULL, *na = A;
        float *nc = NULL;
        size_t nnr = 0;
        if (b + 1 < nblk) {
            size_t jn, pcn, kcn, kbn;
            block_at(&g, b + 1, &jn, &nnr, &pcn, &kcn, &kbn);
            nb = inplace ? NULL : B + pcn * ldb + jn;
            na = A + pcn;
            nc = C + jn;
        }
        const size_t nlines = (nnr + 15) / 16 + 1;
        /* ns strips of q or q+1 rows: no thin remainder strip (M = 32
         * is 6,6,5,5,5,5 rather than 6,6,6,6,6,2) */
        const size_t ns = (M + (size_t)mrmax - 1) / (size_t)mrmax;
        const size_t q = M / ns, extra = M % ns;
        size_t i = 0;
        for (size_t s = 0; s < ns; s++) {
            const size_t mr = q + (s < extra);
            t.a = A + i * lda + pc;
            t.c = C + i * ldc + j;
            t.bias = bias ? bias + i : NULL;
            /* strip ns-1-l fetches line l of every next B row; the last
             * line is the one holding the row's last column (rows need
             * not start on a line) */
            const size_t l = ns - 1 - s;
            if (nb && l < nlines && ns <= PF_STRIPS) {
                t.pf = nb + (l + 1 < nlines ? 16 * l : nnr - 1);
                t.pfld = ldb;
            } else {
                t.pf = t.a;
                t.pfld = 0;
            }
            t.pfa = s + 1 < ns ? t.a + mr * lda : na;
            t.pfc = s + 1 < ns ? t.c + mr * ldc : nc;
            /* the first strip packs, the others read the copy */
            tiles[!inplace && s == 0][nv - 1][mr - 1](&t);
            i += mr;
        }
    }
}

static int have_avx512(void)
{
    /* libgcc fills the CPU model data once at start-up; no state of ours */
    return __builtin_cpu_supports("avx512f");
}
#define IQS_HAVE_AVX512_KERNEL 1
#endif /* x86-64 */

/* Portable composition: the GEMM seam, then the separate epilogue pass. */
static void gemm_bias_act_generic(size_t M, size_t N, size_t K, float alpha,
                                  const float *A, size_t lda, const float *B,
                                  size_t ldb, float beta, float *C, size_t ldc,
                                  const float *bias, int act)
{
    iqs_gemm(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    iqs_ops_bias_act(M, N, ldc, bias, alpha, act, C);
}

void iqs_ops_gemm_bias_act(size_t M, size_t N, size_t K, float alpha,
                           const float *A, size_t lda, const float *B,
                           size_t ldb, float beta, float *C, size_t ldc,
                           const float *bias, int act)
{
#ifdef IQS_HAVE_AVX512_KERNEL
    if (K > 0 && have_avx512()) {
        gemm_bias_act_avx512(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
                             bias, act == IQS_ACT_RELU);
        return;
    }
#endif
    gemm_bias_act_generic(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias,
                          act);
}

int iqs_ops_gemm_bias_act_isa(int isa, size_t M, size_t N, size_t K,
                              float alpha, const float *A, size_t lda,
                              const float *B, size_t ldb, float beta,
                              float *C, size_t ldc, const float *bias, int act)
{
    if (isa == 0) {
        gemm_bias_act_generic(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
                              bias, act);
        return 1;
    }
#ifdef IQS_HAVE_AVX512_KERNEL
    if (isa == 2 && have_avx512()) {
        if (K == 0)
            gemm_bias_act_generic(M, N, K, alpha, A, lda, B, ldb, beta, C,
                                  ldc, bias, act);
        else
            gemm_bias_act_avx512(M, N, K, alpha, A, lda, B, ldb, beta, C,
                                 ldc, bias, act == IQS_ACT_RELU);
        return 1;
    }
#endif
    return 0;
}
