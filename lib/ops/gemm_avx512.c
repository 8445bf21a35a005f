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
 * Blocking (GotoBLAS-style, B side only): N is cut in panels of NR = 16*NV
 * columns, K in blocks of KC. Each KC x NR piece of B is copied once into a
 * contiguous, zero-padded buffer on the stack (KC*64 floats = 32 KiB, so it
 * stays in L1), then every MR-row strip of A streams past it; an MR x NR
 * tile of C lives in zmm registers for the whole K block. A (the weights)
 * is read in place, one broadcast per row per k. The ragged right panel
 * uses the narrowest NV that covers it and masked C loads/stores; the
 * bottom strip a smaller MR. The bias and the activation are applied when
 * the last K block stores its tile, so C is written once more per K block
 * and never re-read by a separate pass.
 */
#include "ops/ops.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* K block and the widest panel (tuning knobs for experiments) */
#ifndef KC
#define KC 128
#endif
#define NRMAX 64 /* 4 zmm: the packed panel's row stride */
#ifndef PANEL_NV
#define PANEL_NV 4 /* zmm per full panel */
#endif
#ifndef MR2
#define MR2 12 /* rows of the 2-zmm tile */
#endif

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
    const float *a;   /* A + i*lda + pc                      */
    const float *bp;  /* packed panel, kc x NRMAX              */
    float *c;         /* C + i*ldc + j                       */
    __mmask16 m[4];   /* column masks per vector             */
    int mode;         /* ST_*                                */
    int last;         /* last K block: apply bias and act    */
    float alpha, beta;
    const float *bias; /* bias + i, or NULL                  */
    int relu;
} tile_args;

/* One MR x (16*NV) tile over a K block; MR and NV are constants after
 * inlining, so acc[][] lives in registers. */
TGT static INL void tile(const tile_args *t, const int MR, const int NV)
{
    __m512 acc[14][4];
UNROLL
    for (int r = 0; r < MR; r++)
UNROLL
        for (int v = 0; v < NV; v++)
            acc[r][v] = _mm512_setzero_ps();
    const float *restrict a = t->a;
    const float *restrict bp = t->bp;
    const size_t lda = t->lda, kc = t->kc;
    for (size_t k = 0; k < kc; k++) {
        __m512 b[4];
UNROLL
        for (int v = 0; v < NV; v++)
            b[v] = _mm512_loadu_ps(bp + k * NRMAX + 16 * v);
UNROLL
        for (int r = 0; r < MR; r++) {
            const __m512 ar = _mm512_set1_ps(a[(size_t)r * lda + k]);
UNROLL
            for (int v = 0; v < NV; v++)
                acc[r][v] = _mm512_fmadd_ps(ar, b[v], acc[r][v]);
        }
    }
    const __m512 alpha = _mm512_set1_ps(t->alpha);
    const __m512 beta = _mm512_set1_ps(t->beta);
    const __m512 zero = _mm512_setzero_ps();
UNROLL
    for (int r = 0; r < MR; r++) {
        float *c = t->c + (size_t)r * t->ldc;
        const __m512 bias = _mm512_set1_ps(
            t->last && t->bias ? t->alpha * t->bias[r] : 0.0f);
UNROLL
        for (int v = 0; v < NV; v++) {
            const __mmask16 m = t->m[v];
            __m512 x;
            if (t->mode == ST_OVER) {
                x = _mm512_mul_ps(alpha, acc[r][v]);
            } else {
                const __m512 old = _mm512_maskz_loadu_ps(m, c + 16 * v);
                x = t->mode == ST_BETA
                        ? _mm512_fmadd_ps(alpha, acc[r][v],
                                          _mm512_mul_ps(beta, old))
                        : _mm512_fmadd_ps(alpha, acc[r][v], old);
            }
            if (t->last) {
                x = _mm512_add_ps(x, bias);
                if (t->relu)
                    x = _mm512_max_ps(x, zero);
            }
            _mm512_mask_storeu_ps(c + 16 * v, m, x);
        }
    }
}

/* Tile dispatch: NV in 1..4, MR in 1..MRMAX(NV); MRMAX keeps MR*NV
 * accumulators plus NV B vectors and one broadcast within 32 zmm. */
#define MRMAX(nv) ((nv) == 4 ? 6 : (nv) == 3 ? 8 : (nv) == 2 ? MR2 : 14)
#define T(mr, nv)                                                             \
    TGT static void tile_##mr##_##nv(const tile_args *t) { tile(t, mr, nv); }
