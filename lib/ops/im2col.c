/*
 * im2col (layer: ops): lays a CHW image out as the K x N matrix
 * (K = IC*KH*KW, N = OH*OW) that one GEMM with the OIHW weights turns into
 * a convolution, with the four explicit zero pads written as zeros. Row
 * (ic*KH+kh)*KW+kw holds, for every output pixel, the input cell that
 * kernel tap sees. Stride-1 convolutions padded to keep the width (3x3,
 * 1xN, Nx1 and 5x5 SAME: almost every im2col of InceptionResNetV2 and
 * InceptionV3) get one shifted block copy per row instead of one copy per
 * output line; the rest (stride 2, VALID) copy line by line.
 */
#include <string.h>

#include "ops/ops.h"

/* Stride 1 with OW == IW (any kernel with horizontal SAME padding, e.g.
 * 3x3, 1x7, 7x1, 5x5 SAME): output and input lines have the same length,
 * so row (ic,kh,kw) is the input plane shifted by (kh-pt) lines and (kw-pl)
 * cells. One block copy moves every valid cell; the lines above and below
 * the image are zeroed, and so are the few cells per line that the shift
 * wrapped across a line end (those are the left/right pads). */
static void im2col_s1_wide(const iqs_conv_desc *d, const float *restrict in,
                           long oh0, long oh1, float *restrict col)
{
    const size_t IC = (size_t)d->ic, IH = (size_t)d->ih, W = (size_t)d->iw;
    const long KH = d->kh, KW = d->kw, PT = d->pt, PL = d->pl;
    /* the band's lines are numbered from 0 (= output line oh0) below */
    const long OH = oh1 - oh0;
    const size_t N = (size_t)OH * W;
    for (size_t c = 0; c < IC; c++) {
        const float *restrict plane = in + c * IH * W;
        for (long kh = 0; kh < KH; kh++) {
            /* band lines [y0, y1) read input line oh0 + y - PT + kh */
            const long base = oh0 - PT + kh;
            long y0 = -base > 0 ? -base : 0;
            long y1 = (long)IH - base < OH ? (long)IH - base : OH;
            if (y0 > OH) /* a band shorter than the top pad */
                y0 = OH;
            if (y1 < y0)
                y1 = y0;
            for (long kw = 0; kw < KW; kw++) {
                float *restrict row =
                    col + ((c * (size_t)KH + (size_t)kh) * (size_t)KW +
                           (size_t)kw) * N;
                const long sx = kw - PL; /* dst[oh][x] = src[ih][x + sx] */
                /* valid x in [x0, x1) */
                const long x0l = sx < 0 ? -sx : 0;
                const long x1l = (long)W - sx < (long)W ? (long)W - sx : (long)W;
                const size_t x0 = (size_t)(x0l < (long)W ? x0l : (long)W);
                const size_t x1 = x1l > (long)x0 ? (size_t)x1l : x0;
                memset(row, 0, (size_t)y0 * W * sizeof *row);
                memset(row + (size_t)y1 * W, 0,
                       (size_t)(OH - y1) * W * sizeof *row);
                if (y1 == y0 || x1 == x0) {
                    memset(row + (size_t)y0 * W, 0,
                           (size_t)(y1 - y0) * W * sizeof *row);
                    continue;
                }
                const size_t first = (size_t)y0 * W + x0;
                const size_t last = (size_t)(y1 - 1) * W + x1;
                const long shift = base * (long)W + sx;
                memcpy(row + first, plane + (long)first + shift,
                       (last - first) * sizeof *row);
                if (x0 == 0 && x1 == W)
                    continue; /* no horizontal pad for this tap */
                for (size_t y = (size_t)y0; y < (size_t)y1; y++) {
                    float *r = row + y * W;
                    for (size_t x = 0; x < x0; x++)
                        r[x] = 0.0f;
                    for (size_t x = x1; x < W; x++)
                        r[x] = 0.0f;
                }
            }
        }
    }
}

/* CHW [IC,IH,IW] -> col [IC*KH*KW, (oh1-oh0)*OW] */
void iqs_ops_im2col_rows(const iqs_conv_desc *d, const float *restrict in,
                         int oh0, int oh1, float *restrict col)
{
    if (d->sh == 1 && d->sw == 1 && d->ow == d->iw) {
        im2col_s1_wide(d, in, oh0, oh1, col);
        return;
    }
    const size_t IC = (size_t)d->ic, IH = (size_t)d->ih, IW = (size_t)d->iw;
    const size_t OH = (size_t)(oh1 - oh0), OW = (size_t)d->ow;
    const long KH = d->kh, KW = d->kw, SH = d->sh, SW = d->sw;
    const long PT = d->pt, PL = d->pl;
    const size_t N = OH * OW;
    for (size_t c = 0; c < IC; c++) {
        const float *restrict plane = in + c * IH * IW;
        for (long kh = 0; kh < KH; kh++) {
            for (long kw = 0; kw < KW; kw++) {
                float *restrict row =
                    col + ((c * (size_t)KH + (size_t)kh) * (size_t)KW +
                           (size_t)kw) * N;
                /* valid ow: 0 <= ow*SW - PL + kw < IW */
                const long off = kw - PL;
                long lo = off < 0 ? (-off + SW - 1) / SW : 0;
                long hi = (long)IW - off <= 0 ? 0 : ((long)IW - off - 1) / SW + 1;
                if (hi > (long)OW)
                    hi = (long)OW;
                if (lo > hi)
                    lo = hi;
                for (size_t oh = 0; oh < OH; oh++) {
                    float *restrict r = row + oh * OW;
                    const long ih = ((long)oh + oh0) * SH - PT + kh;
                    if (ih < 0 || ih >= (long)IH) {
                        memset(r, 0, OW * sizeof *r);
                        continue;
                    }
                    const float *restrict s = plane + (size_t)ih * IW;
                    for (long x = 0; x < lo; x++)
                        r[x] = 0.0f;
                    if (SW == 1) {
                        if (hi > lo)
                            memcpy(r + lo, s + lo + off,
                                   (size_t)(hi - lo) * sizeof *r);
                    } else {
                        for (long x = lo; x < hi; x++)
                            r[x] = s[x * SW + off];
                    }
                    for (long x = hi; x < (long)OW; x++)
                        r[x] = 0.0f;
                }
            }
        }
    }
}

void iqs_ops_im2col(const iqs_conv_desc *d, const float *in, float *col)
{
    iqs_ops_im2col_rows(d, in, 0, d->oh, col);
}
