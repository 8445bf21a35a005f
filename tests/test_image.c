/*
 * Tests of the image path (lib/image): nearest-exact indices against hand
 * computation and OpenCV tables, bit-exact normalisation against numpy,
 * every pixel format with padded strides, EXIF orientations 1..8, hostile
 * EXIF, decompression bombs, broken files and the decoded formats. The
 * references are files in tests/img made by tests/img/gen_images.py with
 * OpenCV and numpy (never by iqs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/image.h"
#include "iqs/iqs.h"
#include "testutil.h"

/* ------------------------------------------------------------ helpers */

static const char *img_path(const char *name)
{
    return tu_path(tu_path(tu_root_dir(), "tests/img"), name);
}

static uint8_t *read_img_file(const char *name, size_t *size)
{
    uint8_t *p = tu_read_file(img_path(name), size);
    if (!p)
        fail_msg("cannot read tests/img/%s (run from the repo root or set IQS_ROOT)", name);
    return p;
}

static iqs_status decode_file(const char *name, int orient, iqs_image *out)
{
    size_t n;
    uint8_t *d = read_img_file(name, &n);
    iqs_decode_options opt;
    iqs_diag diag;
    iqs_decode_options_init(&opt);
    opt.apply_orientation = orient;
    iqs_status st = iqs_image_decode_memory(d, n, &opt, out, &diag);
    free(d);
    return st;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* --------------------------------------------------- nearest-exact index */

static void check_indices(int src, int dst, const int *want)
{
    for (int i = 0; i < dst; i++) {
        int got = iqs_resize_src_index(src, dst, i);
        if (got != want[i])
            fail_msg("%d -> %d: index %d is %d, want %d", src, dst, i, got,
                     want[i]);
    }
}

/* Values worked out by hand from the 16.16 rule of OpenCV 4.6
 * step = ((s << 16) + d/2) / d, off = step/2 - 1, idx = (off + i*step) >> 16. */
static void test_nn_hand(void **state)
{
    (void)state;
    /* 4 -> 3: step 87381, off 43689: 43689>>16=0, 131070>>16=1 (the
     * centre 1.5 tie goes down), 218451>>16=3. */
    static const int a[] = {0, 1, 3};
    check_indices(4, 3, a);
    /* 3 -> 7: step 28087, off 14043-1=14042: 14042, 42129, 70216, 98303,
     * 126390, 154477, 182564 >> 16. */
    static const int b[] = {0, 0, 1, 1, 1, 2, 2};
    check_indices(3, 7, b);
    /* 5 -> 1: step 327680, off 163840-1: 163839>>16 = 2, the centre. */
    static const int c[] = {2};
    check_indices(5, 1, c);
    /* 1 -> anything: always 0. */
    for (int i = 0; i < 299; i++)
        assert_int_equal(iqs_resize_src_index(1, 299, i), 0);
    /* 1024 -> 224: step 299593, off 149795. */
    assert_int_equal(iqs_resize_src_index(1024, 224, 0), 2);
    assert_int_equal(iqs_resize_src_index(1024, 224, 1), 6);
    assert_int_equal(iqs_resize_src_index(1024, 224, 111), 509);
    assert_int_equal(iqs_resize_src_index(1024, 224, 112), 514);
    assert_int_equal(iqs_resize_src_index(1024, 224, 223), 1021);
    /* 683 -> 224: step 199826, off 99913-1 = 99912. */
    assert_int_equal(iqs_resize_src_index(683, 224, 0), 1);
    assert_int_equal(iqs_resize_src_index(683, 224, 1), 4);
    assert_int_equal(iqs_resize_src_index(683, 224, 111), 339);
    assert_int_equal(iqs_resize_src_index(683, 224, 112), 343);
    assert_int_equal(iqs_resize_src_index(683, 224, 223), 681);
    /* Same size is the identity. */
    for (int i = 0; i < 299; i++)
        assert_int_equal(iqs_resize_src_index(299, 299, i), i);
    /* Sizes past OpenCV's int range stay in range and monotone. */
    int prev = 0;
    for (int i = 0; i < 299; i++) {
        int v = iqs_resize_src_index(200000, 299, i);
        assert_true(v >= prev && v < 200000);
        prev = v;
    }
    assert_int_equal(iqs_resize_src_index(1, 200000, 199999), 0);
}

/* The three tie/drift rules on cases where they differ. */
static void test_nn_rules(void **state)
{
    (void)state;
    /* 2 -> 3, step 43691. 4.6: off 21844, i=1: 65535>>16 = 0.
     * 4.7: off 21845, i=1: 65536>>16 = 1. Centre: 3*2/6 = 1. */
    const int r46[] = {0, 0, 1}, r47[] = {0, 1, 1}, rc[] = {0, 1, 1};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(iqs_resize_src_index_rule(2, 3, i, IQS_NN_OPENCV_46), r46[i]);
        assert_int_equal(iqs_resize_src_index_rule(2, 3, i, IQS_NN_OPENCV_47), r47[i]);
        assert_int_equal(iqs_resize_src_index_rule(2, 3, i, IQS_NN_CENTER), rc[i]);
        assert_int_equal(iqs_resize_src_index(2, 3, i), r46[i]); /* default */
    }
    /* 2 -> 1: 4.6 off 65535 -> 0; 4.7 off 65536 -> 1; centre 2/2 = 1. */
    assert_int_equal(iqs_resize_src_index_rule(2, 1, 0, IQS_NN_OPENCV_46), 0);
    assert_int_equal(iqs_resize_src_index_rule(2, 1, 0, IQS_NN_OPENCV_47), 1);
    assert_int_equal(iqs_resize_src_index_rule(2, 1, 0, IQS_NN_CENTER), 1);
    /* Fixed-point drift, 10 -> 1920 at i = 576: step 341 (341.33 exact),
     * 169 + 576*341 = 196585 -> 2; the centre 576.5/192 = 3.0026 -> 3. */
    assert_int_equal(iqs_resize_src_index_rule(10, 1920, 576, IQS_NN_OPENCV_46), 2);
    assert_int_equal(iqs_resize_src_index_rule(10, 1920, 576, IQS_NN_OPENCV_47), 2);
    assert_int_equal(iqs_resize_src_index_rule(10, 1920, 576, IQS_NN_CENTER), 3);
    /* Odd sources: 4.6 and 4.7 agree everywhere. */
    for (int s = 1; s < 200; s += 2)
        for (int i = 0; i < 224; i++)
            assert_int_equal(iqs_resize_src_index_rule(s, 224, i, IQS_NN_OPENCV_46),
                             iqs_resize_src_index_rule(s, 224, i, IQS_NN_OPENCV_47));
    /* The _rule resize uses its rule: 2x1 gray image -> 3x1. */
    const uint8_t px[2] = {10, 20};
    iqs_image img = {px, 2, 1, 2, IQS_PIX_GRAY8};
    float o[9];
    iqs_resize_normalize_rule(&img, 1, 3, 1.0f, 0.0f, 0, IQS_NN_OPENCV_47, o);
    assert_true(o[0] == 10.0f && o[1] == 20.0f && o[2] == 20.0f);
    iqs_resize_normalize(&img, 1, 3, 1.0f, 0.0f, 0, o);
    assert_true(o[0] == 10.0f && o[1] == 10.0f && o[2] == 20.0f);
}