#define T6(nv) T(1, nv) T(2, nv) T(3, nv) T(4, nv) T(5, nv) T(6, nv)
#define T14(nv)                                                               \
    T6(nv) T(7, nv) T(8, nv) T(9, nv) T(10, nv) T(11, nv) T(12, nv)           \
    T(13, nv) T(14, nv)
T14(1)
T14(2)
T6(3) T(7, 3) T(8, 3)
T6(4)
#undef T
#undef T6
#undef T14

typedef void (*tile_fn)(const tile_args *);
#define ROW(nv)                                                               \
    { tile_1_##nv, tile_2_##nv, tile_3_##nv, tile_4_##nv, tile_5_##nv,        \
      tile_6_##nv, tile_7_##nv, tile_8_##nv, tile_9_##nv, tile_10_##nv,       \
      tile_11_##nv, tile_12_##nv, tile_13_##nv, tile_14_##nv }
/* tiles that would not fit the register file */
#define tile_9_3 NULL
#define tile_10_3 NULL
#define tile_11_3 NULL
#define tile_12_3 NULL
#define tile_13_3 NULL
#define tile_14_3 NULL
#define tile_7_4 NULL
#define tile_8_4 NULL
#define tile_9_4 NULL
#define tile_10_4 NULL
#define tile_11_4 NULL
#define tile_12_4 NULL
#define tile_13_4 NULL
#define tile_14_4 NULL
static const tile_fn tiles[4][14] = { ROW(1), ROW(2), ROW(3), ROW(4) };
#undef ROW

/* bp[k][0..NRMAX) = B[k][j0..j0+nr), zero beyond nr (up to 16*nv). */
TGT static void pack_b(size_t kc, size_t nr, int nv, const float *restrict b,
                       size_t ldb, float *restrict bp)
{
    const size_t w = (size_t)nv * 16;
    if (nr == w) {
        for (size_t k = 0; k < kc; k++) {
            const float *s = b + k * ldb;
            float *d = bp + k * NRMAX;
            for (int v = 0; v < nv; v++)
                _mm512_store_ps(d + 16 * v, _mm512_loadu_ps(s + 16 * v));
        }
        return;
    }
    for (size_t k = 0; k < kc; k++) {
        const float *s = b + k * ldb;
        float *d = bp + k * NRMAX;
        for (int v = 0; v < nv; v++) {
            const size_t c0 = (size_t)v * 16;
            const size_t left = nr > c0 ? nr - c0 : 0;
            const __mmask16 m =
                left >= 16 ? (__mmask16)0xffff
                           : (__mmask16)((1u << left) - 1u);
            _mm512_store_ps(d + c0, _mm512_maskz_loadu_ps(m, s + c0));
        }
    }
}

TGT static void gemm_bias_act_avx512(size_t M, size_t N, size_t K,
                                     float alpha, const float *A, size_t lda,
                                     const float *B, size_t ldb, float beta,
                                     float *C, size_t ldc, const float *bias,
                                     int relu)
{
    float bp[KC * NRMAX] __attribute__((aligned(64)));
    /* panel width: PANEL_NV*16 columns, except a narrower last panel */
    const size_t NP = (size_t)PANEL_NV * 16;
    for (size_t j = 0; j < N; j += NP) {
        const size_t nr = N - j < NP ? N - j : NP;
        const int nv = (int)((nr + 15) / 16);
        const int mrmax = MRMAX(nv);
        tile_args t;
        for (int v = 0; v < 4; v++) {
            const size_t c0 = (size_t)v * 16;
            const size_t left = nr > c0 ? nr - c0 : 0;
            t.m[v] = left >= 16 ? (__mmask16)0xffff
                                : (__mmask16)((1u << left) - 1u);
        }
        t.ldc = ldc;
        t.lda = lda;
        t.alpha = alpha;
        t.beta = beta;
        t.relu = relu;
        for (size_t pc = 0; pc < K; pc += KC) {
            const size_t kc = K - pc < KC ? K - pc : KC;
            /* B rows of exactly one full panel (the 8x8 maps' N = 64)
             * already are the packed layout: use them in place */
            if (nr == NRMAX && ldb == NRMAX) {
                t.bp = B + pc * ldb + j;
            } else {
                pack_b(kc, nr, nv, B + pc * ldb + j, ldb, bp);
                t.bp = bp;
            }
            t.kc = kc;
            t.mode = pc > 0 ? ST_ACC : beta == 0.0f ? ST_OVER : ST_BETA;
            t.last = pc + kc == K;
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
                tiles[nv - 1][mr - 1](&t);
                i += mr;
            }
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
