/*
 * Fuzz harness: the XMP sidecar merge of the iqs command (tools/iqs/xmp.c),
 * which reads sidecars other programs wrote.
 *
 * Each input is merged with two updates (a full one and a keep-all one).
 * Properties: on success the output is non-NULL, merging the same update
 * into the output again reports XMP_UNCHANGED with identical bytes (the
 * merge is idempotent and its output is a document it accepts); a
 * keep-all update never changes a document; on failure nothing is
 * returned; the error text is NUL-terminated.
 */
#include "fuzz.h"

#include "iqs/xmp.h"

static void merge(const char *in, size_t len, const xmp_update *u)
{
    char err[160];
    char *out = (char *)1;
    size_t out_len = 0;
    xmp_status s = xmp_merge(in, len, u, &out, &out_len, err, sizeof err);
    FZ_CHECK(s >= XMP_OK && s <= XMP_E_ARG);
    FZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
    if (s != XMP_OK && s != XMP_UNCHANGED) {
        FZ_CHECK(out == NULL);
        return;
    }
    FZ_CHECK(out != NULL);
    if (s == XMP_UNCHANGED)
        FZ_CHECK(out_len == len && memcmp(out, in, len) == 0);
    if (u->pick_label == XMP_KEEP && u->rating == XMP_KEEP)
        FZ_CHECK(s == XMP_UNCHANGED);
    char *again = NULL;
    size_t again_len = 0;
    xmp_status s2 = xmp_merge(out, out_len, u, &again, &again_len, err, sizeof err);
    FZ_CHECK(s2 == XMP_UNCHANGED);
    FZ_CHECK(again_len == out_len && memcmp(again, out, out_len) == 0);
    free(again);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size heap copy: the parser must not read past len. */
    char *in = malloc(size ? size : 1);
    if (!in)
        return 0;
    memcpy(in, data, size);
    const xmp_update full = {XMP_PICK_REJECTED + (int)(size % 3), (int)(size % 7) - 1};
    const xmp_update keep = {XMP_KEEP, XMP_KEEP};
    merge(in, size, &full);
    merge(in, size, &keep);
    free(in);
    return 0;
}
