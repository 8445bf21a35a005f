/*
 * Dense (fully connected) layer and softmax (layer: ops): the
 * classification head after the global average pool. The head is tiny
 * (n_in ~ 1536, n_out ~ 10), so the fast dense is a dot product with eight
 * independent partial sums; the reference accumulates in double.
 */
#include "ops/ops.h"

/* W [n_out][n_in] . x [n_in] + b -> y [n_out] */
void iqs_dense(int n_out, int n_in, const float *restrict w,
               const float *restrict b, const float *restrict x,
               float *restrict y, int act)
{
    const size_t n = (size_t)n_in;
    for (size_t o = 0; o < (size_t)n_out; o++) {
        const float *restrict r = w + o * n;
        float s[8] = {0};
        size_t i = 0;
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; k++)
                s[k] += r[i + (size_t)k] * x[i + (size_t)k];
        for (; i < n; i++)
            s[0] += r[i] * x[i];
        float v = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
        if (b)
            v += b[o];
        if (act == IQS_ACT_RELU && v < 0.0f)
            v = 0.0f;
        y[o] = v;
    }
}

void iqs_dense_ref(int n_out, int n_in, const float *w, const float *b,
                   const float *x, float *y, int act)
{
    for (size_t o = 0; o < (size_t)n_out; o++) {
        double s = b ? b[o] : 0.0;
        for (size_t i = 0; i < (size_t)n_in; i++)
            s += (double)w[o * (size_t)n_in + i] * (double)x[i];
        if (act == IQS_ACT_RELU && s < 0.0)
            s = 0.0;
        y[o] = (float)s;
    }
}
