/*
 * Convolution epilogue (layer: ops): the bias add, the residual scale
 * and the activation in one pass over a freshly computed GEMM output, so
 * the output is read and written once after the GEMM.
 */
#include "ops/ops.h"

/* out [C][N] (row stride ld): out = act(out + scale*bias[c]) */
void iqs_ops_bias_act(size_t c, size_t n, size_t ld, const float *restrict bias,
                      float scale, int act, float *restrict out)
{
    for (size_t i = 0; i < c; i++) {
        float *restrict o = out + i * ld;
        const float b = bias ? scale * bias[i] : 0.0f;
        if (act == IQS_ACT_RELU) {
            for (size_t j = 0; j < n; j++) {
                const float v = o[j] + b;
                o[j] = v > 0.0f ? v : 0.0f;
            }
        } else if (bias) {
            for (size_t j = 0; j < n; j++)
                o[j] += b;
        }
    }
}
