/*
 * Softmax (layer: ops): the last step of the head. The maximum logit is
 * subtracted first so exp() never overflows, and the normaliser is summed
 * in double; one implementation, simple enough to be its own reference.
 */
#include <math.h>

#include "ops/ops.h"

/* x [n] -> y [n], y may equal x */
void iqs_softmax(int n, const float *x, float *y)
{
    float m = x[0];
    for (int i = 1; i < n; i++)
        m = x[i] > m ? x[i] : m;
    double s = 0.0;
    for (int i = 0; i < n; i++) {
        const float e = expf(x[i] - m);
        y[i] = e;
        s += e;
    }
    /* s >= 1: the maximum contributes exp(0) */
    const double inv = 1.0 / s;
    for (int i = 0; i < n; i++)
        y[i] = (float)(y[i] * inv);
}
