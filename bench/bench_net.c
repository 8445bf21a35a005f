/*
 * bench_net: latency, open time, memory and per-layer profile of one IQSW
 * model, for bench/run.py and for people (not part of the library, so it
 * prints and exits freely).
 *
 * It opens the model with iqs_model_open (mmap), feeds an already
 * preprocessed CHW float32 tensor (the .f32 files tests/ref/opencv_ref.py
 * writes) to the internal iqs_classify_tensor, and checks the output
 * against an OpenCV DNN .probs file. The layer table it profiles is the
 * model's own (struct iqs_model in lib/api/internal.h), so MACs come from
 * the planned shapes, not from a second description of the network.
 *
 * Modes (see usage()):
 *   default     open-time medians, R timed rounds, output check, RSS
 *   --profile   per-layer nanoseconds grouped by layer kind and by block,
 *               GFLOPS per convolution
 *   --serve     line protocol for run.py's interleaved rounds
 *   --folder    throughput of -j workers (threads sharing one model, one
 *               workspace each, single-threaded BLAS) over .f32 files
 *   --sgemm     peak of a large square cblas_sgemm at 1 and 2 threads
 *
 * OpenBLAS' thread count belongs to the application: this program sets it
 * with openblas_set_num_threads, the library never does.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "api/internal.h"

#if IQS_BLAS_OPENBLAS
#include <cblas.h>
extern void openblas_set_num_threads(int num_threads);
extern char *openblas_get_corename(void);
#else
static void openblas_set_num_threads(int n) { (void)n; }
#endif

/* ------------------------------------------------------------ utilities */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss; /* kilobytes on Linux */
}

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "bench_net: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(2);
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Percentile by nearest rank on a copy (p in 0..100). */
static double percentile(const double *v, int n, double p)
{
    if (n <= 0)
        return 0.0;
    double *s = malloc((size_t)n * sizeof *s);
    if (!s)
        return 0.0;
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    int k = (int)ceil(p / 100.0 * n) - 1;
    if (k < 0)
        k = 0;
    if (k >= n)
        k = n - 1;
    const double r = s[k];
    free(s);
    return r;
}

static double median(const double *v, int n)
{
    if (n <= 0)
        return 0.0;
    double *s = malloc((size_t)n * sizeof *s);
    if (!s)
        return 0.0;
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    const double r = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return r;
}

/* Reads a whole file of little-endian float32 values (x86: host order). */
static float *read_f32(const char *path, size_t want)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open %s", path);
    float *buf = malloc(want * sizeof *buf);
    if (!buf)
        die("out of memory for %s", path);
    size_t got = fread(buf, sizeof *buf, want, f);
    int extra = fgetc(f);
    fclose(f);
    if (got != want || extra != EOF) {
        fprintf(stderr, "bench_net: %s: expected exactly %zu floats (3 x H x W of the model)\n",
                path, want);
        exit(2);
    }
    return buf;
}

/* Reads a .probs file (one float per line); returns the count. */
static int read_probs(const char *path, float *out, int cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot open %s", path);
    int n = 0;
    double v;
    while (n < cap && fscanf(f, "%lf", &v) == 1)
        out[n++] = (float)v;
    fclose(f);
    return n;
}

/* The .probs file next to a .f32 file (same base name), or "" if none. */
static void probs_for(const char *f32, char *out, size_t cap)
{
    out[0] = 0;
    size_t n = strlen(f32);
    if (n < 4 || strcmp(f32 + n - 4, ".f32") != 0 || n + 3 > cap)
        return;
    memcpy(out, f32, n - 4);
    strcpy(out + n - 4, ".probs");
    FILE *f = fopen(out, "r");
    if (f)
        fclose(f);
    else
        out[0] = 0;
}

/* --threads T > 1: iqs's own team of T threads runs each classification
 * (iqs_classify_tensor_parallel); OpenBLAS then keeps one thread. */
static iqs_executor *g_exec;

static void *alloc_ws(const iqs_model *m, size_t *size)
{
    *size = g_exec ? iqs_workspace_size_parallel(m, g_exec->width)
                   : iqs_workspace_size(m);
    size_t sz = (*size + 63) / 64 * 64;
    void *ws = aligned_alloc(64, sz);
    if (!ws)
        die("cannot allocate the workspace%s", "");
    return ws;
}

