/*
 * Kernel tests (layer: ops): every tuned op against its plain reference
 * on odd shapes (1x1, 1xN, Nx1, 3x3 SAME and stride-2 VALID, 5x5,
 * asymmetric pads, channel counts that are not multiples of 8, residual in
 * place and not, ReLU or none), the GEMM seam (OpenBLAS or portable, and
 * each instruction-set build of the portable kernel) against the naive
 * triple loop with non-minimal leading dimensions, and the pools, GAP,
 * dense and softmax against hand-computed values where the TensorFlow
 * semantics matter (average pool divides by the valid cells only).
 * Tolerance: |got - ref| <= 1e-5 * sqrt(K) * max(1, |ref|).
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

#include "ops/ops.h"
#include "testutil.h"

/* ------------------------------------------------------------- helpers */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* Uniform in [-1, 1), deterministic (xorshift64*). */
static float frand(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    uint64_t r = rng_state * 0x2545f4914f6cdd1dull;
    return (float)((double)(r >> 40) / (double)(1ull << 23) - 1.0);
}

/* 64-byte aligned buffer of n floats filled with frand(); freed by free(). */
static float *falloc(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes ? bytes : 64);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = frand();
    return p;
}

/* Largest violation of |a-b| <= tol*max(1,|b|); fails the test if any. */
static void expect_close(const float *got, const float *ref, size_t n,
                         double tol, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        double lim = tol * fmax(1.0, fabs((double)ref[i]));
        if (!(fabs((double)got[i] - (double)ref[i]) <= lim)) {
            fail_msg("%s: element %zu got %.9g want %.9g (limit %.3g)", what,
                     i, (double)got[i], (double)ref[i], lim);
        }
    }
}

/* ---------------------------------------------------------------- conv */

/* Residual modes of one conv case. */
enum { RES_NONE, RES_INPLACE, RES_SEPARATE };

typedef struct conv_case {
    const char *name;
    int ic, ih, iw, oc, kh, kw, sh, sw, pt, pl, pb, pr, act, res;
} conv_case;

/* Runs one case: fast vs reference, output written into a channel slice of
 * a larger "concat" buffer with guard cells around it that must survive. */
static void run_conv_case(const conv_case *cc)
{
    iqs_conv_desc d = {0};
    d.ic = cc->ic;
    d.ih = cc->ih;
    d.iw = cc->iw;
    d.oc = cc->oc;
    d.kh = cc->kh;
    d.kw = cc->kw;
    d.sh = cc->sh;
    d.sw = cc->sw;
    d.pt = cc->pt;
    d.pl = cc->pl;
    d.pb = cc->pb;
    d.pr = cc->pr;
    d.act = cc->act;
    d.res_scale = 0.17f;
    d.oh = (d.ih + d.pt + d.pb - d.kh) / d.sh + 1;
    d.ow = (d.iw + d.pl + d.pr - d.kw) / d.sw + 1;
    assert_int_equal(iqs_conv2d_check(&d), 1);

    const size_t K = (size_t)d.ic * d.kh * d.kw;
    const size_t outn = (size_t)d.oc * d.oh * d.ow;
    const size_t guard = 37; /* floats before and after the slice */
    float *in = falloc((size_t)d.ic * d.ih * d.iw);
    float *w = falloc((size_t)d.oc * K);
    float *bias = falloc((size_t)d.oc);
    float *res = falloc(outn);
    float *big = falloc(outn + 2 * guard);
    float *want = falloc(outn);
    float *ref_res = falloc(outn);
    memcpy(ref_res, res, outn * sizeof(float));
    float *out = big + guard;
    float *guard_copy = falloc(outn + 2 * guard);
    const size_t ss = iqs_conv2d_scratch_size(&d);
    void *scratch = ss ? aligned_alloc(64, (ss + 63) / 64 * 64) : NULL;
    if (ss)
        assert_non_null(scratch);
    /* poison the scratch so a missed zero pad shows up */
    if (ss)
        memset(scratch, 0x7f, ss);

    const float *residual = NULL;
    if (cc->res == RES_INPLACE) {
        memcpy(out, res, outn * sizeof(float));
        residual = out;
    } else if (cc->res == RES_SEPARATE) {
        residual = res;
    }
    memcpy(guard_copy, big, (outn + 2 * guard) * sizeof(float));

    iqs_conv2d_ref(&d, in, w, bias, cc->res == RES_NONE ? NULL : ref_res,
                   want);
    iqs_conv2d(&d, in, w, bias, residual, out, scratch);

    char what[160];
    snprintf(what, sizeof what, "conv %s", cc->name);
    expect_close(out, want, outn, 1e-5 * sqrt((double)K), what);
    assert_memory_equal(big, guard_copy, guard * sizeof(float));
    assert_memory_equal(big + guard + outn, guard_copy + guard + outn,
                        guard * sizeof(float));
    if (cc->act == IQS_ACT_RELU)
        for (size_t i = 0; i < outn; i++)
            assert_true(out[i] >= 0.0f);
    /* the separate residual must be left alone */
    if (cc->res == RES_SEPARATE)
        assert_memory_equal(res, ref_res, outn * sizeof(float));

    free(in);
    free(w);
    free(bias);
    free(res);
    free(big);
    free(want);
    free(ref_res);
    free(guard_copy);
    free(scratch);
}

