/*
 * The forward pass (layer: net): walks the planned layer table top to
 * bottom and calls one op per layer. Shapes and buffers were fixed by
 * iqs_net_plan, so nothing here can fail; concat slices were written by
 * their producers, so a CONCAT only copies inputs that could not be
 * placed in their slice (none, for the supported architectures).
 */
#include "net/net.h"

#include <string.h>
#include <time.h>

#include "ops/ops.h"

float *iqs_net_input(const iqs_net *net, void *ws)
{
    return (float *)ws + net->layers[0].off;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void run_layer(const iqs_net *net, uint32_t i, float *arena, void *col,
                      float *out_final)
{
    const iqs_net_layer *L = &net->layers[i];
    const iqs_net_layer *A = &net->layers[L->l.in[0]];
    const float *in = arena + A->off;
    float *out = arena + L->off;

    switch (L->l.op) {
    case IQSW_OP_CONV: {
        const iqs_conv_desc d = {
            (int)A->c, (int)A->h, (int)A->w_, (int)L->c, (int)L->h, (int)L->w_,
            (int)L->l.kh, (int)L->l.kw, (int)L->l.sh, (int)L->l.sw,
            (int)L->l.pt, (int)L->l.pl, (int)L->l.pb, (int)L->l.pr,
            L->l.act == IQSW_ACT_RELU ? IQS_ACT_RELU : IQS_ACT_NONE,
            L->l.scale
        };
        const float *res = L->l.n_in == 2 ? arena + net->layers[L->l.in[1]].off : NULL;
        iqs_conv2d(&d, in, L->w, L->b, res, out, col);
        break;
    }
    case IQSW_OP_MAXPOOL:
    case IQSW_OP_AVGPOOL: {
        const iqs_pool_desc d = {
            (int)A->c, (int)A->h, (int)A->w_, (int)L->h, (int)L->w_,
            (int)L->l.kh, (int)L->l.kw, (int)L->l.sh, (int)L->l.sw,
            (int)L->l.pt, (int)L->l.pl, (int)L->l.pb, (int)L->l.pr
        };
        if (L->l.op == IQSW_OP_MAXPOOL)
            iqs_maxpool(&d, in, out);
        else
            iqs_avgpool(&d, in, out);
        break;
    }
    case IQSW_OP_CONCAT: {
        size_t off = 0;
        for (uint32_t k = 0; k < L->l.n_in; k++) {
            const iqs_net_layer *B = &net->layers[L->l.in[k]];
            size_t sz = (size_t)B->c * B->h * B->w_;
            const float *src = arena + B->off;
            if (src != out + off)
                memcpy(out + off, src, sz * sizeof(float));
            off += sz;
        }
        break;
    }
    case IQSW_OP_GAP:
        iqs_gap((int)A->c, (int)(A->h * A->w_), in, out);
        break;
    case IQSW_OP_DENSE:
        if (L->l.act == IQSW_ACT_SOFTMAX) {
            float *logits = col; /* the plan sized col for this */
            iqs_dense((int)L->c, (int)A->c, L->w, L->b, in, logits, IQS_ACT_NONE);
            iqs_softmax((int)L->c, logits, out);
        } else {
            iqs_dense((int)L->c, (int)A->c, L->w, L->b, in, out,
                      L->l.act == IQSW_ACT_RELU ? IQS_ACT_RELU : IQS_ACT_NONE);
        }
        break;
    default:
        break;
    }
    if (i == net->n - 1)
        memcpy(out_final, out, (size_t)L->c * sizeof(float));
}

void iqs_net_forward(const iqs_net *net, void *ws, float *out, uint64_t *prof)
{
    float *arena = ws;
    void *col = (char *)ws + net->arena_floats * sizeof(float);
    for (uint32_t i = 1; i < net->n; i++) {
        uint64_t t0 = prof ? now_ns() : 0;
        run_layer(net, i, arena, col, out);
        if (prof)
            prof[i] = now_ns() - t0;
    }
}
