/*
 * Parallel classification (iqs_classify_parallel, iqs_threads, the
 * per-layer parts of lib/net/forward.c and iqs_conv2d_rows).
 *
 * The oracle is the serial pass: a classification shared by 2..4 threads,
 * or by an executor that runs its tasks one after another in reverse
 * order (the "no concurrency at all" case the API promises to survive),
 * must give the same probabilities bit for bit as iqs_classify on the same
 * pixels, for InceptionResNetV2 and InceptionV3. Line ranges of a
 * convolution computed separately must equal the whole convolution, bit
 * for bit. Argument and workspace errors are checked too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "iqs/iqs.h"
#include "ops/ops.h"
#include "testutil.h"

/* deterministic pseudo-random bytes / floats */
static uint32_t rng(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static float frand(uint32_t *s)
{
    return (float)rng(s) / (float)(1u << 24) * 2.0f - 1.0f;
}

/* a smooth test picture with some texture, w x h RGB */
static uint8_t *picture(int w, int h, uint32_t seed)
{
    uint8_t *p = malloc((size_t)w * h * 3);
    assert_non_null(p);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                p[((size_t)y * w + x) * 3 + c] =
                    (uint8_t)((x * (c + 1) + y * (3 - c)) / 4 + (rng(&seed) & 15));
    return p;
}

static iqs_model *open_model(const char *name)
{
    iqs_model *m = NULL;
    const char *path = tu_path(tu_models_dir(), name);
    if (!tu_exists(path))
        fail_msg("missing %s (tests/models.sh makes it)", path);
    assert_int_equal(iqs_model_open(path, IQS_OPEN_SKIP_DATA_CRC, &m, NULL),
                     IQS_OK);
    return m;
}

/* An executor that runs every task on the calling thread, last first. */
static void run_serial_reverse(void *ctx, int n, iqs_task_fn task, void *arg)
{
    int *calls = ctx;
    for (int i = n - 1; i >= 0; i--) {
        task(arg, i);
        ++*calls;
    }
}

static void *ws_for(const iqs_model *m, int width, size_t *size)
{
    *size = iqs_workspace_size_parallel(m, width);
    assert_true(*size > 0);
    void *ws = malloc(*size);
    assert_non_null(ws);
    return ws;
}

/* classifications per executor width (env IQS_PAR_REPS, default 3; the
 * ThreadSanitizer run uses 1) */
static int reps(void)
{
    const char *e = getenv("IQS_PAR_REPS");
    const int n = e ? atoi(e) : 3;
    return n > 0 ? n : 1;
}

static void check_model(const char *name)
{
    iqs_model *m = open_model(name);
    const int w = 333, h = 250;
    uint8_t *px = picture(w, h, 7u);
    const iqs_image img = { px, w, h, (size_t)w * 3, IQS_PIX_RGB8 };

    size_t wsz;
    void *ws = ws_for(m, 1, &wsz);
    assert_int_equal(wsz, iqs_workspace_size(m));
    iqs_result ref;
    assert_int_equal(iqs_classify(m, &img, ws, wsz, &ref), IQS_OK);
    free(ws);

    for (int width = 2; width <= 4; width++) {
        iqs_threads *team = NULL;
        iqs_executor ex;
        assert_int_equal(iqs_threads_create(width, &team), IQS_OK);
        iqs_threads_executor(team, &ex);
        assert_int_equal(ex.width, width);
        ws = ws_for(m, width, &wsz);
        assert_true(wsz > iqs_workspace_size(m));
        for (int rep = 0; rep < reps(); rep++) {
            iqs_result r;
            memset(&r, 0xAB, sizeof r);
            assert_int_equal(iqs_classify_parallel(m, &img, &ex, ws, wsz, &r),
                             IQS_OK);
            assert_int_equal(r.num_classes, ref.num_classes);
            assert_int_equal(r.top, ref.top);
            assert_memory_equal(r.probs, ref.probs,
                                (size_t)ref.num_classes * sizeof(float));
        }
        /* one byte short: refused, not overrun */
        iqs_result r;
        assert_int_equal(iqs_classify_parallel(m, &img, &ex, ws, wsz - 64 - 1, &r),
                         IQS_E_WORKSPACE);
        free(ws);
        iqs_threads_destroy(team);
    }

    /* tasks run one after another, never concurrently: no deadlock, same bits */
    int calls = 0;
    const iqs_executor seq = { 4, run_serial_reverse, &calls };
    ws = ws_for(m, 4, &wsz);
    iqs_result r;
    assert_int_equal(iqs_classify_parallel(m, &img, &seq, ws, wsz, &r), IQS_OK);
    assert_int_equal(calls, 4);
    assert_memory_equal(r.probs, ref.probs, (size_t)ref.num_classes * sizeof(float));
    /* NULL executor: the serial pass */
    assert_int_equal(iqs_classify_parallel(m, &img, NULL, ws, wsz, &r), IQS_OK);
    assert_memory_equal(r.probs, ref.probs, (size_t)ref.num_classes * sizeof(float));
    free(ws);
    free(px);
    iqs_model_close(m);
}

/* Every width up to IQS_MAX_WIDTH, tasks run one by one (no threads): at
 * widths above 12 the short maps' convolutions are cut differently (by
 * channels, or Winograd by tiles), which must not change a bit. */
static void check_widths(const char *name)
{
    iqs_model *m = open_model(name);
    const int w = 300, h = 200;
    uint8_t *px = picture(w, h, 11u);
    const iqs_image img = { px, w, h, (size_t)w * 3, IQS_PIX_RGB8 };
    size_t wsz;
    void *ws = ws_for(m, IQS_MAX_WIDTH, &wsz);
    iqs_result ref;
    assert_int_equal(iqs_classify(m, &img, ws, wsz, &ref), IQS_OK);
    for (int width = 2; width <= IQS_MAX_WIDTH; width++) {
        int calls = 0;
        const iqs_executor seq = { width, run_serial_reverse, &calls };
        iqs_result r;
        memset(&r, 0xAB, sizeof r);
        assert_int_equal(iqs_classify_parallel(m, &img, &seq, ws, wsz, &r),
                         IQS_OK);
        assert_int_equal(calls, width);
        if (memcmp(r.probs, ref.probs,
                   (size_t)ref.num_classes * sizeof(float)) != 0)
            fail_msg("%s: width %d differs from the serial pass", name, width);
    }
    free(ws);
    free(px);
    iqs_model_close(m);
}

static void test_irv2_bits(void **state)
{
    (void)state;
    check_model("irv2_224_tf2_c3.iqsw");
    check_widths("irv2_224_tf2_c3.iqsw");
}

static void test_v3_224_widths(void **state)
{
    (void)state;
    check_widths("v3_224_tf2_c10.iqsw");
}

static void test_v3_bits(void **state)
{
    (void)state;
    check_model("v3_299_tf2_c3.iqsw");
}

static void test_args(void **state)
{
    (void)state;
    iqs_model *m = open_model("irv2_any_tf2_c3.iqsw");
    assert_int_equal(iqs_workspace_size_parallel(NULL, 2), 0);
    assert_int_equal(iqs_workspace_size_parallel(m, 0), 0);
    assert_int_equal(iqs_workspace_size_parallel(m, IQS_MAX_WIDTH + 1), 0);
    assert_true(iqs_workspace_size_parallel(m, 3) > iqs_workspace_size_parallel(m, 2));

    iqs_threads *t = (iqs_threads *)1;
    assert_int_equal(iqs_threads_create(0, &t), IQS_E_ARG);
    assert_null(t);
    assert_int_equal(iqs_threads_create(IQS_MAX_WIDTH + 1, &t), IQS_E_ARG);
    assert_int_equal(iqs_threads_create(2, NULL), IQS_E_ARG);
    iqs_threads_destroy(NULL);
    iqs_executor e;
    iqs_threads_executor(NULL, &e);
    assert_int_equal(e.width, 0);

    uint8_t px[16 * 16 * 3] = { 0 };
    const iqs_image img = { px, 16, 16, 48, IQS_PIX_RGB8 };
    size_t wsz;
    void *ws = ws_for(m, IQS_MAX_WIDTH, &wsz);
    iqs_result r;
    int calls = 0;
    iqs_executor bad = { 0, run_serial_reverse, &calls };
    assert_int_equal(iqs_classify_parallel(m, &img, &bad, ws, wsz, &r), IQS_E_ARG);
    bad.width = IQS_MAX_WIDTH + 1;
    assert_int_equal(iqs_classify_parallel(m, &img, &bad, ws, wsz, &r), IQS_E_ARG);
    bad.width = 2;
    bad.run = NULL;
    assert_int_equal(iqs_classify_parallel(m, &img, &bad, ws, wsz, &r), IQS_E_ARG);
    assert_int_equal(calls, 0);
    const iqs_executor ok = { IQS_MAX_WIDTH, run_serial_reverse, &calls };
    assert_int_equal(iqs_classify_parallel(NULL, &img, &ok, ws, wsz, &r), IQS_E_ARG);
    assert_int_equal(iqs_classify_parallel(m, NULL, &ok, ws, wsz, &r), IQS_E_ARG);
    assert_int_equal(iqs_classify_parallel(m, &img, &ok, NULL, wsz, &r), IQS_E_WORKSPACE);
    assert_int_equal(iqs_classify_parallel(m, &img, &ok, ws, wsz, NULL), IQS_E_ARG);
    assert_int_equal(calls, 0);
    /* the widest executor works (on one thread) */
    assert_int_equal(iqs_classify_parallel(m, &img, &ok, ws, wsz, &r), IQS_OK);
    assert_int_equal(calls, IQS_MAX_WIDTH);
    free(ws);
    iqs_model_close(m);
}

/* Destroy while another thread's run is in progress: it waits for the run
 * to finish (every task done before destroy returns), then frees. */
typedef struct slow_job {
    iqs_executor ex;
    _Atomic int started, done;
} slow_job;

static void slow_task(void *arg, int i)
{
    slow_job *j = arg;
    atomic_fetch_add(&j->started, 1);
    /* the first task (usually the calling thread's) outlasts the rest, so
     * the workers are idle again and joinable while it still runs */
    struct timespec ts = { 0, (i == 0 ? 200 : 1) * 1000 * 1000 };
    nanosleep(&ts, NULL);
    atomic_fetch_add(&j->done, 1);
}

static void *slow_run(void *p)
{
    slow_job *j = p;
    j->ex.run(j->ex.ctx, 8, slow_task, j);
    return NULL;
}

static void test_destroy_waits(void **state)
{
    (void)state;
    iqs_threads *team = NULL;
    assert_int_equal(iqs_threads_create(3, &team), IQS_OK);
    slow_job j;
    memset(&j, 0, sizeof j);
    iqs_threads_executor(team, &j.ex);
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, slow_run, &j), 0);
    while (atomic_load(&j.started) == 0)
        sched_yield();
    iqs_threads_destroy(team);
    assert_int_equal(atomic_load(&j.done), 8);
    pthread_join(tid, NULL);
}