static const conv_case conv_cases[] = {
    /* name               ic  ih  iw oc kh kw sh sw pt pl pb pr act res */
    {"1x1 direct",        13,  7,  9, 5, 1, 1, 1, 1, 0, 0, 0, 0, 0, RES_NONE},
    {"1x1 direct relu",    3, 11,  5, 13, 1, 1, 1, 1, 0, 0, 0, 0, 1, RES_NONE},
    {"1x1 res inplace",   21,  6,  5, 13, 1, 1, 1, 1, 0, 0, 0, 0, 1, RES_INPLACE},
    {"1x1 res separate",  13,  5,  7, 21, 1, 1, 1, 1, 0, 0, 0, 0, 0, RES_SEPARATE},
    {"1x1 stride 2",       5,  9, 11, 7, 1, 1, 2, 2, 0, 0, 0, 0, 1, RES_NONE},
    {"1x1 padded",         5,  4,  6, 3, 1, 1, 1, 1, 1, 0, 0, 2, 0, RES_NONE},
    {"1x7 same",          13, 17, 11, 5, 1, 7, 1, 1, 0, 3, 0, 3, 1, RES_NONE},
    {"7x1 same",           5, 11, 17, 13, 7, 1, 1, 1, 3, 0, 3, 0, 1, RES_NONE},
    {"1x3 same",          13,  9,  8, 3, 1, 3, 1, 1, 0, 1, 0, 1, 0, RES_NONE},
    {"3x1 same",           3,  8,  9, 13, 3, 1, 1, 1, 1, 0, 1, 0, 1, RES_NONE},
    {"1x3 valid",          5,  6, 10, 7, 1, 3, 1, 1, 0, 0, 0, 0, 1, RES_NONE},
    {"7x1 valid",          5, 12,  4, 7, 7, 1, 1, 1, 0, 0, 0, 0, 0, RES_NONE},
    {"1x7 asym pads",      3,  5, 12, 5, 1, 7, 1, 1, 0, 4, 0, 1, 0, RES_NONE},
    {"7x1 asym pads",      3, 12,  5, 5, 7, 1, 1, 1, 1, 0, 5, 0, 0, RES_NONE},
    {"1x7 pad > width",    3,  4,  3, 5, 1, 7, 1, 1, 0, 6, 0, 0, 1, RES_NONE},
    {"5x1 pad > height",   3,  2,  4, 5, 5, 1, 1, 1, 0, 0, 4, 0, 0, RES_NONE},
    {"5x5 pads 4,0,0,4",   3,  6,  5, 5, 5, 5, 1, 1, 4, 0, 0, 4, 1, RES_SEPARATE},
    {"1x3 wide pads",      3,  4,  3, 5, 1, 3, 1, 1, 0, 2, 0, 2, 0, RES_NONE},
    {"3x3 same",           3, 10,  7, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, RES_NONE},
    {"3x3 same res",      13,  9,  9, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, RES_INPLACE},
    {"3x3 s2 valid",      13, 15, 11, 5, 3, 3, 2, 2, 0, 0, 0, 0, 1, RES_NONE},
    {"3x3 s2 valid even", 5,  16, 12, 3, 3, 3, 2, 2, 0, 0, 0, 0, 0, RES_NONE},
    {"3x3 s2 same asym",   5, 10,  8, 7, 3, 3, 2, 2, 0, 0, 1, 1, 1, RES_NONE},
    {"3x3 odd pads",       3,  7,  6, 5, 3, 3, 1, 1, 2, 0, 1, 2, 0, RES_SEPARATE},
    {"3x3 s2x1",           5,  9,  7, 3, 3, 3, 2, 1, 1, 1, 1, 1, 1, RES_NONE},
    {"5x5 same",           5,  9,  6, 7, 5, 5, 1, 1, 2, 2, 2, 2, 1, RES_NONE},
    {"5x5 valid",          3, 13,  7, 5, 5, 5, 1, 1, 0, 0, 0, 0, 0, RES_INPLACE},
    {"kernel = input",     5,  3,  4, 7, 3, 4, 1, 1, 0, 0, 0, 0, 0, RES_NONE},
    {"big K 3x3",         77, 12, 10, 37, 3, 3, 1, 1, 1, 1, 1, 1, 1, RES_NONE},
    {"big K 1x1 res",    300,  9,  8, 45, 1, 1, 1, 1, 0, 0, 0, 0, 1, RES_INPLACE},
    /* outputs of several bands (iqs_ops_conv_band), last band partial */
    {"3x3 banded",         3, 600,  7, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, RES_INPLACE},
    {"3x3/2 banded",       2, 4200, 5, 4, 3, 3, 2, 2, 0, 0, 0, 0, 0, RES_SEPARATE},
    {"1x1 direct banded",  5, 700,  7, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, RES_INPLACE},
    {"1x7 banded",         3, 650,  8, 4, 1, 7, 1, 1, 0, 3, 0, 3, 1, RES_NONE},
    {"1x1 stem-like",      3, 35, 35, 32, 1, 1, 1, 1, 0, 0, 0, 0, 1, RES_NONE},
};

