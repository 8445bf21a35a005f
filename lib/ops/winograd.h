/*
 * Winograd convolution for 3x3 stride-1 layers (layer: ops). Internal
 * header (not installed); see lib/ops/winograd.c for the method.
 *
 * Same contracts as the rest of lib/ops/ops.h: CHW float32 activations,
 * OIHW weights, caller-owned pointers never retained, no allocation, no
 * state, thread-safe with disjoint outputs and scratch, dimensions trusted
 * (d must pass iqs_conv2d_check; the functions below that take a tile size
 * m additionally need kh == kw == 3, sh == sw == 1 and m of 2 or 4).
 */
#ifndef IQS_OPS_WINOGRAD_H
#define IQS_OPS_WINOGRAD_H

#include <stddef.h>

#include "ops/ops.h"

/* 1 if iqs_conv2d_winograd should replace iqs_conv2d for d: a 3x3
 * stride-1 convolution of a shape where Winograd measured clearly faster
 * (bench/bench_winograd.c) than im2col + GEMM, with per-call weight
 * transform included. 0 otherwise, and for d == NULL or d failing
 * iqs_conv2d_check. Pure function of d. */
int iqs_winograd_applies(const iqs_conv_desc *d);

/* Output tile edge iqs_conv2d_winograd uses for d: 4 (F(4x4,3x3)) or 2
 * (F(2x2,3x3)); d must be 3x3 stride 1. Pure function of d. */
int iqs_winograd_tile(const iqs_conv_desc *d);

/* Bytes of scratch iqs_conv2d_winograd needs for d (3x3 stride 1): the
 * transformed weights plus the tile buffers of one group of tile rows
 * (groups bound the scratch for large maps). Pure function of d. */
size_t iqs_winograd_scratch_size(const iqs_conv_desc *d);

/* Same contract as iqs_conv2d (lib/ops/ops.h):
 * out = act(residual ? residual + res_scale*(conv+bias) : conv+bias),
 * bias may be NULL, residual may equal out (not otherwise overlap it), in
 * must not overlap out, explicit four pads. d: 3x3, stride 1, passing
 * iqs_conv2d_check. scratch: iqs_winograd_scratch_size(d) bytes, 64-byte
 * aligned. The weights are transformed into scratch on every call. */
void iqs_conv2d_winograd(const iqs_conv_desc *d, const float *in,
                         const float *w, const float *bias,
                         const float *residual, float *out, void *scratch);

/* Output lines [oh0, oh1) only: oh0 a multiple of iqs_winograd_tile(d),
 * oh1 one too or OH. Calls on disjoint ranges may run concurrently with
 * separate scratch (each transforms the weights itself); every output is
 * computed by the same arithmetic as in the whole call. */
void iqs_conv2d_winograd_rows(const iqs_conv_desc *d, const float *in,
                              const float *w, const float *bias,
                              const float *residual, float *out,
                              void *scratch, int oh0, int oh1);

/* ---- building blocks (explicit tile size m; tests, bench, and a caller
 * that wants to transform the weights once, at model open) ---- */

/* Bytes of transformed weights for tile m: (m+2)^2 planes of OC x IC
 * floats (each plane padded by 16 floats), i.e. about (m+2)^2/9 times the
 * 3x3 weights. */
size_t iqs_winograd_weights_size(const iqs_conv_desc *d, int m);

/* w [OC][IC][3][3] -> u, G w G^T per (oc, ic), iqs_winograd_weights_size
 * bytes, 64-byte aligned; u must not overlap w. */
void iqs_winograd_weights(const iqs_conv_desc *d, int m, const float *w,
                          float *u);

/* Bytes of scratch for iqs_conv2d_winograd_pre (tile buffers only). */
size_t iqs_winograd_work_size(const iqs_conv_desc *d, int m);

/* The convolution with weights already transformed by iqs_winograd_weights
 * for the same d and m; otherwise the contract of iqs_conv2d_winograd,
 * scratch being iqs_winograd_work_size(d, m) bytes. isa selects the
 * transform kernels: -1 the best the CPU has, 0 portable C, 2 AVX-512
 * (x86-64). Returns 1 when it ran, 0 when the requested build is absent or
 * the CPU lacks it (out untouched). */
int iqs_conv2d_winograd_pre(const iqs_conv_desc *d, int m, int isa,
                            const float *in, const float *u,
                            const float *bias, const float *residual,
                            float *out, void *scratch);

#endif
