/*
 * File convenience of the classic detectors (hosted glue over the detect
 * layer, like the api layer's *_file wrappers): map the file, decode it
 * with the image layer (EXIF orientation applied), allocate one workspace,
 * assess, free. It is the only place in lib/detect that allocates or
 * touches files, and it exists only in STDIO=1 builds. In the DIGIKAM
 * profile a JPEG gets the DCT-scaling emulation and other formats do not,
 * because digiKam's fast preview scales only JPEGs in the DCT domain.
 */
#include <stdlib.h>
#include <string.h>

#include "detect/detect.h"

#if IQS_STDIO && IQS_MALLOC
#include "image/image.h"
#include "io/io.h"

IQS_API iqs_status iqs_assess_file(const char *path,
                                   const iqs_assess_options *opt,
                                   iqs_assessment *out, iqs_diag *diag)
{
    iqs_assess_options o;
    iqs_mapping map;
    iqs_image img;
    void *ws = NULL;
    size_t wsz;
    int is_jpeg;
    iqs_status st;

    memset(&img, 0, sizeof img);
    if (out)
        memset(out, 0, sizeof *out);
    if (!path || !out)
        return iqs_diag_set(diag, IQS_E_ARG, "iqs_assess_file: NULL argument");
    if (opt) {
        if (opt->size < sizeof *opt)
            return iqs_diag_set(diag, IQS_E_ARG,
                                "iqs_assess_file: options size %zu too small",
                                opt->size);
        o = *opt;
    } else {
        iqs_assess_options_init(&o, IQS_PROFILE_DEFAULT);
    }

    IQS_TRY(iqs_io_map(path, IQS_IO_EMPTY_OK, IQS_DEFAULT_MAX_FILE_BYTES,
                       &map, diag));
    is_jpeg = map.size >= 3 && ((const uint8_t *)map.data)[0] == 0xff &&
              ((const uint8_t *)map.data)[1] == 0xd8;
    /* the same statuses and messages as iqs_image_load */
    st = iqs_image_decode_named(path, map.data, map.size, NULL, &img, diag);
    iqs_io_unmap(&map);
    if (st != IQS_OK)
        return st;
    if (!is_jpeg)
        o.quirks &= ~IQS_QUIRK_DCT_PRESCALE;

    wsz = iqs_assess_workspace_size(img.width, img.height, &o);
    if (!wsz) {
        st = iqs_diag_set(diag, IQS_E_ARG, "iqs_assess_file: bad options or "
                          "image size %dx%d", img.width, img.height);
        goto fail;
    }
    ws = malloc(wsz);
    if (!ws) {
        st = iqs_diag_set(diag, IQS_E_NOMEM,
                          "iqs_assess_file: %zu bytes of workspace", wsz);
        goto fail;
    }
    st = iqs_assess(&img, &o, ws, wsz, out);
    if (st != IQS_OK) {
        iqs_diag_set(diag, st, "iqs_assess_file: %s: %s", path,
                     iqs_strerror(st));
        goto fail;
    }
    iqs_diag_ok(diag);
fail:
    free(ws);
    iqs_image_free(&img);
    return st;
}
#endif
