/*
 * Network kernels (layer: ops): convolution, pooling, dense, softmax and the
 * GEMM seam under them. Internal header (not installed).
 *
 * Contracts shared by every function here:
 *  - Activations are CHW float32 for one image; pointers are caller-owned,
 *    never retained, never NULL unless a parameter says it may be.
 *  - Nothing here allocates, prints, fails at run time or keeps state; all
 *    functions are thread-safe as long as callers pass disjoint outputs and
 *    scratch. Dimensions are validated once, by the *_check functions (the
 *    planner calls them at model open); the kernels then trust them.
 *  - The library never changes OpenBLAS' thread settings.
 *  - Every optimised kernel has a plain `*_ref` twin, always compiled, used
 *    by tests/test_ops.c as the oracle. The references accumulate in double.
 */
#ifndef IQS_OPS_OPS_H
#define IQS_OPS_OPS_H

#include <stddef.h>

/* Activations are CHW float32 (one image). Conv weights OIHW, i.e.
 * W[OC][IC*KH*KW] row-major with K index = (ic*KH + kh)*KW + kw; biases [OC]. */
enum { IQS_ACT_NONE = 0, IQS_ACT_RELU = 1 };

typedef struct iqs_conv_desc {
    int ic, ih, iw;          /* input  C,H,W                       */
    int oc, oh, ow;          /* output C,H,W (caller computed)     */
    int kh, kw, sh, sw;      /* kernel and stride                  */
    int pt, pl, pb, pr;      /* explicit zero padding              */
    int act;                 /* applied last                       */
    float res_scale;         /* used only when residual != NULL    */
} iqs_conv_desc;

/* Bytes of scratch iqs_conv2d needs: IC*KH*KW * R*OW floats for the im2col
 * matrix of a band of R output lines (R = iqs_ops_conv_band(d); R = OH
 * except for large outputs such as the stem's), or the Winograd scratch
 * when that is larger and the shape runs as Winograd, or 0 for a 1x1
 * stride-1 unpadded conv (the GEMM reads the input directly). d must pass
 * iqs_conv2d_check. */
size_t iqs_conv2d_scratch_size(const iqs_conv_desc *d);

/* 1 if d is consistent: all sizes > 0, pads >= 0, a known act,
 * ih+pt+pb >= kh, iw+pl+pr >= kw, oh == (ih+pt+pb-kh)/sh+1,
 * ow == (iw+pl+pr-kw)/sw+1, and every buffer size fits size_t; else 0.
 * d may be NULL (returns 0). */
int iqs_conv2d_check(const iqs_conv_desc *d);

/* out[oc][oh][ow] = act(residual ? residual + res_scale*(conv+bias)
 *                                : conv+bias).
 * in [IC][IH][IW], w [OC][IC*KH*KW], bias [OC] (NULL means zero bias),
 * residual [OC][OH][OW] or NULL. residual may equal out (in place; the usual
 * case) but must not otherwise overlap it; in must not overlap out.
 * out is contiguous C,H,W (a channel slice of a larger concat buffer is just
 * a pointer offset). scratch: iqs_conv2d_scratch_size(d) bytes, 64-byte
 * aligned (may be NULL when that size is 0). d must pass iqs_conv2d_check. */
void iqs_conv2d(const iqs_conv_desc *d, const float *in, const float *w,
                const float *bias, const float *residual, float *out,
                void *scratch);

/* The part of iqs_conv2d that writes output lines [oh0, oh1) of every
 * channel, 0 <= oh0 < oh1 <= OH (iqs_conv2d is oh0 = 0, oh1 = OH). Calls
 * on disjoint line ranges may run concurrently, each with its own scratch
 * of iqs_conv2d_scratch_size(d) bytes; the in-place residual (residual ==
 * out) is read and written only inside the range. Every output value is
 * computed by the same arithmetic whatever the range, so splitting a
 * convolution into line ranges gives the same bits as one call. */