static iqs_model *open_model(const char *path, unsigned flags)
{
    iqs_model *m = NULL;
    iqs_diag diag;
    iqs_status st = iqs_model_open(path, flags, &m, &diag);
    if (st != IQS_OK) {
        fprintf(stderr, "bench_net: %s: %s: %s\n", path, iqs_strerror(st), diag.msg);
        exit(2);
    }
    return m;
}

static double max_abs_diff(const float *a, const float *b, int n)
{
    double d = 0.0;
    for (int i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]);
        if (e > d || isnan(e))
            d = isnan(e) ? INFINITY : e;
    }
    return d;
}

static void run_once(const iqs_model *m, const float *x, void *ws, size_t wsz,
                     iqs_result *r, uint64_t *prof)
{
    iqs_status st = g_exec && !prof
                        ? iqs_classify_tensor_parallel(m, x, g_exec, ws, wsz, r)
                        : iqs_classify_tensor(m, x, ws, wsz, r, prof);
    if (st != IQS_OK)
        die("classify failed: %s", iqs_strerror(st));
}

/* ---------------------------------------------------- layer kinds, blocks */

enum {
    K_C1x1, K_C1x1_RES, K_C3x3, K_C1xN, K_CSTRIDED, K_COTHER, K_MAXPOOL,
    K_AVGPOOL, K_CONCAT, K_GAP, K_DENSE, K_COUNT
};
static const char *const kind_name[K_COUNT] = {
    "conv 1x1", "conv 1x1 residual", "conv 3x3 s1", "conv 1xN/Nx1",
    "conv strided", "conv other (5x5)", "maxpool", "avgpool", "concat",
    "global avg pool", "dense+softmax"
};

static int layer_kind(const iqs_net_layer *L)
{
    const iqsw_layer *l = &L->l;
    switch (l->op) {
    case IQSW_OP_CONV:
        if (l->sh > 1 || l->sw > 1)
            return K_CSTRIDED;
        if (l->kh == 1 && l->kw == 1)
            return l->n_in == 2 ? K_C1x1_RES : K_C1x1;
        if (l->kh == 3 && l->kw == 3)
            return K_C3x3;
        if (l->kh == 1 || l->kw == 1)
            return K_C1xN;
        return K_COTHER;
    case IQSW_OP_MAXPOOL: return K_MAXPOOL;
    case IQSW_OP_AVGPOOL: return K_AVGPOOL;
    case IQSW_OP_CONCAT: return K_CONCAT;
    case IQSW_OP_GAP: return K_GAP;
    default: return K_DENSE;
    }
}

static uint64_t layer_macs(const iqs_net *net, const iqs_net_layer *L)
{
    const iqs_net_layer *A = &net->layers[L->l.in[0]];
    if (L->l.op == IQSW_OP_CONV)
        return (uint64_t)L->c * L->h * L->w_ * A->c * L->l.kh * L->l.kw;
    if (L->l.op == IQSW_OP_DENSE)
        return (uint64_t)L->c * A->c;
    return 0;
}

static uint64_t total_macs(const iqs_net *net)
{
    uint64_t s = 0;
    for (uint32_t i = 1; i < net->n; i++)
        s += layer_macs(net, &net->layers[i]);
    return s;
}

#define MAX_BLOCKS 24
typedef struct blocks {
    int n;
    char name[MAX_BLOCKS][24];
    int *of_layer; /* block index of each layer */
} blocks;

static int block_id(blocks *b, const char *name)
{
    for (int i = 0; i < b->n; i++)
        if (strcmp(b->name[i], name) == 0)
            return i;
    if (b->n == MAX_BLOCKS)
        return b->n - 1;
    snprintf(b->name[b->n], sizeof b->name[0], "%s", name);
    return b->n++;
}

/*
 * Blocks from the graph structure alone (layer names depend on the
 * converter and the TF style). Layer i is a cut point when no later layer
 * reads anything older than i: in canonical order the output of every
 * block (and every stem layer) is one. Each segment between cut points is
 * named by the op that closes it: a plain concat opens the next "mixed"
 * stage, a residual conv belongs to the block35/17/8 run after it.
 */
