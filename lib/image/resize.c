/*
 * Caller-image validation and the network's input preprocessing (layer:
 * image): one pass that samples the source with OpenCV's INTER_NEAREST_EXACT
 * index rule and writes normalised floats straight into the planar CHW input
 * tensor, so no intermediate resized 8-bit image is ever stored. Runs inside
 * iqs_classify: no allocation, no I/O, nothing can fail once the image has
 * passed iqs_image_check.
 */
#include "image/image.h"

iqs_status iqs_image_check(const iqs_image *img)
{
    size_t bpp, row, last;

    if (!img)
        return IQS_E_ARG;
    bpp = (size_t)iqs_pixfmt_channels(img->format);
    if (bpp == 0 || !img->data || img->width <= 0 || img->height <= 0)
        return IQS_E_IMAGE;
    if (!iqs_mul_ok((size_t)img->width, bpp, &row) || img->stride < row)
        return IQS_E_IMAGE;
    /* The last byte read is at (h-1)*stride + row - 1: it must exist as a
     * size_t offset for the row pointers to be computable. */
    if (!iqs_mul_ok((size_t)(img->height - 1), img->stride, &last) ||
        !iqs_add_ok(last, row, &last))
        return IQS_E_IMAGE;
    return IQS_OK;
}

/* One axis of the nearest-exact rule. The fixed-point rules follow
 * OpenCV's resizeNN_bitexact in 16.16 arithmetic widened to 64 bits; their
 * values equal OpenCV's wherever its int arithmetic does not overflow. */
typedef struct nn_axis {
    int64_t step, off; /* fixed-point rules                              */
    int64_t num, den;  /* IQS_NN_CENTER: idx = (2i+1)*num / den           */
    int center;
    int last;
} nn_axis;

static nn_axis nn_axis_init(int src_len, int dst_len, iqs_nn_rule rule)
{
    nn_axis a;
    a.step = (((int64_t)src_len << 16) + dst_len / 2) / dst_len;
    a.off = a.step / 2 - (rule == IQS_NN_OPENCV_47 ? src_len % 2 : 1);
    a.num = src_len;
    a.den = 2 * (int64_t)dst_len;
    a.center = rule == IQS_NN_CENTER;
    a.last = src_len - 1;
    return a;
}

static inline int nn_index(const nn_axis *a, int i)
{
    int64_t s;
    if (a->center) {
        s = (2 * (int64_t)i + 1) * a->num / a->den;
    } else {
        const int64_t v = a->off + (int64_t)i * a->step;
        /* v < 0 only for upscaling beyond 32768x; >> of a negative value
         * is implementation-defined in C, so clamp before shifting. */
        s = v < 0 ? 0 : v >> 16;
    }
    return s > a->last ? a->last : (int)s;
}

int iqs_resize_src_index_rule(int src_len, int dst_len, int i,
                              iqs_nn_rule rule)
{
    const nn_axis a = nn_axis_init(src_len, dst_len, rule);
    return nn_index(&a, i);
}

int iqs_resize_src_index(int src_len, int dst_len, int i)
{
    return iqs_resize_src_index_rule(src_len, dst_len, i, IQS_NN_DEFAULT);
}

/* Source byte offsets of the R, G, B samples within one pixel. */
static void channel_offsets(iqs_pixfmt f, int off[3])
{
    switch (f) {
    case IQS_PIX_BGR8:
    case IQS_PIX_BGRA8:
        off[0] = 2, off[1] = 1, off[2] = 0;
        break;
    case IQS_PIX_GRAY8:
        off[0] = off[1] = off[2] = 0;
        break;
    default: /* RGB8, RGBA8 */
        off[0] = 0, off[1] = 1, off[2] = 2;
        break;
    }
}

void iqs_resize_normalize(const iqs_image *src, int oh, int ow, float scale,
                          float offset, int bgr, float *restrict dst)
{
    iqs_resize_normalize_rule(src, oh, ow, scale, offset, bgr, IQS_NN_DEFAULT,
                              dst);
}

/* HWC uint8 [H,W,bpp] (any stride) -> CHW float [3,OH,OW]. */
void iqs_resize_normalize_rule(const iqs_image *src, int oh, int ow,
                               float scale, float offset, int bgr,
                               iqs_nn_rule rule, float *restrict dst)
{
    const uint8_t *const base = (const uint8_t *)src->data;
    const size_t stride = src->stride;
    const int w = src->width, h = src->height;
    const size_t bpp = (size_t)iqs_pixfmt_channels(src->format);
    const size_t plane = (size_t)oh * (size_t)ow;
    const nn_axis ax = nn_axis_init(w, ow, rule), ay = nn_axis_init(h, oh, rule);
    int rgb[3], o[3];
    float lut[256];

    /* 256 possible inputs: one table, computed with the multiply and the
     * add as separate statements so no compiler contracts them into an
     * FMA (which would round once and differ from numpy). */
    for (int v = 0; v < 256; v++) {
        float p = (float)v * scale;
        lut[v] = p + offset;
    }
    channel_offsets(src->format, rgb);
    /* Plane c of dst receives source channel o[c]. */
    for (int c = 0; c < 3; c++)
        o[c] = bgr ? rgb[2 - c] : rgb[c];

    for (int y = 0; y < oh; y++) {
        const uint8_t *row =
            base + (size_t)nn_index(&ay, y) * stride;
        float *restrict d0 = dst + (size_t)y * (size_t)ow;
        float *restrict d1 = d0 + plane;
        float *restrict d2 = d1 + plane;
        for (int x = 0; x < ow; x++) {
            const uint8_t *px =
                row + (size_t)nn_index(&ax, x) * bpp;
            d0[x] = lut[px[o[0]]];
            d1[x] = lut[px[o[1]]];
            d2[x] = lut[px[o[2]]];
        }
    }
}