/* Two caller threads share one team: their runs are serialised. */
typedef struct shared_job {
    const iqs_model *m;
    const iqs_image *img;
    const iqs_executor *ex;
    iqs_result ref;
    int bad;
} shared_job;

static void *share_team(void *p)
{
    shared_job *j = p;
    size_t wsz = iqs_workspace_size_parallel(j->m, j->ex->width);
    void *ws = malloc(wsz);
    if (!ws) {
        j->bad = 1;
        return NULL;
    }
    for (int k = 0; k < 4; k++) {
        iqs_result r;
        if (iqs_classify_parallel(j->m, j->img, j->ex, ws, wsz, &r) != IQS_OK ||
            memcmp(r.probs, j->ref.probs, sizeof r.probs[0] * (size_t)r.num_classes))
            j->bad = 1;
    }
    free(ws);
    return NULL;
}

static void test_shared_team(void **state)
{
    (void)state;
    iqs_model *m = open_model("irv2_any_tf2_c3.iqsw");
    uint8_t *px = picture(120, 90, 3u);
    const iqs_image img = { px, 120, 90, 360, IQS_PIX_RGB8 };
    size_t wsz;
    void *ws = ws_for(m, 1, &wsz);
    shared_job j[2];
    memset(j, 0, sizeof j);
    assert_int_equal(iqs_classify(m, &img, ws, wsz, &j[0].ref), IQS_OK);
    free(ws);
    iqs_threads *team;
    iqs_executor ex;
    assert_int_equal(iqs_threads_create(2, &team), IQS_OK);
    iqs_threads_executor(team, &ex);
    pthread_t tid[2];
    for (int k = 0; k < 2; k++) {
        j[k].m = m;
        j[k].img = &img;
        j[k].ex = &ex;
        j[k].ref = j[0].ref;
        assert_int_equal(pthread_create(&tid[k], NULL, share_team, &j[k]), 0);
    }
    for (int k = 0; k < 2; k++) {
        pthread_join(tid[k], NULL);
        assert_int_equal(j[k].bad, 0);
    }
    iqs_threads_destroy(team);
    free(px);
    iqs_model_close(m);
}

