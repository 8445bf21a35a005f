/*
 * IQSW format reader and writer (lib/format). A small valid file is built
 * in memory with the writer helpers and read back; then every validation
 * rule is broken one at a time (re-sealing the CRCs so the structural
 * check, not the checksum, must catch it) and the specific status is
 * asserted. Finally the hostile files committed in tests/bad/ (written by
 * an independent Python writer, tests/bad/make_bad.py) are checked against
 * tests/bad/MANIFEST.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/crc32.h"
#include "base/rd.h"
#include "format/iqsw.h"
#include "testutil.h"

/* ------------------------------------------------------- test file */

/* Layers: 0 INPUT, 1 CONV 3->4 3x3 pad 1 relu, 2 CONV 1x1 residual(1,1)
 * x0.5, 3 MAXPOOL 2x2/2, 4 CONCAT(3,3), 5 GAP, 6 DENSE 8->3 softmax. */
#define NL 7
#define NT 6
static const uint32_t tdims[NT][4] = {{4, 3, 3, 3}, {4, 1, 1, 1}, {4, 4, 1, 1},
                                      {4, 1, 1, 1}, {3, 8, 1, 1}, {3, 1, 1, 1}};
static const uint32_t trank[NT] = {4, 1, 4, 1, 2, 1};

typedef struct file {
    uint8_t *p;
    size_t n;
    iqsw_header h;
    size_t tab, lay, str, data;
    uint32_t trec, lrec;
} file;

static float tval(uint32_t t, size_t i) { return (float)t + 0.001f * (float)i; }

/* The header fields every test file shares (an 8x8 IRv2, 3 classes);
 * tables, counts and sizes are the caller's. */
static void header_defaults(iqsw_header *h)
{
    memset(h, 0, sizeof *h);
    h->major = IQSW_MAJOR;
    h->minor = IQSW_MINOR;
    h->header_size = IQSW_HEADER_SIZE;
    h->tensor_rec = IQSW_TENSOR_REC_SIZE;
    h->layer_rec = IQSW_LAYER_REC_SIZE;
    h->align = IQSW_ALIGN;
    h->arch = IQSW_ARCH_INCEPTION_RESNET_V2;
    h->head = IQS_HEAD_CLASSES;
    h->input_h = h->input_w = h->default_side = 8;
    h->input_c = 3;
    h->resize = IQSW_RESIZE_NEAREST_EXACT;
    h->order = IQSW_ORDER_RGB;
    h->scale = 1.0f / 127.5f;
    h->offset = -1.0f;
    h->classes = 3;
    h->labels = 0;
}

