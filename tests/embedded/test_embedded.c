/*
 * Core tests without cmocka, for builds that cannot run the cmocka suites:
 * cross-compiled binaries run under qemu (aarch64, big-endian s390x) and the
 * STDIO=0 / MALLOC=0 / BLAS=none configurations. The library under test is
 * linked statically; this program itself is a hosted test harness (it reads
 * files and uses malloc), the library it links need not be.
 *
 *   test_embedded [--img DIR] [--model FILE.iqsw] [--ref DIR --list FILE]
 *                 [--max N] [--rgb FILE W H PROBS]
 *                 [--assess-out FILE] [--assess-ref FILE]
 *
 * Always: kernels against their references (GEMM, conv, pools, dense,
 * softmax), CRC-32 check value, an IQSW file built in memory through the
 * format reader, the static model API's argument checks, the classic
 * detectors on synthetic scenes (relations that hold on any host; with
 * --assess-ref, the scores another host saved with --assess-out).
 * --img DIR (tests/img): nearest-exact indices and the normalisation against
 * OpenCV/numpy outputs stored as text (byte-order independent).
 * --model: the model through iqs_model_static_size/iqs_model_init_static.
 * On a little-endian host it then classifies the reference tensors of --ref
 * (<name>.f32 CHW inputs and <name>.probs OpenCV outputs for each name in
 * the --list file, at most --max of them) within 1e-4; --rgb classifies
 * raw RGB8 pixels (W x H) through the public iqs_classify and compares
 * with PROBS. On a big-endian host both
 * calls must return IQS_E_ENDIAN (the documented policy: IQSW is
 * little-endian and used in place, so such hosts are refused).
 *
 * Prints "PASS name" / "FAIL name: why" per check and a closing
 * "N passed, N failed" line; exits 1 on any failure.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "base/crc32.h"
#include "base/rd.h"
#include "format/iqsw.h"
#include "image/image.h"
#include "iqs/iqs.h"
#include "ops/ops.h"

#define FIDELITY_TOL 1e-4

static int n_pass, n_fail;

static void report(int ok, const char *name, const char *fmt, ...)
{
    if (ok) {
        printf("PASS %s\n", name);
        n_pass++;
        return;
    }
    printf("FAIL %s: ", name);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    n_fail++;
}

static int host_le(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Deterministic values in [-1, 1): tests must not depend on libc rand. */
static uint32_t rng_state = 12345u;
static float frand(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) & 0xFFFFFF) / (float)0x800000 - 1.0f;
}

static void fill(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = frand();
}

static void *xalloc(size_t n)
{
    /* 64-aligned, as the kernels' scratch and the weights require. */
    void *p = aligned_alloc(64, (n + 63) / 64 * 64 + 64);
    if (!p) {
        printf("FAIL alloc: %zu bytes\n", n);
        exit(1);
    }
    return p;
}

/* Largest |a-b| over n floats, relative to max(1, |b|). */
static double max_rel(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]) / fmax(1.0, fabs((double)b[i]));
        if (!(d <= m)) /* also catches NaN */
            m = isnan(d) ? INFINITY : d;
    }
    return m;
}

/* ------------------------------------------------------------------- ops */

