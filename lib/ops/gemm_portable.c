/*
 * Portable cache-blocked GEMM (layer: ops). The BLAS=none build's iqs_gemm,
 * and always available as iqs_gemm_portable (tests compare it with the
 * reference). No allocation and no packing: the K dimension is cut in
 * blocks of KC so that one KC x NR panel of B stays in L1 while every
 * MR-row strip of A streams past it; each MR x NR tile of C lives in
 * registers for a whole K block. The tile is written with GCC/clang vector
 * extensions (plain C semantics, lowered to whatever SIMD the target has:
 * SSE, AVX, NEON, or scalar code). On x86-64 the same source is also
 * compiled for AVX2+FMA and AVX-512 with larger tiles and chosen once per
 * call by __builtin_cpu_supports; elsewhere only the generic build exists.
 */
#include <string.h>

#include "ops/ops.h"

/* K block: KC rows of an NR-wide B panel (<= 32 KiB) stay in L1. */
#ifndef KC
#define KC 256
#endif
/* AVX-512 tile rows (tuning knob for experiments; 16 columns per zmm). */
#ifndef MR512
#define MR512 8
#endif

/* C[M][N] *= beta (beta == 0 stores zeros so NaN/garbage never leaks). */
static void scale_c(size_t M, size_t N, float beta, float *restrict C,
                    size_t ldc)
{
    if (beta == 1.0f)
        return;
    for (size_t i = 0; i < M; i++) {
        float *restrict c = C + i * ldc;
        if (beta == 0.0f)
            memset(c, 0, N * sizeof *c);
        else
            for (size_t j = 0; j < N; j++)
                c[j] *= beta;
    }
}

/* C[M][j0..N) += alpha * A[M][kc] * B[kc][j0..N): the ragged right edge,
 * narrower than one tile; row-axpy form so the inner loop is contiguous. */
static void edge_cols(size_t M, size_t j0, size_t N, size_t kc, float alpha,
                      const float *restrict A, size_t lda,
                      const float *restrict B, size_t ldb, float *restrict C,
                      size_t ldc)
{
    for (size_t i = 0; i < M; i++) {
        float *restrict c = C + i * ldc;
        for (size_t k = 0; k < kc; k++) {
            const float a = alpha * A[i * lda + k];
            const float *restrict b = B + k * ldb;
            for (size_t j = j0; j < N; j++)
                c[j] += a * b[j];
        }
    }
}

/*
 * One register tile: C[i..i+MRX)[j..j+NV*VW) += alpha * A-strip * B-panel
 * over kc. VT is a vector of VW floats; loads and stores go through memcpy
 * so no alignment is assumed. The constant-bound loops carry an unroll
 * pragma so the accumulators become registers; FMA(acc, a, b) is
 * acc + a*b (an explicit fused multiply-add where the target has one: ISO C
 * mode does not contract a*b+c by itself).
 */
#define IQS_GEMM_TILE(VT, VW, MRX, NV, FMA)                                   \
    do {                                                                      \
        VT acc[MRX][NV];                                                      \
        _Pragma("GCC unroll 16") for (int r = 0; r < (MRX); r++)              \
            _Pragma("GCC unroll 4") for (int v = 0; v < (NV); v++)            \
                acc[r][v] = (VT){0};                                          \
        const float *restrict ap = A + i * lda;                               \
        const float *restrict bp = B + j;                                     \
        for (size_t k = 0; k < kc; k++) {                                     \
            VT b[NV];                                                         \
            _Pragma("GCC unroll 4") for (int v = 0; v < (NV); v++)            \
                memcpy(&b[v], bp + k * ldb + (size_t)v * (VW), sizeof(VT));   \
            _Pragma("GCC unroll 16") for (int r = 0; r < (MRX); r++) {        \
                const float a = ap[(size_t)r * lda + k];                      \
                _Pragma("GCC unroll 4") for (int v = 0; v < (NV); v++)        \
                    acc[r][v] = FMA(acc[r][v], a, b[v]);                      \
            }                                                                 \
        }                                                                     \
        _Pragma("GCC unroll 16") for (int r = 0; r < (MRX); r++) {            \
            float *c = C + (i + (size_t)r) * ldc + j;                         \
            _Pragma("GCC unroll 4") for (int v = 0; v < (NV); v++) {          \
                VT t;                                                         \
                memcpy(&t, c + (size_t)v * (VW), sizeof(VT));                 \
                t += alpha * acc[r][v];                                       \
                memcpy(c + (size_t)v * (VW), &t, sizeof(VT));                 \
            }                                                                 \
        }                                                                     \
    } while (0)

