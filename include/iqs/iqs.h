/*
 * iqs - image quality sorting in plain C.
 *
 * The only public header. Everything here is prefixed iqs_ / IQS_.
 *
 * Conventions (see docs/api.md):
 *  - Functions return an iqs_status; results go through out-parameters.
 *  - On failure an out-handle is set to NULL and there is nothing to free.
 *  - An optional caller-owned iqs_diag receives a human-readable detail.
 *  - Close/free functions accept NULL and then do nothing.
 *  - The library never prints, never exits, never keeps global state.
 *  - A model is immutable after open and may be shared by threads; a
 *    workspace serves one call at a time.
 */
#ifndef IQS_IQS_H
#define IQS_IQS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(IQS_BUILDING_LIBRARY) && defined(__GNUC__)
#define IQS_API __attribute__((visibility("default")))
#else
#define IQS_API
#endif

#if defined(__GNUC__)
#define IQS_NODISCARD __attribute__((warn_unused_result))
#else
#define IQS_NODISCARD
#endif

/* ---------------------------------------------------------------- version */

#define IQS_VERSION_MAJOR 0
#define IQS_VERSION_MINOR 1
#define IQS_VERSION_PATCH 0
#define IQS_VERSION_NUMBER \
    (IQS_VERSION_MAJOR * 10000 + IQS_VERSION_MINOR * 100 + IQS_VERSION_PATCH)

/* The run-time library version as "MAJOR.MINOR.PATCH" (static string). */
IQS_API const char *iqs_version(void);
/* The run-time library version as MAJOR*10000 + MINOR*100 + PATCH. */
IQS_API unsigned iqs_version_number(void);

/* ----------------------------------------------------------------- errors */

/* Status codes. Values are pinned; new codes are only appended. */
typedef enum iqs_status {
    IQS_OK = 0,
    IQS_E_ARG = 1,         /* invalid argument (NULL, out of range)          */
    IQS_E_IO = 2,          /* file could not be opened/read/written          */
    IQS_E_FORMAT = 3,      /* malformed weights file, graph or image data    */
    IQS_E_VERSION = 4,     /* weights file of an unsupported major version   */
    IQS_E_CHECKSUM = 5,    /* CRC mismatch                                   */
    IQS_E_NOMEM = 6,       /* allocation failed                              */
    IQS_E_WORKSPACE = 7,   /* workspace missing or too small                 */
    IQS_E_IMAGE = 8,       /* image cannot be decoded or is unusable         */
    IQS_E_LIMIT = 9,       /* a configured limit (pixels, bytes) exceeded    */
    IQS_E_UNSUPPORTED = 10,/* valid but unsupported (architecture, dtype)    */
    IQS_E_INTERNAL = 11,   /* a bug in iqs                                   */
    IQS_E_ENDIAN = 12      /* big-endian host: IQSW files are little-endian  */
} iqs_status;

/* A static, never-NULL description of a status (also for unknown values). */
IQS_API const char *iqs_strerror(iqs_status status);

/* Optional caller-owned diagnostics: filled on failure (and cleared to
 * IQS_OK/"" on success) by functions that take one. May be NULL. */
typedef struct iqs_diag {
    iqs_status status;
    char msg[192];
} iqs_diag;

/* ----------------------------------------------------------------- images */

/* Pixel formats of caller images: 8 bits per channel, interleaved. */
typedef enum iqs_pixfmt {
    IQS_PIX_RGB8 = 1,
    IQS_PIX_BGR8 = 2,
    IQS_PIX_RGBA8 = 3,
    IQS_PIX_BGRA8 = 4,
    IQS_PIX_GRAY8 = 5
} iqs_pixfmt;

/* Caller pixels: row y starts at (const uint8_t *)data + y * stride.
 * stride >= width * bytes-per-pixel. The library never frees data (except
 * through iqs_image_free for images it decoded itself). */
typedef struct iqs_image {
    const void *data;
    int width;
    int height;
    size_t stride;
    iqs_pixfmt format;
} iqs_image;

/* Bytes per pixel of a format, 0 for an unknown one. */
IQS_API int iqs_pixfmt_channels(iqs_pixfmt format);

#define IQS_DEFAULT_MAX_PIXELS ((uint64_t)100000000u)   /* 100 megapixels */
#define IQS_DEFAULT_MAX_FILE_BYTES ((uint64_t)1u << 30) /* 1 GiB          */

/* Options of the decoding conveniences. Initialise with
 * iqs_decode_options_init, then change fields. */
typedef struct iqs_decode_options {
    size_t size;             /* sizeof(iqs_decode_options), set by init   */
    uint64_t max_pixels;     /* refuse larger images before allocating    */
    uint64_t max_file_bytes; /* refuse larger files before reading        */
    int apply_orientation;   /* apply the JPEG EXIF orientation (default 1) */
} iqs_decode_options;

IQS_API void iqs_decode_options_init(iqs_decode_options *opt);

/* Decode JPEG/PNG/BMP/TGA/GIF(first frame)/PNM from memory into a newly
 * allocated RGB8 image (gray sources are expanded, 16-bit sources are
 * reduced to 8 bits, alpha is dropped). opt may be NULL (defaults).
 * On success *out owns its pixels: release with iqs_image_free.
 * Statuses: IQS_E_ARG, IQS_E_IMAGE, IQS_E_LIMIT, IQS_E_NOMEM. */
IQS_API IQS_NODISCARD iqs_status iqs_image_decode_memory(
    const void *data, size_t size, const iqs_decode_options *opt,
    iqs_image *out, iqs_diag *diag);

/* As iqs_image_decode_memory, reading the file at path (IQS_E_IO when it
 * cannot be read). Not available in STDIO=0 builds. */
