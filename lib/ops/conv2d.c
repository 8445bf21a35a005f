/*
 * 2-D convolution (layer: ops): im2col + one GEMM, W[OC][K] x col[K][N]
 * with K = IC*KH*KW and N = OH*OW, the darknet / Caffe recipe over CHW
 * activations. A 1x1 stride-1 unpadded convolution multiplies the input
 * directly (its CHW layout already is the K x N matrix). Large outputs
 * (the stem's 147x147 maps) are done in bands of output lines, each band
 * im2col'd, multiplied and finished while hot in cache: the scratch then
 * is one band's im2col (2.4 MB instead of 25 MB for the stem at 299). A scaled residual
 * is folded into the GEMM (C = residual, alpha = scale, beta = 1); bias,
 * the residual's share of the bias and the activation are applied by
 * iqs_ops_gemm_bias_act as it stores its last K block (the AVX-512 kernel)
 * or in one pass after the GEMM (elsewhere). 3x3 stride-1 convolutions
 * of the shapes where it measured faster run as Winograd F(4x4,3x3)
 * instead (lib/ops/winograd.c), whenever the requested lines are whole
 * tiles. The plain 7-loop reference lives beside it.
 */
#include <string.h>

#include "base/common.h"
#include "ops/ops.h"
#include "ops/winograd.h"

/* 1x1, stride 1, no padding: the input is the GEMM's B as it stands. */
static int is_direct(const iqs_conv_desc *d)
{
    return d->kh == 1 && d->kw == 1 && d->sh == 1 && d->sw == 1 &&
           d->pt == 0 && d->pl == 0 && d->pb == 0 && d->pr == 0;
}

int iqs_conv2d_check(const iqs_conv_desc *d)
{
    if (!d)
        return 0;
    if (d->ic <= 0 || d->ih <= 0 || d->iw <= 0 || d->oc <= 0 || d->oh <= 0 ||
        d->ow <= 0 || d->kh <= 0 || d->kw <= 0 || d->sh <= 0 || d->sw <= 0)
        return 0;
    if (d->pt < 0 || d->pl < 0 || d->pb < 0 || d->pr < 0)
        return 0;
    if (d->act != IQS_ACT_NONE && d->act != IQS_ACT_RELU)
        return 0;
    /* in long long: int + int + int cannot overflow there */
    const long long eh = (long long)d->ih + d->pt + d->pb;
    const long long ew = (long long)d->iw + d->pl + d->pr;
    if (eh < d->kh || ew < d->kw)
        return 0;
    if (d->oh != (eh - d->kh) / d->sh + 1 || d->ow != (ew - d->kw) / d->sw + 1)
        return 0;
    /* every buffer size in bytes must fit size_t */
    size_t k, n, t;
    if (!iqs_mul_ok((size_t)d->ic, (size_t)d->kh, &k) ||
        !iqs_mul_ok(k, (size_t)d->kw, &k) ||
        !iqs_mul_ok((size_t)d->oh, (size_t)d->ow, &n) ||
        !iqs_mul_ok(k, n, &t) || !iqs_mul_ok(t, sizeof(float), &t) ||
        !iqs_mul_ok(k, (size_t)d->oc, &t) ||
        !iqs_mul_ok(t, sizeof(float), &t) ||
        !iqs_mul_ok(n, (size_t)d->oc, &t) ||
        !iqs_mul_ok(t, sizeof(float), &t) ||
        !iqs_mul_ok((size_t)d->ih, (size_t)d->iw, &t) ||
        !iqs_mul_ok(t, (size_t)d->ic, &t) ||
        !iqs_mul_ok(t, sizeof(float), &t))
        return 0;
    return 1;
}

/* Output pixels per band when banding pays: the output band (OC x ~2K
 * floats for the stem's 32-64 channels) then stays in L2 for the epilogue,
 * and GEMMs of >= 2K columns still run at full speed. */
#define BAND_PIXELS 2048

int iqs_ops_conv_band(const iqs_conv_desc *d)
{
    const int rows = (BAND_PIXELS + d->ow - 1) / d->ow;
    /* only outputs of several bands are cut: smaller ones (every block of
     * the network after the stem) keep one GEMM with the widest N */
    return 2 * rows < d->oh ? rows : d->oh;
}

size_t iqs_conv2d_scratch_size(const iqs_conv_desc *d)
{
    if (is_direct(d))
        return 0;
    const size_t col = (size_t)d->ic * (size_t)d->kh * (size_t)d->kw *
                       (size_t)iqs_ops_conv_band(d) * (size_t)d->ow *
                       sizeof(float);
    const size_t wino =
        iqs_winograd_applies(d) ? iqs_winograd_scratch_size(d) : 0;
    return col > wino ? col : wino;
}

