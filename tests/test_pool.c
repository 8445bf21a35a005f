/*
 * Pooling kernel tests (layer: ops): iqs_maxpool and iqs_avgpool against
 * their references iqs_maxpool_ref / iqs_avgpool_ref, for every pooling
 * shape of InceptionResNetV2 (224, 299) and InceptionV3 (299), every pad
 * combination that iqs_pool_check accepts for small windows, 1x1 windows,
 * rows wider than the kernels' line buffers, windows taller than their
 * ring, and random shapes; each through the dispatching entry and through
 * every build the test hook can force (the clip path, the one-lane generic
 * build, SSE and AVX-512 where the CPU has them).
 * Max must be bit-identical to the reference, for any input: data with
 * many ties, signed zeros (the first cell holding the maximum decides
 * -0.0 vs +0.0), infinities and NaN (a NaN wins only as its window's first
 * real cell). Average: |got - ref| <= 1e-6 * mean |x| over the window
 * (plain 1e-6 relative for non-negative data), NaN and infinities where
 * the reference has them. Outputs are written between guard zones that
 * must stay untouched, and inputs are exact-size heap blocks so that a read
 * past either end shows up under AddressSanitizer.
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

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint32_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

/* Uniform integer in [lo, hi]. */
static int irand(int lo, int hi)
{
    return lo + (int)(rnd() % (uint32_t)(hi - lo + 1));
}

/* Uniform in [-1, 1). */
static float frand(void)
{
    return (float)((double)(rnd() >> 8) / (double)(1u << 23) - 1.0);
}

enum fill_mode {
    FILL_UNIFORM,  /* [-1, 1) */
    FILL_RELU,     /* post-ReLU: >= 0, about half zeros */
    FILL_TIES,     /* a few levels, +0.0 and -0.0 mixed: many ties */
    FILL_SPECIAL,  /* ties plus NaN and +-inf sprinkled */
    FILL_NAN_DENSE /* a third NaN */
};

static void fill(float *p, size_t n, enum fill_mode mode)
{
    for (size_t i = 0; i < n; i++) {
        float v = frand();
        const uint32_t r = rnd() % 100u;
        switch (mode) {
        case FILL_UNIFORM:
            break;
        case FILL_RELU:
            v = v > 0.0f ? v : 0.0f;
            break;
        case FILL_TIES:
        case FILL_SPECIAL:
            /* -1, -0, +0, 1 */
            v = r < 25 ? -1.0f : r < 50 ? -0.0f : r < 75 ? 0.0f : 1.0f;
            if (mode == FILL_SPECIAL) {
                const uint32_t s = rnd() % 100u;
                if (s < 6)
                    v = NAN;
                else if (s < 8)
                    v = INFINITY;
                else if (s < 10)
                    v = -INFINITY;
            }
            break;
        case FILL_NAN_DENSE:
            v = r < 33 ? NAN : v;
            break;
        }
        p[i] = v;
    }
}

/* TF-style descriptor: k x k window, stride s, explicit pads. */
static iqs_pool_desc desc(int c, int ih, int iw, int kh, int kw, int sh,
                          int sw, int pt, int pl, int pb, int pr)
{
    iqs_pool_desc d = {c, ih, iw, 0, 0, kh, kw, sh, sw, pt, pl, pb, pr};
    d.oh = (ih + pt + pb - kh) / sh + 1;
    d.ow = (iw + pl + pr - kw) / sw + 1;
    return d;
}

/* TF SAME pads for a k x k, stride s pool over h x w. */
static iqs_pool_desc same(int c, int h, int w, int k, int s)
{
    const int oh = (h + s - 1) / s, ow = (w + s - 1) / s;
    int ph = (oh - 1) * s + k - h, pw = (ow - 1) * s + k - w;
    ph = ph > 0 ? ph : 0;
    pw = pw > 0 ? pw : 0;
    return desc(c, h, w, k, k, s, s, ph / 2, pw / 2, ph - ph / 2,
                pw - pw / 2);
}

static iqs_pool_desc valid(int c, int h, int w, int k, int s)
{
    return desc(c, h, w, k, k, s, s, 0, 0, 0, 0);
}

enum { GUARD = 64 };
static const float guard_val = 12345.678f;

/* Output buffer with GUARD floats of guard_val on each side. */
static float *guarded(size_t n)
{
    float *g = malloc((n + 2 * GUARD) * sizeof(float));
    assert_non_null(g);
    for (size_t i = 0; i < n + 2 * GUARD; i++)
        g[i] = guard_val;
    return g + GUARD;
}

