/*
 * Kernel micro-benchmark (bench, not part of the library or of make test):
 * GFLOPS of iqs_conv2d on InceptionResNetV2 shapes at 299x299, next to the
 * machine's sgemm peak measured in the same run (a large square GEMM, the
 * best of iqs_gemm, the portable GEMM and the fused conv GEMM), with the
 * share of im2col and of a separate epilogue pass (what the non-fused path
 * pays), and the GEMM alone on the same shape through iqs_gemm (OpenBLAS
 * when built with it), the portable GEMM and iqs_ops_gemm_bias_act (the
 * fused kernel iqs_conv2d uses). Run single-threaded for the numbers in
 * docs/benchmarks.md: OPENBLAS_NUM_THREADS=1 build/bench/bench_ops.
 * Options: --quick (tiny repetition counts, for CI), --shape N (only one),
 * --cpu (thread CPU time instead of wall time, for a loaded machine),
 * --cold (the GEMM columns rotate through copies of the weights that add
 * up to more than the last-level cache, so A streams from DRAM as in the
 * network, whose 207 MB of weights never stay cached; B and C stay warm).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/ops.h"

#if IQS_BLAS_OPENBLAS
/* OpenBLAS extensions, declared here so the bench can report them. */
char *openblas_get_corename(void);
int openblas_get_num_threads(void);
#endif

/* --cpu times the calling thread's CPU time instead of the wall clock:
 * robust on a shared, loaded machine, meaningful with one BLAS thread. */
static clockid_t clock_id = CLOCK_MONOTONIC;