/* trec/lrec: record sizes (a newer minor may use larger ones). */
static void build(file *f, uint32_t trec, uint32_t lrec)
{
    memset(f, 0, sizeof *f);
    f->trec = trec;
    f->lrec = lrec;
    const char *labels[3] = {"bad", "normal", "good"};
    const char *lnames[NL] = {"input", "conv", "block_conv", "pool",
                              "mixed", "gap", "dense"};
    char strings[512];
    size_t so = 0;
    for (int k = 0; k < 3; k++)
        so += (size_t)sprintf(strings + so, "%s", labels[k]) + 1;
    uint32_t lname_off[NL], tname_off[NT];
    for (int i = 0; i < NL; i++) {
        lname_off[i] = (uint32_t)so;
        so += (size_t)sprintf(strings + so, "%s", lnames[i]) + 1;
    }
    for (int t = 0; t < NT; t++) {
        tname_off[t] = (uint32_t)so;
        so += (size_t)sprintf(strings + so, "t%d/%s", t, t % 2 ? "bias" : "kernel") + 1;
    }
    f->tab = IQSW_HEADER_SIZE;
    f->lay = f->tab + (size_t)NT * trec;
    f->str = f->lay + (size_t)NL * lrec;
    f->data = (f->str + so + 63) & ~(size_t)63;
    size_t off[NT], pos = f->data;
    uint64_t bytes[NT];
    for (int t = 0; t < NT; t++) {
        bytes[t] = 4ull * tdims[t][0] * tdims[t][1] * tdims[t][2] * tdims[t][3];
        off[t] = pos;
        pos = (pos + bytes[t] + 63) & ~(size_t)63;
    }
    f->n = off[NT - 1] + bytes[NT - 1];
    f->p = aligned_alloc(64, (f->n + 63) & ~(size_t)63);
    assert_non_null(f->p);
    memset(f->p, 0, f->n);

    iqsw_header *h = &f->h;
    header_defaults(h);
    h->minor = trec > IQSW_TENSOR_REC_SIZE ? IQSW_MINOR + 1 : IQSW_MINOR;
    h->tensor_rec = trec;
    h->layer_rec = lrec;
    h->tensors_off = (uint32_t)f->tab;
    h->tensor_count = NT;
    h->layers_off = (uint32_t)f->lay;
    h->layer_count = NL;
    h->strings_off = (uint32_t)f->str;
    h->strings_size = (uint32_t)so;
    h->data_off = f->data;
    h->data_size = f->n - f->data;
    h->file_size = f->n;
    iqs_iqsw_put_header(f->p, h);
    memcpy(f->p + f->str, strings, so);
    for (int t = 0; t < NT; t++) {
        iqsw_tensor r = {.name = tname_off[t], .dtype = IQSW_DTYPE_F32,
                         .rank = trank[t], .offset = off[t], .bytes = bytes[t]};
        memcpy(r.dims, tdims[t], sizeof r.dims);
        iqs_iqsw_put_tensor(f->p + f->tab + (size_t)t * trec, &r);
        /* record tails of a "newer minor" hold junk the reader must skip */
        memset(f->p + f->tab + (size_t)t * trec + IQSW_TENSOR_REC_SIZE, 0xA5,
               trec - IQSW_TENSOR_REC_SIZE);
        for (size_t i = 0; i < bytes[t] / 4; i++)
            iqs_wrf32(f->p + off[t] + 4 * i, tval((uint32_t)t, i));
    }
    iqsw_layer L[NL];
    memset(L, 0, sizeof L);
    for (int i = 0; i < NL; i++) {
        L[i].name = lname_off[i];
        L[i].weight = L[i].bias = IQSW_NONE;
        for (int k = 0; k < 4; k++)
            L[i].in[k] = IQSW_NONE;
    }
    L[0].op = IQSW_OP_INPUT;
    L[0].out_c = 3;
    L[1] = (iqsw_layer){.name = lname_off[1], .op = IQSW_OP_CONV, .act = IQSW_ACT_RELU,
                        .n_in = 1, .in = {0, IQSW_NONE, IQSW_NONE, IQSW_NONE},
                        .out_c = 4, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                        .pt = 1, .pl = 1, .pb = 1, .pr = 1, .weight = 0, .bias = 1};
    L[2] = (iqsw_layer){.name = lname_off[2], .op = IQSW_OP_CONV, .n_in = 2,
                        .in = {1, 1, IQSW_NONE, IQSW_NONE}, .out_c = 4, .kh = 1,
                        .kw = 1, .sh = 1, .sw = 1, .scale = 0.5f, .weight = 2, .bias = 3};
    L[3].op = IQSW_OP_MAXPOOL;
    L[3].n_in = 1;
    L[3].in[0] = 2;
    L[3].kh = L[3].kw = L[3].sh = L[3].sw = 2;
    L[4].op = IQSW_OP_CONCAT;
    L[4].n_in = 2;
    L[4].in[0] = L[4].in[1] = 3;
    L[5].op = IQSW_OP_GAP;
    L[5].n_in = 1;
    L[5].in[0] = 4;
    L[6] = (iqsw_layer){.name = lname_off[6], .op = IQSW_OP_DENSE, .act = IQSW_ACT_SOFTMAX,
                        .n_in = 1, .in = {5, IQSW_NONE, IQSW_NONE, IQSW_NONE},
                        .out_c = 3, .weight = 4, .bias = 5};
    for (int i = 0; i < NL; i++) {
        iqs_iqsw_put_layer(f->p + f->lay + (size_t)i * lrec, &L[i]);
        memset(f->p + f->lay + (size_t)i * lrec + IQSW_LAYER_REC_SIZE, 0x5A,
               lrec - IQSW_LAYER_REC_SIZE);
    }
    iqs_iqsw_seal(f->p, f->n);
}

static size_t T(const file *f, int t, size_t field) { return f->tab + (size_t)t * f->trec + field; }
static size_t L(const file *f, int i, size_t field) { return f->lay + (size_t)i * f->lrec + field; }

