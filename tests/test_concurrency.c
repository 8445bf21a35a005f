/*
 * Concurrency (issue 7): 8 threads share one model, each with its own
 * workspace, and run classify + assess calls on different images at the
 * same time; every result must be bit-identical to a single-threaded run
 * of the same call. Built and run under ThreadSanitizer by `make tsan`.
 *
 * Model A: irv2_any_tf2_c3.iqsw opened once at a small input side
 * (IQS_CONC_SIDE, default 75) so each call is short; model B:
 * irv2_224_tf2_c3.iqsw at 224, shared too, for IQS_CONC_BIG calls per
 * thread (default 1). IQS_CONC_CALLS (default 8) classify + assess calls
 * per thread; IQS_CONC_CALLS=200 is the full run of the issue. Images: the
 * shared test photos, decoded once and read by all threads; thread t's
 * call i uses photo (7 t + i) mod n, so neighbours work on different
 * pictures at any moment. IQS_CONC_IMAGES caps the photos used (default:
 * all). The assess calls use a 512 px preview (IQS_CONC_PREVIEW; the
 * default profile has 1024) to keep the run short; the code paths are the
 * same.
 *
 * OpenBLAS' own thread count is left alone (the library never sets it);
 * `make tsan` runs with OPENBLAS_NUM_THREADS=1 because OpenBLAS is not
 * TSan-instrumented (docs/security.md).
 */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "iqs/iqs.h"
#include "testutil.h"

#define THREADS 8
#define MAX_IMAGES 32

static iqs_image images[MAX_IMAGES];
static int n_images;
static iqs_model *model_a, *model_b;
static iqs_result ref_a[MAX_IMAGES], ref_b[MAX_IMAGES];
static iqs_assessment ref_ass[MAX_IMAGES];
static int calls_per_thread, big_per_thread;
static iqs_assess_options assess_opt;

static int env_int(const char *name, int dflt)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : dflt;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_images(void)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/testdata/photos", tu_shared_dir());
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot list %s", dir);
    char *names[MAX_IMAGES];
    int n = 0, cap = env_int("IQS_CONC_IMAGES", MAX_IMAGES);
    struct dirent *e;
    if (cap < THREADS || cap > MAX_IMAGES)
        cap = MAX_IMAGES;
    while ((e = readdir(d)) && n < MAX_IMAGES) {
        size_t l = strlen(e->d_name);
        if (l > 4 && !strcmp(e->d_name + l - 4, ".jpg"))
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_name);
    for (int i = cap; i < n; i++)
        free(names[i]);
    if (n > cap)
        n = cap;
    for (int i = 0; i < n; i++) {
        iqs_diag dg;
        if (iqs_image_load(tu_path(dir, names[i]), NULL, &images[n_images], &dg) != IQS_OK)
            fail_msg("%s: %s", names[i], dg.msg);
        n_images++;
        free(names[i]);
    }
    assert_true(n_images >= THREADS);
}

static size_t max_assess_ws(void)
{
    size_t m = 0;
    for (int i = 0; i < n_images; i++) {
        size_t s = iqs_assess_workspace_size(images[i].width, images[i].height, &assess_opt);
        assert_true(s > 0);
        if (s > m)
            m = s;
    }
    return m;
}