/* Property: the sampled source pixel's centre is the nearest one to the
 * destination pixel's centre, up to the fixed-point rounding (1/65536 of a
 * source pixel per step, accumulated). */
static void test_nn_nearest_property(void **state)
{
    (void)state;
    for (int r = 0; r < 3; r++)
    for (int s = 1; s <= 300; s += 7) {
        for (int d = 1; d <= 320; d += 5) {
            for (int i = 0; i < d; i++) {
                int k = iqs_resize_src_index_rule(s, d, i, (iqs_nn_rule)r);
                double c = (i + 0.5) * s / d; /* in source pixel units */
                double dist = c - (k + 0.5);
                double tol = 0.5 + (i + 1.0) * s / 65536.0 + 1e-9;
                if (dist > tol || dist < -tol)
                    fail_msg("rule %d %d->%d i=%d: k=%d, centre %.4f", r, s, d, i, k, c);
            }
        }
    }
}

/* Every line of tests/img/nn_exact.txt: "src dst idx..." from cv2.resize
 * with INTER_NEAREST_EXACT (python3-opencv 4.6.0, the default rule). */
static void test_nn_opencv_table(void **state)
{
    (void)state;
    FILE *f = fopen(img_path("nn_exact.txt"), "r");
    int src, dst, lines = 0;
    assert_non_null(f);
    while (fscanf(f, "%d %d", &src, &dst) == 2) {
        int *want = malloc(sizeof(int) * (size_t)dst);
        assert_non_null(want);
        for (int i = 0; i < dst; i++)
            assert_int_equal(fscanf(f, "%d", &want[i]), 1);
        check_indices(src, dst, want);
        free(want);
        lines++;
    }
    fclose(f);
    assert_true(lines >= 20);
}

/* ------------------------------------------------------- normalisation */

static void test_norm_bit_exact_numpy(void **state)
{
    (void)state;
    uint8_t px[256];
    float out[3 * 256];
    uint32_t want[256];
    FILE *f = fopen(img_path("norm_numpy.txt"), "r");
    assert_non_null(f);
    for (int v = 0; v < 256; v++) {
        unsigned u;
        assert_int_equal(fscanf(f, "%x", &u), 1);
        want[v] = u;
        px[v] = (uint8_t)v;
    }
    fclose(f);
    iqs_image img = {px, 256, 1, 256, IQS_PIX_GRAY8};
    assert_int_equal(iqs_image_check(&img), IQS_OK);
    iqs_resize_normalize(&img, 1, 256, 1.0f / 127.5f, -1.0f, 0, out);
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++)
            if (fbits(out[c * 256 + v]) != want[v])
                fail_msg("plane %d value %d: %08x, numpy %08x", c, v,
                         fbits(out[c * 256 + v]), want[v]);
    /* The ends are exact. */
    assert_true(out[0] == -1.0f && out[255] == 1.0f);
}

/* ---------------------------------------------- formats, strides, order */

/* Builds src (RGB triplets, w x h) in format fmt with stride padding pad,
 * padding bytes filled with junk that must never be read into the output. */
static uint8_t *make_fmt(const uint8_t *rgb, int w, int h, iqs_pixfmt fmt,
                         size_t pad, iqs_image *img)
{
    int bpp = iqs_pixfmt_channels(fmt);
    size_t stride = (size_t)w * (size_t)bpp + pad;
    uint8_t *buf = malloc(stride * (size_t)h);
    assert_non_null(buf);
    memset(buf, 0xEE, stride * (size_t)h);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            const uint8_t *s = rgb + ((size_t)y * w + x) * 3;
            uint8_t *d = buf + y * stride + (size_t)x * bpp;
            switch (fmt) {
            case IQS_PIX_RGB8: d[0] = s[0], d[1] = s[1], d[2] = s[2]; break;
            case IQS_PIX_BGR8: d[0] = s[2], d[1] = s[1], d[2] = s[0]; break;
            case IQS_PIX_RGBA8:
                d[0] = s[0], d[1] = s[1], d[2] = s[2], d[3] = 0x5A;
                break;
            case IQS_PIX_BGRA8:
                d[0] = s[2], d[1] = s[1], d[2] = s[0], d[3] = 0xA5;
                break;
            case IQS_PIX_GRAY8: d[0] = s[1]; break;
            }
        }
    }
    img->data = buf;
    img->width = w;
    img->height = h;
    img->stride = stride;
    img->format = fmt;
    return buf;
}

