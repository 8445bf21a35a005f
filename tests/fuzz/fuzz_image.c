/*
 * Fuzz harness: the image path a photo from a stranger takes - the
 * pre-decode checks (JPEG marker walk, header dimensions against the pixel
 * limit), stb_image decoding, EXIF orientation, the nearest-exact resize
 * fused with normalisation, then the classic detectors on the decoded
 * pixels (lib/image, lib/detect).
 *
 * The pixel limit is set to 2^20 (not the 100 Mpx default) so that a
 * fuzzer-made header costs milliseconds; a decoded image must respect it.
 * Properties: known statuses with a matching diag, the decoded image is
 * tightly packed RGB8 within the limit, normalised values lie in [-1, 1],
 * detector scores in [0, 1] (never NaN), labels valid, and iqs_assess is
 * deterministic (run twice, same bytes).
 */
#include "fuzz.h"

#include "image/image.h"

#define FZ_MAX_PIXELS ((uint64_t)1 << 20)

static void check_assessment(const iqs_assessment *a)
{
    FZ_CHECK(fz_in(a->blur, 0, 1) && fz_in(a->noise, 0, 1));
    FZ_CHECK(fz_in(a->exposure, 0, 1) && fz_in(a->compression, 0, 1));
    FZ_CHECK(fz_in(a->overexposure, 0, 1) && fz_in(a->underexposure, 0, 1));
    FZ_CHECK(a->quality == -1.0f || fz_in(a->quality, 0, 100));
    FZ_CHECK(a->label >= IQS_LABEL_NONE && a->label <= IQS_LABEL_ACCEPTED);
    FZ_CHECK(memchr(a->reason, '\0', sizeof a->reason) != NULL);
}

static void assess(const iqs_image *img, iqs_profile profile)
{
    iqs_assess_options o;
    iqs_assess_options_init(&o, profile);
    o.preview_max = 128; /* keep an execution short */
    o.hough_angles = 90;
    size_t wsz = iqs_assess_workspace_size(img->width, img->height, &o);
    FZ_CHECK(wsz > 0);
    void *ws = malloc(wsz);
    if (!ws)
        return;
    iqs_assessment a, b;
    FZ_CHECK(iqs_assess(img, &o, ws, wsz, &a) == IQS_OK);
    check_assessment(&a);
    FZ_CHECK(iqs_assess(img, &o, ws, wsz, &b) == IQS_OK);
    FZ_CHECK(memcmp(&a, &b, sizeof a) == 0);
    /* One byte short of the workspace is refused, not overrun. */
    FZ_CHECK(iqs_assess(img, &o, ws, wsz - 1, &b) == IQS_E_WORKSPACE);
    free(ws);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    iqs_decode_options opt;
    iqs_decode_options_init(&opt);
    opt.max_pixels = FZ_MAX_PIXELS;
    opt.apply_orientation = !(size & 1);
    iqs_image img;
    iqs_diag d;
    /* A private exact-size copy: an over-read of one byte is reported. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    iqs_status s = iqs_image_decode_memory(buf, size, &opt, &img, &d);
    fz_check_diag(&d, s);
    /* The helpers behind the decoder must stay in bounds on their own. */
    int hw, hh;
    (void)iqs_header_dims(buf, size, &hw, &hh);
    int orient = iqs_exif_orientation(buf, size);
    FZ_CHECK(orient >= 0 && orient <= 8);
    int jc = iqs_jpeg_check(buf, size);
    FZ_CHECK(jc >= IQS_JPEG_OK && jc <= IQS_JPEG_CORRUPT);
    free(buf);
    if (s != IQS_OK) {
        FZ_CHECK(s == IQS_E_IMAGE || s == IQS_E_LIMIT || s == IQS_E_NOMEM);
        FZ_CHECK(img.data == NULL);
        return 0;
    }
    FZ_CHECK(img.data != NULL && img.format == IQS_PIX_RGB8);
    FZ_CHECK(img.width > 0 && img.height > 0);
    FZ_CHECK((uint64_t)img.width * (uint64_t)img.height <= FZ_MAX_PIXELS);
    FZ_CHECK(img.stride == (size_t)img.width * 3);
    FZ_CHECK(iqs_image_check(&img) == IQS_OK);

    /* Resize to a small odd shape and to a 1x1, both channel orders. */
    float dst[3 * 13 * 7];
    iqs_resize_normalize(&img, 13, 7, 1.0f / 127.5f, -1.0f, (int)(size & 2), dst);
    for (size_t i = 0; i < sizeof dst / sizeof dst[0]; i++)
        FZ_CHECK(fz_in(dst[i], -1.0f, 1.0f));
    iqs_resize_normalize_rule(&img, 1, 1, 1.0f / 127.5f, -1.0f, 1, IQS_NN_CENTER, dst);
    FZ_CHECK(fz_in(dst[0], -1.0f, 1.0f));

    assess(&img, (size & 4) ? IQS_PROFILE_DIGIKAM : IQS_PROFILE_DEFAULT);
    iqs_image_free(&img);
    FZ_CHECK(img.data == NULL);
    return 0;
}
