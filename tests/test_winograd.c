/*
 * Winograd convolution tests (layer: ops): iqs_conv2d_winograd and its
 * building blocks against iqs_conv2d_ref (double accumulation) on every
 * 3x3 stride-1 shape of InceptionResNetV2 and InceptionV3 at 224 and 299,
 * plus odd sizes (1x1 maps, thin maps, asymmetric pads, channel counts
 * that are not multiples of 16, partial tiles), with residual in place and
 * not, ReLU or none, bias NULL, both tile sizes (F(2x2) and F(4x4)) and
 * both transform builds (portable C, AVX-512 when the CPU has it).
 * Data as in the network: inputs ReLU(N(0,1)), He-scaled N(0, 2/(9 IC))
 * weights, small biases. The scratch is poisoned with NaN and the output
 * has a guard tail, so a read of unset scratch or a stray write fails.
 * Error measure: max |got - ref| / max |ref| over the output, printed next
 * to the im2col path's (iqs_conv2d) on the same data.
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
#include "ops/winograd.h"
#include "testutil.h"

/* ------------------------------------------------------------- helpers */

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static double urand(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    uint64_t r = rng_state * 0x2545f4914f6cdd1dull;
    return ((double)(r >> 11) + 0.5) / 9007199254740992.0; /* (0,1) */
}

static double nrand(void)
{
    return sqrt(-2.0 * log(urand())) * cos(6.283185307179586 * urand());
}

static void *xalloc(size_t bytes)
{
    /* exact size (rounded to the alignment): ASan sees any overrun */
    void *p = aligned_alloc(64, bytes ? (bytes + 63) / 64 * 64 : 64);
    assert_non_null(p);
    return p;
}

#define GUARD 32
static const float guard_val = 12345.0f;

/* max |a - b| / max |b| */
static double rel_err(const float *a, const float *b, size_t n)
{
    double e = 0.0, mx = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= e)) /* NaN propagates as infinity */
            e = isnan(d) ? INFINITY : d;
        if (fabs((double)b[i]) > mx)
            mx = fabs((double)b[i]);
    }
    return e / (mx > 0.0 ? mx : 1.0);
}

typedef struct tcase {
    const char *name;
    int ic, ih, iw, oc, pt, pl, pb, pr;
} tcase;

#define SAME 1, 1, 1, 1
#define VALID 0, 0, 0, 0

static const tcase net_cases[] = {
    /* InceptionResNetV2 at 224 (stem, mixed_5b, block35, 6a, 7a) */
    {"224 stem 32->32 111 valid", 32, 111, 111, 32, VALID},
    {"224 stem 32->64 109 same", 32, 109, 109, 64, SAME},
    {"224 stem 80->192 54 valid", 80, 54, 54, 192, VALID},
    {"224 5b 64->96 25", 64, 25, 25, 96, SAME},
    {"224 5b 96->96 25", 96, 25, 25, 96, SAME},
    {"224 b35 32->32 25", 32, 25, 25, 32, SAME},
    {"224 b35 32->48 25", 32, 25, 25, 48, SAME},
    {"224 b35 48->64 25", 48, 25, 25, 64, SAME},
    {"224 6a 256->256 25", 256, 25, 25, 256, SAME},
    {"224 7a 256->288 12", 256, 12, 12, 288, SAME},
    /* at 299 */
    {"299 stem 32->32 149 valid", 32, 149, 149, 32, VALID},
    {"299 stem 32->64 147 same", 32, 147, 147, 64, SAME},
    {"299 stem 80->192 73 valid", 80, 73, 73, 192, VALID},
    {"299 5b 64->96 35", 64, 35, 35, 96, SAME},
    {"299 5b 96->96 35", 96, 35, 35, 96, SAME},
    {"299 b35 32->32 35", 32, 35, 35, 32, SAME},
    {"299 b35 32->48 35", 32, 35, 35, 48, SAME},
    {"299 b35 48->64 35", 48, 35, 35, 64, SAME},
    {"299 6a 256->256 35", 256, 35, 35, 256, SAME},
    {"299 7a 256->288 17", 256, 17, 17, 288, SAME},
    /* InceptionV3's own (mixed 0-2 and 3 are the 5b shapes above) */
    {"v3 224 b8 448->384 5", 448, 5, 5, 384, SAME},
    {"v3 299 b8 448->384 8", 448, 8, 8, 384, SAME},
};