static void test_formats_and_strides(void **state)
{
    (void)state;
    enum { W = 7, H = 5 };
    uint8_t rgb[W * H * 3];
    const iqs_pixfmt fmts[] = {IQS_PIX_RGB8, IQS_PIX_BGR8, IQS_PIX_RGBA8,
                               IQS_PIX_BGRA8, IQS_PIX_GRAY8};
    const int outs[][2] = {{3, 4}, {11, 9}, {5, 7}, {1, 1}};
    srand(7);
    for (size_t i = 0; i < sizeof rgb; i++)
        rgb[i] = (uint8_t)(rand() & 0xFF);
    for (size_t fi = 0; fi < 5; fi++) {
        for (size_t pad = 0; pad <= 13; pad += 13) {
            iqs_image img;
            uint8_t *buf = make_fmt(rgb, W, H, fmts[fi], pad, &img);
            assert_int_equal(iqs_image_check(&img), IQS_OK);
            for (size_t oi = 0; oi < 4; oi++) {
                const int oh = outs[oi][0], ow = outs[oi][1];
                for (int bgr = 0; bgr <= 1; bgr++) {
                    float *o = malloc(sizeof(float) * 3 * oh * ow);
                    assert_non_null(o);
                    iqs_resize_normalize(&img, oh, ow, 0.5f, 3.0f, bgr, o);
                    for (int c = 0; c < 3; c++)
                        for (int y = 0; y < oh; y++)
                            for (int x = 0; x < ow; x++) {
                                int sy = iqs_resize_src_index(H, oh, y);
                                int sx = iqs_resize_src_index(W, ow, x);
                                const uint8_t *p = rgb + ((size_t)sy * W + sx) * 3;
                                int ch = fmts[fi] == IQS_PIX_GRAY8 ? 1
                                         : bgr ? 2 - c : c;
                                float want = (float)p[ch] * 0.5f + 3.0f;
                                float got = o[((size_t)c * oh + y) * ow + x];
                                if (got != want)
                                    fail_msg("fmt %d pad %zu %dx%d bgr %d c%d y%d x%d: %g want %g",
                                             (int)fmts[fi], pad, oh, ow, bgr, c, y, x, got, want);
                            }
                    free(o);
                }
            }
            free(buf);
        }
    }
}

static void test_image_check(void **state)
{
    (void)state;
    uint8_t px[64] = {0};
    iqs_image ok = {px, 4, 4, 12, IQS_PIX_RGB8};
    iqs_image b;
    assert_int_equal(iqs_image_check(NULL), IQS_E_ARG);
    assert_int_equal(iqs_image_check(&ok), IQS_OK);
    b = ok, b.data = NULL;
    assert_int_equal(iqs_image_check(&b), IQS_E_IMAGE);
    b = ok, b.width = 0;
    assert_int_equal(iqs_image_check(&b), IQS_E_IMAGE);
    b = ok, b.height = -3;
    assert_int_equal(iqs_image_check(&b), IQS_E_IMAGE);
    b = ok, b.format = (iqs_pixfmt)0;
    assert_int_equal(iqs_image_check(&b), IQS_E_IMAGE);
    b = ok, b.format = (iqs_pixfmt)6;
    assert_int_equal(iqs_image_check(&b), IQS_E_IMAGE);
    b = ok, b.stride = 11; /* < 4 * 3 */
    assert_int_equal(iqs_image_check(&b), IQS_E_IMAGE);
    b = ok, b.format = IQS_PIX_RGBA8; /* stride 12 < 16 */
    assert_int_equal(iqs_image_check(&b), IQS_E_IMAGE);
    b = ok, b.format = IQS_PIX_GRAY8, b.stride = 4;
    assert_int_equal(iqs_image_check(&b), IQS_OK);
    /* (h-1)*stride overflows size_t. */
    b = ok, b.height = 1 << 30, b.stride = SIZE_MAX / 4;
    assert_int_equal(iqs_image_check(&b), IQS_E_IMAGE);
    b = ok, b.width = 0x7FFFFFFF, b.format = IQS_PIX_RGBA8, b.stride = SIZE_MAX;
    assert_int_equal(iqs_image_check(&b), IQS_E_IMAGE);
    assert_int_equal(iqs_pixfmt_channels(IQS_PIX_RGB8), 3);
    assert_int_equal(iqs_pixfmt_channels(IQS_PIX_BGRA8), 4);
    assert_int_equal(iqs_pixfmt_channels(IQS_PIX_GRAY8), 1);
    assert_int_equal(iqs_pixfmt_channels((iqs_pixfmt)99), 0);
}

/* PNG -> decode -> resize+normalise, compared bit for bit with
 * cv2.resize(INTER_NEAREST_EXACT) followed by numpy normalisation. */
static void test_end_to_end_vs_opencv(void **state)
{
    (void)state;
    iqs_image img;
    const int sizes[][2] = {{29, 16}, {53, 31}};
    assert_int_equal(decode_file("resize_src.png", 1, &img), IQS_OK);
    assert_int_equal(img.width, 37);
    assert_int_equal(img.height, 23);
    for (int k = 0; k < 2; k++) {
        const int ow = sizes[k][0], oh = sizes[k][1];
        for (int bgr = 0; bgr <= 1; bgr++) {
            char name[64];
            size_t n;
            snprintf(name, sizeof name, "resize_%dx%d_%s.f32", ow, oh,
                     bgr ? "bgr" : "rgb");
            uint8_t *want = read_img_file(name, &n);
            assert_int_equal(n, sizeof(float) * 3 * (size_t)ow * oh);
            float *got = malloc(n);
            iqs_resize_normalize(&img, oh, ow, 1.0f / 127.5f, -1.0f, bgr, got);
            if (memcmp(got, want, n) != 0)
                fail_msg("%s differs from the OpenCV/numpy reference", name);
            free(got);
            free(want);
        }
    }
    iqs_image_free(&img);
    assert_null(img.data);
    iqs_image_free(&img); /* reset image: no-op */
    iqs_image_free(NULL);
}

/* ----------------------------------------------------- EXIF orientation */

/* Where display pixel (x, y) of an image shown with EXIF orientation o
 * comes from in the stored w x h image, written from the EXIF definition
 * ("row 0 / column 0 of the stored image is the visual top/left/..."). */
static void stored_of_display(int o, int w, int h, int x, int y, int *sx,
                              int *sy)
{
    switch (o) {
    case 1: *sx = x, *sy = y; break;                 /* top-left          */
    case 2: *sx = w - 1 - x, *sy = y; break;         /* top-right: mirror */
    case 3: *sx = w - 1 - x, *sy = h - 1 - y; break; /* bottom-right      */
    case 4: *sx = x, *sy = h - 1 - y; break;         /* bottom-left       */
    case 5: *sx = y, *sy = x; break;                 /* left-top          */
    case 6: *sx = y, *sy = h - 1 - x; break;         /* right-top (90 CW) */
    case 7: *sx = w - 1 - y, *sy = h - 1 - x; break; /* right-bottom      */
    default: *sx = w - 1 - y, *sy = x; break;        /* 8 left-bottom     */
    }
}

