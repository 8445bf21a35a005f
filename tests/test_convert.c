/*
 * tools/convert_pb end to end, on the generated frozen graphs in
 * $IQS_MODELS (tests/gen/make_models.sh; a missing model FAILS) and on the
 * small hostile graphs of tests/bad/. Each generated graph is converted by
 * the built binary; the output must load with the library's reader, match
 * the hand-written architecture of lib/net/arch.c layer by layer, have
 * tensor shapes that chain through that table, and hold folded weights
 * equal to an independent float64 folding (tests/convert_expect.py, which
 * decodes the .pb with Google's protobuf runtime) within 1e-6 relative.
 * Failures must leave no output file (nor OUT.tmp) and keep an existing OUT.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "../tools/convert_pb/convert.h"
#include "format/iqsw.h"
#include "net/arch.h"
#include "testutil.h"

typedef struct model {
    const char *name;
    uint32_t arch;
    uint32_t side; /* 0: the graph leaves the input size open */
    uint32_t classes;
    const char *args; /* extra converter options */
    uint32_t want_side;
} model;

static const model MODELS[] = {
    {"irv2_224_tf2_c3", IQSW_ARCH_INCEPTION_RESNET_V2, 224, 3, "--dump", 224},
    {"irv2_224_tf1_c3", IQSW_ARCH_INCEPTION_RESNET_V2, 224, 3, "", 224},
    {"irv2_299_tf2_c10", IQSW_ARCH_INCEPTION_RESNET_V2, 299, 10, "", 299},
    {"irv2_299_tf1_c3", IQSW_ARCH_INCEPTION_RESNET_V2, 299, 3, "", 299},
    {"irv2_any_tf2_c3", IQSW_ARCH_INCEPTION_RESNET_V2, 0, 3, "", 224},
    {"v3_299_tf2_c3", IQSW_ARCH_INCEPTION_V3, 299, 3, "", 299},
    {"v3_299_tf1_c3", IQSW_ARCH_INCEPTION_V3, 299, 3, "--labels Rejected,Pending,Accepted", 299},
    {"v3_224_tf2_c10", IQSW_ARCH_INCEPTION_V3, 224, 10, "", 224},
};

/* ---------------------------------------------------------- helpers */

static const char *converter(void)
{
    static char p[4096];
    const char *b = getenv("IQS_BUILD");
    snprintf(p, sizeof p, "%s/bin/convert_pb", b && *b ? b : "build");
    return p;
}

static const char *model_pb(const char *name)
{
    static char p[4096];
    snprintf(p, sizeof p, "%s/%s.pb", tu_models_dir(), name);
    if (!tu_exists(p))
        fail_msg("missing generated model %s (run tests/models.sh / make models)", p);
    return p;
}

/* Runs a shell command; returns its exit status, output (stdout+stderr)
 * in a malloc'd string. */
static int run(const char *cmd, char **out)
{
    char full[16400];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    size_t r;
    while ((r = fread(b + n, 1, cap - n - 1, p)) > 0) {
        n += r;
        if (cap - n < 4096) {
            cap *= 2;
            b = realloc(b, cap);
        }
    }
    b[n] = '\0';
    int st = pclose(p);
    *out = b;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int convert(const char *args, const char *in, const char *out, char **msg)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "'%s' %s '%s' '%s'", converter(), args, in, out);
    return run(cmd, msg);
}

static void assert_no_output(const char *out)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    if (tu_exists(out) || tu_exists(tmp))
        fail_msg("a failed conversion left %s or its .tmp behind", out);
}

static int close_rel(double got, double want, double rel)
{
    return fabs(got - want) <= rel * fmax(fabs(want), 1e-30);
}

/* Channel propagation over a file's table (independent of the converter):
 * checks every weight/bias tensor shape. */