/* Opens (optionally re-sealing first); checks status and a diag substring. */
static void expect(file *f, int reseal, unsigned flags, iqs_status want,
                   const char *needle)
{
    if (reseal)
        iqs_iqsw_seal(f->p, f->n);
    iqsw_view v;
    iqs_diag d;
    memset(&d, 0, sizeof d);
    iqs_status s = iqs_iqsw_open(f->p, f->n, flags, &v, &d);
    if (s != want || (needle && !strstr(d.msg, needle)))
        fail_msg("status %d (%s), want %d with '%s'", s, d.msg, want,
                 needle ? needle : "");
    assert_int_equal(d.status, want);
    if (want != IQS_OK)
        assert_true(d.msg[0] != '\0');
    free(f->p);
    f->p = NULL;
}

/* ------------------------------------------------------------ tests */

static void test_roundtrip(void **state)
{
    (void)state;
    for (int newer = 0; newer < 2; newer++) {
        file f;
        build(&f, newer ? 56 : IQSW_TENSOR_REC_SIZE, newer ? 80 : IQSW_LAYER_REC_SIZE);
        iqsw_view v;
        iqs_diag d;
        assert_int_equal(iqs_iqsw_open(f.p, f.n, 0, &v, &d), IQS_OK);
        assert_int_equal(d.status, IQS_OK);
        assert_int_equal(v.h.layer_count, NL);
        assert_int_equal(v.h.tensor_count, NT);
        assert_int_equal(v.h.minor, newer ? IQSW_MINOR + 1 : IQSW_MINOR);
        assert_true(v.h.scale == 1.0f / 127.5f);
        assert_true(v.h.offset == -1.0f);
        assert_string_equal(iqs_iqsw_string(&v, v.h.labels), "bad");
        assert_null(iqs_iqsw_string(&v, v.h.strings_size));
        for (int t = 0; t < NT; t++) {
            iqsw_tensor r;
            iqs_iqsw_tensor(&v, (uint32_t)t, &r);
            assert_int_equal(r.rank, trank[t]);
            assert_memory_equal(r.dims, tdims[t], sizeof r.dims);
            const float *p = iqs_iqsw_data(&v, (uint32_t)t);
            assert_int_equal((uintptr_t)p % 64, 0);
            for (size_t i = 0; i < r.bytes / 4; i++)
                assert_true(p[i] == tval((uint32_t)t, i));
        }
        iqsw_layer l;
        iqs_iqsw_layer(&v, 2, &l);
        assert_int_equal(l.op, IQSW_OP_CONV);
        assert_int_equal(l.n_in, 2);
        assert_int_equal(l.in[1], 1);
        assert_true(l.scale == 0.5f);
        assert_string_equal(iqs_iqsw_string(&v, l.name), "block_conv");
        iqs_iqsw_layer(&v, 1, &l);
        assert_int_equal(l.pt + l.pl + l.pb + l.pr, 4);
        assert_int_equal(l.act, IQSW_ACT_RELU);
        free(f.p);
    }
}

static void test_args(void **state)
{
    (void)state;
    file f;
    build(&f, IQSW_TENSOR_REC_SIZE, IQSW_LAYER_REC_SIZE);
    iqsw_view v;
    iqs_diag d;
    assert_int_equal(iqs_iqsw_open(NULL, f.n, 0, &v, &d), IQS_E_ARG);
    assert_int_equal(iqs_iqsw_open(f.p, f.n, 0, NULL, NULL), IQS_E_ARG);
    assert_int_equal(iqs_iqsw_open(f.p, f.n, 0, &v, NULL), IQS_OK); /* NULL diag ok */
    /* the same bytes at a misaligned address */
    uint8_t *m = malloc(f.n + 64);
    uint8_t *mis = m + (64 - (uintptr_t)m % 64) % 64 + 8;
    memcpy(mis, f.p, f.n);
    assert_int_equal(iqs_iqsw_open(mis, f.n, 0, &v, &d), IQS_E_ARG);
    assert_non_null(strstr(d.msg, "aligned"));
    free(m);
    free(f.p);
}

static void test_truncated_at_each_section(void **state)
{
    (void)state;
    file f;
    build(&f, IQSW_TENSOR_REC_SIZE, IQSW_LAYER_REC_SIZE);
    size_t cuts[] = {0, 3, 4, 7, 8, 64, 127, 128, f.tab + 1, f.lay - 1, f.lay,
                     f.str - 1, f.str, f.str + 5, f.data - 1, f.data, f.data + 1,
                     f.n / 2, f.n - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        size_t n = cuts[k];
        uint8_t *p = aligned_alloc(64, 64 + ((n + 63) & ~(size_t)63));
        memcpy(p, f.p, n);
        iqsw_view v;
        iqs_diag d;
        iqs_status s = iqs_iqsw_open(p, n, 0, &v, &d);
        if (s != IQS_E_FORMAT)
            fail_msg("cut at %zu: status %d (%s)", n, s, d.msg);
        free(p);
    }
    free(f.p);
}