/* iqs_conv2d_rows over a split of the lines (in units of
 * iqs_conv2d_line_grain) == iqs_conv2d, bit for bit; the stem-like 32->32
 * shape runs as Winograd, the others as im2col + GEMM. */
static void test_conv_rows(void **state)
{
    (void)state;
    static const iqs_conv_desc shapes[] = {
        /* ic ih iw oc oh ow kh kw sh sw pt pl pb pr act scale */
        { 3, 61, 61, 32, 30, 30, 3, 3, 2, 2, 0, 0, 0, 0, IQS_ACT_RELU, 1.0f },
        { 32, 111, 111, 32, 109, 109, 3, 3, 1, 1, 0, 0, 0, 0, IQS_ACT_RELU, 1.0f },
        { 24, 17, 17, 40, 17, 17, 1, 7, 1, 1, 0, 3, 0, 3, IQS_ACT_RELU, 1.0f },
        { 24, 17, 17, 40, 17, 17, 7, 1, 1, 1, 3, 0, 3, 0, IQS_ACT_NONE, 1.0f },
        { 64, 8, 8, 80, 8, 8, 1, 1, 1, 1, 0, 0, 0, 0, IQS_ACT_RELU, 0.2f },
        { 16, 25, 25, 48, 25, 25, 3, 3, 1, 1, 1, 1, 1, 1, IQS_ACT_NONE, 0.17f },
        { 32, 147, 147, 64, 147, 147, 3, 3, 1, 1, 1, 1, 1, 1, IQS_ACT_RELU, 1.0f },
        { 64, 35, 35, 96, 35, 35, 3, 3, 1, 1, 1, 1, 1, 1, IQS_ACT_RELU, 1.0f },
        { 80, 73, 73, 192, 71, 71, 3, 3, 1, 1, 0, 0, 0, 0, IQS_ACT_RELU, 1.0f },
    };
    uint32_t s = 11u;
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const iqs_conv_desc *d = &shapes[k];
        assert_true(iqs_conv2d_check(d));
        if (k == 1 || k >= 6)
            assert_int_equal(iqs_conv2d_line_grain(d), 4);
        const size_t K = (size_t)d->ic * d->kh * d->kw;
        const size_t nin = (size_t)d->ic * d->ih * d->iw;
        const size_t nout = (size_t)d->oc * d->oh * d->ow;
        float *in = malloc(nin * sizeof *in), *w = malloc(K * d->oc * sizeof *w);
        float *b = malloc((size_t)d->oc * sizeof *b), *res = malloc(nout * sizeof *res);
        float *o1 = malloc(nout * sizeof *o1), *o2 = malloc(nout * sizeof *o2);
        const size_t ss = iqs_conv2d_scratch_size(d);
        void *scratch = ss ? aligned_alloc(64, (ss + 63) / 64 * 64) : NULL;
        assert_true(in && w && b && res && o1 && o2 && (scratch || !ss));
        for (size_t i = 0; i < nin; i++)
            in[i] = frand(&s);
        for (size_t i = 0; i < K * d->oc; i++)
            w[i] = frand(&s) * 0.1f;
        for (int i = 0; i < d->oc; i++)
            b[i] = frand(&s);
        for (size_t i = 0; i < nout; i++)
            res[i] = frand(&s);
        /* without residual, then with an in-place one, then an out-of-place one */
        for (int mode = 0; mode < 3; mode++) {
            const float *r1 = NULL, *r2 = NULL;
            if (mode == 1) {
                memcpy(o1, res, nout * sizeof *o1);
                memcpy(o2, res, nout * sizeof *o2);
                r1 = o1;
                r2 = o2;
            } else if (mode == 2) {
                r1 = r2 = res;
            }
            iqs_conv2d(d, in, w, b, r1, o1, scratch);
            /* uneven cut in whole units of the line grain (Winograd tiles
             * where the shape runs as Winograd): 1 unit, then 2, 3, ...,
             * from the top */
            const int g = iqs_conv2d_line_grain(d);
            int step = 1;
            for (int lo = 0; lo < d->oh; step++) {
                const int hi = lo + step * g < d->oh ? lo + step * g : d->oh;
                iqs_conv2d_rows(d, in, w, b, r2, o2, scratch, lo, hi);
                lo = hi;
            }
            assert_memory_equal(o1, o2, nout * sizeof *o1);
        }
        free(in);
        free(w);
        free(b);
        free(res);
        free(o1);
        free(o2);
        free(scratch);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_rows),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_shared_team),
        cmocka_unit_test(test_irv2_bits),
        cmocka_unit_test(test_v3_bits),
        cmocka_unit_test(test_v3_224_widths),
        cmocka_unit_test(test_destroy_waits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