static double now(void)
{
    struct timespec t;
    clock_gettime(clock_id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float *falloc(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes ? bytes : 64);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((i * 2654435761u) % 1000u) * 1e-3f - 0.5f;
    return p;
}

static int quick, cold;
/* --cold: weight copies per shape, twice a 32 MiB last-level cache */
#define COLD_BYTES ((size_t)64 << 20)

/* Best-of-rounds seconds per call of fn(ctx): each round repeats the call
 * for >= 30 ms (or once in quick mode). */
typedef void (*bench_fn)(void *ctx);
static double best_time(bench_fn fn, void *ctx)
{
    fn(ctx); /* warm up caches and OpenBLAS buffers */
    double best = 1e30;
    const int rounds = quick ? 1 : 7;
    for (int r = 0; r < rounds; r++) {
        int n = 0;
        double t0 = now(), t;
        do {
            fn(ctx);
            n++;
            t = now() - t0;
        } while (!quick && t < 0.03);
        if (t / n < best)
            best = t / n;
    }
    return best;
}

/* ------------------------------------------------------------ contexts */

typedef struct gemm_ctx {
    size_t M, N, K;
    const float *A, *B;
    float *C;
    int portable; /* 0 iqs_gemm, 1 iqs_gemm_portable, 2 fused conv GEMM */
    float **cold; /* --cold: ncold copies of A used in turn, else NULL */
    size_t ncold, next;
} gemm_ctx;

static void run_gemm(void *p)
{
    gemm_ctx *g = p;
    if (g->cold)
        g->A = g->cold[g->next++ % g->ncold];
    if (g->portable == 2)
        iqs_ops_gemm_bias_act(g->M, g->N, g->K, 1.0f, g->A, g->K, g->B, g->N,
                              0.0f, g->C, g->N, NULL, IQS_ACT_NONE);
    else if (g->portable)
        iqs_gemm_portable(g->M, g->N, g->K, 1.0f, g->A, g->K, g->B, g->N,
                          0.0f, g->C, g->N);
    else
        iqs_gemm(g->M, g->N, g->K, 1.0f, g->A, g->K, g->B, g->N, 0.0f, g->C,
                 g->N);
}

typedef struct conv_ctx {
    iqs_conv_desc d;
    const float *in, *w, *b;
    float *out;
    void *scratch;
    int residual;
} conv_ctx;

static void run_conv(void *p)
{
    conv_ctx *c = p;
    iqs_conv2d(&c->d, c->in, c->w, c->b, c->residual ? c->out : NULL, c->out,
               c->scratch);
}

static void run_epilogue(void *p)
{
    conv_ctx *c = p;
    const size_t n = (size_t)c->d.oh * (size_t)c->d.ow;
    iqs_ops_bias_act((size_t)c->d.oc, n, n, c->b, 1.0f, c->d.act, c->out);
}

static void run_im2col(void *p)
{
    /* every band, into the one band-sized scratch, as iqs_conv2d does */
    conv_ctx *c = p;
    const int band = iqs_ops_conv_band(&c->d);
    for (int oh0 = 0; oh0 < c->d.oh; oh0 += band)
        iqs_ops_im2col_rows(&c->d, c->in, oh0,
                            oh0 + band < c->d.oh ? oh0 + band : c->d.oh,
                            c->scratch);
}

/* --------------------------------------------------------------- shapes */

typedef struct shape {
    const char *name;
    int ic, ih, iw, oc, kh, kw, sh, sw, pt, pl, pb, pr, residual;
    int count; /* occurrences in the network at 299 (for the weighted sum) */
} shape;

static const shape shapes[] = {
    {"stem 3x3/2 3->32 299", 3, 299, 299, 32, 3, 3, 2, 2, 0, 0, 0, 0, 0, 1},
    {"stem 3x3 32->32 149", 32, 149, 149, 32, 3, 3, 1, 1, 0, 0, 0, 0, 0, 1},
    {"stem 3x3 32->64 147 same", 32, 147, 147, 64, 3, 3, 1, 1, 1, 1, 1, 1, 0, 1},
    {"stem 1x1 64->80 73", 64, 73, 73, 80, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1},
    {"stem 3x3 80->192 73", 80, 73, 73, 192, 3, 3, 1, 1, 0, 0, 0, 0, 0, 1},
    {"b35 1x1 320->32 35", 320, 35, 35, 32, 1, 1, 1, 1, 0, 0, 0, 0, 0, 30},
    {"b35 3x3 32->32 35", 32, 35, 35, 32, 3, 3, 1, 1, 1, 1, 1, 1, 0, 10},
    {"b35 3x3 32->48 35", 32, 35, 35, 48, 3, 3, 1, 1, 1, 1, 1, 1, 0, 10},
    {"b35 3x3 48->64 35", 48, 35, 35, 64, 3, 3, 1, 1, 1, 1, 1, 1, 0, 10},
    {"b35 1x1 128->320 35 +res", 128, 35, 35, 320, 1, 1, 1, 1, 0, 0, 0, 0, 1, 10},
    {"6a 3x3/2 320->384 35", 320, 35, 35, 384, 3, 3, 2, 2, 0, 0, 0, 0, 0, 1},
    {"6a 3x3/2 256->384 35", 256, 35, 35, 384, 3, 3, 2, 2, 0, 0, 0, 0, 0, 1},
    {"b17 1x1 1088->192 17", 1088, 17, 17, 192, 1, 1, 1, 1, 0, 0, 0, 0, 0, 20},
    {"b17 1x1 1088->128 17", 1088, 17, 17, 128, 1, 1, 1, 1, 0, 0, 0, 0, 0, 20},
    {"b17 1x7 128->160 17", 128, 17, 17, 160, 1, 7, 1, 1, 0, 3, 0, 3, 0, 20},
    {"b17 7x1 160->192 17", 160, 17, 17, 192, 7, 1, 1, 1, 3, 0, 3, 0, 0, 20},
    {"b17 1x1 384->1088 17 +res", 384, 17, 17, 1088, 1, 1, 1, 1, 0, 0, 0, 0, 1, 20},
    {"b8 1x1 2080->192 8", 2080, 8, 8, 192, 1, 1, 1, 1, 0, 0, 0, 0, 0, 20},
    {"b8 1x3 192->224 8", 192, 8, 8, 224, 1, 3, 1, 1, 0, 1, 0, 1, 0, 10},
    {"b8 3x1 224->256 8", 224, 8, 8, 256, 3, 1, 1, 1, 1, 0, 1, 0, 0, 10},
    {"b8 1x1 448->2080 8 +res", 448, 8, 8, 2080, 1, 1, 1, 1, 0, 0, 0, 0, 1, 10},
    {"conv_7b 1x1 2080->1536 8", 2080, 8, 8, 1536, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1},
};

int main(int argc, char **argv)
{
    int only = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--cpu"))
            clock_id = CLOCK_THREAD_CPUTIME_ID;
        else if (!strcmp(argv[i], "--cold"))
            cold = 1;
        else if (!strcmp(argv[i], "--shape") && i + 1 < argc)
            only = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--quick] [--cpu] [--cold] [--shape N]\n",
                    argv[0]);
            return 2;
        }
    }
#if IQS_BLAS_OPENBLAS
    printf("GEMM: OpenBLAS core %s, %d thread(s)\n", openblas_get_corename(),
           openblas_get_num_threads());
#else
    printf("GEMM: portable (BLAS=none)\n");
