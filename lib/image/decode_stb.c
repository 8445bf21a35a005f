/*
 * Image decoding (layer: image). The only file that includes stb_image
 * (Debian's libstb-dev header, compiled here as private static functions;
 * libstb itself is not linked). Decoding is a separate step from
 * classification: the result is a tightly packed RGB8 iqs_image owned by
 * the caller, released with iqs_image_free.
 *
 * Hostile-input policy:
 *  - the header is read first (stbi_info_from_memory) and images above
 *    max_pixels are refused before any pixel buffer exists, so a tiny file
 *    declaring 60000 x 60000 costs microseconds; stb's own dimension cap is
 *    lowered too;
 *  - only the formats the API documents are compiled in; HDR, PSD and PIC
 *    loaders (the ones with most CVE history) are left out;
 *  - stb is called with req_comp = 0 and the channel conversion is done
 *    here: stb 2.27's own 16-bit conversion paths read out of bounds on
 *    crafted PNM files when a different channel count is requested;
 *  - STBI_ASSERT is disabled (a library must not abort) and failure strings
 *    are off, which also removes stb's only written global state;
 *  - every JPEG marker segment is checked first (iqs_jpeg_check): JPEGs
 *    whose scan is not terminated by EOI are refused (stb zero-fills a
 *    truncated scan and would return a half-grey picture), and so are DHT
 *    tables of more than 256 symbols, on which the Debian stb 2.27 writes
 *    past its Huffman arrays (stb issue #1289, fixed upstream in 2.28).
 * Without malloc (MALLOC=0 builds) decoding is unavailable.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

#if IQS_MALLOC

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_NO_STDIO
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#define STBI_NO_PSD
#define STBI_NO_PIC
#define STBI_NO_FAILURE_STRINGS
#define STBI_ASSERT(x) ((void)0)
#define STBI_MAX_DIMENSIONS (1 << 18)
/* calloc: a loader that fails to fill its buffer (stb 2.27's TGA reader on
 * truncated files, CVE-2023-45663) then yields zeros, never stale heap
 * bytes; large blocks come zeroed from mmap anyway. */
#define STBI_MALLOC(sz) calloc(1, sz)
#define STBI_REALLOC(p, newsz) realloc(p, newsz)
#define STBI_FREE(p) free(p)

#if defined(__GNUC__)
/* Unused static stb functions are reported at the end of the file, after
 * any pop, so this one stays off for the whole (stb-only) file. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wmisleading-indentation"
#endif
/* stb 2.27 computes `NULL + 0` on a PNG whose first IDAT chunk is empty
 * and memcpy(NULL, src, 0) (tests/bad/fuzz-png_empty_idat.png): undefined
 * but harmless (no access).
 * clang's UBSan would stop on them, so those two checks are off inside stb
 * only. */
#ifdef __clang__
#pragma clang attribute push(__attribute__((no_sanitize("pointer-overflow", "nonnull-attribute"))), apply_to = function)
#endif
#include <stb/stb_image.h>
#ifdef __clang__
#pragma clang attribute pop
#endif
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

static iqs_status fail_image(iqs_diag *diag, const char *what)
{
    return iqs_diag_set(diag, IQS_E_IMAGE, "%s", what);
}

/* Interleaved 8-bit pixels with 1..4 channels (gray, gray+alpha, RGB,
 * RGBA) -> tightly packed RGB8. */
static void to_rgb8(const uint8_t *restrict src, int comp, size_t npix,
                    uint8_t *restrict dst)
{
    switch (comp) {
    case 1:
    case 2:
        for (size_t i = 0; i < npix; i++, src += comp, dst += 3)
            dst[0] = dst[1] = dst[2] = src[0];
        break;
    case 3:
        memcpy(dst, src, npix * 3);
        break;
    default:
        for (size_t i = 0; i < npix; i++, src += 4, dst += 3) {
            dst[0] = src[0];
            dst[1] = src[1];
            dst[2] = src[2];
        }
        break;
    }
}

/* stb returns NULL without a reason (failure strings are off). Running out
 * of memory is told apart from corrupt data by asking for what the decoder
 * needed at its peak, about twice the decoded image, 16-bit samples
 * counted as two bytes (PNG: the inflated data and the pixels; JPEG: the
 * component planes and the pixels): when that cannot be had, the caller learns
 * IQS_E_NOMEM, so a photo manager under memory pressure does not mark a
 * good file as corrupt. A heuristic: memory that is short by less than
 * the probe, or a transient shortage, may still read as IQS_E_IMAGE. */
static iqs_status decode_failed(uint64_t decoded, int w, int h,
                                iqs_diag *diag)
{
    const size_t n = (size_t)(2 * decoded); /* decoded <= INT_MAX */
    void *probe;

    probe = malloc(n);
    if (!probe)
        return iqs_diag_set(diag, IQS_E_NOMEM,
                            "cannot allocate %zu bytes to decode a %d x %d "
                            "image", n, w, h);
    free(probe);
    return fail_image(diag, "corrupt or truncated image data");
}

