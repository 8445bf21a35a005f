/*
 * Pooling micro-benchmark (bench, not part of the library or of make test):
 * milliseconds per call of iqs_maxpool / iqs_avgpool next to their
 * references iqs_maxpool_ref / iqs_avgpool_ref, on every pooling shape of
 * InceptionResNetV2 (224 and 299) and InceptionV3 (299), one image, CHW
 * float32. Times are the calling thread's CPU time (robust on the shared
 * 2-core machine), the median of several rounds, each round repeating the
 * call for a few milliseconds. Options: --quick (one short round per
 * kernel, for CI), --filter STR (only shapes whose name contains STR).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/ops.h"

typedef struct shape {
    const char *name;
    int is_max;
    int c, h, w, k, s, same; /* same: TF SAME pads, else VALID */
} shape;

/* Every pooling layer of the two networks (distinct shapes once). */
static const shape shapes[] = {
    {"irv2-224 stem max1", 1, 64, 109, 109, 3, 2, 0},
    {"irv2-224 stem max2", 1, 192, 52, 52, 3, 2, 0},
    {"irv2-224 mixed_6a max", 1, 320, 25, 25, 3, 2, 0},
    {"irv2-224 mixed_7a max", 1, 1088, 12, 12, 3, 2, 0},
    {"irv2-224 mixed_5b avg", 0, 192, 25, 25, 3, 1, 1},
    {"299 stem max1", 1, 64, 147, 147, 3, 2, 0},
    {"299 stem max2", 1, 192, 71, 71, 3, 2, 0},
    {"irv2-299 mixed_6a max", 1, 320, 35, 35, 3, 2, 0},
    {"irv2-299 mixed_7a max", 1, 1088, 17, 17, 3, 2, 0},
    {"irv2-299 mixed_5b avg", 0, 192, 35, 35, 3, 1, 1},
    {"v3-299 mixed3 max", 1, 288, 35, 35, 3, 2, 0},
    {"v3-299 mixed8 max", 1, 768, 17, 17, 3, 2, 0},
    {"v3-299 mixed1 avg", 0, 256, 35, 35, 3, 1, 1},
    {"v3-299 mixed2 avg", 0, 288, 35, 35, 3, 1, 1},
    {"v3-299 mixed4-7 avg", 0, 768, 17, 17, 3, 1, 1},
    {"v3-299 mixed9 avg", 0, 1280, 8, 8, 3, 1, 1},
    {"v3-299 mixed10 avg", 0, 2048, 8, 8, 3, 1, 1},
};

static int quick;

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef void (*pool_fn)(const iqs_pool_desc *, const float *, float *);

/* Median over rounds of the seconds per call; a round repeats the call
 * until `round_s` of CPU time has passed. */
static double median_time(pool_fn fn, const iqs_pool_desc *d,
                          const float *in, float *out, double round_s)
{
    enum { ROUNDS = 9 };
    double t[ROUNDS];
    const int rounds = quick ? 1 : ROUNDS;
    fn(d, in, out); /* warm the caches */
    for (int r = 0; r < rounds; r++) {
        int n = 0;
        double t0 = cpu_now(), dt;
        do {
            fn(d, in, out);
            n++;
            dt = cpu_now() - t0;
        } while (!quick && dt < round_s);
        t[r] = dt / n;
    }
    qsort(t, (size_t)rounds, sizeof t[0], cmp_double);
    return t[rounds / 2];
}

static float *falloc(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes ? bytes : 64);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    /* post-ReLU-like data: non-negative with many zeros */
    for (size_t i = 0; i < n; i++) {
        const float v = (float)((i * 2654435761u) % 1000u) * 1e-3f - 0.3f;
        p[i] = v > 0.0f ? v : 0.0f;
    }
    return p;
}

int main(int argc, char **argv)
{
    const char *filter = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--filter") && i + 1 < argc)
            filter = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--quick] [--filter STR]\n", argv[0]);
            return 2;
        }
    }
    printf("%-24s %-18s %10s %10s %8s\n", "layer", "shape", "new ms",
           "ref ms", "ref/new");
    double sum_new[2] = {0, 0}, sum_ref[2] = {0, 0};
    int bad = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const shape *s = &shapes[i];
        if (filter && !strstr(s->name, filter))
            continue;
        iqs_pool_desc d = {s->c, s->h, s->w, 0, 0, s->k, s->k, s->s, s->s,
                           0, 0, 0, 0};
        if (s->same) {
            /* TF SAME: out = ceil(in / s), total pad split low-first */
            const int oh = (s->h + s->s - 1) / s->s;
            const int ow = (s->w + s->s - 1) / s->s;
            int ph = (oh - 1) * s->s + s->k - s->h;
            int pw = (ow - 1) * s->s + s->k - s->w;
            ph = ph > 0 ? ph : 0;
            pw = pw > 0 ? pw : 0;
            d.pt = ph / 2;
            d.pb = ph - d.pt;
            d.pl = pw / 2;
            d.pr = pw - d.pl;
        }
        d.oh = (d.ih + d.pt + d.pb - d.kh) / d.sh + 1;
        d.ow = (d.iw + d.pl + d.pr - d.kw) / d.sw + 1;
        if (!iqs_pool_check(&d)) {
            fprintf(stderr, "%s: bad shape\n", s->name);
            return 1;
        }
        const size_t n_in = (size_t)d.c * (size_t)d.ih * (size_t)d.iw;
        const size_t n_out = (size_t)d.c * (size_t)d.oh * (size_t)d.ow;
        float *in = falloc(n_in), *a = falloc(n_out), *b = falloc(n_out);
        const pool_fn fast = s->is_max ? iqs_maxpool : iqs_avgpool;
        const pool_fn ref = s->is_max ? iqs_maxpool_ref : iqs_avgpool_ref;
        const double tn = median_time(fast, &d, in, a, 0.01);
        const double tr = median_time(ref, &d, in, b, 0.02);
        /* a quick sanity check, so a broken kernel is not timed silently */
        for (size_t j = 0; j < n_out; j++) {
            const float e = a[j] - b[j];
            if (!(e <= 1e-5f && e >= -1e-5f)) {
                fprintf(stderr, "%s: mismatch at %zu: %g vs %g\n", s->name,
                        j, (double)a[j], (double)b[j]);
                bad = 1;
                break;
            }
        }
        char dims[32];
        snprintf(dims, sizeof dims, "%dx%dx%d>%dx%d", d.c, d.ih, d.iw, d.oh,
                 d.ow);
        printf("%-24s %-18s %10.4f %10.4f %7.1fx\n", s->name, dims, tn * 1e3,
               tr * 1e3, tr / tn);
        if (!strncmp(s->name, "irv2-224", 8)) {
            sum_new[s->is_max ? 0 : 1] += tn;
            sum_ref[s->is_max ? 0 : 1] += tr;
        }
        free(in);
        free(a);
        free(b);
    }
    if (sum_new[0] > 0)
        printf("irv2-224 total: 4 maxpools %.4f ms (ref %.4f), avgpool %.4f "
               "ms (ref %.4f)\n",
               sum_new[0] * 1e3, sum_ref[0] * 1e3, sum_new[1] * 1e3,
               sum_ref[1] * 1e3);
    return bad;
}
