/*
 * Fidelity: iqs against OpenCV DNN reading the same frozen graph.
 *
 * tests/models.sh generated each .pb, converted it with convert_pb and ran
 * tests/ref/opencv_ref.py, which wrote for every photo the exact float
 * tensor it fed OpenCV (<photo>.f32) and OpenCV's probabilities
 * (<photo>.probs), once from the JPEG and once from a lossless PNG copy.
 *
 * 1. Same tensor: iqs runs the network on the .f32 tensor; every
 *    probability within 1e-4 of OpenCV's and the same argmax.
 * 2. Own decoders, PNG: iqs decodes the PNG (stb_image) and preprocesses
 *    itself; same bound.
 * 3. Own decoders, JPEG: stb_image and libjpeg may differ by a level, so the
 *    difference is printed, not asserted.
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/internal.h"
#include "iqs/iqs.h"
#include "testutil.h"

#define TOL 1e-4

typedef struct model_case {
    const char *name;
    int size;
    int classes;
} model_case;

static const model_case cases[] = {
    { "irv2_224_tf2_c3", 224, 3 },  { "irv2_224_tf1_c3", 224, 3 },
    { "irv2_299_tf2_c10", 299, 10 }, { "irv2_299_tf1_c3", 299, 3 },
    { "irv2_any_tf2_c3", 224, 3 },  { "v3_299_tf2_c3", 299, 3 },
    { "v3_299_tf1_c3", 299, 3 },    { "v3_224_tf2_c10", 224, 10 },
};

static int read_probs(const char *path, float *p, int max)
{
    FILE *f = fopen(path, "r");
    int n = 0;
    if (!f)
        return -1;
    while (n < max && fscanf(f, "%f", &p[n]) == 1)
        n++;
    fclose(f);
    return n;
}

static int argmax(const float *p, int n)
{
    int k = 0;
    for (int i = 1; i < n; i++)
        if (p[i] > p[k])
            k = i;
    return k;
}

/* Lists the basenames of "<dir>/NAME.probs" files (without extension) into names. */
static int list_refs(const char *dir, char names[][128], int max)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)) && n < max) {
        size_t len = strlen(e->d_name);
        if (len > 6 && len < 120 && strcmp(e->d_name + len - 6, ".probs") == 0) {
            memcpy(names[n], e->d_name, len - 6);
            names[n][len - 6] = '\0';
            n++;
        }
    }
    closedir(d);
    return n;
}