/*
 * The blocked driver: C += alpha*A*B (beta already applied), K in KC
 * blocks, N in NR = NV*VW panels, M in MR strips (row tail one row at a
 * time with the same vector tile), the last N % NR columns by edge_cols.
 */
#define IQS_GEMM_DRIVER(NAME, ATTR, VT, VW, MR, NV, FMA)                           \
    ATTR static void NAME(size_t M, size_t N, size_t K, float alpha,          \
                          const float *restrict A0, size_t lda,               \
                          const float *restrict B0, size_t ldb,               \
                          float *restrict C, size_t ldc)                      \
    {                                                                         \
        const size_t nr = (size_t)(NV) * (VW);                                \
        for (size_t pc = 0; pc < K; pc += KC) {                               \
            const size_t kc = K - pc < KC ? K - pc : KC;                      \
            const float *restrict A = A0 + pc;                                \
            const float *restrict B = B0 + pc * ldb;                          \
            size_t j = 0;                                                     \
            for (; j + nr <= N; j += nr) {                                    \
                size_t i = 0;                                                 \
                for (; i + (MR) <= M; i += (MR))                              \
                    IQS_GEMM_TILE(VT, VW, MR, NV, FMA);                            \
                for (; i < M; i++)                                            \
                    IQS_GEMM_TILE(VT, VW, 1, NV, FMA);                             \
            }                                                                 \
            if (j < N)                                                        \
                edge_cols(M, j, N, kc, alpha, A, lda, B, ldb, C, ldc);        \
        }                                                                     \
    }

/* Generic build: 16-byte vectors (SSE2 baseline, NEON), 4 x 8 tile. */
typedef float v4f __attribute__((vector_size(16)));
#define FMA_GENERIC(c, a, b) ((c) + (a) * (b))
IQS_GEMM_DRIVER(gemm_generic, , v4f, 4, 4, 2, FMA_GENERIC)

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define IQS_GEMM_X86 1
/* AVX2+FMA: 6 x 16 tile, 12 ymm accumulators of the 16. */
#define FMA_AVX2(c, a, b) _mm256_fmadd_ps(_mm256_set1_ps(a), (b), (c))
IQS_GEMM_DRIVER(gemm_avx2, __attribute__((target("avx2,fma"))), __m256, 8, 6,
                2, FMA_AVX2)
/* AVX-512: 8 x 32 tile, 16 zmm accumulators of the 32. */
#define FMA_AVX512(c, a, b) _mm512_fmadd_ps(_mm512_set1_ps(a), (b), (c))
IQS_GEMM_DRIVER(gemm_avx512, __attribute__((target("avx512f,fma"))), __m512,
                16, MR512, 2, FMA_AVX512)
#endif

void iqs_gemm_portable(size_t M, size_t N, size_t K, float alpha,
                       const float *A, size_t lda, const float *B,
                       size_t ldb, float beta, float *C, size_t ldc)
{
    scale_c(M, N, beta, C, ldc);
    if (M == 0 || N == 0 || K == 0 || alpha == 0.0f)
        return;
#ifdef IQS_GEMM_X86
    /* __builtin_cpu_supports reads data libgcc fills once at start-up; no
     * state of ours. */
    if (__builtin_cpu_supports("avx512f")) {
        gemm_avx512(M, N, K, alpha, A, lda, B, ldb, C, ldc);
        return;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        gemm_avx2(M, N, K, alpha, A, lda, B, ldb, C, ldc);
        return;
    }
#endif
    gemm_generic(M, N, K, alpha, A, lda, B, ldb, C, ldc);
}

int iqs_ops_gemm_portable_isa(int isa, size_t M, size_t N, size_t K,
                              float alpha, const float *A, size_t lda,
                              const float *B, size_t ldb, float beta,
                              float *C, size_t ldc)
{
    void (*fn)(size_t, size_t, size_t, float, const float *, size_t,
               const float *, size_t, float *, size_t) = NULL;
    if (isa == 0)
        fn = gemm_generic;
#ifdef IQS_GEMM_X86
    if (isa == 1 && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma"))
        fn = gemm_avx2;
    if (isa == 2 && __builtin_cpu_supports("avx512f"))
        fn = gemm_avx512;
#endif
    if (!fn)
        return 0;
    scale_c(M, N, beta, C, ldc);
    if (M && N && K && alpha != 0.0f)
        fn(M, N, K, alpha, A, lda, B, ldb, C, ldc);
    return 1;
}

#if !IQS_BLAS_OPENBLAS
/* BLAS=none: the seam is the portable kernel. */
void iqs_gemm(size_t M, size_t N, size_t K, float alpha, const float *A,
              size_t lda, const float *B, size_t ldb, float beta, float *C,
              size_t ldc)
{
    iqs_gemm_portable(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
#endif