static void find_blocks(const iqs_model *m, blocks *b)
{
    static const char *const irv2_mixed[] = {"mixed_5b", "mixed_6a", "mixed_7a"};
    static const char *const irv2_res[] = {"block35", "block17", "block8"};
    const iqs_net *net = &m->net;
    const uint32_t n = net->n;
    const int irv2 = m->view.h.arch == IQSW_ARCH_INCEPTION_RESNET_V2;
    uint32_t *sufmin = malloc((size_t)(n + 1) * sizeof *sufmin);
    b->of_layer = malloc((size_t)n * sizeof *b->of_layer);
    if (!sufmin || !b->of_layer)
        die("out of memory%s", "");
    b->n = 0;
    sufmin[n] = UINT32_MAX;
    for (uint32_t j = n; j-- > 0;) {
        uint32_t mi = sufmin[j + 1];
        /* sufmin[j] = min input id of layers >= j, used for "after i" */
        const iqsw_layer *l = &net->layers[j].l;
        for (uint32_t k = 0; k < l->n_in; k++)
            if (l->in[k] < mi)
                mi = l->in[k];
        sufmin[j] = mi;
    }
    int concats = 0, seen_gap = 0;
    uint32_t start = 1;
    b->of_layer[0] = block_id(b, "input");
    for (uint32_t i = 1; i < n; i++) {
        if (sufmin[i + 1] < i)
            continue; /* not a cut point: the segment goes on */
        const iqsw_layer *l = &net->layers[i].l;
        char name[24];
        if (seen_gap || l->op == IQSW_OP_GAP || l->op == IQSW_OP_DENSE) {
            seen_gap = 1;
            snprintf(name, sizeof name, "head");
        } else if (l->op == IQSW_OP_CONCAT) {
            concats++;
            if (irv2 && concats <= 3)
                snprintf(name, sizeof name, "%s", irv2_mixed[concats - 1]);
            else
                snprintf(name, sizeof name, "mixed%d", concats - 1);
        } else if (l->op == IQSW_OP_CONV && l->n_in == 2) {
            if (irv2 && concats >= 1 && concats <= 3)
                snprintf(name, sizeof name, "%s", irv2_res[concats - 1]);
            else
                snprintf(name, sizeof name, "residual%d", concats);
        } else if (concats == 0) {
            snprintf(name, sizeof name, "stem");
        } else {
            snprintf(name, sizeof name, irv2 ? "conv_7b" : "post%d", concats);
        }
        int id = block_id(b, name);
        for (uint32_t k = start; k <= i; k++)
            b->of_layer[k] = id;
        start = i + 1;
    }
    free(sufmin);
}

/* ------------------------------------------------------------ profiling */

