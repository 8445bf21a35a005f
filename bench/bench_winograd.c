/*
 * Winograd micro-benchmark (bench, not part of the library or of make
 * test): per 3x3 stride-1 network shape, milliseconds of iqs_conv2d
 * (im2col + GEMM) against iqs_conv2d_winograd with F(2x2) and F(4x4)
 * (weights transformed per call, as the op does), F(4x4) with weights
 * transformed beforehand (what a plan-time transform would give), the
 * weight transform alone, and the 36 GEMMs alone (the floor the transforms
 * add to). Times are the calling thread's CPU time (the machine is shared),
 * medians of interleaved rounds. Ends with the per-network sums at 224 and
 * 299 (block35 counted 10 times) and what iqs_winograd_applies picks.
 * Run single-threaded: OPENBLAS_NUM_THREADS=1 build/bench/bench_winograd.
 * Options: --quick (one short round, for CI), --shape N (only one),
 * --wall (wall clock instead of thread CPU time).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/ops.h"
#include "ops/winograd.h"

static clockid_t clock_id = CLOCK_THREAD_CPUTIME_ID;
static int quick;

static double now(void)
{
    struct timespec t;
    clock_gettime(clock_id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void *xalloc(size_t bytes)
{
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static float *falloc(size_t n, float scale)
{
    float *p = xalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        p[i] = ((float)((i * 2654435761u) % 1000u) * 1e-3f - 0.3f) * scale;
    return p;
}

typedef struct shape {
    const char *name;
    int ic, hw, oc, same, count, res; /* res: which network (224 / 299) */
} shape;

static const shape shapes[] = {
    {"stem 32->32 111 valid", 32, 111, 32, 0, 1, 224},
    {"stem 32->64 109 same", 32, 109, 64, 1, 1, 224},
    {"stem 80->192 54 valid", 80, 54, 192, 0, 1, 224},
    {"5b 64->96 25", 64, 25, 96, 1, 1, 224},
    {"5b 96->96 25", 96, 25, 96, 1, 1, 224},
    {"b35 32->32 25", 32, 25, 32, 1, 10, 224},
    {"b35 32->48 25", 32, 25, 48, 1, 10, 224},
    {"b35 48->64 25", 48, 25, 64, 1, 10, 224},
    {"6a 256->256 25", 256, 25, 256, 1, 1, 224},
    {"7a 256->288 12", 256, 12, 288, 1, 1, 224},
    {"stem 32->32 149 valid", 32, 149, 32, 0, 1, 299},
    {"stem 32->64 147 same", 32, 147, 64, 1, 1, 299},
    {"stem 80->192 73 valid", 80, 73, 192, 0, 1, 299},
    {"5b 64->96 35", 64, 35, 96, 1, 1, 299},
    {"5b 96->96 35", 96, 35, 96, 1, 1, 299},
    {"b35 32->32 35", 32, 35, 32, 1, 10, 299},
    {"b35 32->48 35", 32, 35, 48, 1, 10, 299},
    {"b35 48->64 35", 48, 35, 64, 1, 10, 299},
    {"6a 256->256 35", 256, 35, 256, 1, 1, 299},
    {"7a 256->288 17", 256, 17, 288, 1, 1, 299},
    {"v3 b8 448->384 5", 448, 5, 384, 1, 2, 0},
    {"v3 b8 448->384 8", 448, 8, 384, 1, 2, 0},
};

enum { V_IM2COL, V_F2, V_F4, V_F4PRE, V_WT4, V_GEMM4, NV };
static const char *vname[NV] = {"im2col", "F2", "F4", "F4pre", "wt4",
                                "gemm4"};

typedef struct ctx {
    iqs_conv_desc d;
    const float *in, *w, *b;
    float *out, *u2, *u4, *gv, *gm;
    void *sc_im, *sc2, *sc4;
} ctx;

static void run(ctx *c, int v)
{
    const iqs_conv_desc *d = &c->d;
    switch (v) {
    case V_IM2COL:
        iqs_conv2d(d, c->in, c->w, c->b, NULL, c->out, c->sc_im);
        break;
    case V_F2:
    case V_F4: {
        const int m = v == V_F2 ? 2 : 4;
        float *u = v == V_F2 ? c->u2 : c->u4;
        iqs_winograd_weights(d, m, c->w, u);
        iqs_conv2d_winograd_pre(d, m, -1, c->in, u, c->b, NULL, c->out,
                                v == V_F2 ? c->sc2 : c->sc4);
        break;
    }
    case V_F4PRE:
        iqs_conv2d_winograd_pre(d, 4, -1, c->in, c->u4, c->b, NULL, c->out,
                                c->sc4);
        break;
    case V_WT4:
        iqs_winograd_weights(d, 4, c->w, c->u4);
        break;
    case V_GEMM4: {
        /* the 36 products over all tiles, N = tiles (one group) */
        const size_t t = (size_t)((d->oh + 3) / 4) * (size_t)((d->ow + 3) / 4);
        const size_t plane = iqs_winograd_weights_size(d, 4) / 36 /
                             sizeof(float);
        for (size_t xi = 0; xi < 36; xi++)
            iqs_ops_gemm_bias_act((size_t)d->oc, t, (size_t)d->ic, 1.0f,
                                  c->u4 + xi * plane, (size_t)d->ic,
                                  c->gv + xi * (size_t)d->ic * t, t, 0.0f,
                                  c->gm + xi * (size_t)d->oc * t, t, NULL,
                                  IQS_ACT_NONE);
        break;
    }
    }
}