static void test_conv_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++)
        run_conv_case(&conv_cases[i]);
}

/* Independent check of the reference conv: a 3x3 SAME all-ones kernel on
 * an all-ones 1-channel 4x5 image counts the valid neighbours (4 at a
 * corner, 6 on an edge, 9 inside), plus the bias. */
static void test_conv_ref_hand(void **state)
{
    (void)state;
    iqs_conv_desc d = {1, 4, 5, 1, 4, 5, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0.0f};
    assert_int_equal(iqs_conv2d_check(&d), 1);
    float in[20], w[9], b[1] = {0.5f}, out[20], out2[20];
    for (int i = 0; i < 20; i++)
        in[i] = 1.0f;
    for (int i = 0; i < 9; i++)
        w[i] = 1.0f;
    iqs_conv2d_ref(&d, in, w, b, NULL, out);
    const float want[20] = {4.5f, 6.5f, 6.5f, 6.5f, 4.5f, 6.5f, 9.5f,
                            9.5f, 9.5f, 6.5f, 6.5f, 9.5f, 9.5f, 9.5f,
                            6.5f, 4.5f, 6.5f, 6.5f, 6.5f, 4.5f};
    assert_memory_equal(out, want, sizeof want);
    float scratch[9 * 20] __attribute__((aligned(64)));
    assert_true(iqs_conv2d_scratch_size(&d) <= sizeof scratch);
    iqs_conv2d(&d, in, w, b, NULL, out2, scratch);
    expect_close(out2, want, 20, 1e-6, "conv hand");

    /* residual in place with ReLU: out = max(0, -4 + 0.5*(conv + b)):
     * corners and edges clip to 0, the inside gives 0.75 */
    d.res_scale = 0.5f;
    d.act = IQS_ACT_RELU;
    float r[20];
    for (int i = 0; i < 20; i++)
        r[i] = -4.0f;
    memcpy(out, r, sizeof r);
    iqs_conv2d(&d, in, w, b, out, out, scratch);
    for (int i = 0; i < 20; i++) {
        float v = -4.0f + 0.5f * want[i];
        assert_true(fabsf(out[i] - (v > 0 ? v : 0)) <= 1e-6f);
    }
}