static void test_gemm(void)
{
    static const size_t dims[][3] = {{1, 1, 1},   {7, 5, 3},    {33, 65, 17},
                                     {64, 64, 64}, {129, 31, 200}, {5, 300, 96},
                                     {96, 784, 288}};
    for (size_t t = 0; t < sizeof dims / sizeof dims[0]; t++) {
        const size_t M = dims[t][0], N = dims[t][1], K = dims[t][2];
        const size_t lda = K + 3, ldb = N + 1, ldc = N + 2;
        float *A = xalloc(M * lda * 4), *B = xalloc(K * ldb * 4);
        float *C = xalloc(M * ldc * 4), *R = xalloc(M * ldc * 4);
        fill(A, M * lda);
        fill(B, K * ldb);
        const float alpha = t % 2 ? 0.5f : 1.0f, beta = t % 3 == 1 ? 1.0f : 0.0f;
        fill(C, M * ldc);
        if (beta == 0.0f) /* beta 0 must not read C: poison it */
            for (size_t i = 0; i < M * ldc; i++)
                C[i] = NAN;
        memcpy(R, C, M * ldc * 4);
        iqs_gemm(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        iqs_gemm_ref(M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);
        double worst = 0;
        for (size_t i = 0; i < M; i++) {
            double d = max_rel(C + i * ldc, R + i * ldc, N);
            if (!(d <= worst))
                worst = d;
        }
        char name[64];
        snprintf(name, sizeof name, "gemm_%zux%zux%zu", M, N, K);
        /* float accumulation over K terms of size <= 1 vs double */
        report(worst <= 1e-6 * (double)K + 1e-6, name, "max rel diff %g", worst);
        free(A);
        free(B);
        free(C);
        free(R);
    }
}

static void test_conv(void)
{
    static const iqs_conv_desc cases[] = {
        /* ic ih iw oc oh ow kh kw sh sw pt pl pb pr act res */
        {3, 17, 19, 8, 8, 9, 3, 3, 2, 2, 0, 0, 0, 0, IQS_ACT_RELU, 0.f},
        {5, 9, 9, 7, 9, 9, 3, 3, 1, 1, 1, 1, 1, 1, IQS_ACT_NONE, 0.f},
        {16, 6, 7, 12, 6, 7, 1, 1, 1, 1, 0, 0, 0, 0, IQS_ACT_RELU, 0.f},
        {4, 10, 8, 6, 10, 8, 1, 7, 1, 1, 0, 3, 0, 3, IQS_ACT_NONE, 0.f},
        {4, 8, 10, 6, 8, 10, 7, 1, 1, 1, 3, 0, 3, 0, IQS_ACT_RELU, 0.2f},
        {6, 11, 11, 5, 5, 5, 3, 3, 2, 2, 0, 0, 0, 0, IQS_ACT_RELU, 0.17f},
        {3, 8, 8, 4, 4, 4, 3, 3, 2, 2, 0, 0, 1, 1, IQS_ACT_NONE, 0.f},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const iqs_conv_desc *d = &cases[t];
        char name[64];
        snprintf(name, sizeof name, "conv2d_case%zu", t);
        if (!iqs_conv2d_check(d)) {
            report(0, name, "descriptor rejected by iqs_conv2d_check");
            continue;
        }
        const size_t nin = (size_t)d->ic * d->ih * d->iw;
        const size_t nout = (size_t)d->oc * d->oh * d->ow;
        const size_t nw = (size_t)d->oc * d->ic * d->kh * d->kw;
        float *in = xalloc(nin * 4), *w = xalloc(nw * 4), *b = xalloc(d->oc * 4u);
        float *o = xalloc(nout * 4), *r = xalloc(nout * 4);
        fill(in, nin);
        fill(w, nw);
        fill(b, (size_t)d->oc);
        const int residual = d->res_scale != 0.0f;
        fill(o, nout);
        memcpy(r, o, nout * 4);
        size_t ss = iqs_conv2d_scratch_size(d);
        void *scratch = ss ? xalloc(ss) : NULL;
        /* Residual in place (residual == out), the network's usual case. */
        iqs_conv2d(d, in, w, b, residual ? o : NULL, o, scratch);
        iqs_conv2d_ref(d, in, w, b, residual ? r : NULL, r);
        double m = max_rel(o, r, nout);
        report(m <= 1e-5, name, "max rel diff %g", m);
        free(scratch);
        free(in);
        free(w);
        free(b);
        free(o);
        free(r);
    }
}

static void test_pool_dense_softmax(void)
{
    const iqs_pool_desc pd[] = {
        {5, 13, 11, 6, 5, 3, 3, 2, 2, 0, 0, 0, 0},
        {4, 9, 9, 9, 9, 3, 3, 1, 1, 1, 1, 1, 1},
        {3, 8, 7, 4, 4, 3, 3, 2, 2, 0, 1, 1, 1},
    };
    for (size_t t = 0; t < sizeof pd / sizeof pd[0]; t++) {
        const iqs_pool_desc *d = &pd[t];
        char name[64];
        const size_t nin = (size_t)d->c * d->ih * d->iw, nout = (size_t)d->c * d->oh * d->ow;
        float *in = xalloc(nin * 4), *o = xalloc(nout * 4), *r = xalloc(nout * 4);
        fill(in, nin);
        snprintf(name, sizeof name, "pool_check_case%zu", t);
        report(iqs_pool_check(d), name, "descriptor rejected");
        iqs_maxpool(d, in, o);
        iqs_maxpool_ref(d, in, r);
        snprintf(name, sizeof name, "maxpool_case%zu", t);
        report(memcmp(o, r, nout * 4) == 0, name, "differs from reference");
        iqs_avgpool(d, in, o);
        iqs_avgpool_ref(d, in, r);
        double m = max_rel(o, r, nout);
        snprintf(name, sizeof name, "avgpool_case%zu", t);
        report(m <= 1e-6, name, "max rel diff %g", m);
        free(in);
        free(o);
        free(r);
    }

    float x[1536], g[1536 / 8], gr[1536 / 8];
    fill(x, 1536);
    iqs_gap(8, 1536 / 8, x, g);
    iqs_gap_ref(8, 1536 / 8, x, gr);
    report(max_rel(g, gr, 8) <= 1e-6, "gap", "max rel diff %g", max_rel(g, gr, 8));

    enum { NO = 10, NI = 1536 };
    float *w = xalloc(NO * NI * 4), b[NO], y[NO], yr[NO];
    fill(w, (size_t)NO * NI);
    fill(b, NO);
    iqs_dense(NO, NI, w, b, x, y, IQS_ACT_NONE);
    iqs_dense_ref(NO, NI, w, b, x, yr, IQS_ACT_NONE);
    report(max_rel(y, yr, NO) <= 1e-5, "dense", "max rel diff %g", max_rel(y, yr, NO));
    free(w);

    /* Softmax: large logits must not overflow; result sums to 1 and keeps
     * the order of the logits; exact values from the definition. */
    float lg[4] = {1000.0f, 999.0f, -5.0f, 1000.0f}, p[4];
    iqs_softmax(4, lg, p);
    double s = (double)p[0] + p[1] + p[2] + p[3];
    double e1 = exp(-1.0), e2 = exp(-1005.0);
    double want0 = 1.0 / (2.0 + e1 + e2);
    report(fabs(s - 1.0) < 1e-6 && fabs(p[0] - want0) < 1e-6 && p[0] == p[3] &&
               p[1] < p[0] && p[2] < p[1],
           "softmax", "p = %g %g %g %g", p[0], p[1], p[2], p[3]);
}

/* ------------------------------------------------------------ base, format */

static void test_crc(void)
{
    /* The standard CRC-32 check value of "123456789". */
    uint32_t c = iqs_crc32(0, "123456789", 9);
    report(c == 0xCBF43926u, "crc32_check_value", "got %08x", (unsigned)c);
    uint32_t a = iqs_crc32(0, "1234", 4);
    a = iqs_crc32(a, "56789", 5);
    report(a == c, "crc32_incremental", "got %08x", (unsigned)a);
}

/* A minimal valid IQSW file: INPUT -> GAP -> DENSE(2, softmax). It is not an
 * architecture the runtime knows, which is a case of its own. Returns the
 * file size; buf is 64-aligned and large enough. */
static size_t tiny_iqsw(uint8_t *buf)
{
    static const char strings[] = "in\0gap\0fc\0fc_w\0fc_b\0bad\0good";
    enum { S_IN = 0, S_GAP = 3, S_FC = 7, S_W = 10, S_B = 15, S_LAB = 20 };
    const uint32_t toff = IQSW_HEADER_SIZE, loff = toff + 2 * IQSW_TENSOR_REC_SIZE;
    const uint32_t soff = loff + 3 * IQSW_LAYER_REC_SIZE;
    const uint64_t doff = (soff + sizeof strings + 63) / 64 * 64;
    const uint64_t size = doff + 64 + 8;
    memset(buf, 0, (size_t)size);
    iqsw_header h = {0};
    h.major = IQSW_MAJOR;
    h.minor = IQSW_MINOR;
    h.header_size = IQSW_HEADER_SIZE;
    h.tensor_rec = IQSW_TENSOR_REC_SIZE;
    h.layer_rec = IQSW_LAYER_REC_SIZE;
    h.align = IQSW_ALIGN;
    h.arch = IQSW_ARCH_INCEPTION_RESNET_V2;
    h.head = IQS_HEAD_CLASSES;
    h.input_h = h.input_w = 224;
    h.input_c = 3;
    h.resize = IQSW_RESIZE_NEAREST_EXACT;
    h.order = IQSW_ORDER_RGB;
    h.scale = 1.0f / 127.5f;
    h.offset = -1.0f;
    h.classes = 2;
    h.labels = S_LAB;
    h.tensors_off = toff;
    h.tensor_count = 2;
    h.layers_off = loff;
    h.layer_count = 3;
    h.strings_off = soff;
    h.strings_size = sizeof strings;
    h.data_off = doff;
    h.data_size = size - doff;
    h.file_size = size;
    iqs_iqsw_put_header(buf, &h);
    iqsw_tensor tw = {S_W, IQSW_DTYPE_F32, 2, {2, 3, 1, 1}, doff, 24};
    iqsw_tensor tb = {S_B, IQSW_DTYPE_F32, 1, {2, 1, 1, 1}, doff + 64, 8};
    iqs_iqsw_put_tensor(buf + toff, &tw);
    iqs_iqsw_put_tensor(buf + toff + IQSW_TENSOR_REC_SIZE, &tb);
    iqsw_layer l0 = {0}, l1 = {0}, l2 = {0};
    l0.name = S_IN;
    l0.op = IQSW_OP_INPUT;
    l1.name = S_GAP;
    l1.op = IQSW_OP_GAP;
    l1.n_in = 1;
    l2.name = S_FC;
    l2.op = IQSW_OP_DENSE;
    l2.act = IQSW_ACT_SOFTMAX;
    l2.n_in = 1;
    l2.in[0] = 1;
    l2.out_c = 2;
    l2.weight = 0;
    l2.bias = 1;
    iqsw_layer *ls[3] = {&l0, &l1, &l2};
    for (int i = 0; i < 3; i++) {
        for (int k = 0; k < 4; k++)
            if ((uint32_t)k >= ls[i]->n_in)
                ls[i]->in[k] = IQSW_NONE;
        if (ls[i]->op != IQSW_OP_DENSE)
            ls[i]->weight = ls[i]->bias = IQSW_NONE;
        iqs_iqsw_put_layer(buf + loff + (size_t)i * IQSW_LAYER_REC_SIZE, ls[i]);
    }
    memcpy(buf + soff, strings, sizeof strings);
    for (int k = 0; k < 6; k++)
        iqs_wrf32(buf + doff + 4 * k, 0.25f * (float)k);
    iqs_wrf32(buf + doff + 64, 0.5f);
    iqs_wrf32(buf + doff + 68, -0.5f);
    iqs_iqsw_seal(buf, (size_t)size);
    return (size_t)size;
}

static void test_format(void)
{
    uint8_t *buf = xalloc(4096);
    const size_t n = tiny_iqsw(buf);
    iqsw_view v;
    iqs_diag d;
    iqs_status st = iqs_iqsw_open(buf, n, 0, &v, &d);
    if (!host_le()) {
        /* Policy: refuse, with the dedicated status, before reading fields. */
        report(st == IQS_E_ENDIAN, "iqsw_big_endian_refused", "status %d (%s)", st, d.msg);
        size_t bytes = 1;
        st = iqs_model_static_size(buf, n, NULL, &bytes, &d);
        report(st == IQS_E_ENDIAN && bytes == 0, "static_size_big_endian", "status %d", st);
        free(buf);
        return;
    }
    report(st == IQS_OK && v.h.layer_count == 3 && v.h.classes == 2, "iqsw_open_valid",
           "status %d (%s)", st, d.msg);
    if (st == IQS_OK) {
        const float *w = iqs_iqsw_data(&v, 0);
        report(w && w[5] == 1.25f && ((uintptr_t)w & 63u) == 0, "iqsw_data_in_place",
               "weights not where written");
        report(strcmp(iqs_iqsw_string(&v, v.h.labels), "bad") == 0, "iqsw_labels",
               "label 0 wrong");
    }
    /* One data byte flipped: checksum, unless the data CRC is skipped. */
    buf[n - 1] ^= 0x40;
    st = iqs_iqsw_open(buf, n, 0, &v, NULL);
    report(st == IQS_E_CHECKSUM, "iqsw_data_crc", "status %d", st);
    st = iqs_iqsw_open(buf, n, IQSW_READ_SKIP_DATA_CRC, &v, NULL);
    report(st == IQS_OK, "iqsw_skip_data_crc", "status %d", st);
    buf[n - 1] ^= 0x40;
    st = iqs_iqsw_open(buf, n - 1, 0, &v, NULL);
    report(st == IQS_E_FORMAT, "iqsw_truncated", "status %d", st);
    buf[0] = 'X';
    st = iqs_iqsw_open(buf, n, 0, &v, NULL);
    report(st == IQS_E_FORMAT, "iqsw_bad_magic", "status %d", st);
    buf[0] = 'I';
    st = iqs_iqsw_open(buf + 1, n - 1, 0, &v, NULL);
    report(st == IQS_E_ARG, "iqsw_misaligned", "status %d", st);

    /* The static pair on a file that is valid but not a known network:
     * the size query only reads the tables, init checks the layer table. */
    size_t bytes = 0;
    st = iqs_model_static_size(buf, n, NULL, &bytes, &d);
    report(st == IQS_OK && bytes > sizeof(iqs_model), "static_size_tiny",
           "status %d bytes %zu", st, bytes);
    if (st == IQS_OK) {
        void *mem = malloc(bytes);
        iqs_model *m = (iqs_model *)buf; /* must be reset to NULL */
        st = iqs_model_init_static(mem, bytes, buf, n, NULL, &m, &d);
        report(st == IQS_E_FORMAT && m == NULL, "init_static_unknown_layers",
               "status %d (%s)", st, d.msg);
        free(mem);
    }
    free(buf);
}

static void test_static_args(void)
{
    iqs_model *m = (iqs_model *)&m;
    size_t bytes = 7;
    char mem[64];
    report(iqs_model_static_size(NULL, 10, NULL, &bytes, NULL) == IQS_E_ARG && bytes == 0,
           "static_size_null_weights", "accepted");
    report(iqs_model_static_size(mem, 10, NULL, NULL, NULL) == IQS_E_ARG,
           "static_size_null_bytes", "accepted");
    report(iqs_model_init_static(NULL, 10, mem, 10, NULL, &m, NULL) == IQS_E_ARG && !m,
           "init_static_null_mem", "accepted");
    report(iqs_model_init_static(mem, 10, mem, 10, NULL, NULL, NULL) == IQS_E_ARG,
           "init_static_null_out", "accepted");
    iqs_model_close(NULL);
    report(1, "close_null", "");
}

/* ------------------------------------------------------------------ image */

static FILE *open_in(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return fopen(path, "r");
}

static void test_resize(const char *imgdir)
{
    /* "src dst idx..." lines from cv2.resize INTER_NEAREST_EXACT. */
    FILE *f = open_in(imgdir, "nn_exact.txt");
    if (!f) {
        report(0, "nn_exact_indices", "cannot read %s/nn_exact.txt", imgdir);
        return;
    }
    int src, dst, lines = 0, bad = 0;
    while (fscanf(f, "%d %d", &src, &dst) == 2) {
        for (int i = 0; i < dst; i++) {
            int want;
            if (fscanf(f, "%d", &want) != 1) {
                bad++;
                break;
            }
            if (iqs_resize_src_index(src, dst, i) != want && bad++ < 3)
                printf("  %d->%d [%d]: %d, OpenCV %d\n", src, dst, i,
                       iqs_resize_src_index(src, dst, i), want);
        }
        lines++;
    }
    fclose(f);
    report(lines >= 5 && bad == 0, "nn_exact_indices", "%d lines, %d mismatches", lines, bad);

    /* Normalisation of every byte value, bit for bit against numpy, through
     * the fused resize (a 256 x 1 gray image kept at its size). */
    f = open_in(imgdir, "norm_numpy.txt");
    if (!f) {
        report(0, "normalize_numpy_bits", "cannot read norm_numpy.txt");
        return;
    }
    uint8_t px[256];
    for (int i = 0; i < 256; i++)
        px[i] = (uint8_t)i;
    iqs_image img = {px, 256, 1, 256, IQS_PIX_GRAY8};
    float out[3 * 256];
    iqs_resize_normalize(&img, 1, 256, 1.0f / 127.5f, -1.0f, 0, out);
    int mism = 0, count = 0;
    unsigned bits;
    while (count < 256 && fscanf(f, "%x", &bits) == 1) {
        uint32_t got;
        memcpy(&got, &out[count], 4);
        uint32_t got2;
        memcpy(&got2, &out[512 + count], 4);
        if (got != bits || got2 != bits)
            mism++;
        count++;
    }
    fclose(f);
    report(count == 256 && mism == 0, "normalize_numpy_bits", "%d values, %d differ", count,
           mism);
}

/* -------------------------------------------------------------- detectors */

/* Synthetic RGB8 scenes (w x h, tightly packed), deterministic on every
 * host: 0 sharp edges with mild noise, 1 the same box-blurred, 2 nearly
 * black, 3 flat 8x8 blocks (heavy "compression"). */
static void scene(int kind, int w, int h, uint8_t *px)
{
    rng_state = 777u;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                int v = ((x / 16 + y / 16) % 2 ? 200 : 40) + (x * (c + 1)) % 23 +
                        (int)(frand() * 6.0f);
                if (kind == 2)
                    v = v / 24;
                if (kind == 3)
                    v = (((x / 8) * 37 + (y / 8) * 91 + c * 50) % 200) + 20;
                px[((size_t)y * w + x) * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
    if (kind != 1)
        return;
    uint8_t *tmp = malloc((size_t)w * h * 3);
    memcpy(tmp, px, (size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                int s = 0, n = 0;
                for (int dy = -4; dy <= 4; dy++)
                    for (int dx = -4; dx <= 4; dx++) {
                        int yy = y + dy, xx = x + dx;
                        if (yy >= 0 && yy < h && xx >= 0 && xx < w) {
                            s += tmp[((size_t)yy * w + xx) * 3 + c];
                            n++;
                        }
                    }
                px[((size_t)y * w + x) * 3 + c] = (uint8_t)(s / n);
            }
    free(tmp);
}

/* iqs_assess on the scenes: sanity relations that hold on any host, and,
 * with ref, the same scores as another host's run (saved with out). */
static void test_detectors(const char *out_path, const char *ref_path)
{
    enum { W = 320, H = 240, NS = 4 };
    uint8_t *px = malloc((size_t)W * H * 3);
    iqs_assess_options opt;
    iqs_assess_options_init(&opt, IQS_PROFILE_DEFAULT);
    const size_t wsz = iqs_assess_workspace_size(W, H, &opt);
    void *ws = malloc(wsz);
    iqs_assessment a[NS];
    int ok = wsz > 0;
    for (int k = 0; k < NS && ok; k++) {
        scene(k, W, H, px);
        iqs_image img = {px, W, H, (size_t)W * 3, IQS_PIX_RGB8};
        iqs_status st = iqs_assess(&img, &opt, ws, wsz, &a[k]);
        if (st != IQS_OK) {
            report(0, "assess_runs", "scene %d: status %d", k, st);
            ok = 0;
        }
    }
    free(px);
    free(ws);
    if (!ok)
        return;
    report(1, "assess_runs", "");
    for (int k = 0; k < NS; k++)
        printf("  scene %d: blur %.6f noise %.6f exposure %.6f compression %.6f "
               "quality %.4f label %s\n",
               k, a[k].blur, a[k].noise, a[k].exposure, a[k].compression, a[k].quality,
               iqs_label_name(a[k].label));
    report(a[1].blur > a[0].blur, "assess_blurred_more_blur", "blur %g (blurred) vs %g",
           a[1].blur, a[0].blur);
    report(a[2].underexposure > a[0].underexposure && a[2].underexposure > 0.5f,
           "assess_dark_underexposed", "underexposure %g vs %g", a[2].underexposure,
           a[0].underexposure);
    if (out_path) {
        FILE *f = fopen(out_path, "w");
        for (int k = 0; f && k < NS; k++)
            fprintf(f, "%.9g %.9g %.9g %.9g %.9g %.9g %d\n", a[k].blur, a[k].noise,
                    a[k].overexposure, a[k].underexposure, a[k].compression, a[k].quality,
                    (int)a[k].label);
        report(f && fclose(f) == 0, "assess_saved", "cannot write %s", out_path);
    }
    if (ref_path) {
        FILE *f = fopen(ref_path, "r");
        double worst = 0;
        int rows = 0, labels_equal = 1;
        for (int k = 0; f && k < NS; k++) {
            float r[6];
            int lab;
            if (fscanf(f, "%f %f %f %f %f %f %d", &r[0], &r[1], &r[2], &r[3], &r[4], &r[5],
                       &lab) != 7)
                break;
            const float got[6] = {a[k].blur,          a[k].noise,       a[k].overexposure,
                                  a[k].underexposure, a[k].compression, a[k].quality / 100.0f};
            r[5] /= 100.0f;
            for (int i = 0; i < 6; i++)
                worst = fmax(worst, fabs((double)got[i] - r[i]));
            labels_equal &= lab == (int)a[k].label;
            rows++;
        }
        if (f)
            fclose(f);
        /* libm (exp, log, atan) may differ by an ulp between targets. */
        report(rows == NS && worst <= 1e-4 && labels_equal, "assess_matches_other_host",
               "%d rows, max diff %g, labels equal %d", rows, worst, labels_equal);
    }
}

/* ------------------------------------------------------------------ model */

static void *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = n > 0 ? xalloc((size_t)n) : NULL;
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *size = p ? (size_t)n : 0;
    return p;
}

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

/* Compares a result with OpenCV's probabilities: every class within the
 * bound, and the same arg-max. */
static void check_probs(const char *name, const iqs_result *r, const float *ref, int nref)
{
    double worst = 0;
    int top = 0;
    for (int k = 0; k < nref; k++) {
        double d = fabs((double)r->probs[k] - ref[k]);
        if (!(d <= worst))
            worst = isnan(d) ? INFINITY : d;
        if (ref[k] > ref[top])
            top = k;
    }
    printf("  %s: max |diff| %.3g\n", name, worst);
    report(r->num_classes == nref && worst <= FIDELITY_TOL && r->top == top, name,
           "%d classes (ref %d), max diff %g, top %d (ref %d)", r->num_classes, nref, worst,
           r->top, top);
}

static void test_model(const char *model_path, const char *refdir, const char *list,
                       int max_refs, const char *rgb[4])
{
    size_t wsize = 0;
    void *weights = read_file(model_path, &wsize);
    if (!weights) {
        report(0, "model_read", "cannot read %s", model_path);
        return;
    }
    iqs_diag d;
    size_t bytes = 0;
    iqs_status st = iqs_model_static_size(weights, wsize, NULL, &bytes, &d);
    if (!host_le()) {
        report(st == IQS_E_ENDIAN && bytes == 0, "model_static_size_big_endian",
               "status %d (%s)", st, d.msg);
        iqs_model *m = (iqs_model *)&m;
        static char mem[1 << 16];
        st = iqs_model_init_static(mem, sizeof mem, weights, wsize, NULL, &m, &d);
        report(st == IQS_E_ENDIAN && m == NULL, "model_init_static_big_endian",
               "status %d (%s)", st, d.msg);
        free(weights);
        return;
    }
    report(st == IQS_OK, "model_static_size", "status %d (%s)", st, d.msg);
    if (st != IQS_OK) {
        free(weights);
        return;
    }
    /* Caller memory at an odd address: the size includes alignment slack. */
    char *block = malloc(bytes + 1);
    iqs_model *m = NULL;
    st = iqs_model_init_static(block + 1, bytes - 1, weights, wsize, NULL, &m, &d);
    report(st == IQS_E_NOMEM && m == NULL, "init_static_too_small", "status %d", st);
    st = iqs_model_init_static(block + 1, bytes, weights, wsize, NULL, &m, &d);
    report(st == IQS_OK && m != NULL, "init_static", "status %d (%s)", st, d.msg);
    if (st != IQS_OK) {
        free(block);
        free(weights);
        return;
    }
    iqs_model_info info;
    report(iqs_model_get_info(m, &info) == IQS_OK && info.num_classes >= 1 &&
               info.input_height >= 75,
           "static_model_info", "get_info failed");
    const size_t ws_size = iqs_workspace_size(m);
    void *ws = malloc(ws_size);
    printf("  model %s: %d layers, %d classes, %dx%d input, model object %zu B, "
           "workspace %zu B\n",
           info.architecture, info.num_layers, info.num_classes, info.input_height,
           info.input_width, bytes, ws_size);

    const size_t hw = (size_t)info.input_height * info.input_width;
    float *chw = xalloc(3 * hw * 4);
    int done = 0;
    for (int i = 0; refdir && list && done < max_refs; i++) {
        /* The list holds one reference basename per line (written by the
         * make target), so no directory API is needed. */
        char base[256];
        FILE *lf = fopen(list, "r");
        if (!lf) {
            report(0, "fidelity_refs", "cannot read %s", list);
            break;
        }
        int found = 0;
        for (int k = 0; k <= i && fscanf(lf, "%255s", base) == 1; k++)
            found = k == i;
        fclose(lf);
        if (!found)
            break;
        char p[1400];
        size_t fsz = 0;
        snprintf(p, sizeof p, "%s/%s.f32", refdir, base);
        uint8_t *raw = read_file(p, &fsz);
        if (!raw || fsz != 3 * hw * 4) {
            report(0, "fidelity_input", "%s: %zu bytes, want %zu", p, fsz, 3 * hw * 4);
            free(raw);
            break;
        }
        for (size_t k = 0; k < 3 * hw; k++) /* little-endian file */
            chw[k] = iqs_rdf32(raw + 4 * k);
        free(raw);
        float ref[IQS_MAX_CLASSES];
        snprintf(p, sizeof p, "%s/%s.probs", refdir, base);
        int nref = read_probs(p, ref, IQS_MAX_CLASSES);
        iqs_result r;
        st = iqs_classify_tensor(m, chw, ws, ws_size, &r, NULL);
        char name[300];
        snprintf(name, sizeof name, "fidelity_%s", base);
        if (st != IQS_OK)
            report(0, name, "status %d", st);
        else
            check_probs(name, &r, ref, nref);
        done++;
    }
    free(chw);

    if (rgb[0]) {
        size_t n = 0;
        uint8_t *px = read_file(rgb[0], &n);
        int w = atoi(rgb[1]), h = atoi(rgb[2]);
        float ref[IQS_MAX_CLASSES];
        int nref = read_probs(rgb[3], ref, IQS_MAX_CLASSES);
        if (!px || n != (size_t)w * h * 3 || nref < 1) {
            report(0, "classify_rgb", "bad --rgb inputs (%zu bytes for %dx%d)", n, w, h);
        } else {
            iqs_image img = {px, w, h, (size_t)w * 3, IQS_PIX_RGB8};
            iqs_result r;
            st = iqs_classify(m, &img, ws, ws_size, &r);
            if (st != IQS_OK)
                report(0, "classify_rgb", "status %d", st);
            else
                check_probs("classify_rgb", &r, ref, nref);
            st = iqs_classify(m, &img, ws, ws_size - 65, &r);
            report(st == IQS_E_WORKSPACE, "classify_small_workspace", "status %d", st);
        }
        free(px);
    }
    iqs_model_close(m); /* a no-op on a static model: block is still ours */
    memset(block, 0, bytes + 1);
    free(block);
    free(ws);
    free(weights);
}

int main(int argc, char **argv)
{
    const char *imgdir = NULL, *model = NULL, *refdir = NULL, *list = NULL;
    const char *assess_out = NULL, *assess_ref = NULL;
    const char *rgb[4] = {NULL, NULL, NULL, NULL};
    int max_refs = 1000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--img") && i + 1 < argc)
            imgdir = argv[++i];
        else if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "--ref") && i + 1 < argc)
            refdir = argv[++i];
        else if (!strcmp(argv[i], "--assess-out") && i + 1 < argc)
            assess_out = argv[++i];
        else if (!strcmp(argv[i], "--assess-ref") && i + 1 < argc)
            assess_ref = argv[++i];
        else if (!strcmp(argv[i], "--list") && i + 1 < argc)
            list = argv[++i];
        else if (!strcmp(argv[i], "--max") && i + 1 < argc)
            max_refs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rgb") && i + 4 < argc) {
            for (int k = 0; k < 4; k++)
                rgb[k] = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--img DIR] [--model F --ref DIR --list F --max N] "
                            "[--rgb F W H PROBS] [--assess-out F] [--assess-ref F]\n", argv[0]);
            return 2;
        }
    }
    printf("host: %s-endian, library %s\n", host_le() ? "little" : "big", iqs_version());
    test_gemm();
    test_conv();
    test_pool_dense_softmax();
    test_crc();
    test_format();
    test_static_args();
    if (imgdir)
        test_resize(imgdir);
    test_detectors(assess_out, assess_ref);
    if (model && refdir && !list)
        report(0, "arguments", "--ref needs --list");
    if (model)
        test_model(model, refdir, list, max_refs, rgb);
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