static void check_shapes(const iqsw_view *v)
{
    uint32_t n = v->h.layer_count;
    uint32_t *c = calloc(n, sizeof *c);
    for (uint32_t i = 0; i < n; i++) {
        iqsw_layer l;
        iqs_iqsw_layer(v, i, &l);
        uint32_t in = l.n_in ? c[l.in[0]] : 0;
        iqsw_tensor w, b;
        switch (l.op) {
        case IQSW_OP_INPUT: c[i] = 3; break;
        case IQSW_OP_CONCAT:
            for (uint32_t k = 0; k < l.n_in; k++)
                c[i] += c[l.in[k]];
            break;
        case IQSW_OP_MAXPOOL:
        case IQSW_OP_AVGPOOL:
        case IQSW_OP_GAP: c[i] = in; break;
        case IQSW_OP_CONV:
        case IQSW_OP_DENSE:
            c[i] = l.out_c;
            iqs_iqsw_tensor(v, l.weight, &w);
            iqs_iqsw_tensor(v, l.bias, &b);
            if (l.n_in == 2)
                assert_int_equal(c[l.in[1]], l.out_c);
            assert_int_equal(w.dims[0], l.out_c);
            assert_int_equal(w.dims[1], in);
            if (l.op == IQSW_OP_CONV) {
                assert_int_equal(w.rank, 4);
                assert_int_equal(w.dims[2], l.kh);
                assert_int_equal(w.dims[3], l.kw);
            } else {
                assert_int_equal(w.rank, 2);
            }
            assert_int_equal(b.rank, 1);
            assert_int_equal(b.dims[0], l.out_c);
            break;
        }
    }
    free(c);
}

static int64_t find_layer(const iqsw_view *v, const char *name)
{
    for (uint32_t i = 0; i < v->h.layer_count; i++) {
        iqsw_layer l;
        iqs_iqsw_layer(v, i, &l);
        if (!strcmp(iqs_iqsw_string(v, l.name), name))
            return i;
    }
    return -1;
}

/* Compares the file's weights with tests/convert_expect.py's float64
 * folding of the source graph. */
static void check_folding(const iqsw_view *v, const char *pb)
{
    char cmd[8192], *out;
    const char *py = getenv("PYTHON");
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/convert_expect.py' '%s'",
             py && *py ? py : "/usr/bin/python3", tu_root_dir(), pb);
    int rc = run(cmd, &out);
    if (rc != 0)
        fail_msg("convert_expect.py failed (%d): %.500s", rc, out);
    uint32_t weighted = 0, seen = 0;
    for (uint32_t i = 0; i < v->h.layer_count; i++) {
        iqsw_layer l;
        iqs_iqsw_layer(v, i, &l);
        weighted += l.op == IQSW_OP_CONV || l.op == IQSW_OP_DENSE;
    }
    size_t values = 0;
    const float *W = NULL, *B = NULL;
    iqsw_layer cur;
    char curname[256] = "";
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        char kind, name[256], op[16];
        if (line[0] == 'L') {
            unsigned oc, ic, kh, kw;
            double sabs, ssq, scale;
            assert_int_equal(sscanf(line, "%c %255s %15s %u %u %u %u %lf %lf %lf", &kind,
                                    name, op, &oc, &ic, &kh, &kw, &sabs, &ssq, &scale), 10);
            int64_t li = find_layer(v, name);
            if (li < 0)
                fail_msg("layer %s of the graph is not in the file", name);
            iqs_iqsw_layer(v, (uint32_t)li, &cur);
            snprintf(curname, sizeof curname, "%s", name);
            seen++;
            assert_int_equal(cur.op, !strcmp(op, "CONV") ? IQSW_OP_CONV : IQSW_OP_DENSE);
            iqsw_tensor w;
            iqs_iqsw_tensor(v, cur.weight, &w);
            assert_int_equal(w.dims[0], oc);
            assert_int_equal(w.dims[1], ic);
            if (cur.op == IQSW_OP_CONV) {
                assert_int_equal(w.dims[2], kh);
                assert_int_equal(w.dims[3], kw);
            }
            W = iqs_iqsw_data(v, cur.weight);
            B = iqs_iqsw_data(v, cur.bias);
            size_t n = (size_t)w.bytes / 4;
            double ga = 0, gs = 0;
            for (size_t k = 0; k < n; k++) {
                ga += fabs((double)W[k]);
                gs += (double)W[k] * W[k];
            }
            if (!close_rel(ga, sabs, 1e-6) || !close_rel(gs, ssq, 1e-6))
                fail_msg("%s: sum|W| %.9g / %.9g, sum W^2 %.9g / %.9g", name, ga, sabs, gs, ssq);
            if (scale != 0.0) {
                assert_int_equal(cur.n_in, 2);
                if (!close_rel(cur.scale, scale, 1e-6))
                    fail_msg("%s: residual scale %g, graph %g", name, (double)cur.scale, scale);
            }
        } else if (line[0] == 'W' || line[0] == 'B') {
            size_t idx;
            double want;
            assert_int_equal(sscanf(line, "%c %255s %zu %lf", &kind, name, &idx, &want), 4);
            assert_string_equal(name, curname);
            double got = kind == 'W' ? W[idx] : B[idx];
            if (!close_rel(got, want, 1e-6))
                fail_msg("%s %c[%zu] = %.9g, float64 folding %.9g", name, kind, idx, got, want);
            values++;
        }
    }
    free(out);
    /* every conv and dense layer of the file came from one graph op */
    assert_int_equal(seen, weighted);
    assert_true(values >= weighted * 30);
}