static void test_header_rules(void **state)
{
    (void)state;
    file f;
#define CASE(stmt, reseal, want, needle)                          \
    do {                                                          \
        build(&f, IQSW_TENSOR_REC_SIZE, IQSW_LAYER_REC_SIZE);     \
        stmt;                                                     \
        expect(&f, reseal, 0, want, needle);                      \
    } while (0)
    CASE(memcpy(f.p, "IQSX", 4), 1, IQS_E_FORMAT, "magic");
    CASE(iqs_wr16(f.p + IQSW_H_MAJOR, 2), 1, IQS_E_VERSION, "major");
    CASE(iqs_wr16(f.p + IQSW_H_MAJOR, 0), 1, IQS_E_VERSION, "major");
    CASE(iqs_wr16(f.p + IQSW_H_MINOR, 7), 1, IQS_OK, NULL); /* newer minor */
    CASE(iqs_wr32(f.p + IQSW_H_HEADER_SIZE, 64), 1, IQS_E_FORMAT, "header_size");
    CASE(iqs_wr32(f.p + IQSW_H_TENSOR_REC, 40), 1, IQS_E_FORMAT, "tensor record");
    CASE(iqs_wr32(f.p + IQSW_H_LAYER_REC, 63), 1, IQS_E_FORMAT, "layer record");
    CASE(iqs_wr32(f.p + IQSW_H_ALIGN, 32), 1, IQS_E_FORMAT, "alignment");
    CASE(iqs_wr64(f.p + IQSW_H_FILE_SIZE, f.n + 64), 1, IQS_E_FORMAT, "file_size");
    CASE(iqs_wr64(f.p + IQSW_H_DATA_OFF, f.data + 8), 1, IQS_E_FORMAT, "multiple of 64");
    CASE(iqs_wr64(f.p + IQSW_H_DATA_SIZE, 12), 1, IQS_E_FORMAT, "data section");
    CASE(iqs_wr64(f.p + IQSW_H_DATA_OFF, UINT64_MAX - 63), 1, IQS_E_FORMAT, NULL);
    /* tables past the metadata region / past the end / overlapping */
    CASE(iqs_wr32(f.p + IQSW_H_TENSORS_OFF, (uint32_t)f.n), 1, IQS_E_FORMAT, "tensor table");
    CASE(iqs_wr32(f.p + IQSW_H_LAYER_COUNT, 0x10000), 1, IQS_E_FORMAT, "layer table");
    CASE(iqs_wr32(f.p + IQSW_H_STRINGS_SIZE, 0xFFFFFF), 1, IQS_E_FORMAT, "string table");
    CASE(iqs_wr32(f.p + IQSW_H_STRINGS_OFF, 0xFFFFFFFFu), 1, IQS_E_FORMAT, "string table");
    CASE(iqs_wr32(f.p + IQSW_H_TENSORS_OFF, 64), 1, IQS_E_FORMAT, "tensor table");
    CASE(iqs_wr32(f.p + IQSW_H_LAYERS_OFF, (uint32_t)f.tab + 48), 1, IQS_E_FORMAT, "overlap");
    CASE(iqs_wr32(f.p + IQSW_H_TENSOR_COUNT, 0x7FFFFFFF), 1, IQS_E_FORMAT, "tensor_count");
    /* header fields */
    CASE(iqs_wr32(f.p + IQSW_H_ARCH, 9), 1, IQS_E_UNSUPPORTED, "architecture");
    CASE(iqs_wr32(f.p + IQSW_H_HEAD, 0), 1, IQS_E_UNSUPPORTED, "head");
    CASE(iqs_wr32(f.p + IQSW_H_INPUT_C, 1), 1, IQS_E_UNSUPPORTED, "channels");
    CASE(iqs_wr32(f.p + IQSW_H_INPUT_H, 0), 1, IQS_E_FORMAT, "input size");
    CASE((iqs_wr32(f.p + IQSW_H_INPUT_H, 0), iqs_wr32(f.p + IQSW_H_INPUT_W, 0)), 1, IQS_OK, NULL);
    CASE((iqs_wr32(f.p + IQSW_H_INPUT_H, 0), iqs_wr32(f.p + IQSW_H_INPUT_W, 0),
          iqs_wr32(f.p + IQSW_H_DEFAULT_SIDE, 0)), 1, IQS_E_FORMAT, "default_side");
    CASE(iqs_wr32(f.p + IQSW_H_RESIZE, 2), 1, IQS_E_UNSUPPORTED, "resize");
    CASE(iqs_wr32(f.p + IQSW_H_ORDER, 2), 1, IQS_E_UNSUPPORTED, "order");
    CASE(iqs_wrf32(f.p + IQSW_H_SCALE, NAN), 1, IQS_E_FORMAT, "scale");
    CASE(iqs_wr32(f.p + IQSW_H_CLASSES, 0), 1, IQS_E_FORMAT, "classes");
    CASE(iqs_wr32(f.p + IQSW_H_CLASSES, 17), 1, IQS_E_FORMAT, "classes");
    CASE(iqs_wr32(f.p + IQSW_H_HEAD, IQS_HEAD_NIMA10), 1, IQS_E_FORMAT, "NIMA");
    CASE(iqs_wr32(f.p + IQSW_H_LABELS, 0xFFFFFF), 1, IQS_E_FORMAT, "label 0");
    /* labels running off the end of an unterminated string table */
    CASE((iqs_wr32(f.p + IQSW_H_LABELS, f.h.strings_size - 3),
          memset(f.p + f.str + f.h.strings_size - 3, 'x', 3)), 1, IQS_E_FORMAT, "label 0");
    CASE(iqs_wr32(f.p + IQSW_H_CLASSES, 2), 1, IQS_E_FORMAT, "classes"); /* != dense out */
}

