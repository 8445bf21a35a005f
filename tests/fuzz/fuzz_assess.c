/*
 * Fuzz harness: the classic detectors and the verdict on arbitrary caller
 * pixels (lib/detect), without a decoder in front - any pixel content,
 * format, stride, size and option set an application could pass.
 *
 * Input layout: byte 0 format (1..5) and profile; byte 1 width-1; byte 2
 * stride padding and detector bits; byte 3 preview size and quirks; byte 4
 * Hough angles; the rest are the pixels (height = what fits). Properties:
 * scores in [0, 1], never NaN; quality in [0, 100] or -1; a workspace one
 * byte short is refused; the verdict combination with a network result
 * taken from the input keeps every label valid; and the reads stay inside
 * the rows the image describes (the pixels are an exact-size heap copy).
 */
#include "fuzz.h"

static const int previews[8] = {0, 1, 7, 16, 64, 100, 256, 1024};
static const int angles[8] = {0, 1, 2, 45, 90, 180, 360, 900};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 6 || size > ((size_t)1 << 20))
        return 0;
    const iqs_pixfmt fmt = (iqs_pixfmt)(1 + data[0] % 5);
    const int bpp = iqs_pixfmt_channels(fmt);
    const int width = 1 + data[1];
    const size_t stride = (size_t)width * (size_t)bpp + (data[2] & 7);
    const size_t npix = size - 5;
    if (npix < (size_t)width * (size_t)bpp)
        return 0;
    /* The last row only needs width * bpp bytes, not a full stride. */
    const int height = 1 + (int)((npix - (size_t)width * (size_t)bpp) / stride);
    const size_t need = (size_t)(height - 1) * stride + (size_t)width * (size_t)bpp;
    uint8_t *px = malloc(need);
    if (!px)
        return 0;
    memcpy(px, data + 5, need);
    iqs_image img = {px, width, height, stride, fmt};

    iqs_assess_options o;
    iqs_assess_options_init(&o, (data[0] & 0x80) ? IQS_PROFILE_DIGIKAM : IQS_PROFILE_DEFAULT);
    o.detectors = (data[2] >> 4) & IQS_DETECT_ALL;
    if ((data[2] & 8) == 0)
        o.detectors = IQS_DETECT_ALL;
    o.preview_max = previews[data[3] & 7];
    o.quirks = (data[3] >> 4) & IQS_QUIRKS_DIGIKAM;
    o.hough_angles = angles[data[4] & 7];

    size_t wsz = iqs_assess_workspace_size(width, height, &o);
    FZ_CHECK(wsz > 0);
    void *ws = malloc(wsz);
    if (ws) {
        iqs_assessment a;
        iqs_status s = iqs_assess(&img, &o, ws, wsz, &a);
        FZ_CHECK(s == IQS_OK);
        FZ_CHECK(a.detectors == o.detectors);
        FZ_CHECK(fz_in(a.blur, 0, 1) && fz_in(a.noise, 0, 1));
        FZ_CHECK(fz_in(a.exposure, 0, 1) && fz_in(a.compression, 0, 1));
        FZ_CHECK(a.quality == -1.0f || fz_in(a.quality, 0, 100));
        FZ_CHECK(a.label >= IQS_LABEL_NONE && a.label <= IQS_LABEL_ACCEPTED);
        FZ_CHECK(a.preview_width > 0 && a.preview_height > 0);
        FZ_CHECK(memchr(a.reason, '\0', sizeof a.reason) != NULL);

        /* Combine with a network result made of input bytes. */
        iqs_result r;
        memset(&r, 0, sizeof r);
        r.num_classes = (data[4] >> 3) % (IQS_MAX_CLASSES + 2);
        r.top = data[size - 1] % 4;
        r.has_score = data[size - 2] & 1;
        memcpy(&r.score, data + size - 4, sizeof r.score);
        for (int k = 0; k < IQS_MAX_CLASSES && 5 + 4 * (size_t)k + 4 <= size; k++)
            memcpy(&r.probs[k], data + 5 + 4 * k, sizeof(float));
        iqs_status v = iqs_verdict_combine(&a, &r, NULL);
        FZ_CHECK(v == IQS_OK);
        FZ_CHECK(a.label >= IQS_LABEL_NONE && a.label <= IQS_LABEL_ACCEPTED);
        FZ_CHECK(a.network >= IQS_LABEL_NONE && a.network <= IQS_LABEL_ACCEPTED);
        FZ_CHECK(memchr(a.reason, '\0', sizeof a.reason) != NULL);

        FZ_CHECK(iqs_assess(&img, &o, ws, wsz - 1, &a) == IQS_E_WORKSPACE);
        free(ws);
    }
    free(px);
    return 0;
}