/* ---------------------------------------------------------- tests */

static void test_model(void **state)
{
    const model *m = *state;
    const char *pb = model_pb(m->name);
    const char *dir = tu_mkdtemp();
    char out[4096], *msg;
    snprintf(out, sizeof out, "%s/%s.iqsw", dir, m->name);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int rc = convert(m->args, pb, out, &msg);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (rc != 0)
        fail_msg("convert_pb %s: exit %d: %s", m->name, rc, msg);
    /* the summary is the last line (after the --dump listing, if any) */
    const char *last = msg + strlen(msg);
    while (last > msg && last[-1] == '\n')
        last--;
    while (last > msg && last[-1] != '\n')
        last--;
    printf("# %s: %.2f s: %s", m->name,
           (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9, last);
    /* summary line */
    assert_non_null(strstr(msg, m->arch == IQSW_ARCH_INCEPTION_V3 ? "inception_v3"
                                                                 : "inception_resnet_v2"));
    assert_non_null(strstr(msg, " tensors, "));
    if (strstr(m->args, "--dump")) {
        /* the dump lists every layer; a few facts of Keras' IRv2 at 224 */
        assert_non_null(strstr(msg, "block35_1_conv"));
        assert_non_null(strstr(msg, "residual x0.17"));
        assert_non_null(strstr(msg, "residual x0.1 "));
        const char *c7 = strstr(msg, "conv_7b ");
        assert_non_null(c7);
        assert_non_null(strstr(c7, "-> 1536x5x5"));
        assert_non_null(strstr(msg, "-> 3x1x1"));
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    assert_false(tu_exists(tmp));
    free(msg);

    size_t n = 0;
    void *p = tu_read_file(out, &n);
    assert_non_null(p);
    iqsw_view v;
    iqs_diag d;
    if (iqs_iqsw_open(p, n, 0, &v, &d) != IQS_OK)
        fail_msg("%s: reader refuses the output: %s", m->name, d.msg);
    const iqsw_header *h = &v.h;
    assert_int_equal(h->arch, m->arch);
    assert_int_equal(h->input_h, m->side);
    assert_int_equal(h->input_w, m->side);
    if (!m->side)
        assert_int_equal(h->default_side, m->want_side);
    assert_int_equal(h->input_c, 3);
    assert_int_equal(h->classes, m->classes);
    assert_int_equal(h->head, m->classes == 10 ? IQS_HEAD_NIMA10 : IQS_HEAD_CLASSES);
    assert_int_equal(h->resize, IQSW_RESIZE_NEAREST_EXACT);
    assert_int_equal(h->order, IQSW_ORDER_RGB);
    assert_true(h->scale == 1.0f / 127.5f);
    assert_true(h->offset == -1.0f);
    const char *lab = iqs_iqsw_string(&v, h->labels);
    if (strstr(m->args, "Rejected"))
        assert_string_equal(lab, "Rejected");
    else
        assert_string_equal(lab, m->classes == 3 ? "bad" : "1");
    for (uint32_t k = 1; k < m->classes; k++)
        lab += strlen(lab) + 1;
    assert_string_equal(lab, strstr(m->args, "Rejected") ? "Accepted"
                             : m->classes == 3           ? "good"
                                                         : "10");

    /* structure: the hand-written Keras architecture, then a dense head */
    iqsw_layer *tab = calloc(h->layer_count, sizeof *tab);
    for (uint32_t i = 0; i < h->layer_count; i++)
        iqs_iqsw_layer(&v, i, &tab[i]);
    char why[256];
    if (!iqs_arch_match(m->arch, tab, h->layer_count, why, sizeof why))
        fail_msg("%s: layer table differs from %s: %s", m->name, iqs_arch_name(m->arch), why);
    /* the file is already in canonical order (head included) */
    uint32_t *order = calloc(h->layer_count, sizeof *order);
    uint32_t *scratch = calloc(2 * (size_t)h->layer_count, sizeof *scratch);
    assert_int_equal(iqs_arch_canonicalize(tab, h->layer_count, order, scratch), 1);
    for (uint32_t i = 0; i < h->layer_count; i++)
        assert_int_equal(order[i], i);
    free(order);
    free(scratch);
    free(tab);
    check_shapes(&v);
    check_folding(&v, pb);
    free(p);
    tu_rmtree(dir);
}

static void test_any_size_option(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp();
    char out[4096], *msg;
    snprintf(out, sizeof out, "%s/any299.iqsw", dir);
    int rc = convert("--input-size 299", model_pb("irv2_any_tf2_c3"), out, &msg);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, msg);
    assert_non_null(strstr(msg, "any (default 299x299)"));
    free(msg);
    size_t n;
    void *p = tu_read_file(out, &n);
    iqsw_view v;
    assert_int_equal(iqs_iqsw_open(p, n, IQSW_READ_SKIP_DATA_CRC, &v, NULL), IQS_OK);
    assert_int_equal(v.h.input_h, 0);
    assert_int_equal(v.h.default_side, 299);
    free(p);
    /* a fixed-size graph with a conflicting size is a usage error */
    snprintf(out, sizeof out, "%s/conflict.iqsw", dir);
    rc = convert("--input-size 299", model_pb("v3_224_tf2_c10"), out, &msg);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(msg, "conflicts"));
    free(msg);
    assert_no_output(out);
    tu_rmtree(dir);
}