static int setup(void **state)
{
    (void)state;
    calls_per_thread = env_int("IQS_CONC_CALLS", 8);
    big_per_thread = env_int("IQS_CONC_BIG", 1);
    const int side = env_int("IQS_CONC_SIDE", 75);
    iqs_assess_options_init(&assess_opt, IQS_PROFILE_DEFAULT);
    assess_opt.preview_max = env_int("IQS_CONC_PREVIEW", 512);
    load_images();
    iqs_diag d;
    iqs_open_options o;
    iqs_open_options_init(&o);
    o.input_size = (unsigned)side;
    const char *pa = tu_path(tu_models_dir(), "irv2_any_tf2_c3.iqsw");
    if (iqs_model_open_ex(pa, &o, &model_a, &d) != IQS_OK)
        fail_msg("%s: %s", pa, d.msg);
    const char *pb = tu_path(tu_models_dir(), "irv2_224_tf2_c3.iqsw");
    if (big_per_thread > 0 && iqs_model_open(pb, 0, &model_b, &d) != IQS_OK)
        fail_msg("%s: %s", pb, d.msg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    iqs_model_close(model_a);
    iqs_model_close(model_b);
    for (int i = 0; i < n_images; i++)
        iqs_image_free(&images[i]);
    return 0;
}

typedef struct worker {
    int id;
    long mismatches;
    long calls;
    char first_error[160];
} worker;

static void note(worker *w, const char *what, int img)
{
    if (w->mismatches++ == 0)
        snprintf(w->first_error, sizeof w->first_error, "thread %d: %s differs on image %d",
                 w->id, what, img);
}

static void *run_worker(void *arg)
{
    worker *w = arg;
    size_t wa = iqs_workspace_size(model_a);
    size_t wb = model_b ? iqs_workspace_size(model_b) : 0;
    size_t ws_sz = wa > wb ? wa : wb;
    size_t as_sz = max_assess_ws();
    void *ws = malloc(ws_sz);
    void *as = malloc(as_sz);
    if (!ws || !as) {
        note(w, "allocation", -1);
        free(ws);
        free(as);
        return NULL;
    }
    for (int i = 0; i < calls_per_thread; i++) {
        const int k = (7 * w->id + i) % n_images;
        iqs_result r;
        iqs_assessment a;
        if (iqs_classify(model_a, &images[k], ws, wa, &r) != IQS_OK ||
            memcmp(&r, &ref_a[k], sizeof r) != 0)
            note(w, "classify", k);
        if (iqs_assess(&images[k], &assess_opt, as, as_sz, &a) != IQS_OK ||
            memcmp(&a, &ref_ass[k], sizeof a) != 0)
            note(w, "assess", k);
        w->calls += 2;
        if (i < big_per_thread && model_b) {
            if (iqs_classify(model_b, &images[k], ws, wb, &r) != IQS_OK ||
                memcmp(&r, &ref_b[k], sizeof r) != 0)
                note(w, "224 classify", k);
            w->calls++;
        }
    }
    free(ws);
    free(as);
    return NULL;
}

static void test_threads_match_single_thread(void **state)
{
    (void)state;
    /* The reference: every call the threads will make, one at a time.
     * Results are zeroed first so that padding bytes compare equal. */
    double t0 = now_s();
    size_t wa = iqs_workspace_size(model_a);
    size_t wb = model_b ? iqs_workspace_size(model_b) : 0;
    void *ws = malloc(wa > wb ? wa : wb);
    size_t as_sz = max_assess_ws();
    void *as = malloc(as_sz);
    assert_non_null(ws);
    assert_non_null(as);
    int need_b[MAX_IMAGES] = {0};
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < big_per_thread && i < calls_per_thread; i++)
            need_b[(7 * t + i) % n_images] = 1;
    for (int k = 0; k < n_images; k++) {
        assert_int_equal(iqs_classify(model_a, &images[k], ws, wa, &ref_a[k]), IQS_OK);
        assert_int_equal(iqs_assess(&images[k], &assess_opt, as, as_sz, &ref_ass[k]), IQS_OK);
        if (need_b[k] && model_b)
            assert_int_equal(iqs_classify(model_b, &images[k], ws, wb, &ref_b[k]), IQS_OK);
    }
    /* The same call twice in one thread gives the same bytes (so any
     * difference below comes from sharing, not from the calls). */
    iqs_result again;
    assert_int_equal(iqs_classify(model_a, &images[0], ws, wa, &again), IQS_OK);
    assert_memory_equal(&again, &ref_a[0], sizeof again);
    free(ws);
    free(as);
    double t1 = now_s();

    pthread_t th[THREADS];
    worker w[THREADS];
    for (int t = 0; t < THREADS; t++) {
        memset(&w[t], 0, sizeof w[t]);
        w[t].id = t;
        assert_int_equal(pthread_create(&th[t], NULL, run_worker, &w[t]), 0);
    }
    long calls = 0, bad = 0;
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        calls += w[t].calls;
        bad += w[t].mismatches;
        if (w[t].mismatches)
            print_error("%s (%ld mismatches)\n", w[t].first_error, w[t].mismatches);
    }
    double t2 = now_s();
    print_message("%d threads x %d classify+assess calls (%d at 224): %ld calls, "
                  "%ld mismatches; reference %.1f s, threaded %.1f s\n",
                  THREADS, calls_per_thread, big_per_thread, calls, bad, t1 - t0, t2 - t1);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_match_single_thread),
    };
    return cmocka_run_group_tests_name("concurrency", tests, setup, teardown);
}