static void test_conv_check(void **state)
{
    (void)state;
    const iqs_conv_desc ok = {32, 35, 35, 32, 35, 35, 3, 3, 1, 1,
                              1,  1,  1,  1,  1,  1.0f};
    assert_int_equal(iqs_conv2d_check(&ok), 1);
    assert_int_equal(iqs_conv2d_check(NULL), 0);
    iqs_conv_desc d = ok;
    d.oh = 34;
    assert_int_equal(iqs_conv2d_check(&d), 0);
    d = ok;
    d.ow = 36;
    assert_int_equal(iqs_conv2d_check(&d), 0);
    d = ok;
    d.sh = 0;
    assert_int_equal(iqs_conv2d_check(&d), 0);
    d = ok;
    d.pl = -1;
    assert_int_equal(iqs_conv2d_check(&d), 0);
    d = ok;
    d.act = 7;
    assert_int_equal(iqs_conv2d_check(&d), 0);
    d = ok;
    d.ic = 0;
    assert_int_equal(iqs_conv2d_check(&d), 0);
    /* kernel larger than the padded input */
    iqs_conv_desc e = {1, 2, 2, 1, 1, 1, 3, 3, 1, 1, 0, 0, 0, 0, 0, 1.0f};
    assert_int_equal(iqs_conv2d_check(&e), 0);
    /* 3x3 stride 2 VALID 35 -> 17 */
    iqs_conv_desc v = {256, 35, 35, 384, 17, 17, 3, 3, 2, 2,
                       0,   0,  0,  0,   1,  1.0f};
    assert_int_equal(iqs_conv2d_check(&v), 1);
    assert_int_equal(iqs_conv2d_scratch_size(&v),
                     (size_t)256 * 9 * 17 * 17 * sizeof(float));
    /* the stem's 3x3 32->64 at 147x147 runs in bands: the scratch is a
     * band's im2col, a fraction of the whole one, and the bands cover OH */
    iqs_conv_desc st = {32, 147, 147, 64, 147, 147, 3, 3, 1, 1,
                        1,  1,   1,   1,  1,   1.0f};
    assert_int_equal(iqs_conv2d_check(&st), 1);
    const int band = iqs_ops_conv_band(&st);
    assert_true(band >= 1 && band < st.oh);
    /* ... unless the shape runs as Winograd and its scratch is larger */
    const size_t col_st = (size_t)288 * band * 147 * sizeof(float);
    assert_int_equal(iqs_conv2d_line_grain(&st), 4);
    assert_true(iqs_conv2d_scratch_size(&st) >= col_st);
    /* an im2col-only 3x3 (stride 2) keeps the band rule exactly */
    iqs_conv_desc st2 = {32, 147, 147, 64, 73, 73, 3, 3, 2, 2,
                         0,  0,   0,   0,  1,  1.0f};
    assert_int_equal(iqs_conv2d_check(&st2), 1);
    assert_int_equal(iqs_conv2d_line_grain(&st2), 1);
    assert_int_equal(iqs_conv2d_scratch_size(&st2),
                     (size_t)288 * iqs_ops_conv_band(&st2) * 73 * sizeof(float));
    /* 35x35 maps are one band */
    assert_int_equal(iqs_ops_conv_band(&ok), ok.oh);
    /* direct 1x1 needs no scratch; strided or padded 1x1 does */
    iqs_conv_desc p = {320, 35, 35, 32, 35, 35, 1, 1, 1, 1,
                       0,   0,  0,  0,  1,  1.0f};
    assert_int_equal(iqs_conv2d_check(&p), 1);
    assert_int_equal(iqs_conv2d_scratch_size(&p), 0);
    p.sh = p.sw = 2;
    p.oh = p.ow = 18;
    assert_int_equal(iqs_conv2d_check(&p), 1);
    assert_true(iqs_conv2d_scratch_size(&p) > 0);
}

/* ---------------------------------------------------------------- gemm */

typedef void (*gemm_fn)(size_t, size_t, size_t, float, const float *,
                        size_t, const float *, size_t, float, float *,
                        size_t);

static void run_gemm(size_t M, size_t N, size_t K, float alpha, float beta,
                     int isa /* -1 iqs_gemm, -2 iqs_gemm_portable, 0.. */)
{
    const size_t lda = K + 3, ldb = N + 5, ldc = N + 7;
    float *A = falloc(M * lda + 1);
    float *B = falloc((K ? K : 1) * ldb);
    float *C0 = falloc(M * ldc + 1);
    float *C1 = falloc(M * ldc + 1);
    if (beta == 0.0f) /* beta == 0 must ignore C, even NaN */
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++)
                C1[i * ldc + j] = NAN;
    memcpy(C0, C1, (M * ldc + 1) * sizeof(float));
    iqs_gemm_ref(M, N, K, alpha, A, lda, B, ldb, beta, C0, ldc);
    if (isa == -1)
        iqs_gemm(M, N, K, alpha, A, lda, B, ldb, beta, C1, ldc);
    else if (isa == -2)
        iqs_gemm_portable(M, N, K, alpha, A, lda, B, ldb, beta, C1, ldc);
    else if (!iqs_ops_gemm_portable_isa(isa, M, N, K, alpha, A, lda, B, ldb,
                                        beta, C1, ldc))
        goto done; /* this build or CPU lacks that ISA */
    char what[128];
    snprintf(what, sizeof what, "gemm isa %d M%zu N%zu K%zu", isa, M, N, K);
    /* the whole buffer: the ldc gaps must be untouched, identical */
    expect_close(C1, C0, M * ldc + 1, 1e-5 * sqrt((double)(K + 1)), what);