static void test_labels_count(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp();
    char out[4096], *msg;
    snprintf(out, sizeof out, "%s/l.iqsw", dir);
    int rc = convert("--labels a,b", model_pb("v3_299_tf2_c3"), out, &msg);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(msg, "3 classes"));
    free(msg);
    assert_no_output(out);
    tu_rmtree(dir);
}

/* Truncated copies of a generated graph (made here, not committed). */
static void test_truncated_models(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = tu_read_file(model_pb("v3_224_tf2_c10"), &n);
    assert_non_null(p);
    const char *dir = tu_mkdtemp();
    size_t cuts[] = {1, 2, 3, 100, 1001, 65537, 1000003, n / 3, n / 2 + 7, n - 2, n - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        char in[4096], out[4096], *msg;
        snprintf(in, sizeof in, "%s/cut.pb", dir);
        snprintf(out, sizeof out, "%s/cut.iqsw", dir);
        FILE *f = fopen(in, "wb");
        assert_int_equal(fwrite(p, 1, cuts[k], f), cuts[k]);
        fclose(f);
        int rc = convert("", in, out, &msg);
        if (rc != 1 || !strstr(msg, "convert_pb:"))
            fail_msg("cut at %zu: exit %d: %s", cuts[k], rc, msg);
        free(msg);
        assert_no_output(out);
    }
    free(p);
    tu_rmtree(dir);
}

/* IRv2 with one residual block removed (shapes still chain). */
static void test_missing_block(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp();
    char in[4096], out[4096], cmd[8192], *msg;
    snprintf(in, sizeof in, "%s/drop.pb", dir);
    snprintf(out, sizeof out, "%s/drop.iqsw", dir);
    const char *py = getenv("PYTHON");
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/convert_expect.py' --drop-block block35_5 '%s' '%s'",
             py && *py ? py : "/usr/bin/python3", tu_root_dir(), model_pb("irv2_224_tf2_c3"), in);
    int rc = run(cmd, &msg);
    if (rc != 0)
        fail_msg("drop-block: %s", msg);
    free(msg);
    rc = convert("", in, out, &msg);
    if (rc != 1 || !strstr(msg, "architecture not recognised"))
        fail_msg("exit %d: %s", rc, msg);
    free(msg);
    assert_no_output(out);
    tu_rmtree(dir);
}