static void check_guards(const float *out, size_t n, const char *what)
{
    for (size_t i = 0; i < GUARD; i++) {
        if (memcmp(&out[-(long)GUARD + (long)i], &guard_val, sizeof(float)) ||
            memcmp(&out[n + i], &guard_val, sizeof(float)))
            fail_msg("%s: write outside the output", what);
    }
}

static void free_guarded(float *out)
{
    free(out - GUARD);
}

static int same_bits(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static void expect_bits(const iqs_pool_desc *d, const float *got,
                        const float *ref, const char *what)
{
    const size_t n = (size_t)d->c * d->oh * d->ow;
    for (size_t i = 0; i < n; i++) {
        /* a NaN is a NaN: only its payload could differ (see pool.c) */
        if (same_bits(got[i], ref[i]) || (isnan(got[i]) && isnan(ref[i])))
            continue;
        fail_msg("%s: c%d %dx%d k%dx%d s%dx%d pads %d,%d,%d,%d: element %zu "
                 "got %a want %a",
                 what, d->c, d->ih, d->iw, d->kh, d->kw, d->sh, d->sw, d->pt,
                 d->pl, d->pb, d->pr, i, (double)got[i], (double)ref[i]);
    }
}

/* |got - ref| <= 1e-6 * absmean (absmean = reference average of |x|). */
static void expect_avg(const iqs_pool_desc *d, const float *got,
                       const float *ref, const float *absmean,
                       const char *what)
{
    const size_t n = (size_t)d->c * d->oh * d->ow;
    for (size_t i = 0; i < n; i++) {
        if (isnan(ref[i]) || isinf(ref[i])) {
            if (same_bits(got[i], ref[i]) || (isnan(got[i]) && isnan(ref[i])))
                continue;
        } else {
            const double lim = 1e-6 * (double)absmean[i];
            if (fabs((double)got[i] - (double)ref[i]) <= lim)
                continue;
        }
        fail_msg("%s: c%d %dx%d k%dx%d s%dx%d pads %d,%d,%d,%d: element %zu "
                 "got %.9g want %.9g (mean |x| %.9g)",
                 what, d->c, d->ih, d->iw, d->kh, d->kw, d->sh, d->sw, d->pt,
                 d->pl, d->pb, d->pr, i, (double)got[i], (double)ref[i],
                 (double)absmean[i]);
    }
}

/* Every build of both pools on d with data of the given mode, against the
 * references. Returns the number of builds that ran besides the entry. */
static int check_case(const iqs_pool_desc *d, enum fill_mode mode)
{
    assert_int_equal(iqs_pool_check(d), 1);
    const size_t n_in = (size_t)d->c * d->ih * d->iw;
    const size_t n_out = (size_t)d->c * d->oh * d->ow;
    float *in = malloc(n_in * sizeof(float)); /* exact size, for ASan */
    float *absin = malloc(n_in * sizeof(float));
    float *ref = malloc(n_out * sizeof(float));
    float *absmean = malloc(n_out * sizeof(float));
    float *out = guarded(n_out);
    assert_non_null(in);
    assert_non_null(absin);
    assert_non_null(ref);
    assert_non_null(absmean);
    fill(in, n_in, mode);
    for (size_t i = 0; i < n_in; i++)
        absin[i] = fabsf(in[i]);
    int ran = 0;

    iqs_maxpool_ref(d, in, ref);
    iqs_maxpool(d, in, out);
    check_guards(out, n_out, "maxpool");
    expect_bits(d, out, ref, "maxpool");
    for (int isa = -1; isa <= 2; isa++) {
        for (size_t i = 0; i < n_out; i++)
            out[i] = guard_val;
        if (!iqs_ops_pool_isa(isa, 1, d, in, out))
            continue;
        ran++;
        char what[32];
        snprintf(what, sizeof what, "maxpool isa %d", isa);
        check_guards(out, n_out, what);
        expect_bits(d, out, ref, what);
    }

    iqs_avgpool_ref(d, in, ref);
    iqs_avgpool_ref(d, absin, absmean);
    iqs_avgpool(d, in, out);
    check_guards(out, n_out, "avgpool");
    expect_avg(d, out, ref, absmean, "avgpool");
    for (int isa = -1; isa <= 2; isa++) {
        for (size_t i = 0; i < n_out; i++)
            out[i] = guard_val;
        if (!iqs_ops_pool_isa(isa, 0, d, in, out))
            continue;
        ran++;
        char what[32];
        snprintf(what, sizeof what, "avgpool isa %d", isa);
        check_guards(out, n_out, what);
        expect_avg(d, out, ref, absmean, what);
    }

    free(in);
    free(absin);
    free(ref);
    free(absmean);
    free_guarded(out);
    return ran;
}

static void check_all_modes(const iqs_pool_desc *d)
{
    check_case(d, FILL_UNIFORM);
    check_case(d, FILL_RELU);
    check_case(d, FILL_TIES);
    check_case(d, FILL_SPECIAL);
    check_case(d, FILL_NAN_DENSE);
}

/* ---------------------------------------------------------------- tests */

/* Every pooling layer of the two networks at full size. */
static void test_network_shapes(void **state)
{
    (void)state;
    const iqs_pool_desc cases[] = {
        /* InceptionResNetV2 at 224 */
        valid(64, 109, 109, 3, 2),
        valid(192, 52, 52, 3, 2),
        valid(320, 25, 25, 3, 2),
        valid(1088, 12, 12, 3, 2),
        same(192, 25, 25, 3, 1),
        /* stem at 299 (both networks) */
        valid(64, 147, 147, 3, 2),
        valid(192, 71, 71, 3, 2),
        /* InceptionResNetV2 at 299 */
        valid(320, 35, 35, 3, 2),
        valid(1088, 17, 17, 3, 2),
        same(192, 35, 35, 3, 1),
        /* InceptionV3 at 299 */
        valid(288, 35, 35, 3, 2),
        valid(768, 17, 17, 3, 2),
        same(256, 35, 35, 3, 1),
        same(288, 35, 35, 3, 1),
        same(768, 17, 17, 3, 1),
        same(1280, 8, 8, 3, 1),
        same(2048, 8, 8, 3, 1),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_case(&cases[i], FILL_RELU);
        check_case(&cases[i], FILL_UNIFORM);
        check_case(&cases[i], FILL_SPECIAL);
    }
}

/* 3x3 (and 3x2, 2x3, 2x2) windows, strides 1..3, every pad combination
 * the check accepts, on small and odd sizes around the vector widths. */
static void test_all_pads(void **state)
{
    (void)state;
    static const int sizes[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 18, 33, 35};
    static const int ks[][2] = {{3, 3}, {3, 2}, {2, 3}, {2, 2}};
    int n = 0;
    for (size_t k = 0; k < sizeof ks / sizeof ks[0]; k++) {
        const int kh = ks[k][0], kw = ks[k][1];
        for (int s = 1; s <= 3; s++)
            for (int pt = 0; pt < kh; pt++)
                for (int pb = 0; pb < kh; pb++)
                    for (int pl = 0; pl < kw; pl++)
                        for (int pr = 0; pr < kw; pr++) {
                            /* a few sizes per pad combination */
                            const int ih = sizes[irand(0, 12)];
                            const int iw = sizes[irand(0, 12)];
                            iqs_pool_desc d = desc(irand(1, 3), ih, iw, kh,
                                                   kw, s, s, pt, pl, pb, pr);
                            if (!iqs_pool_check(&d))
                                continue;
                            check_case(&d, FILL_UNIFORM);
                            check_case(&d, FILL_SPECIAL);
                            n++;
                        }
    }
    /* every size with every stride for the two network windows */
    for (size_t a = 0; a < sizeof sizes / sizeof sizes[0]; a++)
        for (size_t b = 0; b < sizeof sizes / sizeof sizes[0]; b++)
            for (int s = 1; s <= 2; s++) {
                iqs_pool_desc d = same(2, sizes[a], sizes[b], 3, s);
                check_all_modes(&d);
                d = valid(2, sizes[a], sizes[b], 3, s);
                if (iqs_pool_check(&d))
                    check_all_modes(&d);
                n++;
            }
    assert_true(n > 300);
}

/* 1x1 windows (pads must then be 0), strides 1..3. */
static void test_1x1(void **state)
{
    (void)state;
    for (int s = 1; s <= 3; s++)
        for (int h = 1; h <= 20; h += 3) {
            iqs_pool_desc d = valid(3, h, h + 2, 1, s);
            check_all_modes(&d);
        }
    /* 1xN and Nx1 */
    iqs_pool_desc d = desc(3, 9, 40, 1, 3, 1, 2, 0, 1, 0, 1);
    check_all_modes(&d);
    d = desc(3, 40, 9, 3, 1, 2, 1, 1, 0, 2, 0);
    check_all_modes(&d);
}

/* Shapes beyond the fast path's buffers (OW > 256 lines, KH > 4) and
 * wide strides or windows take the other paths; still exact. */
static void test_fallbacks(void **state)
{
    (void)state;
    iqs_pool_desc d = same(2, 5, 300, 3, 1); /* OW = 300 */
    check_all_modes(&d);
    d = valid(2, 7, 600, 3, 2); /* OW = 299 */
    check_all_modes(&d);
    d = same(2, 9, 257, 3, 1); /* OW = 257, one past */
    check_all_modes(&d);
    d = same(2, 9, 256, 3, 1); /* OW = 256, exactly fits */
    check_all_modes(&d);
    d = desc(2, 20, 20, 5, 5, 1, 1, 2, 2, 2, 2); /* KH = 5 > ring */
    check_all_modes(&d);
    d = desc(2, 20, 20, 4, 4, 1, 1, 1, 2, 2, 1); /* KH = 4 = ring */
    check_all_modes(&d);
    d = desc(2, 23, 29, 3, 3, 4, 5, 1, 2, 0, 1); /* stride > window */
    check_all_modes(&d);
    d = desc(2, 30, 31, 7, 7, 3, 3, 3, 3, 3, 3);
    check_all_modes(&d);
}

/* Random shapes: windows 1..5, strides 1..4, random pads. */
static void test_random(void **state)
{
    (void)state;
    int n = 0;
    while (n < 400) {
        const int kh = irand(1, 5), kw = irand(1, 5);
        iqs_pool_desc d = desc(irand(1, 4), irand(1, 45), irand(1, 70), kh,
                               kw, irand(1, 4), irand(1, 4), irand(0, kh - 1),
                               irand(0, kw - 1), irand(0, kh - 1),
                               irand(0, kw - 1));
        if (!iqs_pool_check(&d))
            continue;
        check_case(&d, (enum fill_mode)irand(0, 4));
        n++;
    }
}

/* A channel range of a larger tensor, as the threaded forward pass calls
 * it: the neighbours' outputs stay untouched (the guards of check_case
 * cover the ends; here the channels around). */
static void test_channel_slice(void **state)
{
    (void)state;
    const iqs_pool_desc full = valid(9, 17, 17, 3, 2);
    iqs_pool_desc part = full;
    part.c = 4;
    const size_t ihw = 17 * 17, ohw = 8 * 8;
    float *in = malloc(9 * ihw * sizeof(float));
    float *out = malloc(9 * ohw * sizeof(float));
    float *ref = malloc(9 * ohw * sizeof(float));
    assert_non_null(in);
    assert_non_null(out);
    assert_non_null(ref);
    fill(in, 9 * ihw, FILL_UNIFORM);
    for (int is_max = 0; is_max <= 1; is_max++) {
        for (size_t i = 0; i < 9 * ohw; i++)
            out[i] = guard_val;
        (is_max ? iqs_maxpool_ref : iqs_avgpool_ref)(&full, in, ref);
        (is_max ? iqs_maxpool : iqs_avgpool)(&part, in + 3 * ihw,
                                             out + 3 * ohw);
        for (size_t i = 0; i < 9 * ohw; i++) {
            if (i < 3 * ohw || i >= 7 * ohw)
                assert_true(same_bits(out[i], guard_val));
            else
                assert_true(fabsf(out[i] - ref[i]) <= 1e-6f);
        }
    }
    free(in);
    free(out);
    free(ref);
}

/* Hand-computed values, independent of both implementations. */
static void test_hand(void **state)
{
    (void)state;
    /* 5x5 ramp 0..24, 3x3 s2 VALID: each max is its window's bottom
     * right cell: 12, 14, 22, 24 */
    float in[25], out[9];
    for (int i = 0; i < 25; i++)
        in[i] = (float)i;
    iqs_pool_desc d = valid(1, 5, 5, 3, 2);
    iqs_maxpool(&d, in, out);
    assert_true(out[0] == 12.0f && out[1] == 14.0f && out[2] == 22.0f &&
                out[3] == 24.0f);
    /* averages: window centres 6, 8, 16, 18 */
    iqs_avgpool(&d, in, out);
    assert_true(fabsf(out[0] - 6.0f) < 1e-6f && fabsf(out[1] - 8.0f) < 1e-6f);
    assert_true(fabsf(out[2] - 16.0f) < 1e-6f &&
                fabsf(out[3] - 18.0f) < 1e-6f);

    /* signed zeros: one 3x3 window of zeros; the first cell (row-major)
     * holding the maximum wins, so the sign of the output is the sign of
     * in[0] */
    iqs_pool_desc z = valid(1, 3, 3, 3, 1);
    for (int first = 0; first <= 1; first++) {
        for (int i = 0; i < 9; i++)
            in[i] = (i % 2) ? 0.0f : -0.0f;
        in[0] = first ? 0.0f : -0.0f;
        iqs_maxpool(&z, in, out);
        assert_true(out[0] == 0.0f);
        assert_int_equal(!!signbit(out[0]), !first);
    }
    /* -0 everywhere except +0 at (2,1): the max is the first zero, -0 */
    for (int i = 0; i < 9; i++)
        in[i] = -0.0f;
    in[7] = 0.0f;
    iqs_maxpool(&z, in, out);
    assert_true(signbit(out[0]));

    /* NaN: the first real cell NaN makes the window NaN; a NaN anywhere
     * else never wins, even when it starts a row (the row's other cells
     * still count) */
    for (int i = 0; i < 9; i++)
        in[i] = (float)i;
    in[0] = NAN;
    iqs_maxpool(&z, in, out);
    assert_true(isnan(out[0]));
    for (int i = 0; i < 9; i++)
        in[i] = (float)(9 - i); /* max 9 at (0,0) */
    in[0] = 1.0f;
    in[3] = NAN;      /* starts row 1, whose 5 must still win */
    in[4] = 50.0f;
    iqs_maxpool(&z, in, out);
    assert_true(out[0] == 50.0f);
    /* the same through every build */
    for (int isa = -1; isa <= 2; isa++) {
        out[0] = 0.0f;
        if (iqs_ops_pool_isa(isa, 1, &z, in, out))
            assert_true(out[0] == 50.0f);
    }
    /* SAME 3x3 s1 on a padded border: the first REAL cell is the fold's
     * start, so a NaN at (0,0) poisons the corner windows (0,0), (0,1),
     * (1,0), (1,1) and nothing else */
    iqs_pool_desc s = same(1, 3, 3, 3, 1);
    for (int i = 0; i < 9; i++)
        in[i] = (float)i;
    in[0] = NAN;
    iqs_maxpool(&s, in, out);
    for (int i = 0; i < 9; i++) {
        const int y = i / 3, x = i % 3;
        if (y <= 1 && x <= 1)
            assert_true(isnan(out[i]));
        else
            assert_false(isnan(out[i]));
    }
    assert_true(out[2] == 5.0f && out[8] == 8.0f);
}

/* The hook: the clip path always runs, the generic build for fast-path
 * shapes; the vector builds report whether they ran. */
static void test_hook(void **state)
{
    (void)state;
    iqs_pool_desc d = valid(3, 19, 19, 3, 2);
    assert_int_equal(check_case(&d, FILL_UNIFORM) >= 4, 1);
    float in[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, out[8];
    iqs_pool_desc one = valid(1, 3, 3, 3, 1);
    assert_int_equal(iqs_ops_pool_isa(-1, 1, &one, in, out), 1);
    assert_true(out[0] == 9.0f);
    assert_int_equal(iqs_ops_pool_isa(0, 0, &one, in, out), 1);
    assert_true(out[0] == 5.0f);
    assert_int_equal(iqs_ops_pool_isa(3, 1, &one, in, out), 0);
    /* a window taller than the ring is not on the fast path: only the
     * clip path runs */
    float tall[25];
    for (int i = 0; i < 25; i++)
        tall[i] = (float)i;
    iqs_pool_desc five = desc(1, 5, 5, 5, 1, 1, 1, 0, 0, 0, 0);
    assert_int_equal(iqs_ops_pool_isa(0, 1, &five, tall, out), 0);
    assert_int_equal(iqs_ops_pool_isa(-1, 1, &five, tall, out), 1);
    assert_true(out[0] == 20.0f && out[3] == 23.0f);
#if defined(__x86_64__)
    assert_int_equal(iqs_ops_pool_isa(1, 1, &one, in, out), 1);
    printf("AVX-512 build %s\n",
           iqs_ops_pool_isa(2, 1, &one, in, out) ? "tested" : "absent");
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand),
        cmocka_unit_test(test_hook),
        cmocka_unit_test(test_network_shapes),
        cmocka_unit_test(test_all_pads),
        cmocka_unit_test(test_1x1),
        cmocka_unit_test(test_fallbacks),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_channel_slice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