static void test_exif_orientations_jpeg(void **state)
{
    (void)state;
    iqs_image base, raw, img;
    size_t pn;
    uint8_t *pat = read_img_file("pattern.rgb", &pn); /* 48 x 32 RGB */
    assert_int_equal(decode_file("orient_none.jpg", 1, &base), IQS_OK);
    assert_int_equal(base.width, 48);
    assert_int_equal(base.height, 32);
    for (int o = 1; o <= 8; o++) {
        char name[32];
        size_t n;
        snprintf(name, sizeof name, "orient_%d.jpg", o);
        uint8_t *d = read_img_file(name, &n);
        assert_int_equal(iqs_exif_orientation(d, n), o);
        assert_int_equal(iqs_jpeg_check(d, n), IQS_JPEG_OK);
        free(d);
        /* Not applied: identical to the untagged file (same scan bytes). */
        assert_int_equal(decode_file(name, 0, &raw), IQS_OK);
        assert_int_equal(memcmp(raw.data, base.data, 48 * 32 * 3), 0);
        iqs_image_free(&raw);
        /* Applied. */
        assert_int_equal(decode_file(name, 1, &img), IQS_OK);
        const int sw = o >= 5 ? 32 : 48, sh = o >= 5 ? 48 : 32;
        assert_int_equal(img.width, sw);
        assert_int_equal(img.height, sh);
        assert_int_equal(img.stride, (size_t)sw * 3);
        for (int y = 0; y < sh; y++)
            for (int x = 0; x < sw; x++) {
                int sx, sy;
                stored_of_display(o, 48, 32, x, y, &sx, &sy);
                const uint8_t *g = (const uint8_t *)img.data + ((size_t)y * sw + x) * 3;
                const uint8_t *b = (const uint8_t *)base.data + ((size_t)sy * 48 + sx) * 3;
                if (memcmp(g, b, 3) != 0)
                    fail_msg("orientation %d: display (%d,%d) != stored (%d,%d)", o, x, y, sx, sy);
            }
        /* Independent corner check on the lossless pattern: the centre of
         * the display's top-left 8x8 block shows the stored block given by
         * the EXIF meaning (e.g. 6 = rotate 90 CW: stored bottom-left). */
        int cx, cy;
        stored_of_display(o, 48, 32, 4, 4, &cx, &cy);
        const int bx = cx / 8, by = cy / 8;
        const int want_bx[9] = {0, 0, 5, 5, 0, 0, 0, 5, 5};
        const int want_by[9] = {0, 0, 0, 3, 3, 0, 3, 3, 0};
        assert_int_equal(bx, want_bx[o]);
        assert_int_equal(by, want_by[o]);
        const uint8_t *g = (const uint8_t *)img.data + ((size_t)4 * sw + 4) * 3;
        const uint8_t *p = pat + ((size_t)(by * 8 + 4) * 48 + bx * 8 + 4) * 3;
        for (int c = 0; c < 3; c++)
            assert_true(abs((int)g[c] - (int)p[c]) <= 8);
        iqs_image_free(&img);
    }
    iqs_image_free(&base);
    free(pat);
}

static void test_exif_orientation_png(void **state)
{
    (void)state;
    size_t pn;
    uint8_t *pat = read_img_file("pattern.rgb", &pn);
    iqs_image img;
    assert_int_equal(decode_file("orient_6.png", 0, &img), IQS_OK);
    assert_int_equal(memcmp(img.data, pat, pn), 0); /* lossless */
    iqs_image_free(&img);
    assert_int_equal(decode_file("orient_6.png", 1, &img), IQS_OK);
    assert_int_equal(img.width, 32);
    assert_int_equal(img.height, 48);
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 32; x++) {
            int sx, sy;
            stored_of_display(6, 48, 32, x, y, &sx, &sy);
            assert_memory_equal((const uint8_t *)img.data + ((size_t)y * 32 + x) * 3,
                                pat + ((size_t)sy * 48 + sx) * 3, 3);
        }
    iqs_image_free(&img);
    free(pat);
}

/* A JPEG skeleton: SOI, APP1 "Exif" with the given TIFF bytes, EOI. */
static size_t jpeg_with_tiff(uint8_t *buf, const uint8_t *tiff, size_t tn)
{
    size_t seg = 2 + 6 + tn, n = 0;
    buf[n++] = 0xFF, buf[n++] = 0xD8, buf[n++] = 0xFF, buf[n++] = 0xE1;
    buf[n++] = (uint8_t)(seg >> 8), buf[n++] = (uint8_t)seg;
    memcpy(buf + n, "Exif\0\0", 6), n += 6;
    memcpy(buf + n, tiff, tn), n += tn;
    buf[n++] = 0xFF, buf[n++] = 0xD9;
    return n;
}

/* II TIFF, IFD0 at 8 with one entry (tag, type, count, value). */
static size_t tiff_le(uint8_t *t, uint32_t ifd, uint16_t cnt_entries,
                      uint16_t tag, uint16_t type, uint32_t count, uint32_t v)
{
    memset(t, 0, 64);
    t[0] = 'I', t[1] = 'I', t[2] = 42;
    t[4] = (uint8_t)ifd, t[5] = (uint8_t)(ifd >> 8), t[6] = (uint8_t)(ifd >> 16), t[7] = (uint8_t)(ifd >> 24);
    t[8] = (uint8_t)cnt_entries, t[9] = (uint8_t)(cnt_entries >> 8);
    t[10] = (uint8_t)tag, t[11] = (uint8_t)(tag >> 8);
    t[12] = (uint8_t)type, t[13] = (uint8_t)(type >> 8);
    t[14] = (uint8_t)count, t[15] = (uint8_t)(count >> 8), t[16] = (uint8_t)(count >> 16), t[17] = (uint8_t)(count >> 24);
    t[18] = (uint8_t)v, t[19] = (uint8_t)(v >> 8), t[20] = (uint8_t)(v >> 16), t[21] = (uint8_t)(v >> 24);
    return 8 + 2 + 12 + 4;
}