void iqs_conv2d_rows(const iqs_conv_desc *d, const float *in, const float *w,
                     const float *bias, const float *residual, float *out,
                     void *scratch, int oh0, int oh1);

/* Line granularity at which iqs_conv2d_rows keeps its fastest method: 4
 * for the 3x3 stride-1 shapes that run as Winograd F(4x4,3x3) (ranges
 * starting on a multiple of 4 and ending on one or at OH), 1 otherwise.
 * Other ranges are still correct (im2col + GEMM), just slower. */
int iqs_conv2d_line_grain(const iqs_conv_desc *d);

/* Plain direct 7-loop reference of iqs_conv2d (double accumulation); same
 * contract, no scratch. */
void iqs_conv2d_ref(const iqs_conv_desc *d, const float *in, const float *w,
                    const float *bias, const float *residual, float *out);

/* Output lines per band: iqs_conv2d runs im2col + GEMM + epilogue band by
 * band, so that a large output (N well above a few thousand pixels) is
 * finished while still in cache and the im2col scratch stays small; the
 * band is all of OH when OH*OW is small. d must pass iqs_conv2d_check. */
int iqs_ops_conv_band(const iqs_conv_desc *d);

/* im2col: CHW [IC,IH,IW] -> col [IC*KH*KW][OH*OW] with four-sided zero
 * padding (row index (ic*KH+kh)*KW+kw, matching the OIHW weights). col holds
 * K*OH*OW floats; d must pass iqs_conv2d_check. The _rows variant writes
 * only output lines [oh0, oh1) as col [K][(oh1-oh0)*OW],
 * 0 <= oh0 < oh1 <= OH. */
void iqs_ops_im2col(const iqs_conv_desc *d, const float *in, float *col);
void iqs_ops_im2col_rows(const iqs_conv_desc *d, const float *in, int oh0,
                         int oh1, float *col);

/* Epilogue over out [C][N] with row stride ld >= N:
 * out[c][n] = act(out[c][n] + scale*bias[c]). bias may be NULL (no
 * addition). Used after the convolution GEMM. */
void iqs_ops_bias_act(size_t c, size_t n, size_t ld, const float *bias,
                      float scale, int act, float *out);

/* ------------------------------------------------------------------ pools */

typedef struct iqs_pool_desc {
    int c, ih, iw, oh, ow, kh, kw, sh, sw, pt, pl, pb, pr;
} iqs_pool_desc;

/* 1 if d is consistent, with the same shape rules as iqs_conv2d_check and
 * additionally pt < kh, pb < kh, pl < kw, pr < kw (every window then holds
 * at least one real cell). d may be NULL (returns 0). */
int iqs_pool_check(const iqs_pool_desc *d);

/* Max over each window; padded cells are ignored (never win).
 * in [C][IH][IW] -> out [C][OH][OW]; no overlap. d must pass iqs_pool_check. */
void iqs_maxpool(const iqs_pool_desc *d, const float *in, float *out);
void iqs_maxpool_ref(const iqs_pool_desc *d, const float *in, float *out);

/* Mean over each window divided by the number of VALID (non-padding) cells,
 * as TensorFlow's AvgPool with SAME padding. Same layout rules. */
void iqs_avgpool(const iqs_pool_desc *d, const float *in, float *out);
void iqs_avgpool_ref(const iqs_pool_desc *d, const float *in, float *out);

/* Test hook: runs one build of the pools (lib/ops/pool.c). isa -1 the
 * clipped-window loop, 0 the one-lane generic build, 1 SSE, 2 AVX-512
 * (1 and 2 on x86-64 only); is_max selects max or average. Returns 1 when
 * it ran, 0 when that build is absent, the CPU lacks it, or the shape
 * needs the clipped-window loop (out is then untouched). d must pass
 * iqs_pool_check. */
int iqs_ops_pool_isa(int isa, int is_max, const iqs_pool_desc *d,
                     const float *in, float *out);

/* Global average pool: out[c] = mean of in[c][0..hw). hw > 0. */
void iqs_gap(int c, int hw, const float *in, float *out);
void iqs_gap_ref(int c, int hw, const float *in, float *out);