static void run_case(const model_case *mc)
{
    char path[8192], refdir[4096];
    snprintf(path, sizeof path, "%s/%s.iqsw", tu_models_dir(), mc->name);
    iqs_open_options o;
    iqs_open_options_init(&o);
    o.input_size = (unsigned)mc->size;
    iqs_model *m = NULL;
    iqs_diag diag;
    iqs_status st = iqs_model_open_ex(path, &o, &m, &diag);
    if (st != IQS_OK)
        fail_msg("%s: %s (%s)", path, iqs_strerror(st), diag.msg);
    iqs_model_info info;
    assert_int_equal(iqs_model_get_info(m, &info), IQS_OK);
    assert_int_equal(info.input_height, mc->size);
    assert_int_equal(info.num_classes, mc->classes);
    size_t wsz = iqs_workspace_size(m);
    void *ws = malloc(wsz);
    assert_non_null(ws);
    const size_t tn = (size_t)3 * mc->size * mc->size;
    float *t = NULL;

    static char names[64][128];
    snprintf(refdir, sizeof refdir, "%s/ref/%s/jpg", tu_models_dir(), mc->name);
    int n = list_refs(refdir, names, 64);
    if (n < 6)
        fail_msg("%s: only %d reference outputs in %s", mc->name, n, refdir);
    double worst_t = 0, worst_png = 0, worst_jpg = 0;
    int jpg_flips = 0;
    for (int i = 0; i < n; i++) {
        float ref[IQS_MAX_CLASSES], png_ref[IQS_MAX_CLASSES];
        iqs_result r;
        size_t sz = 0;
        snprintf(path, sizeof path, "%s/%s.probs", refdir, names[i]);
        assert_int_equal(read_probs(path, ref, IQS_MAX_CLASSES), mc->classes);

        /* 1. the same tensor */
        snprintf(path, sizeof path, "%s/%s.f32", refdir, names[i]);
        t = tu_read_file(path, &sz);
        assert_non_null(t);
        assert_int_equal(sz, tn * sizeof(float));
        assert_int_equal(iqs_classify_tensor(m, t, ws, wsz, &r, NULL), IQS_OK);
        free(t);
        for (int k = 0; k < mc->classes; k++) {
            double dlt = fabs((double)r.probs[k] - ref[k]);
            if (dlt > worst_t)
                worst_t = dlt;
            if (dlt > TOL)
                fail_msg("%s %s class %d: iqs %.7f opencv %.7f", mc->name, names[i], k,
                         r.probs[k], ref[k]);
        }
        assert_int_equal(r.top, argmax(ref, mc->classes));
        assert_string_equal(r.label, info.labels[r.top]);
        if (mc->classes == 10) {
            double s = 0;
            for (int k = 0; k < 10; k++)
                s += (k + 1) * (double)ref[k];
            assert_int_equal(r.has_score, 1);
            assert_true(fabs(r.score - s) < 1e-3);
        }

        /* 2. PNG through each engine's own decoder */
        snprintf(path, sizeof path, "%s/ref/%s/png/%s.probs", tu_models_dir(), mc->name, names[i]);
        assert_int_equal(read_probs(path, png_ref, IQS_MAX_CLASSES), mc->classes);
        snprintf(path, sizeof path, "%s/png/%s.png", tu_models_dir(), names[i]);
        st = iqs_classify_file(m, path, NULL, ws, wsz, &r, &diag);
        if (st != IQS_OK)
            fail_msg("%s: %s", path, diag.msg);
        for (int k = 0; k < mc->classes; k++) {
            double dlt = fabs((double)r.probs[k] - png_ref[k]);
            if (dlt > worst_png)
                worst_png = dlt;
            if (dlt > TOL)
                fail_msg("%s %s.png class %d: iqs %.7f opencv %.7f", mc->name, names[i], k,
                         r.probs[k], png_ref[k]);
        }
        assert_int_equal(r.top, argmax(png_ref, mc->classes));

        /* 3. JPEG through each engine's own decoder: reported only */
        snprintf(path, sizeof path, "%s/testdata/photos/%s.jpg", tu_shared_dir(), names[i]);
        st = iqs_classify_file(m, path, NULL, ws, wsz, &r, &diag);
        if (st != IQS_OK)
            fail_msg("%s: %s", path, diag.msg);
        for (int k = 0; k < mc->classes; k++) {
            double dlt = fabs((double)r.probs[k] - ref[k]);
            if (dlt > worst_jpg)
                worst_jpg = dlt;
        }
        jpg_flips += r.top != argmax(ref, mc->classes);
    }
    printf("fidelity %-18s %2d photos  worst |dp| same tensor %.2e  png %.2e  "
           "(jpeg, own decoders: %.2e, %d argmax flips)  workspace %.1f MiB\n",
           mc->name, n, worst_t, worst_png, worst_jpg, jpg_flips, wsz / 1048576.0);
    free(ws);
    iqs_model_close(m);
}

static void test_case(void **state)
{
    run_case((const model_case *)*state);
}

int main(void)
{
    struct CMUnitTest tests[sizeof cases / sizeof cases[0]];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct CMUnitTest t = { cases[i].name, test_case, NULL, NULL, (void *)&cases[i] };
        tests[i] = t;
    }
    return cmocka_run_group_tests_name("fidelity", tests, NULL, NULL);
}