static void test_exif_hostile(void **state)
{
    (void)state;
    uint8_t t[64], j[128];
    size_t tn, n;

    /* Sanity of the builders. */
    tn = tiff_le(t, 8, 1, 0x0112, 3, 1, 6);
    n = jpeg_with_tiff(j, t, tn);
    assert_int_equal(iqs_exif_orientation(j, n), 6);
    /* Big-endian by hand: MM, 42, IFD 8, 1 entry 0112 SHORT 1 value 3. */
    {
        const uint8_t mm[] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3,
                              0, 0, 0, 1, 0, 3, 0, 0, 0, 0, 0, 0};
        n = jpeg_with_tiff(j, mm, sizeof mm);
        assert_int_equal(iqs_exif_orientation(j, n), 3);
    }
    /* Every prefix of a valid file: no crash, never a wrong value. */
    tn = tiff_le(t, 8, 1, 0x0112, 3, 1, 6);
    n = jpeg_with_tiff(j, t, tn);
    for (size_t k = 0; k <= n; k++) {
        int v = iqs_exif_orientation(j, k);
        assert_true(v == 0 || v == 6);
        if (k < n - 2) /* APP1 length runs past the end */
            assert_int_equal(v, 0);
    }
    /* IFD offset past the end, at the very end, and wrapping. */
    tn = tiff_le(t, 200, 1, 0x0112, 3, 1, 6);
    assert_int_equal(iqs_exif_orientation(j, jpeg_with_tiff(j, t, tn)), 0);
    tn = tiff_le(t, (uint32_t)tn - 1, 1, 0x0112, 3, 1, 6);
    assert_int_equal(iqs_exif_orientation(j, jpeg_with_tiff(j, t, tn)), 0);
    tn = tiff_le(t, 0xFFFFFFFFu, 1, 0x0112, 3, 1, 6);
    assert_int_equal(iqs_exif_orientation(j, jpeg_with_tiff(j, t, tn)), 0);
    /* Huge entry count, truncated IFD. */
    tn = tiff_le(t, 8, 0xFFFF, 0x0112, 3, 1, 6);
    assert_int_equal(iqs_exif_orientation(j, jpeg_with_tiff(j, t, tn)), 0);
    tn = tiff_le(t, 8, 2, 0x0112, 3, 1, 6);
    assert_int_equal(iqs_exif_orientation(j, jpeg_with_tiff(j, t, tn - 4)), 0);
    /* Bad values, types, counts, magic. */
    tn = tiff_le(t, 8, 1, 0x0112, 3, 1, 0);
    assert_int_equal(iqs_exif_orientation(j, jpeg_with_tiff(j, t, tn)), 0);
    tn = tiff_le(t, 8, 1, 0x0112, 3, 1, 9);
    assert_int_equal(iqs_exif_orientation(j, jpeg_with_tiff(j, t, tn)), 0);
    tn = tiff_le(t, 8, 1, 0x0112, 2, 1, 6);
    assert_int_equal(iqs_exif_orientation(j, jpeg_with_tiff(j, t, tn)), 0);
    tn = tiff_le(t, 8, 1, 0x0112, 3, 0xFFFFFFFFu, 6);
    assert_int_equal(iqs_exif_orientation(j, jpeg_with_tiff(j, t, tn)), 0);
    tn = tiff_le(t, 8, 1, 0x0112, 4, 1, 8); /* LONG tolerated */
    assert_int_equal(iqs_exif_orientation(j, jpeg_with_tiff(j, t, tn)), 8);
    tn = tiff_le(t, 8, 1, 0x0112, 3, 1, 6);
    t[2] = 43;
    assert_int_equal(iqs_exif_orientation(j, jpeg_with_tiff(j, t, tn)), 0);
    t[2] = 42, t[0] = 'I', t[1] = 'M';
    assert_int_equal(iqs_exif_orientation(j, jpeg_with_tiff(j, t, tn)), 0);
    /* Segment length fields: < 2, past the end. */
    tn = tiff_le(t, 8, 1, 0x0112, 3, 1, 6);
    n = jpeg_with_tiff(j, t, tn);
    j[4] = 0, j[5] = 1;
    assert_int_equal(iqs_exif_orientation(j, n), 0);
    j[4] = 0xFF, j[5] = 0xFF;
    assert_int_equal(iqs_exif_orientation(j, n), 0);
    /* NULL and tiny inputs. */
    assert_int_equal(iqs_exif_orientation(NULL, 100), 0);
    assert_int_equal(iqs_exif_orientation(j, 0), 0);
    /* PNG eXIf chunk whose length runs past the end. */
    {
        uint8_t p[64] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A,
                         0x7F, 0xFF, 0xFF, 0xFF, 'e', 'X', 'I', 'f'};
        assert_int_equal(iqs_exif_orientation(p, sizeof p), 0);
    }
    /* Random garbage after SOI and after a PNG signature: no crash. */
    srand(11);
    for (int it = 0; it < 20000; it++) {
        uint8_t r[96];
        size_t len = (size_t)(rand() % 96);
        for (size_t k = 0; k < sizeof r; k++)
            r[k] = (uint8_t)rand();
        if (it & 1)
            r[0] = 0xFF, r[1] = 0xD8;
        if ((it & 3) == 2)
            memcpy(r, "\x89PNG\r\n\x1a\n", 8);
        if (it % 5 == 0 && len > 12) /* plant an Exif segment header */
            r[2] = 0xFF, r[3] = 0xE1, memcpy(r + 6, "Exif\0\0", 6);
        int v = iqs_exif_orientation(r, len);
        assert_true(v >= 0 && v <= 8);
        assert_true(iqs_jpeg_check(r, len) <= IQS_JPEG_CORRUPT);
    }
}

/* ------------------------------------------------------ hostile images */

static void test_decompression_bombs(void **state)
{
    (void)state;
    const char *files[] = {"bomb.png", "bomb.jpg"};
    for (int k = 0; k < 2; k++) {
        size_t n;
        uint8_t *d = read_img_file(files[k], &n);
        iqs_image img;
        iqs_diag diag;
        double t0 = now_ms();
        iqs_status st = iqs_image_decode_memory(d, n, NULL, &img, &diag);
        double dt = now_ms() - t0;
        assert_int_equal(st, IQS_E_LIMIT);
        assert_int_equal(diag.status, IQS_E_LIMIT);
        assert_non_null(strstr(diag.msg, "60000 x 60000"));
        assert_null(img.data);
        print_message("%s refused in %.3f ms: %s\n", files[k], dt, diag.msg);
        assert_true(dt < 50.0);
        free(d);
    }
    /* The pixel limit is exact: 48 x 32 = 1536 pixels. */
    size_t n;
    uint8_t *d = read_img_file("orient_none.jpg", &n);
    iqs_decode_options opt;
    iqs_image img;
    iqs_decode_options_init(&opt);
    opt.max_pixels = 1535;
    assert_int_equal(iqs_image_decode_memory(d, n, &opt, &img, NULL), IQS_E_LIMIT);
    opt.max_pixels = 1536;
    assert_int_equal(iqs_image_decode_memory(d, n, &opt, &img, NULL), IQS_OK);
    iqs_image_free(&img);
    free(d);
}