static int cmp_u64(const void *a, const void *b)
{
    const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void profile(const iqs_model *m, const float *x, void *ws, size_t wsz, int rounds)
{
    const iqs_net *net = &m->net;
    const uint32_t n = net->n;
    uint64_t *prof = calloc((size_t)n * (size_t)rounds, sizeof *prof);
    uint64_t *col = malloc((size_t)rounds * sizeof *col);
    double *ns = calloc(n, sizeof *ns);
    if (!prof || !col || !ns)
        die("out of memory%s", "");
    iqs_result r;
    double wall0 = now_ms();
    for (int k = 0; k < rounds; k++)
        run_once(m, x, ws, wsz, &r, prof + (size_t)k * n);
    const double wall = (now_ms() - wall0) / rounds;
    /* per layer: median over rounds */
    double total = 0.0;
    for (uint32_t i = 1; i < n; i++) {
        for (int k = 0; k < rounds; k++)
            col[k] = prof[(size_t)k * n + i];
        qsort(col, (size_t)rounds, sizeof *col, cmp_u64);
        ns[i] = (double)col[(rounds - 1) / 2]; /* lower median */
        total += ns[i];
    }

    double kt[K_COUNT] = {0};
    uint64_t kmac[K_COUNT] = {0};
    int kn[K_COUNT] = {0};
    blocks b;
    find_blocks(m, &b);
    double bt[MAX_BLOCKS] = {0};
    uint64_t bmac[MAX_BLOCKS] = {0};
    int bn[MAX_BLOCKS] = {0};
    uint64_t macs = 0;
    for (uint32_t i = 1; i < n; i++) {
        const iqs_net_layer *L = &net->layers[i];
        const int k = layer_kind(L);
        const uint64_t mac = layer_macs(net, L);
        kt[k] += ns[i];
        kmac[k] += mac;
        kn[k]++;
        bt[b.of_layer[i]] += ns[i];
        bmac[b.of_layer[i]] += mac;
        bn[b.of_layer[i]]++;
        macs += mac;
    }

    printf("\nprofile: %u layers, median of %d rounds per layer; sum of layers %.2f ms, "
           "wall per round %.2f ms; %.3f GMAC -> %.1f GFLOPS effective\n",
           n - 1, rounds, total * 1e-6, wall, (double)macs * 1e-9,
           2.0 * (double)macs / (total * 1e-9) * 1e-9);
    printf("\n%-20s %6s %10s %6s %9s %8s\n", "layer kind", "layers", "ms", "%", "GMAC", "GFLOPS");
    for (int k = 0; k < K_COUNT; k++) {
        if (!kn[k])
            continue;
        printf("%-20s %6d %10.3f %6.1f %9.3f %8.1f\n", kind_name[k], kn[k], kt[k] * 1e-6,
               100.0 * kt[k] / total, (double)kmac[k] * 1e-9,
               kmac[k] ? 2.0 * (double)kmac[k] / kt[k] : 0.0);
    }
    printf("\n%-20s %6s %10s %6s %9s %8s\n", "block", "layers", "ms", "%", "GMAC", "GFLOPS");
    for (int k = 1; k < b.n; k++)
        printf("%-20s %6d %10.3f %6.1f %9.3f %8.1f\n", b.name[k], bn[k], bt[k] * 1e-6,
               100.0 * bt[k] / total, (double)bmac[k] * 1e-9,
               bmac[k] ? 2.0 * (double)bmac[k] / bt[k] : 0.0);

    printf("\nper GEMM layer (conv/dense): id block kind name  IC IHxIW -> OC OHxOW  "
           "KHxKW/S  M N K  ms GFLOPS\n");
    for (uint32_t i = 1; i < n; i++) {
        const iqs_net_layer *L = &net->layers[i];
        if (L->l.op != IQSW_OP_CONV && L->l.op != IQSW_OP_DENSE)
            continue;
        const iqs_net_layer *A = &net->layers[L->l.in[0]];
        const uint64_t mac = layer_macs(net, L);
        printf("L%-4u %-9s %-18s %-34s %4u %3ux%-3u -> %4u %3ux%-3u %ux%u/%u  "
               "%4u %5u %5u  %8.3f %6.1f\n",
               i, b.name[b.of_layer[i]], kind_name[layer_kind(L)],
               iqs_iqsw_string(&m->view, L->l.name), A->c, A->h, A->w_, L->c, L->h, L->w_,
               L->l.kh, L->l.kw, L->l.sh, L->c, L->h * L->w_,
               L->l.op == IQSW_OP_DENSE ? A->c : A->c * L->l.kh * L->l.kw,
               ns[i] * 1e-6, 2.0 * (double)mac / ns[i]);
    }
    /* machine-readable summary for run.py */
    printf("\nPROFILE_JSON {\"layers_ms\": %.4f, \"wall_ms\": %.4f, \"gmac\": %.5f, \"kinds\": [",
           total * 1e-6, wall, (double)macs * 1e-9);
    int first = 1;
    for (int k = 0; k < K_COUNT; k++) {
        if (!kn[k])
            continue;
        printf("%s{\"kind\": \"%s\", \"layers\": %d, \"ms\": %.4f, \"gmac\": %.5f}", first ? "" : ", ",
               kind_name[k], kn[k], kt[k] * 1e-6, (double)kmac[k] * 1e-9);
        first = 0;
    }
    printf("], \"blocks\": [");
    for (int k = 1; k < b.n; k++)
        printf("%s{\"block\": \"%s\", \"layers\": %d, \"ms\": %.4f, \"gmac\": %.5f}",
               k > 1 ? ", " : "", b.name[k], bn[k], bt[k] * 1e-6, (double)bmac[k] * 1e-9);
    printf("]}\n");
    free(b.of_layer);
    free(prof);
    free(col);
    free(ns);
}

/* --------------------------------------------------------------- sgemm */

#if IQS_BLAS_OPENBLAS
/* Best-of-reps GFLOPS of C = A*B, all n x n, row-major. */
static double sgemm_gflops(int n, int threads, int reps)
{
    openblas_set_num_threads(threads);
    const size_t nn = (size_t)n * (size_t)n;
    float *a = aligned_alloc(64, nn * sizeof *a), *bm = aligned_alloc(64, nn * sizeof *bm);
    float *c = aligned_alloc(64, nn * sizeof *c);
    if (!a || !bm || !c)
        die("out of memory%s", "");
    for (size_t i = 0; i < nn; i++) {
        a[i] = (float)((i * 7u) % 13u) * 0.01f;
        bm[i] = (float)((i * 5u) % 11u) * 0.01f;
    }
    double best = 1e30;
    for (int r = 0; r < reps + 1; r++) {
        double t0 = now_ms();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, bm, n,
                    0.0f, c, n);
        double t = now_ms() - t0;
        if (r > 0 && t < best) /* round 0 warms up threads and pages */
            best = t;
    }
    free(a);
    free(bm);
    free(c);
    return 2.0 * (double)n * n * n / (best * 1e-3) * 1e-9;
}
#endif