/* The .pb files of tests/bad (see MANIFEST); an existing OUT survives. */
static void test_bad_graphs(void **state)
{
    (void)state;
    char bad[2048];
    snprintf(bad, sizeof bad, "%s/tests/bad", tu_root_dir());
    char mpath[4096];
    snprintf(mpath, sizeof mpath, "%s/MANIFEST", bad);
    FILE *mf = fopen(mpath, "r");
    if (!mf)
        fail_msg("cannot open %s", mpath);
    const char *dir = tu_mkdtemp();
    char out[4096];
    snprintf(out, sizeof out, "%s/keep.iqsw", dir);
    char line[512];
    int checked = 0;
    while (fgets(line, sizeof line, mf)) {
        char name[128], st[32], needle[256] = "", in[4096], *msg;
        if (line[0] == '#' || sscanf(line, "%127s %31s %255[^\n]", name, st, needle) < 2 ||
            strcmp(st, "EXIT1") != 0)
            continue;
        FILE *f = fopen(out, "w");
        fputs("previous file", f);
        fclose(f);
        snprintf(in, sizeof in, "%s/%s", bad, name);
        int rc = convert("", in, out, &msg);
        if (rc != 1 || !strstr(msg, needle) || !strstr(msg, "convert_pb:"))
            fail_msg("%s: exit %d, want 1 with '%s': %s", name, rc, needle, msg);
        free(msg);
        size_t n;
        char *keep = tu_read_file(out, &n);
        assert_non_null(keep);
        assert_int_equal(n, 13);
        assert_memory_equal(keep, "previous file", 13);
        free(keep);
        /* no temporary file (OUT.tmp.<pid>.<n>) left beside it */
        char names[1024];
        if (tu_list_dir(dir, names, sizeof names) != 1)
            fail_msg("%s: the folder holds %s", name, names);
        checked++;
    }
    fclose(mf);
    assert_true(checked >= 8);
    /* a missing input and an unwritable destination */
    char *msg;
    assert_int_equal(convert("", "/nonexistent/x.pb", out, &msg), 1);
    assert_non_null(strstr(msg, "cannot open"));
    free(msg);
    tu_rmtree(dir);
}

static void test_usage(void **state)
{
    (void)state;
    char cmd[8192], *msg;
    snprintf(cmd, sizeof cmd, "'%s'", converter());
    assert_int_equal(run(cmd, &msg), 2);
    free(msg);
    snprintf(cmd, sizeof cmd, "'%s' --bogus a.pb b.iqsw", converter());
    assert_int_equal(run(cmd, &msg), 2);
    assert_non_null(strstr(msg, "--bogus"));
    free(msg);
    snprintf(cmd, sizeof cmd, "'%s' --input-size 0 a.pb b.iqsw", converter());
    assert_int_equal(run(cmd, &msg), 2);
    free(msg);
    snprintf(cmd, sizeof cmd, "'%s' a.pb b.iqsw c", converter());
    assert_int_equal(run(cmd, &msg), 2);
    free(msg);
    snprintf(cmd, sizeof cmd, "'%s' --help", converter());
    assert_int_equal(run(cmd, &msg), 0);
    assert_non_null(strstr(msg, "usage: convert_pb"));
    free(msg);
}

static void hex(const uint8_t d[32], char out[65])
{
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

/* FIPS 180-2 test vectors. */
static void test_sha256(void **state)
{
    (void)state;
    uint8_t d[32];
    char h[65];
    cpb_sha256("abc", 3, d);
    hex(d, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    cpb_sha256("", 0, d);
    hex(d, h);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    cpb_sha256(m, strlen(m), d);
    hex(d, h);
    assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    cpb_sha256(a, 1000000, d);
    hex(d, h);
    assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

int main(void)
{
    struct CMUnitTest tests[32];
    size_t k = 0;
    for (size_t i = 0; i < sizeof MODELS / sizeof MODELS[0]; i++) {
        tests[k] = (struct CMUnitTest)cmocka_unit_test_prestate(test_model, (void *)&MODELS[i]);
        tests[k++].name = MODELS[i].name;
    }
    tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_any_size_option);
    tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_labels_count);
    tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_truncated_models);
    tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_missing_block);
    tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_bad_graphs);
    tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_usage);
    tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_sha256);
    return _cmocka_run_group_tests("convert", tests, k, NULL, NULL);
}