static void test_broken_files(void **state)
{
    (void)state;
    const char *files[] = {"truncated.jpg", "truncated.png", "random.bin"};
    iqs_image img;
    iqs_diag diag;
    for (int k = 0; k < 3; k++) {
        size_t n;
        uint8_t *d = read_img_file(files[k], &n);
        assert_int_equal(iqs_image_decode_memory(d, n, NULL, &img, &diag), IQS_E_IMAGE);
        assert_null(img.data);
        print_message("%s: %s\n", files[k], diag.msg);
        free(d);
    }
    /* Zero bytes, NULL, bad options. */
    uint8_t z = 0;
    assert_int_equal(iqs_image_decode_memory(&z, 0, NULL, &img, NULL), IQS_E_IMAGE);
    assert_int_equal(iqs_image_decode_memory(NULL, 10, NULL, &img, NULL), IQS_E_ARG);
    assert_int_equal(iqs_image_decode_memory(&z, 1, NULL, NULL, NULL), IQS_E_ARG);
    iqs_decode_options bad;
    memset(&bad, 0, sizeof bad);
    assert_int_equal(iqs_image_decode_memory(&z, 1, &bad, &img, NULL), IQS_E_ARG);
    /* Every prefix of a valid JPEG and PNG fails cleanly or decodes. */
    const char *good[] = {"orient_3.jpg", "resize_src.png"};
    for (int k = 0; k < 2; k++) {
        size_t n;
        uint8_t *d = read_img_file(good[k], &n);
        for (size_t len = 0; len < n; len++) {
            uint8_t *cut = malloc(len ? len : 1); /* exact size for ASan */
            memcpy(cut, d, len);
            iqs_status st = iqs_image_decode_memory(cut, len, NULL, &img, NULL);
            assert_true(st == IQS_E_IMAGE || st == IQS_OK);
            if (k == 0 && len < n - 2)
                assert_int_equal(st, IQS_E_IMAGE); /* no EOI yet */
            iqs_image_free(&img);
            free(cut);
        }
        assert_int_equal(iqs_image_decode_memory(d, n, NULL, &img, NULL), IQS_OK);
        iqs_image_free(&img);
        free(d);
    }
}

/* Offset of the k-th (0-based; -1 = last) FF C4 marker in d, or 0. */
static size_t find_dht(const uint8_t *d, size_t n, int k)
{
    size_t last = 0;
    int seen = 0;
    for (size_t i = 2; i + 1 < n; i++)
        if (d[i] == 0xFF && d[i + 1] == 0xC4) {
            if (seen++ == k)
                return i;
            last = i;
        }
    return k < 0 ? last : 0;
}

static void test_jpeg_bad_huffman(void **state)
{
    (void)state;
    const struct { const char *file; int which; } cases[] = {
        {"orient_none.jpg", 0}, {"progressive.jpg", -1}, {"restart.jpg", 1}};
    for (int c = 0; c < 3; c++) {
        size_t n;
        uint8_t *d = read_img_file(cases[c].file, &n);
        iqs_image img;
        iqs_diag diag;
        assert_int_equal(iqs_jpeg_check(d, n), IQS_JPEG_OK);
        size_t at = find_dht(d, n, cases[c].which);
        assert_true(at > 0);
        /* 16 counts of 17: 272 symbols in one table (> 256). The segment
         * length stays consistent only for the validator's arithmetic: the
         * table now claims more symbols than the segment holds too. */
        uint8_t saved[16];
        memcpy(saved, d + at + 5, 16);
        memset(d + at + 5, 17, 16);
        assert_int_equal(iqs_jpeg_check(d, n), IQS_JPEG_CORRUPT);
        assert_int_equal(iqs_image_decode_memory(d, n, NULL, &img, &diag), IQS_E_IMAGE);
        print_message("%s, DHT at %zu: %s\n", cases[c].file, at, diag.msg);
        memcpy(d + at + 5, saved, 16);
        /* Table class 2 is invalid as well. */
        d[at + 4] = (uint8_t)(0x20 | (d[at + 4] & 15));
        assert_int_equal(iqs_jpeg_check(d, n), IQS_JPEG_CORRUPT);
        free(d);
    }
    /* A DHT of 257 symbols that does fit in its segment (the stb 2.27
     * overflow itself, not just an inconsistent length). */
    {
        uint8_t j[2 + 4 + 17 + 257 + 2];
        size_t k = 0, len = 2 + 17 + 257;
        j[k++] = 0xFF, j[k++] = 0xD8, j[k++] = 0xFF, j[k++] = 0xC4;
        j[k++] = (uint8_t)(len >> 8), j[k++] = (uint8_t)len;
        j[k++] = 0x10;
        for (int i = 0; i < 16; i++)
            j[k++] = i < 15 ? 17 : 2; /* 15*17 + 2 = 257 */
        memset(j + k, 0x33, 257), k += 257;
        j[k++] = 0xFF, j[k++] = 0xD9;
        assert_int_equal(iqs_jpeg_check(j, k), IQS_JPEG_CORRUPT);
        iqs_image img;
        assert_int_equal(iqs_image_decode_memory(j, k, NULL, &img, NULL), IQS_E_IMAGE);
        j[6 + 16] = 1; /* 256 symbols, 1 spare byte: a second, short table */
        assert_int_equal(iqs_jpeg_check(j, k), IQS_JPEG_CORRUPT);
    }
}

/* Progressive and restart-interval JPEGs decode, and agree with libjpeg
 * (cv2.imread) up to the two decoders' IDCT/upsampling differences. */