/* --------------------------------------------------------------- folder */

typedef struct folder_job {
    const iqs_model *m;
    char **paths;
    float **inputs; /* NULL entries: image files, decoded per call */
    float (*ref)[IQS_MAX_CLASSES];
    int *has_ref;
    int n_inputs, total;
    atomic_int next;
    atomic_int bad;
    double worst;
    pthread_mutex_t mu;
} folder_job;

static int is_tensor(const char *path)
{
    const size_t n = strlen(path);
    return n >= 4 && strcmp(path + n - 4, ".f32") == 0;
}

static void *folder_worker(void *arg)
{
    folder_job *j = arg;
    size_t wsz;
    void *ws = alloc_ws(j->m, &wsz);
    double worst = 0.0;
    for (;;) {
        int k = atomic_fetch_add(&j->next, 1);
        if (k >= j->total)
            break;
        const int i = k % j->n_inputs;
        iqs_result r;
        iqs_status st;
        if (j->inputs[i])
            st = iqs_classify_tensor(j->m, j->inputs[i], ws, wsz, &r, NULL);
        else /* an image file: decode + EXIF + resize + network */
            st = iqs_classify_file(j->m, j->paths[i], NULL, ws, wsz, &r, NULL);
        if (st != IQS_OK) {
            atomic_fetch_add(&j->bad, 1);
            continue;
        }
        if (j->has_ref[i]) {
            double d = max_abs_diff(r.probs, j->ref[i], r.num_classes);
            if (d > worst)
                worst = d;
        }
    }
    pthread_mutex_lock(&j->mu);
    if (worst > j->worst)
        j->worst = worst;
    pthread_mutex_unlock(&j->mu);
    free(ws);
    return NULL;
}

/* ----------------------------------------------------------------- main */

static void usage(void)
{
    fprintf(stderr,
        "usage: bench_net --model M.iqsw --input X.f32 [--probs P.probs] [--rounds R]\n"
        "                 [--threads T] [--open-reps N] [--profile] [--tol 1e-4] [--json]\n"
        "       bench_net --model M.iqsw --input X.f32 [--probs P] --threads T --serve\n"
        "       bench_net --model M.iqsw --folder [-j N] [--repeat K] X.f32|IMG...\n"
        "       bench_net --sgemm [--size N]\n"
        "  Latency of iqs_classify_tensor on a preprocessed CHW float32 tensor\n"
        "  (tests/ref/opencv_ref.py writes them), median model open time with and\n"
        "  without IQS_OPEN_SKIP_DATA_CRC, output check against a .probs file, peak RSS.\n"
        "  --profile: time per layer kind, per block, GFLOPS per GEMM layer.\n"
        "  --serve: after open+check, reads 'run K' / 'quit' lines on stdin and\n"
        "  answers one JSON line each (used by bench/run.py).\n"
        "  --folder: throughput of N worker threads sharing the model (BLAS 1 thread),\n"
        "  each tensor's output checked against X.probs when present; other files are\n"
        "  image files run through iqs_classify_file (decode, EXIF, resize, network).\n"
        "  --sgemm: GFLOPS of a square cblas_sgemm (default 2048) with 1 and 2 threads.\n");
    exit(2);
}