#endif

    /* sgemm peak: square 1024 (256 in quick mode) */
    const size_t P = quick ? 256 : 1024;
    float *pa = falloc(P * P), *pb = falloc(P * P), *pc = falloc(P * P);
    gemm_ctx pg = {P, P, P, pa, pb, pc, 0, NULL, 0, 0};
    double peak = 2.0 * P * P * P / best_time(run_gemm, &pg) * 1e-9;
    pg.portable = 1;
    const double peak_port = 2.0 * P * P * P / best_time(run_gemm, &pg) * 1e-9;
    pg.portable = 2;
    const double peak_fused = 2.0 * P * P * P / best_time(run_gemm, &pg) * 1e-9;
    printf("sgemm peak (%zux%zux%zu): iqs_gemm %.1f GFLOPS; portable %.1f; "
           "fused conv GEMM %.1f\n\n",
           P, P, P, peak, peak_port, peak_fused);
    if (peak_port > peak)
        peak = peak_port;
    if (peak_fused > peak)
        peak = peak_fused;
    free(pa);
    free(pb);
    free(pc);

    if (cold)
        printf("--cold: gemmGF, portGF and fusedGF read the weights from "
               "DRAM (conv GFLOPS and the total do not)\n\n");
    printf("%-28s %5s %5s %5s %8s %7s %6s %6s %5s %7s %6s %7s\n", "conv",
           "M", "N", "K", "ms", "GFLOPS", "%peak", "im2c%", "epi%", "gemmGF",
           "portGF", "fusedGF");
    double tot_flop = 0, tot_time = 0;
    for (int s = 0; s < (int)(sizeof shapes / sizeof shapes[0]); s++) {
        if (only >= 0 && s != only)
            continue;
        const shape *sp = &shapes[s];
        conv_ctx c;
        memset(&c, 0, sizeof c);
        iqs_conv_desc *d = &c.d;
        d->ic = sp->ic;
        d->ih = sp->ih;
        d->iw = sp->iw;
        d->oc = sp->oc;
        d->kh = sp->kh;
        d->kw = sp->kw;
        d->sh = sp->sh;
        d->sw = sp->sw;
        d->pt = sp->pt;
        d->pl = sp->pl;
        d->pb = sp->pb;
        d->pr = sp->pr;
        d->act = IQS_ACT_RELU;
        d->res_scale = 0.17f;
        d->oh = (d->ih + d->pt + d->pb - d->kh) / d->sh + 1;
        d->ow = (d->iw + d->pl + d->pr - d->kw) / d->sw + 1;
        if (!iqs_conv2d_check(d)) {
            fprintf(stderr, "bad shape %s\n", sp->name);
            return 1;
        }
        const size_t M = (size_t)d->oc, N = (size_t)d->oh * d->ow;
        const size_t K = (size_t)d->ic * d->kh * d->kw;
        float *in = falloc((size_t)d->ic * d->ih * d->iw);
        float *w = falloc(M * K), *b = falloc(M), *out = falloc(M * N);
        const size_t ss = iqs_conv2d_scratch_size(d);
        float *scratch = ss ? falloc(ss / sizeof(float)) : NULL;
        c.in = in;
        c.w = w;
        c.b = b;
        c.out = out;
        c.scratch = scratch;
        c.residual = sp->residual;
        const double flop = 2.0 * (double)M * (double)N * (double)K;
        const double t = best_time(run_conv, &c);
        const double ti = ss ? best_time(run_im2col, &c) : 0.0;
        const double te = best_time(run_epilogue, &c);
        /* the GEMM alone, unbanded (B = the input or a full-size col) */
        float *fullcol = ss ? falloc(K * N) : NULL;
        gemm_ctx g = {M, N, K, w, ss ? fullcol : in, out, 0, NULL, 0, 0};
        if (cold) {
            /* copies of the weights adding up to >= COLD_BYTES */
            g.ncold = COLD_BYTES / (M * K * sizeof(float)) + 1;
            g.cold = malloc(g.ncold * sizeof *g.cold);
            if (!g.cold) {
                fprintf(stderr, "out of memory\n");
                return 1;
            }
            for (size_t i = 0; i < g.ncold; i++)
                g.cold[i] = falloc(M * K);
        }
        const double tg = best_time(run_gemm, &g);
        g.portable = 1;
        const double tp = best_time(run_gemm, &g);
        g.portable = 2;
        const double tf = best_time(run_gemm, &g);
        printf("%-28s %5zu %5zu %5zu %8.3f %7.1f %5.0f%% %5.0f%% %4.0f%% %7.1f "
               "%6.1f %7.1f\n",
               sp->name, M, N, K, t * 1e3, flop / t * 1e-9,
               100.0 * flop / t * 1e-9 / peak, 100.0 * ti / t, 100.0 * te / t,
               flop / tg * 1e-9, flop / tp * 1e-9, flop / tf * 1e-9);
        tot_flop += flop * sp->count;
        tot_time += t * sp->count;
        free(in);
        free(w);
        free(b);
        free(out);
        free(scratch);
        free(fullcol);
        for (size_t i = 0; i < g.ncold; i++)
            free(g.cold[i]);
        free(g.cold);
    }
    if (only < 0)
        printf("\nweighted by occurrences at 299 (%.2f GFLOP of the network's "
               "26.3): %.1f ms, %.1f GFLOPS\n",
               tot_flop * 1e-9, tot_time * 1e3, tot_flop / tot_time * 1e-9);
    return 0;
}