done:
    free(A);
    free(B);
    free(C0);
    free(C1);
}

static void test_gemm(void **state)
{
    (void)state;
    static const size_t shapes[][3] = {
        {1, 1, 1},    {7, 13, 5},   {4, 16, 8},   {8, 32, 7},
        {6, 17, 3},   {33, 65, 17}, {9, 47, 300}, {70, 100, 530},
        {13, 1, 9},   {1, 40, 33},  {17, 33, 256}, {25, 130, 257},
        {32, 289, 64}, {0, 5, 3},   {5, 0, 3},    {5, 6, 0},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        for (int isa = -2; isa <= 2; isa++) {
            run_gemm(shapes[s][0], shapes[s][1], shapes[s][2], 1.0f, 0.0f, isa);
            run_gemm(shapes[s][0], shapes[s][1], shapes[s][2], 0.7f, 0.3f, isa);
            run_gemm(shapes[s][0], shapes[s][1], shapes[s][2], 0.17f, 1.0f, isa);
        }
        run_gemm(shapes[s][0], shapes[s][1], shapes[s][2], 1.0f, 0.0f, -1);
        run_gemm(shapes[s][0], shapes[s][1], shapes[s][2], -1.3f, 0.5f, -1);
        run_gemm(shapes[s][0], shapes[s][1], shapes[s][2], 0.2f, 1.0f, -1);
    }
}

/* The fused convolution GEMM (iqs_ops_gemm_bias_act: C = act(alpha*(A.B +
 * bias) + beta*C)) against iqs_gemm_ref followed by iqs_ops_bias_act, for
 * the dispatching entry (isa -1), the iqs_gemm + epilogue composition (0)
 * and the AVX-512 kernel (2, when the CPU has it). The shapes cross the
 * kernel's tile edges: rows not a multiple of 6 or 8, ragged 16-column
 * vectors and 64-column panels, K around its 128 block; B with padded and
 * with dense rows. */
static void run_gemm_bias_act_ld(size_t M, size_t N, size_t K, float alpha,
                                 float beta, int with_bias, int act, int isa,
                                 size_t ldb_pad)
{
    const size_t lda = K + 3, ldb = N + ldb_pad, ldc = N + 7;
    float *A = falloc(M * lda + 1);
    float *B = falloc(K * ldb + 1);
    float *bias = falloc(M + 1);
    float *C0 = falloc(M * ldc + 1);
    float *C1 = falloc(M * ldc + 1);
    if (beta == 0.0f) /* beta == 0 must ignore C, even NaN */
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++)
                C1[i * ldc + j] = NAN;
    memcpy(C0, C1, (M * ldc + 1) * sizeof(float));
    const float *b = with_bias ? bias : NULL;
    iqs_gemm_ref(M, N, K, alpha, A, lda, B, ldb, beta, C0, ldc);
    iqs_ops_bias_act(M, N, ldc, b, alpha, act, C0);
    if (isa < 0)
        iqs_ops_gemm_bias_act(M, N, K, alpha, A, lda, B, ldb, beta, C1, ldc,
                              b, act);
    else if (!iqs_ops_gemm_bias_act_isa(isa, M, N, K, alpha, A, lda, B, ldb,
                                        beta, C1, ldc, b, act))
        goto done;
    char what[128];
    snprintf(what, sizeof what,
             "gemm_bias_act isa %d M%zu N%zu K%zu ldb%zu b%d a%d", isa, M, N,
             K, ldb, with_bias, act);
    expect_close(C1, C0, M * ldc + 1, 1e-5 * sqrt((double)(K + 1)), what);