static void test_tensor_rules(void **state)
{
    (void)state;
    file f;
    CASE(iqs_wr32(f.p + T(&f, 2, IQSW_T_DTYPE), 2), 1, IQS_E_UNSUPPORTED, "dtype");
    CASE(iqs_wr32(f.p + T(&f, 2, IQSW_T_RANK), 0), 1, IQS_E_FORMAT, "rank");
    CASE(iqs_wr32(f.p + T(&f, 2, IQSW_T_RANK), 5), 1, IQS_E_FORMAT, "rank");
    CASE(iqs_wr32(f.p + T(&f, 1, IQSW_T_DIMS + 4), 4), 1, IQS_E_FORMAT, "dim 1"); /* unused dim */
    CASE(iqs_wr32(f.p + T(&f, 0, IQSW_T_DIMS), 0), 1, IQS_E_FORMAT, "dim 0");
    /* huge dims: 2^24 each, the product overflows nothing but bytes mismatch */
    CASE((iqs_wr32(f.p + T(&f, 0, IQSW_T_DIMS), 1u << 24),
          iqs_wr32(f.p + T(&f, 0, IQSW_T_DIMS + 4), 1u << 24),
          iqs_wr32(f.p + T(&f, 0, IQSW_T_DIMS + 8), 1u << 24),
          iqs_wr32(f.p + T(&f, 0, IQSW_T_DIMS + 12), 1u << 24)), 1, IQS_E_FORMAT, "t0/kernel");
    CASE(iqs_wr32(f.p + T(&f, 0, IQSW_T_DIMS), (1u << 24) + 1), 1, IQS_E_FORMAT, "dim 0");
    CASE(iqs_wr64(f.p + T(&f, 0, IQSW_T_BYTES), 4), 1, IQS_E_FORMAT, "bytes for");
    /* offsets: misaligned, before the data, past the end, overlapping */
    CASE(iqs_wr64(f.p + T(&f, 3, IQSW_T_OFFSET), f.data + 4), 1, IQS_E_FORMAT, "multiple of 64");
    CASE(iqs_wr64(f.p + T(&f, 3, IQSW_T_OFFSET), 0), 1, IQS_E_FORMAT, "outside the data");
    CASE(iqs_wr64(f.p + T(&f, 5, IQSW_T_OFFSET), (f.n + 63) & ~(size_t)63), 1,
         IQS_E_FORMAT, "outside the data");
    CASE(iqs_wr64(f.p + T(&f, 5, IQSW_T_OFFSET), UINT64_MAX - 63), 1, IQS_E_FORMAT,
         "outside the data");
    CASE(iqs_wr64(f.p + T(&f, 3, IQSW_T_OFFSET), f.data), 1, IQS_E_FORMAT, "overlap");
    /* out of table order: overlap found by the pairwise check ... */
    CASE(iqs_wr64(f.p + T(&f, 4, IQSW_T_OFFSET), f.data + 448), 1, IQS_E_FORMAT, "overlap");
    /* ... and two 16-byte tensors swapped: unordered but disjoint is valid */
    CASE((iqs_wr64(f.p + T(&f, 1, IQSW_T_OFFSET), f.data + 576),
          iqs_wr64(f.p + T(&f, 3, IQSW_T_OFFSET), f.data + 448)), 1, IQS_OK, NULL);
    CASE(iqs_wr32(f.p + T(&f, 4, IQSW_T_NAME), 0xFFFF), 1, IQS_E_FORMAT, "name offset");
}