static const tcase odd_cases[] = {
    {"1x1 map same", 5, 1, 1, 7, SAME},
    {"3x3 map valid", 3, 3, 3, 2, VALID},
    {"2x3 map same", 17, 2, 3, 19, SAME},
    {"thin row 1x40", 4, 1, 40, 5, SAME},
    {"thin col 40x1", 4, 40, 1, 5, SAME},
    {"asym pads", 9, 11, 13, 6, 0, 2, 2, 1},
    {"big pads", 3, 5, 6, 4, 3, 2, 4, 3},
    {"ic 1 oc 1", 1, 9, 10, 1, SAME},
    {"odd 33->17 23x29", 33, 23, 29, 17, SAME},
    {"wide 16 ic 7x70 valid", 16, 7, 70, 33, VALID},
};

typedef struct data {
    iqs_conv_desc d;
    float *in, *w, *b, *res;
    size_t n_in, n_w, n_out;
} data;

static void make_data(data *x, const tcase *c)
{
    iqs_conv_desc d = {0};
    d.ic = c->ic;
    d.ih = c->ih;
    d.iw = c->iw;
    d.oc = c->oc;
    d.kh = d.kw = 3;
    d.sh = d.sw = 1;
    d.pt = c->pt;
    d.pl = c->pl;
    d.pb = c->pb;
    d.pr = c->pr;
    d.oh = c->ih + c->pt + c->pb - 2;
    d.ow = c->iw + c->pl + c->pr - 2;
    d.act = IQS_ACT_RELU;
    d.res_scale = 0.17f;
    assert_true(iqs_conv2d_check(&d));
    x->d = d;
    x->n_in = (size_t)d.ic * d.ih * d.iw;
    x->n_w = (size_t)d.oc * d.ic * 9;
    x->n_out = (size_t)d.oc * d.oh * d.ow;
    x->in = xalloc(x->n_in * sizeof(float));
    x->w = xalloc(x->n_w * sizeof(float));
    x->b = xalloc((size_t)d.oc * sizeof(float));
    x->res = xalloc(x->n_out * sizeof(float));
    for (size_t i = 0; i < x->n_in; i++) {
        const double v = nrand();
        x->in[i] = v > 0.0 ? (float)v : 0.0f;
    }
    const double ws = sqrt(2.0 / (9.0 * d.ic));
    for (size_t i = 0; i < x->n_w; i++)
        x->w[i] = (float)(ws * nrand());
    for (int i = 0; i < d.oc; i++)
        x->b[i] = (float)(0.1 * nrand());
    for (size_t i = 0; i < x->n_out; i++)
        x->res[i] = (float)nrand();
}

static void free_data(data *x)
{
    free(x->in);
    free(x->w);
    free(x->b);
    free(x->res);
}

/* Runs one variant into out (n_out + GUARD floats, guard set):
 * how 0 = iqs_conv2d_winograd, else the _pre path with tile m and isa.
 * Returns 0 when that isa is unavailable. */
