/*
 * Public API contracts: argument checks, statuses, version, options, and a
 * model shared by threads (bit-identical results with separate workspaces).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/rd.h"
#include "format/iqsw.h"
#include "iqs/iqs.h"
#include "testutil.h"

static void test_version_and_strings(void **state)
{
    (void)state;
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", IQS_VERSION_MAJOR, IQS_VERSION_MINOR,
             IQS_VERSION_PATCH);
    assert_string_equal(iqs_version(), want);
    assert_int_equal(iqs_version_number(), IQS_VERSION_NUMBER);
    for (int s = 0; s <= IQS_E_ENDIAN; s++) {
        const char *m = iqs_strerror((iqs_status)s);
        assert_non_null(m);
        assert_true(strlen(m) > 3);
        for (int t = 0; t < s; t++)
            assert_string_not_equal(m, iqs_strerror((iqs_status)t));
    }
    assert_string_equal(iqs_strerror((iqs_status)9999), "unknown status");
}

static void test_null_args(void **state)
{
    (void)state;
    iqs_model *m = (iqs_model *)&m; /* must be reset to NULL */
    iqs_diag d;
    static _Alignas(64) unsigned char buf[256];
    iqs_model_close(NULL);
    assert_int_equal(iqs_workspace_size(NULL), 0);
    assert_int_equal(iqs_model_open(NULL, 0, &m, &d), IQS_E_ARG);
    assert_null(m);
    assert_int_equal(iqs_model_open_memory(NULL, 10, 0, &m, &d), IQS_E_ARG);
    assert_int_equal(iqs_model_open_memory(buf + 1, 100, 0, &m, &d), IQS_E_ARG);
    assert_non_null(strstr(d.msg, "aligned"));
    assert_int_equal(iqs_model_open_memory(buf, sizeof buf, 0, &m, &d), IQS_E_FORMAT);
    assert_null(m);
    assert_int_equal(d.status, IQS_E_FORMAT);
    assert_int_equal(iqs_model_open("/nonexistent/x.iqsw", 0, &m, &d), IQS_E_IO);
    assert_non_null(strstr(d.msg, "/nonexistent/x.iqsw"));
    iqs_result r;
    iqs_image img = { buf, 4, 4, 12, IQS_PIX_RGB8 };
    assert_int_equal(iqs_classify(NULL, &img, buf, sizeof buf, &r), IQS_E_ARG);
    iqs_open_options o;
    iqs_open_options_init(&o);
    assert_int_equal(o.size, sizeof o);
    assert_int_equal(o.flags, 0);
}

typedef struct job {
    const iqs_model *m;
    const char *const *files;
    int n;
    iqs_result res[8];
    int ok;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    size_t wsz = iqs_workspace_size(j->m);
    void *ws = malloc(wsz);
    j->ok = ws != NULL;
    for (int k = 0; k < j->n && j->ok; k++)
        j->ok = iqs_classify_file(j->m, j->files[k], NULL, ws, wsz, &j->res[k], NULL) == IQS_OK;
    free(ws);
    return NULL;
}