/* n one-element tensors, the first two swapped (disjoint, out of order),
 * a one-layer table; returns the open's status and message. */
static iqs_status open_unordered(uint32_t n, char *msg, size_t msgsz)
{
    const size_t tab = IQSW_HEADER_SIZE, lay = tab + (size_t)n * IQSW_TENSOR_REC_SIZE;
    const size_t str = lay + IQSW_LAYER_REC_SIZE;
    const char strings[] = "bad\0normal\0good\0t";
    const size_t so = sizeof strings;
    const size_t data = (str + so + 63) & ~(size_t)63;
    const size_t size = data + (size_t)n * 64;
    uint8_t *p = aligned_alloc(64, size);
    assert_non_null(p);
    memset(p, 0, size);
    iqsw_header h;
    header_defaults(&h);
    h.tensors_off = (uint32_t)tab;
    h.tensor_count = n;
    h.layers_off = (uint32_t)lay;
    h.layer_count = 1;
    h.strings_off = (uint32_t)str;
    h.strings_size = (uint32_t)so;
    h.data_off = data;
    h.data_size = size - data;
    h.file_size = size;
    iqs_iqsw_put_header(p, &h);
    memcpy(p + str, strings, so);
    for (uint32_t t = 0; t < n; t++) {
        const uint32_t slot = t == 0 ? 1 : t == 1 ? 0 : t;
        iqsw_tensor r = {.name = (uint32_t)(so - 2), .dtype = IQSW_DTYPE_F32, .rank = 1,
                         .offset = data + 64 * (size_t)slot, .bytes = 4};
        r.dims[0] = r.dims[1] = r.dims[2] = r.dims[3] = 1;
        iqs_iqsw_put_tensor(p + tab + (size_t)t * IQSW_TENSOR_REC_SIZE, &r);
    }
    iqsw_layer L;
    memset(&L, 0, sizeof L);
    L.op = IQSW_OP_INPUT;
    L.out_c = 3;
    L.weight = L.bias = IQSW_NONE;
    for (int k = 0; k < 4; k++)
        L.in[k] = IQSW_NONE;
    iqs_iqsw_put_layer(p + lay, &L);
    iqs_iqsw_seal(p, size);
    iqsw_view v;
    iqs_diag d;
    memset(&d, 0, sizeof d);
    iqs_status st = iqs_iqsw_open(p, size, 0, &v, &d);
    snprintf(msg, msgsz, "%s", d.msg);
    free(p);
    return st;
}

/* The pairwise overlap check for tensors out of file order is bounded:
 * up to IQSW_MAX_UNORDERED_TENSORS it runs (and passes: the tensors are
 * disjoint), one more is refused before it starts. */
static void test_unordered_bound(void **state)
{
    (void)state;
    char msg[256];
    iqs_status st = open_unordered(IQSW_MAX_UNORDERED_TENSORS, msg, sizeof msg);
    if (strstr(msg, "tensor"))
        fail_msg("%u unordered tensors: status %d (%s)", IQSW_MAX_UNORDERED_TENSORS, st, msg);
    st = open_unordered(IQSW_MAX_UNORDERED_TENSORS + 1, msg, sizeof msg);
    assert_int_equal(st, IQS_E_FORMAT);
    if (!strstr(msg, "ascending offset order"))
        fail_msg("%u unordered tensors: %s", IQSW_MAX_UNORDERED_TENSORS + 1, msg);
}

