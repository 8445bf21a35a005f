/*
 * GEMM seam, OpenBLAS flavour (layer: ops). iqs_gemm forwards to
 * cblas_sgemm. The Makefile drops this file when BLAS=none, and then
 * gemm_portable.c defines iqs_gemm instead. OpenBLAS' thread count is the
 * application's business; nothing here touches it.
 */
#include "ops/ops.h"

#if IQS_BLAS_OPENBLAS
#include <limits.h>

#include <cblas.h>

void iqs_gemm(size_t M, size_t N, size_t K, float alpha, const float *A,
              size_t lda, const float *B, size_t ldb, float beta, float *C,
              size_t ldc)
{
    /* cblas takes int dims; anything larger (never seen in these networks)
     * goes to the portable kernel rather than being truncated. */
    if (M > INT_MAX || N > INT_MAX || K > INT_MAX || lda > INT_MAX ||
        ldb > INT_MAX || ldc > INT_MAX) {
        iqs_gemm_portable(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    if (M == 0 || N == 0)
        return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N,
                (int)K, alpha, A, (int)(lda ? lda : 1), B, (int)(ldb ? ldb : 1),
                beta, C, (int)ldc);
}
#endif
