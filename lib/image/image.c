/*
 * Small public helpers of the image path (layer: image): pixel-format sizes,
 * decode options, freeing decoded images and the file-reading decode
 * convenience. iqs_image_load reads through lib/io (mapped, read-only, for
 * the time of one decode), so it exists only in STDIO=1 builds; decoding
 * itself lives in decode_stb.c.
 */
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#if IQS_STDIO
#include "io/io.h"
#endif

IQS_API int iqs_pixfmt_channels(iqs_pixfmt format)
{
    switch (format) {
    case IQS_PIX_RGB8:
    case IQS_PIX_BGR8: return 3;
    case IQS_PIX_RGBA8:
    case IQS_PIX_BGRA8: return 4;
    case IQS_PIX_GRAY8: return 1;
    }
    return 0;
}

IQS_API void iqs_decode_options_init(iqs_decode_options *opt)
{
    if (!opt)
        return;
    memset(opt, 0, sizeof *opt);
    opt->size = sizeof *opt;
    opt->max_pixels = IQS_DEFAULT_MAX_PIXELS;
    opt->max_file_bytes = IQS_DEFAULT_MAX_FILE_BYTES;
    opt->apply_orientation = 1;
}

IQS_API void iqs_image_free(iqs_image *img)
{
    if (!img)
        return;
#if IQS_MALLOC
    /* Decoded pixels come from malloc (ours or stb_image's STBI_MALLOC). */
    free((void *)(uintptr_t)img->data);
#endif
    memset(img, 0, sizeof *img);
}

#if IQS_STDIO
IQS_API iqs_status iqs_image_load(const char *path,
                                  const iqs_decode_options *opt,
                                  iqs_image *out, iqs_diag *diag)
{
    iqs_decode_options def;
    iqs_mapping map;
    iqs_status st;

    if (out)
        memset(out, 0, sizeof *out);
    if (!path || !out)
        return iqs_diag_set(diag, IQS_E_ARG, "iqs_image_load: NULL argument");
    if (!opt) {
        iqs_decode_options_init(&def);
        opt = &def;
    }
    if (opt->size < sizeof *opt)
        return iqs_diag_set(diag, IQS_E_ARG,
                            "decode options not set up by iqs_decode_options_init");
    /* The size limit is enforced on fstat, before anything is read. */
    IQS_TRY(iqs_io_map(path, IQS_IO_EMPTY_OK, opt->max_file_bytes, &map,
                       diag));
    st = iqs_image_decode_named(path, map.data, map.size, opt, out, diag);
    iqs_io_unmap(&map);
    return st;
}

iqs_status iqs_image_decode_named(const char *path, const void *data,
                                  size_t size, const iqs_decode_options *opt,
                                  iqs_image *out, iqs_diag *diag)
{
    iqs_status st;
    if (size == 0) {
        if (out)
            memset(out, 0, sizeof *out);
        st = iqs_diag_set(diag, IQS_E_IMAGE, "empty image data");
    } else {
        st = iqs_image_decode_memory(data, size, opt, out, diag);
    }
    if (st != IQS_OK && diag) {
        /* Name the file: the decoder only knew a buffer. */
        char msg[sizeof diag->msg];
        memcpy(msg, diag->msg, sizeof msg);
        size_t n = strlen(path);
        const char *tail = n > 60 ? path + (n - 60) : path;
        iqs_diag_set(diag, st, "%s%s: %s", n > 60 ? "..." : "", tail, msg);
    }
    return st;
}
#endif