done:
    free(A);
    free(B);
    free(bias);
    free(C0);
    free(C1);
}

static void run_gemm_bias_act(size_t M, size_t N, size_t K, float alpha,
                              float beta, int with_bias, int act, int isa)
{
    run_gemm_bias_act_ld(M, N, K, alpha, beta, with_bias, act, isa, 5);
    /* dense B (ldb == N): N = 64 is read in place, without packing */
    run_gemm_bias_act_ld(M, N, K, alpha, beta, with_bias, act, isa, 0);
}

static void test_gemm_bias_act(void **state)
{
    (void)state;
    static const size_t shapes[][3] = {
        {1, 1, 1},     {7, 13, 5},    {6, 64, 128},  {8, 65, 129},
        {13, 17, 127}, {33, 48, 300}, {12, 63, 64},  {25, 130, 257},
        {32, 289, 96}, {49, 100, 9},  {5, 33, 1},    {64, 64, 384}, {7, 128, 130},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        for (int isa = -1; isa <= 2; isa++) {
            run_gemm_bias_act(M, N, K, 1.0f, 0.0f, 1, IQS_ACT_RELU, isa);
            run_gemm_bias_act(M, N, K, 1.0f, 0.0f, 0, IQS_ACT_NONE, isa);
            run_gemm_bias_act(M, N, K, 0.17f, 1.0f, 1, IQS_ACT_RELU, isa);
            run_gemm_bias_act(M, N, K, 0.7f, 0.3f, 1, IQS_ACT_NONE, isa);
            run_gemm_bias_act(M, N, K, -1.3f, 0.5f, 0, IQS_ACT_RELU, isa);
        }
    }
}

/* The reference GEMM against a product known by hand:
 * [1 2; 3 4] * [5 6; 7 8] = [19 22; 43 50]. */
static void test_gemm_ref_hand(void **state)
{
    (void)state;
    const float A[4] = {1, 2, 3, 4}, B[4] = {5, 6, 7, 8};
    float C[4] = {1, 1, 1, 1};
    iqs_gemm_ref(2, 2, 2, 1.0f, A, 2, B, 2, 2.0f, C, 2);
    const float want[4] = {21, 24, 45, 52};
    assert_memory_equal(C, want, sizeof want);
    float C2[4] = {1, 1, 1, 1};
    iqs_gemm(2, 2, 2, 1.0f, A, 2, B, 2, 2.0f, C2, 2);
    assert_memory_equal(C2, want, sizeof want);
}

/* ---------------------------------------------------------------- pools */

static iqs_pool_desc pool(int c, int ih, int iw, int k, int s, int pt, int pl,
                          int pb, int pr)
{
    iqs_pool_desc d = {c, ih, iw, 0, 0, k, k, s, s, pt, pl, pb, pr};
    d.oh = (ih + pt + pb - k) / s + 1;
    d.ow = (iw + pl + pr - k) / s + 1;
    return d;
}

static void test_pools_vs_ref(void **state)
{
    (void)state;
    const iqs_pool_desc cases[] = {
        pool(5, 15, 11, 3, 2, 0, 0, 0, 0), /* stem 3x3 s2 VALID */
        pool(13, 9, 7, 3, 1, 1, 1, 1, 1),  /* mixed_5b 3x3 s1 SAME */
        pool(3, 10, 8, 3, 2, 0, 0, 1, 1),  /* 3x3 s2 SAME (TF: pad after) */
        pool(3, 6, 9, 3, 1, 2, 0, 1, 2),   /* asymmetric */
        pool(7, 5, 5, 2, 2, 0, 0, 1, 1),
        pool(2, 4, 3, 4, 1, 0, 0, 0, 1),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const iqs_pool_desc *d = &cases[i];
        assert_int_equal(iqs_pool_check(d), 1);
        const size_t n = (size_t)d->c * d->ih * d->iw;
        const size_t m = (size_t)d->c * d->oh * d->ow;
        float *in = falloc(n), *a = falloc(m), *b = falloc(m);
        iqs_maxpool(d, in, a);
        iqs_maxpool_ref(d, in, b);
        assert_memory_equal(a, b, m * sizeof(float));
        iqs_avgpool(d, in, a);
        iqs_avgpool_ref(d, in, b);
        expect_close(a, b, m, 1e-6, "avgpool");
        free(in);
        free(a);
        free(b);
    }
}