static void test_jpeg_variants_vs_libjpeg(void **state)
{
    (void)state;
    const char *files[][2] = {{"progressive.jpg", "progressive.cv2.rgb"},
                              {"restart.jpg", "restart.cv2.rgb"},
                              {"orient_none.jpg", NULL}};
    for (int k = 0; k < 2; k++) {
        iqs_image img;
        size_t n;
        uint8_t *want = read_img_file(files[k][1], &n);
        assert_int_equal(decode_file(files[k][0], 1, &img), IQS_OK);
        assert_int_equal(n, (size_t)img.width * img.height * 3);
        int maxd = 0;
        double sum = 0;
        const uint8_t *g = img.data;
        for (size_t i = 0; i < n; i++) {
            int dd = abs((int)g[i] - (int)want[i]);
            maxd = dd > maxd ? dd : maxd;
            sum += dd;
        }
        print_message("%s vs libjpeg: max |diff| %d, mean %.3f\n", files[k][0], maxd, sum / n);
        assert_true(sum / n < 0.5);
        assert_true(maxd <= 4);
        iqs_image_free(&img);
        free(want);
    }
}

/* Random byte flips in real JPEGs and PNGs: the decoder may fail, never
 * crash (meaningful mainly under SAN=address,undefined). */
static void test_mutations(void **state)
{
    (void)state;
    const char *good[] = {"orient_5.jpg", "resize_src.png", "gray16.png",
                          "rgba.png", "progressive.jpg", "restart.jpg"};
    srand(1234);
    int ok = 0, bad = 0;
    for (int k = 0; k < 6; k++) {
        size_t n;
        uint8_t *d = read_img_file(good[k], &n);
        uint8_t *m = malloc(n);
        for (int it = 0; it < 400; it++) {
            memcpy(m, d, n);
            int flips = 1 + rand() % 8;
            for (int f = 0; f < flips; f++)
                m[(size_t)rand() % n] = (uint8_t)rand();
            iqs_image img;
            iqs_status st = iqs_image_decode_memory(m, n, NULL, &img, NULL);
            assert_true(st == IQS_OK || st == IQS_E_IMAGE || st == IQS_E_LIMIT);
            if (st == IQS_OK) {
                assert_true(img.width > 0 && img.height > 0);
                ok++;
            } else {
                bad++;
            }
            iqs_image_free(&img);
        }
        free(m);
        free(d);
    }
    print_message("mutations: %d decoded, %d refused\n", ok, bad);
}

/* ------------------------------------------------------------ formats */

static void expect_rgb(const char *png, const char *want_file, int w, int h)
{
    iqs_image img;
    size_t n;
    uint8_t *want = read_img_file(want_file, &n);
    assert_int_equal(decode_file(png, 1, &img), IQS_OK);
    assert_int_equal(img.width, w);
    assert_int_equal(img.height, h);
    assert_int_equal(img.format, IQS_PIX_RGB8);
    assert_int_equal(img.stride, (size_t)w * 3);
    assert_int_equal(n, (size_t)w * h * 3);
    assert_memory_equal(img.data, want, n);
    iqs_image_free(&img);
    free(want);
}

static void test_png_variants(void **state)
{
    (void)state;
    /* References decoded by OpenCV (libpng), 16-bit reduced to the high
     * byte, gray expanded, alpha dropped. */
    expect_rgb("gray.png", "gray.expect.rgb", 13, 7);
    expect_rgb("gray16.png", "gray16.expect.rgb", 13, 7);
    expect_rgb("rgb16.png", "rgb16.expect.rgb", 9, 5);
    expect_rgb("rgba.png", "rgba.expect.rgb", 11, 6);
}

static void test_one_pixel(void **state)
{
    (void)state;
    iqs_image img;
    static float o[3 * 299 * 299];
    assert_int_equal(decode_file("one.png", 1, &img), IQS_OK);
    assert_int_equal(img.width, 1);
    assert_int_equal(img.height, 1);
    const uint8_t *p = img.data;
    assert_true(p[0] == 200 && p[1] == 100 && p[2] == 50);
    iqs_resize_normalize(&img, 299, 299, 1.0f / 127.5f, -1.0f, 1, o);
    /* BGR planes: B = 50, G = 100, R = 200 everywhere. */
    const float prod[3] = {50.0f * (1.0f / 127.5f), 100.0f * (1.0f / 127.5f),
                           200.0f * (1.0f / 127.5f)};
    for (int c = 0; c < 3; c++) {
        const float want = prod[c] - 1.0f;
        for (size_t i = 0; i < 299 * 299; i++)
            assert_true(fbits(o[c * 299 * 299 + i]) == fbits(want));
    }
    iqs_image_free(&img);
    assert_int_equal(decode_file("one.jpg", 1, &img), IQS_OK);
    p = img.data;
    assert_true(img.width == 1 && img.height == 1);
    assert_true(abs(p[0] - 200) <= 4 && abs(p[1] - 100) <= 4 && abs(p[2] - 50) <= 4);
    iqs_image_free(&img);
}

/* -------------------------------------------------------- file loading */

static void test_load_file(void **state)
{
    (void)state;
    iqs_image img;
    iqs_diag diag;
    iqs_decode_options opt;
    iqs_decode_options_init(&opt);
    assert_int_equal(opt.size, sizeof opt);
    assert_true(opt.max_pixels == IQS_DEFAULT_MAX_PIXELS);
    assert_true(opt.max_file_bytes == IQS_DEFAULT_MAX_FILE_BYTES);
    assert_int_equal(opt.apply_orientation, 1);

    assert_int_equal(iqs_image_load(img_path("orient_6.jpg"), NULL, &img, &diag), IQS_OK);
    assert_int_equal(img.width, 32);
    assert_int_equal(img.height, 48);
    assert_int_equal(diag.status, IQS_OK);
    iqs_image_free(&img);

    /* Refused on the file size before reading: 1109-byte file. */
    opt.max_file_bytes = 100;
    assert_int_equal(iqs_image_load(img_path("orient_6.jpg"), &opt, &img, &diag), IQS_E_LIMIT);
    assert_null(img.data);

    assert_int_equal(iqs_image_load(img_path("no-such-file.jpg"), NULL, &img, &diag), IQS_E_IO);
    assert_non_null(strstr(diag.msg, "no-such-file.jpg"));
    assert_int_equal(iqs_image_load(img_path("."), NULL, &img, &diag), IQS_E_IO);
    assert_int_equal(iqs_image_load(img_path("random.bin"), NULL, &img, &diag), IQS_E_IMAGE);
    assert_non_null(strstr(diag.msg, "random.bin"));

    const char *dir = tu_mkdtemp();
    const char *empty = tu_path(dir, "empty.jpg");
    FILE *f = fopen(empty, "wb");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(iqs_image_load(empty, NULL, &img, &diag), IQS_E_IMAGE);
    print_message("empty file: %s\n", diag.msg);
    tu_rmtree(dir);

    assert_int_equal(iqs_image_load(NULL, NULL, &img, NULL), IQS_E_ARG);
}