static int run_wino(const data *x, const iqs_conv_desc *d, int how, int m,
                    int isa, const float *bias, int resmode, float *out)
{
    /* resmode 0: none, 1: separate residual, 2: in place */
    for (size_t i = 0; i < GUARD; i++)
        out[x->n_out + i] = guard_val;
    if (resmode == 2)
        memcpy(out, x->res, x->n_out * sizeof *out);
    const float *res = resmode == 1 ? x->res : resmode == 2 ? out : NULL;
    int ran = 1;
    if (how == 0) {
        const size_t sz = iqs_winograd_scratch_size(d);
        void *scratch = xalloc(sz);
        memset(scratch, 0xff, sz); /* NaN everywhere */
        iqs_conv2d_winograd(d, x->in, x->w, bias, res, out, scratch);
        free(scratch);
    } else {
        const size_t usz = iqs_winograd_weights_size(d, m);
        const size_t wsz = iqs_winograd_work_size(d, m);
        float *u = xalloc(usz);
        void *scratch = xalloc(wsz);
        memset(u, 0xff, usz);
        memset(scratch, 0xff, wsz);
        iqs_winograd_weights(d, m, x->w, u);
        ran = iqs_conv2d_winograd_pre(d, m, isa, x->in, u, bias, res, out,
                                      scratch);
        free(u);
        free(scratch);
    }
    for (size_t i = 0; i < GUARD; i++)
        assert_true(out[x->n_out + i] == guard_val);
    return ran;
}

static void ref_out(const data *x, const iqs_conv_desc *d, const float *bias,
                    int resmode, float *out)
{
    if (resmode == 2)
        memcpy(out, x->res, x->n_out * sizeof *out);
    iqs_conv2d_ref(d, x->in, x->w, bias,
                   resmode == 1 ? x->res : resmode == 2 ? out : NULL, out);
}

/* Error bound: a few times what the im2col path makes on the same data,
 * with a floor for shapes where im2col happens to be nearly exact. */
static double bound(double im2col_err, int m)
{
    const double floor_ = m == 4 ? 2e-5 : 1e-5;
    return fmax(8.0 * im2col_err, floor_);
}

/* ---------------------------------------------------------------- tests */

/* The network shapes: public entry and both tile sizes, error vs the
 * im2col path printed. ReLU, bias, no residual (as in the network). */
static void test_network_shapes(void **state)
{
    (void)state;
    printf("%-28s %10s %10s %10s\n", "shape", "im2col", "F(2x2)", "F(4x4)");
    for (size_t k = 0; k < sizeof net_cases / sizeof *net_cases; k++) {
        data x;
        make_data(&x, &net_cases[k]);
        const iqs_conv_desc *d = &x.d;
        float *ref = xalloc(x.n_out * sizeof(float));
        float *got = xalloc((x.n_out + GUARD) * sizeof(float));
        ref_out(&x, d, x.b, 0, ref);
        /* the im2col path on the same data */
        void *sc = xalloc(iqs_conv2d_scratch_size(d));
        iqs_conv2d(d, x.in, x.w, x.b, NULL, got, sc);
        free(sc);
        const double e_im = rel_err(got, ref, x.n_out);
        double e[5];
        for (int m = 2; m <= 4; m += 2) {
            assert_int_equal(run_wino(&x, d, 1, m, -1, x.b, 0, got), 1);
            e[m] = rel_err(got, ref, x.n_out);
            if (!(e[m] <= bound(e_im, m)))
                fail_msg("%s F(%dx%d): error %.3g (im2col %.3g)",
                         net_cases[k].name, m, m, e[m], e_im);
        }
        run_wino(&x, d, 0, 0, 0, x.b, 0, got);
        const double e_pub = rel_err(got, ref, x.n_out);
        const int mt = iqs_winograd_tile(d);
        assert_true(e_pub <= bound(e_im, mt));
        printf("%-28s %10.3g %10.3g %10.3g\n", net_cases[k].name, e_im, e[2],
               e[4]);
        free(ref);
        free(got);
        free_data(&x);
    }
}