IQS_API IQS_NODISCARD iqs_status iqs_image_load(
    const char *path, const iqs_decode_options *opt, iqs_image *out,
    iqs_diag *diag);

/* Frees the pixels of an image decoded by iqs; NULL or an empty image is a
 * no-op. Never call it on caller-owned pixels. Resets *img to zeros. */
IQS_API void iqs_image_free(iqs_image *img);

/* ------------------------------------------------------------------ model */

typedef struct iqs_model iqs_model;

/* Open flags. */
#define IQS_OPEN_NO_MMAP 0x1u       /* read the file into memory instead    */
#define IQS_OPEN_SKIP_DATA_CRC 0x2u /* trust the data section (faster open) */
#define IQS_OPEN_FEED_BGR 0x4u      /* digiKam-compatible: feed the network
                                       BGR instead of the file's order      */

/* Options of the _ex openers. Initialise with iqs_open_options_init. */
typedef struct iqs_open_options {
    size_t size;         /* sizeof(iqs_open_options), set by init          */
    unsigned flags;      /* IQS_OPEN_*                                     */
    unsigned input_size; /* square input side for files that allow any
                            size; 0 = the file's default                   */
} iqs_open_options;

IQS_API void iqs_open_options_init(iqs_open_options *opt);

/* Opens an IQSW weights file (mmap'd read-only unless IQS_OPEN_NO_MMAP).
 * Validates header, tables and CRCs before use. On failure *out is NULL.
 * Statuses: IQS_E_ARG, IQS_E_IO, IQS_E_FORMAT, IQS_E_VERSION,
 * IQS_E_CHECKSUM, IQS_E_NOMEM, IQS_E_UNSUPPORTED, IQS_E_ENDIAN. */
IQS_API IQS_NODISCARD iqs_status iqs_model_open(const char *path,
                                                unsigned flags,
                                                iqs_model **out,
                                                iqs_diag *diag);
IQS_API IQS_NODISCARD iqs_status iqs_model_open_ex(
    const char *path, const iqs_open_options *opt, iqs_model **out,
    iqs_diag *diag);

/* Opens weights held in caller memory; they are used in place and must stay
 * valid and unchanged until iqs_model_close. data must be 64-byte aligned
 * (IQS_E_ARG otherwise). */
IQS_API IQS_NODISCARD iqs_status iqs_model_open_memory(const void *data,
                                                       size_t size,
                                                       unsigned flags,
                                                       iqs_model **out,
                                                       iqs_diag *diag);
IQS_API IQS_NODISCARD iqs_status iqs_model_open_memory_ex(
    const void *data, size_t size, const iqs_open_options *opt,
    iqs_model **out, iqs_diag *diag);

/* Closes a model (unmaps/frees what open took). NULL is a no-op. */
IQS_API void iqs_model_close(iqs_model *model);

/* Head kinds. */
#define IQS_HEAD_CLASSES 1 /* class probabilities (bad/normal/good ...)   */
#define IQS_HEAD_NIMA10 2  /* 10-bin score distribution, score = sum i*p_i */

#define IQS_MAX_CLASSES 16

typedef struct iqs_model_info {
    const char *architecture; /* "inception_resnet_v2", "inception_v3"    */
    int input_height, input_width, input_channels; /* in use             */
    int num_classes;
    int head_kind;                          /* IQS_HEAD_*                  */
    const char *labels[IQS_MAX_CLASSES];    /* valid while the model is open */
    int num_layers;                         /* layer table entries         */
    uint64_t weights_bytes;                 /* size of the weights file    */
    size_t workspace_size;                  /* iqs_workspace_size()        */
    int feeds_bgr;                          /* 1 if the network gets BGR   */
} iqs_model_info;

IQS_API IQS_NODISCARD iqs_status iqs_model_get_info(const iqs_model *model,
                                                    iqs_model_info *out);

/* Bytes of workspace iqs_classify needs for this model (0 for NULL).
 * Any alignment is accepted: the size includes slack to align to 64. */
IQS_API size_t iqs_workspace_size(const iqs_model *model);

/* --------------------------------------------------------------- classify */

typedef struct iqs_result {
    int num_classes;
    float probs[IQS_MAX_CLASSES]; /* softmax output                         */
    int top;                      /* argmax (lowest index on ties)          */
    const char *label;            /* labels[top], valid while model is open */
    int has_score;                /* 1 for NIMA 10-bin heads                */
    float score;                  /* sum_{i=1..10} i * p_i when has_score   */
} iqs_result;

/* Runs preprocessing (nearest-exact resize, x/127.5 - 1, channel order) and
 * the network on caller pixels. Allocates nothing, prints nothing, no I/O.
 * Thread-safe for distinct workspaces.
 * Statuses: IQS_E_ARG, IQS_E_IMAGE (bad dims/format/stride),
 * IQS_E_WORKSPACE (NULL or smaller than iqs_workspace_size). */
IQS_API IQS_NODISCARD iqs_status iqs_classify(const iqs_model *model,
                                              const iqs_image *image,
                                              void *workspace,
                                              size_t workspace_size,
                                              iqs_result *out);

/* Convenience: decode the file (EXIF orientation applied, opt may be NULL),
 * classify it with the given workspace, free the pixels. Not available in
 * STDIO=0 builds. */
IQS_API IQS_NODISCARD iqs_status iqs_classify_file(
    const iqs_model *model, const char *path, const iqs_decode_options *opt,
    void *workspace, size_t workspace_size, iqs_result *out, iqs_diag *diag);

/* ---------------------------------------------------- classic detectors */
/* (declared below by lib/detect; see docs/detectors.md) */

#ifdef __cplusplus
}
#endif

#endif /* IQS_IQS_H */
