/*
 * Naive reference GEMM (layer: ops). The oracle every tuned GEMM and the
 * convolution tests are checked against: a plain triple loop accumulating
 * in double, always compiled whatever BLAS switch is chosen.
 */
#include "ops/ops.h"

/* row-major C[M][N] = alpha * A[M][K] * B[K][N] + beta * C */
void iqs_gemm_ref(size_t M, size_t N, size_t K, float alpha, const float *A,
                  size_t lda, const float *B, size_t ldb, float beta,
                  float *C, size_t ldc)
{
    for (size_t i = 0; i < M; i++) {
        for (size_t j = 0; j < N; j++) {
            double s = 0.0;
            for (size_t k = 0; k < K; k++)
                s += (double)A[i * lda + k] * (double)B[k * ldb + j];
            /* beta == 0 must not read C (it may hold garbage or NaN). */
            double c = beta == 0.0f ? 0.0 : (double)beta * C[i * ldc + j];
            C[i * ldc + j] = (float)((double)alpha * s + c);
        }
    }
}
