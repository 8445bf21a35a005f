/*
 * The forward pass (layer: net): walks the planned layer table top to
 * bottom and calls one op per layer. Shapes and buffers were fixed by
 * iqs_net_plan, so nothing here can fail; concat slices were written by
 * their producers, so a CONCAT only copies inputs that could not be
 * placed in their slice (none, for the supported architectures).
 *
 * The parallel forward cuts each layer into parts (output channels, or
 * output lines of a convolution that needs im2col) and lets the threads of
 * a caller's executor claim them from a per-layer counter; a thread that
 * has run out of parts of a layer waits until the layer's done-counter is
 * full before it starts the next one. A thread that never starts costs
 * nothing but speed: the others claim its parts, so the executor may run
 * its tasks one after another. Each thread has its own im2col scratch
 * (slot = task index); parts write disjoint outputs with the same
 * arithmetic as the serial pass, so the result does not depend on who ran
 * what.
 */
#include "net/net.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>
#if IQS_STDIO
#include <sched.h>
#endif

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

/* The convolution of layer L (input A). */
static iqs_conv_desc conv_desc(const iqs_net_layer *A, const iqs_net_layer *L)
{
    const iqs_conv_desc d = {
        (int)A->c, (int)A->h, (int)A->w_, (int)L->c, (int)L->h, (int)L->w_,
        (int)L->l.kh, (int)L->l.kw, (int)L->l.sh, (int)L->l.sw,
        (int)L->l.pt, (int)L->l.pl, (int)L->l.pb, (int)L->l.pr,
        L->l.act == IQSW_ACT_RELU ? IQS_ACT_RELU : IQS_ACT_NONE,
        L->l.scale
    };
    return d;
}

/* How layer i is cut for W threads: parts and whether a convolution is
 * cut by output lines (1) or by output channels (0). */
static uint32_t layer_parts(const iqs_net *net, uint32_t i, uint32_t W,
                            int *by_lines)
{
    const iqs_net_layer *L = &net->layers[i];
    uint32_t p = 1;
    *by_lines = 0;
    if (W < 2)
        return 1;
    switch (L->l.op) {
    case IQSW_OP_CONV: {
        const int direct = L->l.kh == 1 && L->l.kw == 1 && L->l.sh == 1 &&
                           L->l.sw == 1 && L->l.pt == 0 && L->l.pl == 0 &&
                           L->l.pb == 0 && L->l.pr == 0;
        /* im2col'd convolutions split their lines, so no thread repeats
         * the im2col; 1x1s (and maps too short to split) their channels,
         * keeping the GEMM's N (the map) whole. A Winograd convolution is
         * always cut by whole tiles of lines: a channel part is a smaller
         * convolution, which may fall back to im2col (the method depends
         * on IC x OC) and round differently from the whole layer. */
        if (!direct) {
            const iqs_conv_desc d = conv_desc(&net->layers[L->l.in[0]], L);
            const uint32_t g = (uint32_t)iqs_conv2d_line_grain(&d);
            const uint32_t units = (L->h + g - 1) / g;
            if (g > 1 || L->h >= 2 * W) {
                *by_lines = 1;
                return units < W ? units : W;
            }
        }
        p = L->c / 16;
        break;
    }
    case IQSW_OP_MAXPOOL:
    case IQSW_OP_AVGPOOL:
        p = L->c / 8;
        break;
    default:
        return 1;
    }
    return p < 1 ? 1 : p > W ? W : p;
}