static void test_avgpool_hand(void **state)
{
    (void)state;
    /* 3x3 SAME on a 3x3 ones input: 1 everywhere (counts valid cells) */
    iqs_pool_desc d = pool(1, 3, 3, 3, 1, 1, 1, 1, 1);
    float ones[9], out[16];
    for (int i = 0; i < 9; i++)
        ones[i] = 1.0f;
    iqs_avgpool(&d, ones, out);
    for (int i = 0; i < 9; i++)
        assert_true(out[i] == 1.0f);
    iqs_avgpool_ref(&d, ones, out);
    for (int i = 0; i < 9; i++)
        assert_true(out[i] == 1.0f);

    /* values 1..9: corner = (1+2+4+5)/4 = 3, top edge = (1+...+6)/6 = 3.5,
     * left edge = (1+2+4+5+7+8)/6 = 4.5, centre = 45/9 = 5, bottom-right
     * corner = (5+6+8+9)/4 = 7 */
    float v[9];
    for (int i = 0; i < 9; i++)
        v[i] = (float)(i + 1);
    iqs_avgpool(&d, v, out);
    assert_true(fabsf(out[0] - 3.0f) < 1e-6f);
    assert_true(fabsf(out[1] - 3.5f) < 1e-6f);
    assert_true(fabsf(out[3] - 4.5f) < 1e-6f);
    assert_true(fabsf(out[4] - 5.0f) < 1e-6f);
    assert_true(fabsf(out[8] - 7.0f) < 1e-6f);

    /* 4x4 values 1..16, 3x3 s2 SAME (TF pads 0 before, 1 after): out 2x2;
     * (0,0) = mean(1,2,3,5,6,7,9,10,11) = 6, (1,1) = mean(11,12,15,16) =
     * 13.5, (0,1) = mean(3,4,7,8,11,12) = 7.5 */
    float w16[16];
    for (int i = 0; i < 16; i++)
        w16[i] = (float)(i + 1);
    iqs_pool_desc e = pool(1, 4, 4, 3, 2, 0, 0, 1, 1);
    assert_int_equal(e.oh, 2);
    iqs_avgpool(&e, w16, out);
    assert_true(fabsf(out[0] - 6.0f) < 1e-6f);
    assert_true(fabsf(out[1] - 7.5f) < 1e-6f);
    assert_true(fabsf(out[3] - 13.5f) < 1e-6f);
}

static void test_maxpool_hand(void **state)
{
    (void)state;
    /* all -5 with SAME pads: padding never wins, output stays -5 */
    iqs_pool_desc d = pool(2, 3, 4, 3, 1, 1, 1, 1, 1);
    float in[24], out[24];
    for (int i = 0; i < 24; i++)
        in[i] = -5.0f;
    iqs_maxpool(&d, in, out);
    for (int i = 0; i < 24; i++)
        assert_true(out[i] == -5.0f);
    /* 4x4 values 1..16, 3x3 s2 VALID: one output, max = 11 */
    for (int i = 0; i < 16; i++)
        in[i] = (float)(i + 1);
    iqs_pool_desc e = pool(1, 4, 4, 3, 2, 0, 0, 0, 0);
    assert_int_equal(e.oh, 1);
    iqs_maxpool(&e, in, out);
    assert_true(out[0] == 11.0f);
}

static void test_pool_check(void **state)
{
    (void)state;
    iqs_pool_desc d = pool(3, 8, 8, 3, 2, 0, 0, 0, 0);
    assert_int_equal(iqs_pool_check(&d), 1);
    assert_int_equal(iqs_pool_check(NULL), 0);
    iqs_pool_desc e = d;
    e.oh++;
    assert_int_equal(iqs_pool_check(&e), 0);
    e = d;
    e.pt = 3; /* a window of padding only */
    e.oh = (8 + 3 - 3) / 2 + 1;
    assert_int_equal(iqs_pool_check(&e), 0);
    e = d;
    e.sw = 0;
    assert_int_equal(iqs_pool_check(&e), 0);
}