static void test_model_and_threads(void **state)
{
    (void)state;
    static const char *const names[] = { "lomiri_bridge.jpg", "jxl_coast.jpg",
                                         "skimage_astronaut.jpg", "lomiri_dogs.jpg" };
    const char *files[4];
    for (int k = 0; k < 4; k++)
        files[k] = strdup(tu_path(tu_path(tu_shared_dir(), "testdata/photos"), names[k]));
    iqs_model *m = NULL;
    iqs_diag d;
    const char *path = tu_path(tu_models_dir(), "irv2_224_tf2_c3.iqsw");
    iqs_status st = iqs_model_open(path, 0, &m, &d);
    if (st != IQS_OK)
        fail_msg("%s: %s", path, d.msg);
    iqs_model_info info;
    assert_int_equal(iqs_model_get_info(m, &info), IQS_OK);
    assert_string_equal(info.architecture, "inception_resnet_v2");
    assert_int_equal(info.num_classes, 3);
    assert_string_equal(info.labels[0], "bad");
    assert_string_equal(info.labels[2], "good");
    printf("workspace %zu bytes (%.1f MiB) for %s at %d\n", info.workspace_size,
           info.workspace_size / 1048576.0, info.architecture, info.input_height);

    /* workspace checks */
    size_t wsz = iqs_workspace_size(m);
    void *ws = malloc(wsz);
    iqs_result r;
    unsigned char px[3 * 16 * 16] = { 0 };
    iqs_image img = { px, 16, 16, 48, IQS_PIX_RGB8 };
    assert_int_equal(iqs_classify(m, &img, NULL, wsz, &r), IQS_E_WORKSPACE);
    assert_int_equal(iqs_classify(m, &img, ws, wsz - 65, &r), IQS_E_WORKSPACE);
    assert_int_equal(iqs_classify(m, &img, ws, wsz, &r), IQS_OK);
    img.stride = 47;
    assert_int_equal(iqs_classify(m, &img, ws, wsz, &r), IQS_E_IMAGE);
    img.stride = 48;
    img.width = 0;
    assert_int_equal(iqs_classify(m, &img, ws, wsz, &r), IQS_E_IMAGE);
    free(ws);

    /* one thread, then two threads sharing the model */
    job solo = { m, files, 4, { { 0 } }, 0 };
    run_job(&solo);
    assert_true(solo.ok);
    job a = { m, files, 4, { { 0 } }, 0 }, b = { m, files, 4, { { 0 } }, 0 };
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, run_job, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, run_job, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_true(a.ok && b.ok);
    for (int k = 0; k < 4; k++) {
        assert_memory_equal(solo.res[k].probs, a.res[k].probs, sizeof a.res[k].probs);
        assert_memory_equal(solo.res[k].probs, b.res[k].probs, sizeof b.res[k].probs);
    }
    /* BGR feeding (digiKam's accident) changes the result */
    iqs_model *mb = NULL;
    assert_int_equal(iqs_model_open(path, IQS_OPEN_FEED_BGR | IQS_OPEN_NO_MMAP, &mb, &d), IQS_OK);
    assert_int_equal(iqs_model_get_info(mb, &info), IQS_OK);
    assert_int_equal(info.feeds_bgr, 1);
    job bgr = { mb, files, 4, { { 0 } }, 0 };
    run_job(&bgr);
    assert_true(bgr.ok);
    int differ = 0;
    for (int k = 0; k < 4; k++)
        differ += memcmp(bgr.res[k].probs, solo.res[k].probs, sizeof solo.res[k].probs) != 0;
    assert_int_equal(differ, 4);
    iqs_model_close(mb);
    iqs_model_close(m);
    for (int k = 0; k < 4; k++)
        free((void *)files[k]);
}

/* An input side below 75: the caller's (IQS_E_ARG) or the weights file's
 * own (IQS_E_UNSUPPORTED: the caller did nothing wrong). */
static void test_input_size_status(void **state)
{
    (void)state;
    iqs_model *m = NULL;
    iqs_diag d;
    iqs_open_options o;
    iqs_open_options_init(&o);
    o.input_size = 50;
    o.flags = IQS_OPEN_SKIP_DATA_CRC;
    const char *any = tu_path(tu_models_dir(), "irv2_any_tf2_c3.iqsw");
    assert_int_equal(iqs_model_open_ex(any, &o, &m, &d), IQS_E_ARG);
    assert_null(m);

    size_t n = 0;
    uint8_t *raw = tu_read_file(tu_path(tu_models_dir(), "irv2_224_tf2_c3.iqsw"), &n);
    assert_non_null(raw);
    uint8_t *p = aligned_alloc(64, (n + 63) & ~(size_t)63);
    assert_non_null(p);
    memcpy(p, raw, n);
    free(raw);
    iqs_wr32(p + IQSW_H_INPUT_H, 50);
    iqs_wr32(p + IQSW_H_INPUT_W, 50);
    iqs_iqsw_seal(p, n);
    iqs_status st = iqs_model_open_memory(p, n, IQS_OPEN_SKIP_DATA_CRC, &m, &d);
    if (st != IQS_E_UNSUPPORTED)
        fail_msg("status %d (%s), want IQS_E_UNSUPPORTED", st, d.msg);
    assert_null(m);
    assert_non_null(strstr(d.msg, "50x50"));
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_and_strings),
        cmocka_unit_test(test_null_args),
        cmocka_unit_test(test_input_size_status),
        cmocka_unit_test(test_model_and_threads),
    };
    return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