/* ------------------------------------------------------------ dense, head */

/* y[o] = act(sum_i w[o][i] * x[i] + b[o]); w [n_out][n_in] row-major,
 * b may be NULL. y must not overlap x or w. */
void iqs_dense(int n_out, int n_in, const float *w, const float *b,
               const float *x, float *y, int act);
void iqs_dense_ref(int n_out, int n_in, const float *w, const float *b,
                   const float *x, float *y, int act);

/* y = softmax(x), n > 0, max-subtracted so large logits do not overflow;
 * y may equal x. */
void iqs_softmax(int n, const float *x, float *y);

/* ------------------------------------------------------------------- GEMM */

/* GEMM seam: row-major C[M][N] (ldc) = alpha * A[M][K] (lda) * B[K][N] (ldb)
 * + beta * C. lda >= K, ldb >= N, ldc >= N; C must not overlap A or B.
 * beta == 0 overwrites C without reading it (NaN in C does not propagate).
 * M, N or K of 0 are allowed (K == 0 gives C = beta*C).
 * iqs_gemm dispatches to OpenBLAS cblas_sgemm when IQS_BLAS_OPENBLAS is 1
 * (gemm_blas.c; dims beyond int range fall back to the portable kernel),
 * else to iqs_gemm_portable, a cache-blocked C kernel the compiler
 * vectorises (gemm_portable.c; on x86-64 also compiled for AVX2 and
 * AVX-512 and picked at run time). iqs_gemm_ref is the naive triple loop
 * (double accumulation), always compiled. */
void iqs_gemm(size_t M, size_t N, size_t K, float alpha, const float *A,
              size_t lda, const float *B, size_t ldb, float beta, float *C,
              size_t ldc);
void iqs_gemm_ref(size_t M, size_t N, size_t K, float alpha, const float *A,
                  size_t lda, const float *B, size_t ldb, float beta,
                  float *C, size_t ldc);
void iqs_gemm_portable(size_t M, size_t N, size_t K, float alpha,
                       const float *A, size_t lda, const float *B,
                       size_t ldb, float beta, float *C, size_t ldc);

/* The convolution GEMM with its epilogue:
 *   C = act(alpha * (A.B + bias[i]) + beta * C)
 * (bias per row, NULL for none; act IQS_ACT_*). Same layout rules and
 * beta == 0 semantics as iqs_gemm. On x86-64 CPUs with AVX-512F it runs a
 * fused kernel (gemm_avx512.c; uses 32 KiB of stack); elsewhere it is
 * iqs_gemm followed by iqs_ops_bias_act, which is also its reference. */
void iqs_ops_gemm_bias_act(size_t M, size_t N, size_t K, float alpha,
                           const float *A, size_t lda, const float *B,
                           size_t ldb, float beta, float *C, size_t ldc,
                           const float *bias, int act);

/* Test hook for iqs_ops_gemm_bias_act: isa 0 forces the iqs_gemm +
 * iqs_ops_bias_act composition, 2 the AVX-512 kernel. Returns 1 when it
 * ran, 0 when that kernel is absent or the CPU lacks it (C untouched). */
int iqs_ops_gemm_bias_act_isa(int isa, size_t M, size_t N, size_t K,
                              float alpha, const float *A, size_t lda,
                              const float *B, size_t ldb, float beta,
                              float *C, size_t ldc, const float *bias,
                              int act);

/* Test hook: runs the portable kernel's build for one instruction set
 * (0 generic, 1 AVX2+FMA, 2 AVX-512; x86-64 only for 1 and 2). Returns 1
 * when it ran, 0 when that build is absent or the CPU lacks it (C is then
 * untouched). Same contract as iqs_gemm otherwise. */
int iqs_ops_gemm_portable_isa(int isa, size_t M, size_t N, size_t K,
                              float alpha, const float *A, size_t lda,
                              const float *B, size_t ldb, float beta,
                              float *C, size_t ldc);

#endif