static void test_gap(void **state)
{
    (void)state;
    /* channel i holds 1..hw scaled by i+1: mean = (i+1)*(hw+1)/2 */
    const int c = 13, hw = 37;
    float *in = falloc((size_t)c * hw), out[13], ref[13];
    for (int i = 0; i < c; i++)
        for (int j = 0; j < hw; j++)
            in[i * hw + j] = (float)((i + 1) * (j + 1));
    iqs_gap(c, hw, in, out);
    for (int i = 0; i < c; i++)
        assert_true(fabsf(out[i] - (float)(i + 1) * 19.0f) < 1e-4f);
    free(in);
    in = falloc((size_t)c * 64);
    iqs_gap(c, 64, in, out);
    iqs_gap_ref(c, 64, in, ref);
    expect_close(out, ref, (size_t)c, 1e-5 * 8, "gap");
    free(in);
}

static void test_dense(void **state)
{
    (void)state;
    static const int shapes[][2] = {{3, 1536}, {10, 13}, {1, 1}, {7, 5}, {5, 300}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int no = shapes[s][0], ni = shapes[s][1];
        float *w = falloc((size_t)no * ni), *b = falloc((size_t)no);
        float *x = falloc((size_t)ni), *y = falloc((size_t)no);
        float *r = falloc((size_t)no);
        for (int act = 0; act <= 1; act++) {
            iqs_dense(no, ni, w, b, x, y, act);
            iqs_dense_ref(no, ni, w, b, x, r, act);
            expect_close(y, r, (size_t)no, 1e-5 * sqrt((double)ni), "dense");
            iqs_dense(no, ni, w, NULL, x, y, act);
            iqs_dense_ref(no, ni, w, NULL, x, r, act);
            expect_close(y, r, (size_t)no, 1e-5 * sqrt((double)ni), "dense nb");
        }
        free(w);
        free(b);
        free(x);
        free(y);
        free(r);
    }
    /* by hand: [1 2 3; -4 5 -6] . [1 1 2] + [0.5 -1] = [9.5, -6], relu */
    const float w[6] = {1, 2, 3, -4, 5, -6}, x[3] = {1, 1, 2}, b[2] = {0.5f, -1};
    float y[2];
    iqs_dense(2, 3, w, b, x, y, IQS_ACT_NONE);
    assert_true(y[0] == 9.5f && y[1] == -12.0f);
    iqs_dense(2, 3, w, b, x, y, IQS_ACT_RELU);
    assert_true(y[0] == 9.5f && y[1] == 0.0f);
}

static void test_softmax(void **state)
{
    (void)state;
    /* huge logits: no overflow, sums to 1, ratio of neighbours is e */
    const float x[4] = {1000.0f, 999.0f, -1000.0f, 998.0f};
    float y[4];
    iqs_softmax(4, x, y);
    double s = 0;
    for (int i = 0; i < 4; i++) {
        assert_true(isfinite(y[i]) && y[i] >= 0.0f);
        s += y[i];
    }
    assert_true(fabs(s - 1.0) < 1e-6);
    assert_true(fabs(y[0] / y[1] - exp(1.0)) < 1e-4);
    assert_true(fabs(y[1] / y[3] - exp(1.0)) < 1e-4);
    assert_true(y[2] < 1e-30f);
    /* equal logits: uniform; in place */
    float z[5] = {-3e4f, -3e4f, -3e4f, -3e4f, -3e4f};
    iqs_softmax(5, z, z);
    for (int i = 0; i < 5; i++)
        assert_true(fabsf(z[i] - 0.2f) < 1e-6f);
    /* against a double evaluation on moderate logits */
    float a[13], b[13];
    for (int i = 0; i < 13; i++)
        a[i] = 4.0f * frand();
    iqs_softmax(13, a, b);
    double den = 0;
    for (int i = 0; i < 13; i++)
        den += exp((double)a[i]);
    for (int i = 0; i < 13; i++)
        assert_true(fabs(b[i] - exp((double)a[i]) / den) < 1e-6);
    /* n == 1 */
    float one = 123.0f;
    iqs_softmax(1, &one, &one);
    assert_true(one == 1.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_cases),
        cmocka_unit_test(test_conv_ref_hand),
        cmocka_unit_test(test_conv_check),
        cmocka_unit_test(test_gemm),
        cmocka_unit_test(test_gemm_bias_act),
        cmocka_unit_test(test_gemm_ref_hand),
        cmocka_unit_test(test_pools_vs_ref),
        cmocka_unit_test(test_avgpool_hand),
        cmocka_unit_test(test_maxpool_hand),
        cmocka_unit_test(test_pool_check),
        cmocka_unit_test(test_gap),
        cmocka_unit_test(test_dense),
        cmocka_unit_test(test_softmax),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