static void print_probs_json(const iqs_result *r)
{
    printf("[");
    for (int i = 0; i < r->num_classes; i++)
        printf("%s%.9g", i ? ", " : "", (double)r->probs[i]);
    printf("]");
}

int main(int argc, char **argv)
{
    const char *model = NULL, *input = NULL, *probs = NULL;
    int rounds = 10, threads = 1, open_reps = 7, do_profile = 0, serve = 0, json = 0;
    int folder = 0, jobs = 2, repeat = 1, sgemm = 0, sgemm_n = 2048;
    double tol = 1e-4;
    int first_file = argc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const int more = i + 1 < argc;
        if (!strcmp(a, "--model") && more) model = argv[++i];
        else if (!strcmp(a, "--input") && more) input = argv[++i];
        else if (!strcmp(a, "--probs") && more) probs = argv[++i];
        else if (!strcmp(a, "--rounds") && more) rounds = atoi(argv[++i]);
        else if (!strcmp(a, "--threads") && more) threads = atoi(argv[++i]);
        else if (!strcmp(a, "--open-reps") && more) open_reps = atoi(argv[++i]);
        else if (!strcmp(a, "--tol") && more) tol = atof(argv[++i]);
        else if (!strcmp(a, "-j") && more) jobs = atoi(argv[++i]);
        else if (!strcmp(a, "--repeat") && more) repeat = atoi(argv[++i]);
        else if (!strcmp(a, "--size") && more) sgemm_n = atoi(argv[++i]);
        else if (!strcmp(a, "--profile")) do_profile = 1;
        else if (!strcmp(a, "--serve")) serve = 1;
        else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--folder")) folder = 1;
        else if (!strcmp(a, "--sgemm")) sgemm = 1;
        else if (a[0] != '-' && folder) { first_file = i; break; }
        else usage();
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (rounds < 1 || threads < 1 || open_reps < 1 || jobs < 1 || repeat < 1)
        usage();

    if (sgemm) {
#if IQS_BLAS_OPENBLAS
        const double g1 = sgemm_gflops(sgemm_n, 1, 10);
        const double g2 = sgemm_gflops(sgemm_n, 2, 10);
        printf("sgemm %dx%dx%d (OpenBLAS core %s): 1 thread %.1f GFLOPS, 2 threads %.1f GFLOPS\n",
               sgemm_n, sgemm_n, sgemm_n, openblas_get_corename(), g1, g2);
        printf("SGEMM_JSON {\"n\": %d, \"core\": \"%s\", \"gflops_1t\": %.2f, \"gflops_2t\": %.2f}\n",
               sgemm_n, openblas_get_corename(), g1, g2);
        return 0;
#else
        die("built without OpenBLAS%s", "");
#endif
    }
    if (!model)
        usage();

    if (folder) {
        if (first_file >= argc)
            usage();
        openblas_set_num_threads(1); /* parallelism across images instead */
        double t0 = now_ms();
        iqs_model *m = open_model(model, IQS_OPEN_SKIP_DATA_CRC);
        const double open_ms = now_ms() - t0;
        const size_t in_n = (size_t)3 * m->in_h * m->in_w;
        folder_job j;
        memset(&j, 0, sizeof j);
        j.m = m;
        j.n_inputs = argc - first_file;
        j.total = j.n_inputs * repeat;
        j.paths = argv + first_file;
        j.inputs = calloc((size_t)j.n_inputs, sizeof *j.inputs);
        j.ref = calloc((size_t)j.n_inputs, sizeof *j.ref);
        j.has_ref = calloc((size_t)j.n_inputs, sizeof *j.has_ref);
        pthread_t *tid = calloc((size_t)jobs, sizeof *tid);
        if (!j.inputs || !j.ref || !j.has_ref || !tid)
            die("out of memory%s", "");
        int nref = 0;
        for (int i = 0; i < j.n_inputs; i++) {
            char pp[4096];
            if (!is_tensor(argv[first_file + i]))
                continue; /* decoded by the workers, no reference */
            j.inputs[i] = read_f32(argv[first_file + i], in_n);
            probs_for(argv[first_file + i], pp, sizeof pp);
            if (pp[0] && read_probs(pp, j.ref[i], IQS_MAX_CLASSES) > 0) {
                j.has_ref[i] = 1;
                nref++;
            }
        }
        {
            /* warm-up outside the clock: faults the weights into this
             * process' page tables, as the other engines' warm-up does */
            size_t wsz;
            void *ws = alloc_ws(m, &wsz);
            iqs_result r;
            if (j.inputs[0])
                run_once(m, j.inputs[0], ws, wsz, &r, NULL);
            else if (iqs_classify_file(m, j.paths[0], NULL, ws, wsz, &r, NULL) != IQS_OK)
                die("cannot classify %s", j.paths[0]);
            free(ws);
        }
        pthread_mutex_init(&j.mu, NULL);
        atomic_init(&j.next, 0);
        atomic_init(&j.bad, 0);
        t0 = now_ms();
        for (int k = 0; k < jobs; k++)
            if (pthread_create(&tid[k], NULL, folder_worker, &j) != 0)
                die("pthread_create failed%s", "");
        for (int k = 0; k < jobs; k++)
            pthread_join(tid[k], NULL);
        const double wall = now_ms() - t0;
        const double ips = j.total / (wall * 1e-3);
        printf("folder: %d images (%d distinct, %d with reference), %d workers: %.2f s, "
               "%.2f images/s; open %.2f ms; worst |diff| %.3g; peak RSS %.1f MiB\n",
               j.total, j.n_inputs, nref, jobs, wall * 1e-3, ips, open_ms, j.worst,
               peak_rss_kb() / 1024.0);
        printf("FOLDER_JSON {\"images\": %d, \"workers\": %d, \"seconds\": %.4f, \"ips\": %.4f, "
               "\"worst_diff\": %.6g, \"failed\": %d, \"rss_kb\": %ld}\n",
               j.total, jobs, wall * 1e-3, ips, j.worst, atomic_load(&j.bad), peak_rss_kb());
        const int ok = atomic_load(&j.bad) == 0 && j.worst <= tol;
        iqs_model_close(m);
        return ok ? 0 : 1;
    }

    if (!input)
        usage();
    iqs_threads *team = NULL;
    iqs_executor exec;
    if (threads > 1) {
        if (iqs_threads_create(threads, &team) != IQS_OK)
            die("cannot start the threads%s", "");
        iqs_threads_executor(team, &exec);
        g_exec = &exec;
        openblas_set_num_threads(1);
    } else {
        openblas_set_num_threads(1);
    }

    /* Open time: the first open may fault the file into the page cache;
     * the median of the later ones is the warm-cache cost. */
    double t_crc[64], t_skip[64];
    if (open_reps > 64)
        open_reps = 64;
    iqs_model *m = NULL;
    for (int k = 0; k < open_reps; k++) {
        double t0 = now_ms();
        iqs_model *x = open_model(model, 0);
        t_crc[k] = now_ms() - t0;
        iqs_model_close(x);
        t0 = now_ms();
        x = open_model(model, IQS_OPEN_SKIP_DATA_CRC);
        t_skip[k] = now_ms() - t0;
        iqs_model_close(x);
    }
    const double open_crc = median(t_crc, open_reps), open_skip = median(t_skip, open_reps);
    m = open_model(model, 0);
    iqs_model_info info;
    if (iqs_model_get_info(m, &info) != IQS_OK)
        die("iqs_model_get_info failed%s", "");
    const size_t in_n = (size_t)3 * m->in_h * m->in_w;
    float *x = read_f32(input, in_n);
    size_t wsz;
    void *ws = alloc_ws(m, &wsz);

    iqs_result r;
    double t0 = now_ms();
    run_once(m, x, ws, wsz, &r, NULL);
    const double first_ms = now_ms() - t0;
    double diff = -1.0;
    if (probs) {
        float ref[IQS_MAX_CLASSES];
        int n = read_probs(probs, ref, IQS_MAX_CLASSES);
        diff = n == r.num_classes ? max_abs_diff(r.probs, ref, n) : INFINITY;
    }
    const int ok = diff <= tol;

    if (serve) {
        printf("{\"engine\": \"iqs\", \"open_ms\": %.4f, \"open_skip_crc_ms\": %.4f, "
               "\"first_ms\": %.4f, \"workspace\": %zu, \"weights\": %llu, \"gmac\": %.5f, "
               "\"probs\": ",
               open_crc, open_skip, first_ms, wsz, (unsigned long long)info.weights_bytes,
               (double)total_macs(&m->net) * 1e-9);
        print_probs_json(&r);
        printf(", \"rss_kb\": %ld}\n", peak_rss_kb());
        char line[256];
        double *lat = NULL;
        while (fgets(line, sizeof line, stdin)) {
            int k;
            if (sscanf(line, "run %d", &k) == 1 && k > 0) {
                double *nl = realloc(lat, (size_t)k * sizeof *lat);
                if (!nl)
                    die("out of memory%s", "");
                lat = nl;
                for (int i = 0; i < k; i++) {
                    double s = now_ms();
                    run_once(m, x, ws, wsz, &r, NULL);
                    lat[i] = now_ms() - s;
                }
                printf("{\"lat_ms\": [");
                for (int i = 0; i < k; i++)
                    printf("%s%.4f", i ? ", " : "", lat[i]);
                printf("]}\n");
            } else {
                break; /* "quit" or anything else */
            }
        }
        printf("{\"rss_kb\": %ld}\n", peak_rss_kb());
        free(lat);
        free(ws);
        free(x);
        iqs_model_close(m);
        iqs_threads_destroy(team);
        return 0;
    }

    printf("model %s: %s %dx%d, %d classes, %d layers, weights %.1f MiB, workspace %.1f MiB\n",
           model, info.architecture, info.input_height, info.input_width, info.num_classes,
           info.num_layers, info.weights_bytes / 1048576.0, wsz / 1048576.0);
    printf("open (median of %d, mmap): %.3f ms with data CRC, %.3f ms with IQS_OPEN_SKIP_DATA_CRC\n",
           open_reps, open_crc, open_skip);
    printf("threads: %d (iqs_threads executor when > 1; OpenBLAS 1)\n", threads);
    printf("first classify: %.2f ms\n", first_ms);
    if (probs)
        printf("output vs %s: max |diff| %.3g (tolerance %.0e) %s\n", probs, diff, tol,
               ok ? "OK" : "MISMATCH");
    double *lat = malloc((size_t)rounds * sizeof *lat);
    if (!lat)
        die("out of memory%s", "");
    for (int k = 0; k < rounds; k++) {
        double s = now_ms();
        run_once(m, x, ws, wsz, &r, NULL);
        lat[k] = now_ms() - s;
        printf("round %d: %.2f ms\n", k + 1, lat[k]);
    }
    const double med = median(lat, rounds), p90 = percentile(lat, rounds, 90.0);
    printf("latency: median %.2f ms, p90 %.2f ms, min %.2f ms over %d rounds\n", med, p90,
           percentile(lat, rounds, 0.0), rounds);
    printf("peak RSS: %.1f MiB (weights file %.1f MiB)\n", peak_rss_kb() / 1024.0,
           info.weights_bytes / 1048576.0);
    if (json)
        printf("NET_JSON {\"median_ms\": %.4f, \"p90_ms\": %.4f, \"open_ms\": %.4f, "
               "\"open_skip_crc_ms\": %.4f, \"diff\": %.6g, \"rss_kb\": %ld}\n",
               med, p90, open_crc, open_skip, diff, peak_rss_kb());
    if (do_profile)
        profile(m, x, ws, wsz, rounds);
    free(lat);
    free(ws);
    free(x);
    iqs_model_close(m);
    iqs_threads_destroy(team);
    return probs && !ok ? 1 : 0;
}