/* Odd sizes x every combination of residual mode, act, bias, tile, isa. */
static void test_odd_shapes(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof odd_cases / sizeof *odd_cases; k++) {
        data x;
        make_data(&x, &odd_cases[k]);
        float *ref = xalloc((x.n_out + GUARD) * sizeof(float));
        float *got = xalloc((x.n_out + GUARD) * sizeof(float));
        for (int act = 0; act <= 1; act++) {
            for (int resmode = 0; resmode <= 2; resmode++) {
                for (int hasb = 0; hasb <= 1; hasb++) {
                    iqs_conv_desc d = x.d;
                    d.act = act ? IQS_ACT_RELU : IQS_ACT_NONE;
                    const float *bias = hasb ? x.b : NULL;
                    ref_out(&x, &d, bias, resmode, ref);
                    for (int m = 2; m <= 4; m += 2) {
                        for (int isa = 0; isa <= 2; isa += 2) {
                            if (!run_wino(&x, &d, 1, m, isa, bias, resmode,
                                          got))
                                continue; /* no AVX-512 here */
                            const double e = rel_err(got, ref, x.n_out);
                            if (!(e <= (m == 4 ? 1e-5 : 2e-6)))
                                fail_msg("%s m %d isa %d act %d res %d "
                                         "bias %d: error %.3g",
                                         odd_cases[k].name, m, isa, act,
                                         resmode, hasb, e);
                        }
                    }
                    run_wino(&x, &d, 0, 0, 0, bias, resmode, got);
                    assert_true(rel_err(got, ref, x.n_out) <= 1e-5);
                }
            }
        }
        free(ref);
        free(got);
        free_data(&x);
    }
}

/* Both instruction-set builds on network shapes with a residual in place
 * and no activation (the block-final form), where they must agree with
 * the reference to the same bound. */
static void test_isa_residual(void **state)
{
    (void)state;
    static const int pick[] = {0, 5, 8, 9, 12};
    for (size_t k = 0; k < sizeof pick / sizeof *pick; k++) {
        data x;
        make_data(&x, &net_cases[pick[k]]);
        iqs_conv_desc d = x.d;
        d.act = IQS_ACT_NONE;
        float *ref = xalloc(x.n_out * sizeof(float));
        float *got = xalloc((x.n_out + GUARD) * sizeof(float));
        ref_out(&x, &d, x.b, 2, ref);
        for (int isa = 0; isa <= 2; isa += 2) {
            if (!run_wino(&x, &d, 1, 4, isa, x.b, 2, got))
                continue;
            const double e = rel_err(got, ref, x.n_out);
            if (!(e <= 2e-5))
                fail_msg("%s isa %d: error %.3g", net_cases[pick[k]].name,
                         isa, e);
        }
        free(ref);
        free(got);
        free_data(&x);
    }
}

/* applies(): only 3x3 stride-1 convolutions, never invalid ones. */
static void test_applies(void **state)
{
    (void)state;
    iqs_conv_desc d = {32, 25, 25, 32, 25, 25, 3, 3, 1, 1,
                       1, 1, 1, 1, IQS_ACT_RELU, 1.0f};
    assert_false(iqs_winograd_applies(NULL));
    iqs_conv_desc e = d;
    e.sh = e.sw = 2;
    e.oh = e.ow = 13;
    assert_false(iqs_winograd_applies(&e));
    e = d;
    e.kh = e.kw = 1;
    e.pt = e.pl = e.pb = e.pr = 0;
    assert_false(iqs_winograd_applies(&e));
    e = d;
    e.oh = 24; /* inconsistent */
    assert_false(iqs_winograd_applies(&e));
    d.ic = d.oc = 256;
    assert_true(iqs_winograd_applies(&d)); /* mixed_6a: must pay */
    e = d;
    e.ih = e.iw = e.oh = e.ow = 12; /* mixed_7a at 224: 9 tiles, loses */
    e.oc = 288;
    assert_false(iqs_winograd_applies(&e));
    const int m = iqs_winograd_tile(&d);
    assert_true(m == 2 || m == 4);
    assert_true(iqs_winograd_scratch_size(&d) % 64 == 0);
    assert_true(iqs_winograd_weights_size(&d, 4) % 64 == 0);
    assert_true(iqs_winograd_scratch_size(&d) ==
                iqs_winograd_scratch_size(&d));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_applies),
        cmocka_unit_test(test_odd_shapes),
        cmocka_unit_test(test_isa_residual),
        cmocka_unit_test(test_network_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