/* Part `part` of `parts` of layer i (the whole layer for 0 of 1). */
static void run_part(const iqs_net *net, uint32_t i, uint32_t part,
                     uint32_t parts, int by_lines, float *arena, void *col,
                     float *out_final)
{
    const iqs_net_layer *L = &net->layers[i];
    const iqs_net_layer *A = &net->layers[L->l.in[0]];
    const float *in = arena + A->off;
    float *out = arena + L->off;
    /* channel range of this part */
    const size_t c0 = (size_t)L->c * part / parts;
    const size_t c1 = (size_t)L->c * (part + 1) / parts;
    const size_t hw = (size_t)L->h * L->w_;

    switch (L->l.op) {
    case IQSW_OP_CONV: {
        iqs_conv_desc d = conv_desc(A, L);
        const float *res = L->l.n_in == 2 ? arena + net->layers[L->l.in[1]].off : NULL;
        if (by_lines) {
            /* whole Winograd tiles where the conv runs as Winograd */
            const uint32_t g = (uint32_t)iqs_conv2d_line_grain(&d);
            const uint32_t units = ((uint32_t)d.oh + g - 1) / g;
            const int oh0 = (int)(units * part / parts * g);
            int oh1 = (int)(units * (part + 1) / parts * g);
            if (oh1 > d.oh)
                oh1 = d.oh;
            if (oh0 < oh1)
                iqs_conv2d_rows(&d, in, L->w, L->b, res, out, col, oh0, oh1);
        } else if (parts == 1) {
            iqs_conv2d(&d, in, L->w, L->b, res, out, col);
        } else {
            /* output channels c0..c1: a smaller convolution of its own */
            const size_t k = (size_t)d.ic * (size_t)d.kh * (size_t)d.kw;
            d.oc = (int)(c1 - c0);
            iqs_conv2d(&d, in, L->w + c0 * k, L->b ? L->b + c0 : NULL,
                       res ? res + c0 * hw : NULL, out + c0 * hw, col);
        }
        break;
    }
    case IQSW_OP_MAXPOOL:
    case IQSW_OP_AVGPOOL: {
        const size_t ihw = (size_t)A->h * A->w_;
        const iqs_pool_desc d = {
            (int)(c1 - c0), (int)A->h, (int)A->w_, (int)L->h, (int)L->w_,
            (int)L->l.kh, (int)L->l.kw, (int)L->l.sh, (int)L->l.sw,
            (int)L->l.pt, (int)L->l.pl, (int)L->l.pb, (int)L->l.pr
        };
        if (L->l.op == IQSW_OP_MAXPOOL)
            iqs_maxpool(&d, in + c0 * ihw, out + c0 * hw);
        else
            iqs_avgpool(&d, in + c0 * ihw, out + c0 * hw);
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
        run_part(net, i, 0, 1, 0, arena, col, out);
        if (prof)
            prof[i] = now_ns() - t0;
    }
}

/* ------------------------------------------------------------- parallel */

/* The counters after the scratch slots: claim[n] then done[n]. */
static size_t sync_bytes(const iqs_net *net)
{
    return (2 * (size_t)net->n * sizeof(atomic_uint) + 63) / 64 * 64;
}

size_t iqs_net_ws_parallel(const iqs_net *net, int width)
{
    if (width <= 1)
        return net->ws_bytes;
    return net->ws_bytes + (size_t)(width - 1) * net->col_bytes +
           sync_bytes(net);
}

typedef struct par_job {
    const iqs_net *net;
    float *arena;
    char *cols;            /* slot t at cols + t * col_bytes */
    atomic_uint *claim, *done;
    uint32_t width;
    float *out;
} par_job;

static void relax(unsigned k)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
#if IQS_STDIO
    /* a thread that lost its core should not be waited for on a spin */
    if ((k & 255u) == 255u)
        sched_yield();
#else
    (void)k;
#endif
}

static void par_task(void *arg, int t)
{
    const par_job *j = arg;
    const iqs_net *net = j->net;
    void *col = j->cols + (size_t)t * net->col_bytes;
    for (uint32_t i = 1; i < net->n; i++) {
        int by_lines;
        const uint32_t parts = layer_parts(net, i, j->width, &by_lines);
        for (;;) {
            const uint32_t p = atomic_fetch_add_explicit(&j->claim[i], 1u,
                                                         memory_order_relaxed);
            if (p >= parts)
                break;
            run_part(net, i, p, parts, by_lines, j->arena, col, j->out);
            atomic_fetch_add_explicit(&j->done[i], 1u, memory_order_release);
        }
        for (unsigned k = 0; atomic_load_explicit(&j->done[i],
                                                  memory_order_acquire) < parts;
             k++)
            relax(k);
    }
}

void iqs_net_forward_parallel(const iqs_net *net, void *ws,
                              const iqs_executor *exec, float *out)
{
    if (!exec || exec->width <= 1) {
        iqs_net_forward(net, ws, out, NULL);
        return;
    }
    const uint32_t W = (uint32_t)exec->width;
    par_job j;
    j.net = net;
    j.arena = ws;
    j.cols = (char *)ws + net->arena_floats * sizeof(float);
    j.claim = (atomic_uint *)(void *)(j.cols + (size_t)W * net->col_bytes);
    j.done = j.claim + net->n;
    j.width = W;
    j.out = out;
    for (uint32_t i = 0; i < 2 * net->n; i++)
        atomic_init(&j.claim[i], 0u);
    exec->run(exec->ctx, (int)W, par_task, &j);
}