static int cmp(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int only = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--wall"))
            clock_id = CLOCK_MONOTONIC;
        else if (!strcmp(argv[i], "--shape") && i + 1 < argc)
            only = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--quick] [--wall] [--shape N]\n",
                    argv[0]);
            return 2;
        }
    }
    const int nshape = (int)(sizeof shapes / sizeof *shapes);
    double sum[2][NV] = {{0}}, sum_best[2] = {0};
    printf("ms per call (median of %s rounds, %s); x = im2col / variant\n",
           quick ? "1" : "9", clock_id == CLOCK_MONOTONIC ? "wall" : "thread CPU");
    printf("%-24s %7s %7s %7s %7s %7s %7s  %5s %5s %5s  %s\n", "shape",
           "im2col", "F2", "F4", "F4pre", "wt4", "gemm4", "xF2", "xF4",
           "xF4pre", "applies");
    for (int s = 0; s < nshape; s++) {
        if (only >= 0 && s != only)
            continue;
        const shape *sh = &shapes[s];
        ctx c;
        memset(&c, 0, sizeof c);
        iqs_conv_desc *d = &c.d;
        d->ic = sh->ic;
        d->ih = d->iw = sh->hw;
        d->oc = sh->oc;
        d->kh = d->kw = 3;
        d->sh = d->sw = 1;
        d->pt = d->pl = d->pb = d->pr = sh->same;
        d->oh = d->ow = sh->hw + 2 * sh->same - 2;
        d->act = IQS_ACT_RELU;
        d->res_scale = 1.0f;
        const size_t n_in = (size_t)d->ic * sh->hw * sh->hw;
        const size_t n_out = (size_t)d->oc * d->oh * d->ow;
        const size_t tiles =
            (size_t)((d->oh + 3) / 4) * (size_t)((d->ow + 3) / 4);
        c.in = falloc(n_in, 1.0f);
        c.w = falloc((size_t)d->oc * d->ic * 9, 0.05f);
        c.b = falloc((size_t)d->oc, 0.1f);
        c.out = falloc(n_out, 1.0f);
        c.sc_im = xalloc(iqs_conv2d_scratch_size(d));
        c.u2 = xalloc(iqs_winograd_weights_size(d, 2));
        c.u4 = xalloc(iqs_winograd_weights_size(d, 4));
        c.sc2 = xalloc(iqs_winograd_work_size(d, 2));
        c.sc4 = xalloc(iqs_winograd_work_size(d, 4));
        c.gv = falloc(36 * (size_t)d->ic * tiles, 1.0f);
        c.gm = falloc(36 * (size_t)d->oc * tiles, 1.0f);
        iqs_winograd_weights(d, 4, c.w, c.u4);

        enum { ROUNDS = 9 };
        double t[NV][ROUNDS];
        const int rounds = quick ? 1 : ROUNDS;
        for (int v = 0; v < NV; v++)
            run(&c, v); /* warm up */
        for (int r = 0; r < rounds; r++) {
            for (int v = 0; v < NV; v++) {
                int n = 0;
                double t0 = now(), dt;
                do {
                    run(&c, v);
                    n++;
                    dt = now() - t0;
                } while (!quick && dt < 0.02);
                t[v][r] = dt / n * 1e3;
            }
        }
        double med[NV];
        for (int v = 0; v < NV; v++) {
            qsort(t[v], (size_t)rounds, sizeof(double), cmp);
            med[v] = t[v][rounds / 2];
        }
        const int app = iqs_winograd_applies(d);
        const int tile = iqs_winograd_tile(d);
        printf("%-24s %7.3f %7.3f %7.3f %7.3f %7.3f %7.3f  %5.2f %5.2f %5.2f  "
               "%s\n",
               sh->name, med[V_IM2COL], med[V_F2], med[V_F4], med[V_F4PRE],
               med[V_WT4], med[V_GEMM4], med[V_IM2COL] / med[V_F2],
               med[V_IM2COL] / med[V_F4], med[V_IM2COL] / med[V_F4PRE],
               app ? (tile == 4 ? "F4" : "F2") : "no");
        if (sh->res) {
            const int k = sh->res == 299;
            for (int v = 0; v < NV; v++)
                sum[k][v] += sh->count * med[v];
            sum_best[k] += sh->count *
                           (app ? med[tile == 4 ? V_F4 : V_F2] : med[V_IM2COL]);
        }
        free((void *)c.in);
        free((void *)c.w);
        free((void *)c.b);
        free(c.out);
        free(c.sc_im);
        free(c.u2);
        free(c.u4);
        free(c.sc2);
        free(c.sc4);
        free(c.gv);
        free(c.gm);
    }
    for (int k = 0; k < 2; k++) {
        printf("IRV2 %d, 3x3 s1 total:", k ? 299 : 224);
        for (int v = 0; v < NV; v++)
            printf(" %s %.2f", vname[v], sum[k][v]);
        printf(" | with applies(): %.2f ms (%.2fx)\n", sum_best[k],
               sum_best[k] > 0 ? sum[k][V_IM2COL] / sum_best[k] : 0.0);
    }
    return 0;
}