int iqs_conv2d_line_grain(const iqs_conv_desc *d)
{
    return iqs_winograd_applies(d) ? iqs_winograd_tile(d) : 1;
}

/* CHW [IC,IH,IW] -> output lines [oh0, oh1) of CHW [OC,OH,OW] via col
 * [K,N] and W [OC,K], in bands of output lines (one band for all but the
 * largest outputs) */
void iqs_conv2d_rows(const iqs_conv_desc *d, const float *in, const float *w,
                     const float *bias, const float *residual, float *out,
                     void *scratch, int oh0, int oh1)
{
    const size_t M = (size_t)d->oc, OW = (size_t)d->ow;
    const size_t K = (size_t)d->ic * (size_t)d->kh * (size_t)d->kw;
    const size_t N = (size_t)d->oh * OW;
    const int direct = is_direct(d), band = iqs_ops_conv_band(d);
    /* out = residual + s*(W*col) + s*bias: the GEMM accumulates onto the
     * residual, which is usually out itself (in place). */
    const float alpha = residual ? d->res_scale : 1.0f;
    const float beta = residual ? 1.0f : 0.0f;
    const int grain = iqs_conv2d_line_grain(d);
    if (grain > 1 && oh0 % grain == 0 && (oh1 % grain == 0 || oh1 == d->oh)) {
        iqs_conv2d_winograd_rows(d, in, w, bias, residual, out, scratch, oh0,
                                 oh1);
        return;
    }
    if (residual && residual != out) {
        const size_t n0 = (size_t)oh0 * OW, nr = (size_t)(oh1 - oh0) * OW;
        for (size_t c = 0; c < M; c++)
            memcpy(out + c * N + n0, residual + c * N + n0, nr * sizeof *out);
    }
    for (int b0 = oh0; b0 < oh1; b0 += band) {
        const int b1 = b0 + band < oh1 ? b0 + band : oh1;
        const size_t n0 = (size_t)b0 * OW, nb = (size_t)(b1 - b0) * OW;
        if (direct) {
            /* the input's columns n0.. are this band's B (ldb = N) */
            iqs_ops_gemm_bias_act(M, nb, K, alpha, w, K, in + n0, N, beta,
                                  out + n0, N, bias, d->act);
        } else {
            iqs_ops_im2col_rows(d, in, b0, b1, (float *)scratch);
            iqs_ops_gemm_bias_act(M, nb, K, alpha, w, K,
                                  (const float *)scratch, nb, beta, out + n0,
                                  N, bias, d->act);
        }
    }
}

void iqs_conv2d(const iqs_conv_desc *d, const float *in, const float *w,
                const float *bias, const float *residual, float *out,
                void *scratch)
{
    iqs_conv2d_rows(d, in, w, bias, residual, out, scratch, 0, d->oh);
}

/* Direct convolution: for oc, oh, ow: sum over ic, kh, kw in double. */
void iqs_conv2d_ref(const iqs_conv_desc *d, const float *in, const float *w,
                    const float *bias, const float *residual, float *out)
{
    const long IC = d->ic, IH = d->ih, IW = d->iw;
    const long OC = d->oc, OH = d->oh, OW = d->ow;
    const long KH = d->kh, KW = d->kw, SH = d->sh, SW = d->sw;
    const long PT = d->pt, PL = d->pl;
    for (long o = 0; o < OC; o++) {
        for (long y = 0; y < OH; y++) {
            for (long x = 0; x < OW; x++) {
                double s = bias ? bias[o] : 0.0;
                for (long c = 0; c < IC; c++) {
                    for (long ky = 0; ky < KH; ky++) {
                        const long iy = y * SH - PT + ky;
                        if (iy < 0 || iy >= IH)
                            continue;
                        for (long kx = 0; kx < KW; kx++) {
                            const long ix = x * SW - PL + kx;
                            if (ix < 0 || ix >= IW)
                                continue;
                            s += (double)w[((o * IC + c) * KH + ky) * KW + kx] *
                                 (double)in[(c * IH + iy) * IW + ix];
                        }
                    }
                }
                const size_t at = ((size_t)o * (size_t)OH + (size_t)y) *
                                      (size_t)OW + (size_t)x;
                if (residual)
                    s = (double)residual[at] + (double)d->res_scale * s;
                if (d->act == IQS_ACT_RELU && s < 0.0)
                    s = 0.0;
                out[at] = (float)s;
            }
        }
    }
}