/* Decoding the shared photos: a smoke test and a timing for the report. */
static void test_shared_photos(void **state)
{
    (void)state;
    const char *names[] = {"lomiri_bridge.jpg", "skimage_astronaut.jpg",
                           "jxl_flowers.jpg", "skimage_coins.jpg"};
    for (size_t k = 0; k < 4; k++) {
        const char *p = tu_path(tu_path(tu_shared_dir(), "testdata/photos"), names[k]);
        if (!tu_exists(p)) {
            print_message("skip %s (not found)\n", p);
            continue;
        }
        iqs_image img;
        double t0 = now_ms();
        assert_int_equal(iqs_image_load(p, NULL, &img, NULL), IQS_OK);
        print_message("%s: %d x %d decoded in %.1f ms\n", names[k], img.width,
                      img.height, now_ms() - t0);
        assert_true(img.width >= 64 && img.height >= 64);
        iqs_image_free(&img);
    }
}

/* Images beyond stb's buffers (indexed by int; PNG raw data <= 2^30 bytes)
 * are IQS_E_LIMIT even when max_pixels allows them, never "corrupt". */
static void test_decoder_buffer_limit(void **state)
{
    (void)state;
    iqs_decode_options o;
    iqs_decode_options_init(&o);
    o.max_pixels = UINT64_MAX;
    iqs_image img;
    iqs_diag d;

    static const char pnm[] = "P6\n30000 30000\n255\n\x01\x02\x03";
    assert_int_equal(iqs_image_decode_memory(pnm, sizeof pnm - 1, &o, &img, &d),
                     IQS_E_LIMIT);
    assert_null(img.data);
    assert_non_null(strstr(d.msg, "30000 x 30000"));

    /* PNG: signature, IHDR 16384 x 16385 RGBA 8-bit (stb ignores CRCs), IEND */
    static const uint8_t png[] = {
        0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A,
        0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0x40, 0x00, 0, 0, 0x40, 0x01,
        8, 6, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82 };
    assert_int_equal(iqs_image_decode_memory(png, sizeof png, &o, &img, &d),
                     IQS_E_LIMIT);
    assert_null(img.data);
    assert_non_null(strstr(d.msg, "16384 x 16385"));
    /* with the default limit it is refused by max_pixels, as before */
    assert_int_equal(iqs_image_decode_memory(png, sizeof png, NULL, &img, &d),
                     IQS_E_LIMIT);
}

/* Out of memory during decoding is IQS_E_NOMEM, not "corrupt image": a
 * child process caps its address space just above what it uses, then
 * decodes a valid 4000 x 4000 PPM (48 MB of pixels to allocate). The same
 * bytes decode in the parent, uncapped. Sanitizer runtimes reserve
 * terabytes of address space, so there the cap cannot be set. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NO_AS_LIMIT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define NO_AS_LIMIT 1
#endif
#endif

static void test_decode_out_of_memory(void **state)
{
    (void)state;
#ifdef NO_AS_LIMIT
    skip();
#else
    const int w = 4000, h = 4000;
    char hdr[64];
    int hl = snprintf(hdr, sizeof hdr, "P6\n%d %d\n255\n", w, h);
    size_t size = (size_t)hl + (size_t)w * h * 3;
    uint8_t *ppm = malloc(size);
    assert_non_null(ppm);
    memcpy(ppm, hdr, (size_t)hl);
    for (size_t i = (size_t)hl; i < size; i++)
        ppm[i] = (uint8_t)(i * 7);

    iqs_image img;
    iqs_diag d;
    assert_int_equal(iqs_image_decode_memory(ppm, size, NULL, &img, &d), IQS_OK);
    assert_int_equal(img.width, w);
    iqs_image_free(&img);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        long pages = 0;
        FILE *f = fopen("/proc/self/statm", "r");
        if (!f || fscanf(f, "%ld", &pages) != 1)
            _exit(101);
        fclose(f);
        struct rlimit rl;
        rl.rlim_cur = rl.rlim_max =
            (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (16u << 20);
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            _exit(102);
        iqs_status st = iqs_image_decode_memory(ppm, size, NULL, &img, &d);
        if (img.data != NULL)
            _exit(103);
        _exit(st == IQS_E_NOMEM && d.status == IQS_E_NOMEM ? 0
              : 110 + (int)(st < 0 ? -st : st) % 100);
    }
    int ws = 0;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    free(ppm);
    assert_true(WIFEXITED(ws));
    if (WEXITSTATUS(ws) != 0)
        fail_msg("child: exit %d (0 = IQS_E_NOMEM; 103 = pixels returned; "
                 ">= 110 = another status)", WEXITSTATUS(ws));
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nn_hand),
        cmocka_unit_test(test_nn_rules),
        cmocka_unit_test(test_nn_nearest_property),
        cmocka_unit_test(test_nn_opencv_table),
        cmocka_unit_test(test_norm_bit_exact_numpy),
        cmocka_unit_test(test_formats_and_strides),
        cmocka_unit_test(test_image_check),
        cmocka_unit_test(test_end_to_end_vs_opencv),
        cmocka_unit_test(test_exif_orientations_jpeg),
        cmocka_unit_test(test_exif_orientation_png),
        cmocka_unit_test(test_exif_hostile),
        cmocka_unit_test(test_decompression_bombs),
        cmocka_unit_test(test_broken_files),
        cmocka_unit_test(test_jpeg_bad_huffman),
        cmocka_unit_test(test_jpeg_variants_vs_libjpeg),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_png_variants),
        cmocka_unit_test(test_one_pixel),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_decode_out_of_memory),
        cmocka_unit_test(test_decoder_buffer_limit),
        cmocka_unit_test(test_shared_photos),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