static void test_layer_rules(void **state)
{
    (void)state;
    file f;
    CASE(iqs_wr16(f.p + L(&f, 0, IQSW_L_OP), IQSW_OP_GAP), 1, IQS_E_FORMAT, "INPUT");
    CASE(iqs_wr16(f.p + L(&f, 3, IQSW_L_OP), IQSW_OP_INPUT), 1, IQS_E_FORMAT, "INPUT");
    CASE(iqs_wr16(f.p + L(&f, 3, IQSW_L_OP), 99), 1, IQS_E_UNSUPPORTED, "unknown op");
    CASE(iqs_wr16(f.p + L(&f, 1, IQSW_L_ACT), 7), 1, IQS_E_UNSUPPORTED, "activation");
    CASE(iqs_wr16(f.p + L(&f, 3, IQSW_L_ACT), IQSW_ACT_RELU), 1, IQS_E_FORMAT, "activation");
    CASE(iqs_wr16(f.p + L(&f, 1, IQSW_L_ACT), IQSW_ACT_SOFTMAX), 1, IQS_E_FORMAT, "activation");
    /* ids: self, forward, out of range, unused slot set, wrong n_in */
    CASE(iqs_wr32(f.p + L(&f, 3, IQSW_L_IN), 3), 1, IQS_E_FORMAT, "earlier layer");
    CASE(iqs_wr32(f.p + L(&f, 3, IQSW_L_IN), 5), 1, IQS_E_FORMAT, "earlier layer");
    CASE(iqs_wr32(f.p + L(&f, 4, IQSW_L_IN + 4), 0xFFFFFFF0u), 1, IQS_E_FORMAT, "earlier layer");
    CASE(iqs_wr32(f.p + L(&f, 3, IQSW_L_IN + 8), 1), 1, IQS_E_FORMAT, "none past n_in");
    CASE(iqs_wr32(f.p + L(&f, 3, IQSW_L_N_IN), 2), 1, IQS_E_FORMAT, "inputs");
    CASE(iqs_wr32(f.p + L(&f, 4, IQSW_L_N_IN), 1), 1, IQS_E_FORMAT, "inputs");
    CASE(iqs_wr32(f.p + L(&f, 1, IQSW_L_N_IN), 3), 1, IQS_E_FORMAT, "inputs");
    CASE(iqs_wr32(f.p + L(&f, 0, IQSW_L_N_IN), 1), 1, IQS_E_FORMAT, "inputs");
    CASE(iqs_wr32(f.p + L(&f, 1, IQSW_L_WEIGHT), 6), 1, IQS_E_FORMAT, "weight tensor id");
    CASE(iqs_wr32(f.p + L(&f, 1, IQSW_L_WEIGHT), IQSW_NONE), 1, IQS_E_FORMAT, "weight tensor id");
    CASE(iqs_wr32(f.p + L(&f, 1, IQSW_L_BIAS), IQSW_NONE), 1, IQS_OK, NULL); /* optional */
    CASE(iqs_wr32(f.p + L(&f, 1, IQSW_L_BIAS), 0), 1, IQS_E_FORMAT, "bias tensor");
    CASE(iqs_wr32(f.p + L(&f, 3, IQSW_L_WEIGHT), 0), 1, IQS_E_FORMAT, "no weights");
    CASE(iqs_wr32(f.p + L(&f, 1, IQSW_L_OUT_C), 5), 1, IQS_E_FORMAT, "dim0");
    CASE(iqs_wr32(f.p + L(&f, 6, IQSW_L_WEIGHT), 0), 1, IQS_E_FORMAT, "rank");
    CASE(iqs_wr16(f.p + L(&f, 1, IQSW_L_KH), 1), 1, IQS_E_FORMAT, "pads"); /* pad 1 >= k 1 */
    CASE(iqs_wr16(f.p + L(&f, 2, IQSW_L_KW), 3), 1, IQS_E_FORMAT, "weight tensor");
    CASE(iqs_wr16(f.p + L(&f, 3, IQSW_L_SH), 0), 1, IQS_E_FORMAT, "stride");
    CASE(iqs_wr16(f.p + L(&f, 3, IQSW_L_PB), 2), 1, IQS_E_FORMAT, "pads");
    CASE(iqs_wrf32(f.p + L(&f, 2, IQSW_L_SCALE), INFINITY), 1, IQS_E_FORMAT, "scale");
    CASE(iqs_wr32(f.p + L(&f, 5, IQSW_L_NAME), f.h.strings_size), 1, IQS_E_FORMAT, "name offset");
    CASE(iqs_wr32(f.p + IQSW_H_LAYER_COUNT, 6), 1, IQS_E_FORMAT, "last layer");
}