IQS_API iqs_status iqs_image_decode_memory(const void *data, size_t size,
                                           const iqs_decode_options *opt,
                                           iqs_image *out, iqs_diag *diag)
{
    iqs_decode_options def;
    int w = 0, h = 0, comp = 0, w2 = 0, h2 = 0, comp2 = 0, orient = 0;
    size_t npix, nbytes;
    uint64_t decoded;
    uint8_t *px = NULL, *rgb = NULL, *fin = NULL;
    iqs_status st;

    if (out)
        memset(out, 0, sizeof *out);
    if (!data || !out)
        return iqs_diag_set(diag, IQS_E_ARG,
                            "iqs_image_decode_memory: NULL argument");
    if (!opt) {
        iqs_decode_options_init(&def);
        opt = &def;
    }
    if (opt->size < sizeof *opt)
        return iqs_diag_set(diag, IQS_E_ARG,
                            "decode options not set up by iqs_decode_options_init");
    if (size == 0)
        return fail_image(diag, "empty image data");
    if (size > (size_t)INT_MAX)
        return iqs_diag_set(diag, IQS_E_LIMIT,
                            "%zu bytes of image data exceed the decoder's 2 GiB limit",
                            size);

    /* Header only: dimensions before any allocation. Our own PNG/JPEG
     * header read comes first because stb refuses some huge headers as
     * "corrupt", which would hide a bomb behind IQS_E_IMAGE. */
    const int have_dims = iqs_header_dims(data, size, &w, &h);
    const int hw = w, hh = h;
    if (have_dims && (uint64_t)w * (uint64_t)h > opt->max_pixels)
        return iqs_diag_set(diag, IQS_E_LIMIT,
                            "image of %d x %d pixels exceeds the limit of %llu pixels",
                            w, h, (unsigned long long)opt->max_pixels);
    /* JPEG structure before stb parses any of it (stbi_info included:
     * it processes the DHT segments preceding the frame header). */
    switch (iqs_jpeg_check(data, size)) {
    case IQS_JPEG_TRUNCATED:
        return fail_image(diag, "truncated JPEG (no end-of-image marker "
                                "after the scan data)");
    case IQS_JPEG_CORRUPT:
        return fail_image(diag, "corrupt JPEG (malformed Huffman table or "
                                "segment length)");
    default:
        break;
    }
    if (!stbi_info_from_memory((const stbi_uc *)data, (int)size, &w, &h,
                               &comp)) {
        /* stb refuses a PNG of more than 2^30 raw bytes at its header */
        if (have_dims && (uint64_t)hw * (uint64_t)hh * 4u > ((uint64_t)1 << 30))
            return iqs_diag_set(diag, IQS_E_LIMIT,
                                "image of %d x %d pixels exceeds the decoder's "
                                "buffer limit", hw, hh);
        return fail_image(diag, "not a decodable image (JPEG, PNG, BMP, GIF, "
                                "TGA, PNM) or corrupt header");
    }
    if (w <= 0 || h <= 0)
        return fail_image(diag, "image header declares no pixels");
    if ((uint64_t)w * (uint64_t)h > opt->max_pixels)
        return iqs_diag_set(diag, IQS_E_LIMIT,
                            "image of %d x %d pixels exceeds the limit of %llu pixels",
                            w, h, (unsigned long long)opt->max_pixels);

    /* The decoded size, 16-bit samples counted twice. stb's buffers are
     * indexed by int: a larger one is refused by it as "corrupt"; say what
     * it is */
    decoded = (uint64_t)w * (uint64_t)h * (uint64_t)(comp > 0 ? comp : 4) *
              (stbi_is_16_bit_from_memory((const stbi_uc *)data, (int)size) ? 2u : 1u);
    if (decoded > (uint64_t)INT_MAX)
        return iqs_diag_set(diag, IQS_E_LIMIT,
                            "image of %d x %d pixels exceeds the decoder's 2 GiB "
                            "buffer limit", w, h);
    px = stbi_load_from_memory((const stbi_uc *)data, (int)size, &w2, &h2,
                               &comp2, 0);
    if (!px)
        return decode_failed(decoded, w, h, diag);
    /* The loader re-reads the header it was asked about; insist. */
    if (w2 != w || h2 != h || comp2 < 1 || comp2 > 4) {
        st = iqs_diag_set(diag, IQS_E_IMAGE,
                          "decoder returned %d x %d x %d for a %d x %d header",
                          w2, h2, comp2, w, h);
        goto fail;
    }
    npix = (size_t)w * (size_t)h;
    if (!iqs_mul_ok(npix, 3, &nbytes)) {
        st = iqs_diag_set(diag, IQS_E_LIMIT, "image too large for memory");
        goto fail;
    }

    /* Channel conversion, reusing stb's buffer when it is already RGB8. */
    if (comp2 == 3) {
        rgb = px;
        px = NULL;
    } else {
        rgb = malloc(nbytes);
        if (!rgb) {
            st = iqs_diag_set(diag, IQS_E_NOMEM,
                              "cannot allocate %zu bytes for pixels", nbytes);
            goto fail;
        }
        to_rgb8(px, comp2, npix, rgb);
        free(px);
        px = NULL;
    }

    if (opt->apply_orientation)
        orient = iqs_exif_orientation(data, size);
    if (orient >= 2) {
        fin = malloc(nbytes);
        if (!fin) {
            st = iqs_diag_set(diag, IQS_E_NOMEM,
                              "cannot allocate %zu bytes for pixels", nbytes);
            goto fail;
        }
        iqs_orient_apply(rgb, w, h, orient, fin);
        free(rgb);
        rgb = NULL;
        iqs_orient_dims(orient, w, h, &w, &h);
    } else {
        fin = rgb;
        rgb = NULL;
    }

    out->data = fin;
    out->width = w;
    out->height = h;
    out->stride = (size_t)w * 3;
    out->format = IQS_PIX_RGB8;
    iqs_diag_ok(diag);
    return IQS_OK;
fail:
    free(px);
    free(rgb);
    return st;
}

#else /* !IQS_MALLOC */

IQS_API iqs_status iqs_image_decode_memory(const void *data, size_t size,
                                           const iqs_decode_options *opt,
                                           iqs_image *out, iqs_diag *diag)
{
    (void)data;
    (void)size;
    (void)opt;
    if (out)
        memset(out, 0, sizeof *out);
    return iqs_diag_set(diag, IQS_E_UNSUPPORTED,
                        "image decoding needs a MALLOC=1 build");
}

#endif