static void test_crc(void **state)
{
    (void)state;
    file f;
    /* flipped CRC bytes, and flipped covered bytes without re-sealing */
    CASE(f.p[IQSW_H_CRC_META] ^= 1, 0, IQS_E_CHECKSUM, "header/table CRC");
    CASE(f.p[IQSW_H_CRC_DATA + 3] ^= 0x80, 0, IQS_E_CHECKSUM, "data CRC");
    CASE(f.p[IQSW_H_ARCH] ^= 2, 0, IQS_E_CHECKSUM, "header/table CRC");
    CASE(f.p[L(&f, 3, IQSW_L_IN)] ^= 1, 0, IQS_E_CHECKSUM, "header/table CRC");
    CASE(f.p[f.str + 1] ^= 1, 0, IQS_E_CHECKSUM, "header/table CRC");
    CASE(f.p[f.data + 5] ^= 1, 0, IQS_E_CHECKSUM, "data CRC");
    CASE(f.p[f.n - 1] ^= 1, 0, IQS_E_CHECKSUM, "data CRC");
    /* the data CRC is skippable, the meta CRC is not */
    build(&f, IQSW_TENSOR_REC_SIZE, IQSW_LAYER_REC_SIZE);
    f.p[f.n - 1] ^= 1;
    expect(&f, 0, IQSW_READ_SKIP_DATA_CRC, IQS_OK, NULL);
    build(&f, IQSW_TENSOR_REC_SIZE, IQSW_LAYER_REC_SIZE);
    f.p[IQSW_H_CRC_META] ^= 1;
    expect(&f, 0, IQSW_READ_SKIP_DATA_CRC, IQS_E_CHECKSUM, NULL);
    /* the meta CRC covers [0,120) and [header_size, data_off), as zlib's crc32 */
    build(&f, IQSW_TENSOR_REC_SIZE, IQSW_LAYER_REC_SIZE);
    uint32_t c = iqs_crc32(0, f.p, 120);
    c = iqs_crc32(c, f.p + 128, f.data - 128);
    assert_int_equal(iqs_rd32(f.p + IQSW_H_CRC_META), c);
    assert_int_equal(iqs_rd32(f.p + IQSW_H_CRC_DATA), iqs_crc32(0, f.p + f.data, f.n - f.data));
    assert_int_equal(iqs_crc32(0, "123456789", 9), 0xCBF43926u); /* the check value */
    free(f.p);
}

/* tests/bad/MANIFEST lines: "<file> <STATUS> [diag substring]" for .iqsw. */
static iqs_status status_by_name(const char *s)
{
    static const struct { const char *n; iqs_status s; } tab[] = {
        {"OK", IQS_OK}, {"E_ARG", IQS_E_ARG}, {"E_FORMAT", IQS_E_FORMAT},
        {"E_VERSION", IQS_E_VERSION}, {"E_CHECKSUM", IQS_E_CHECKSUM},
        {"E_UNSUPPORTED", IQS_E_UNSUPPORTED}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (!strcmp(tab[i].n, s))
            return tab[i].s;
    fail_msg("MANIFEST: unknown status %s", s);
    return IQS_E_INTERNAL;
}

static void test_bad_files(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/bad", tu_root_dir());
    FILE *mf = fopen(tu_path(dir, "MANIFEST"), "r");
    if (!mf)
        fail_msg("cannot open %s/MANIFEST", dir);
    char line[512];
    int checked = 0;
    while (fgets(line, sizeof line, mf)) {
        char name[128], st[32], needle[256] = "";
        if (line[0] == '#' || sscanf(line, "%127s %31s %255[^\n]", name, st, needle) < 2)
            continue;
        size_t nl = strlen(name);
        if (nl < 5 || strcmp(name + nl - 5, ".iqsw") != 0)
            continue;
        size_t n = 0;
        uint8_t *p = tu_read_file(tu_path(dir, name), &n);
        if (!p)
            fail_msg("cannot read tests/bad/%s", name);
        iqsw_view v;
        iqs_diag d;
        iqs_status want = status_by_name(st);
        iqs_status s = iqs_iqsw_open(p, n, 0, &v, &d);
        if (s != want || (needle[0] && !strstr(d.msg, needle)))
            fail_msg("%s: status %d '%s', want %s '%s'", name, s, d.msg, st, needle);
        free(p);
        checked++;
    }
    fclose(mf);
    assert_true(checked >= 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_truncated_at_each_section),
        cmocka_unit_test(test_header_rules),
        cmocka_unit_test(test_tensor_rules),
        cmocka_unit_test(test_unordered_bound),
        cmocka_unit_test(test_layer_rules),
        cmocka_unit_test(test_crc),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests_name("iqsw", tests, NULL, NULL);
}
