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
 * Statuses: IQS_E_ARG, IQS_E_IMAGE (not an image, corrupt or truncated),
 * IQS_E_LIMIT (above max_pixels, or beyond the decoder's 2 GiB buffers),
 * IQS_E_NOMEM (out of memory: after a failed decode, twice the decoded
 * size could not be allocated; a heuristic, so a smaller or transient
 * shortage may still read as IQS_E_IMAGE). */
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

/* The four openers above allocate the model object with malloc; they are
 * absent from MALLOC=0 builds (and the path openers from STDIO=0 builds).
 * Without a heap, place the model in caller memory instead (the zstd
 * static-context pattern; see docs/embedding.md):
 *
 *   size_t need;
 *   iqs_model_static_size(weights, wsize, NULL, &need, &diag);
 *   iqs_model_init_static(mem, mem_size, weights, wsize, NULL, &m, &diag);
 *
 * iqs_model_static_size validates the header and tables (not the data
 * CRC) of the weights and stores in *bytes how much memory
 * iqs_model_init_static needs for them with the same options (opt may be
 * NULL: defaults). The size includes slack for any alignment of mem.
 * Statuses: IQS_E_ARG (NULL bytes, NULL/empty/misaligned weights) and the
 * format statuses of iqs_model_open_memory. On failure *bytes is 0. */
IQS_API IQS_NODISCARD iqs_status iqs_model_static_size(
    const void *weights, size_t size, const iqs_open_options *opt,
    size_t *bytes, iqs_diag *diag);

/* Validates the weights like iqs_model_open_memory_ex (data CRC included
 * unless IQS_OPEN_SKIP_DATA_CRC) and builds the model object inside
 * mem[0, mem_size). Nothing is allocated. The weights (64-byte aligned,
 * used in place) and mem must stay valid and unchanged while the model is
 * in use; iqs_model_close on such a model is a no-op, and mem may be reused
 * once no thread uses the model. On failure *out is NULL.
 * Statuses: IQS_E_ARG (NULL out or mem, bad weights buffer), IQS_E_NOMEM
 * (mem_size below iqs_model_static_size), and the format statuses of
 * iqs_model_open_memory (IQS_E_ENDIAN on big-endian hosts). */
IQS_API IQS_NODISCARD iqs_status iqs_model_init_static(
    void *mem, size_t mem_size, const void *weights, size_t size,
    const iqs_open_options *opt, iqs_model **out, iqs_diag *diag);

/* Closes a model (unmaps/frees what open took). NULL and models placed by
 * iqs_model_init_static are no-ops. */
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

/* ------------------------------------------------------- parallel classify */
/* iqs never starts threads by itself. To spread one classification over
 * several cores, the caller lends it an executor: its own thread pool
 * behind the two-function interface below, or the small pthread team
 * iqs_threads provides. The result is the same as iqs_classify's (bit for
 * bit with iqs's own GEMM kernels; see docs/api.md). */

/* Maximum executor width. */
#define IQS_MAX_WIDTH 16

typedef void (*iqs_task_fn)(void *arg, int index);

typedef struct iqs_executor {
    /* How many threads may run tasks at once (1..IQS_MAX_WIDTH); the work
     * is cut for this many and the workspace sized for it. */
    int width;
    /* Calls task(arg, i) exactly once for every i in [0, n) and returns
     * when all those calls have returned. Calls may run concurrently on
     * any threads, or one after another on the calling thread: iqs never
     * waits for a task that has not started, so a busy or smaller pool
     * costs speed, never correctness. iqs calls run with n = width. */
    void (*run)(void *ctx, int n, iqs_task_fn task, void *arg);
    void *ctx;
} iqs_executor;

/* Workspace bytes iqs_classify_parallel needs for an executor of the given
 * width: iqs_workspace_size plus one convolution scratch per extra thread
 * and a few KiB of counters. 0 for a NULL model or width outside
 * 1..IQS_MAX_WIDTH. Width 1 needs iqs_workspace_size bytes. */
IQS_API size_t iqs_workspace_size_parallel(const iqs_model *model,
                                           int width);

/* iqs_classify with the network's layers cut into parts that the
 * executor's threads share (output channels or output lines per layer).
 * exec NULL or width 1 is iqs_classify. Allocates nothing; the workspace
 * must not be shared with another call while this one runs.
 * Statuses: those of iqs_classify, and IQS_E_ARG for an executor with
 * width outside 1..IQS_MAX_WIDTH or without run. */
IQS_API IQS_NODISCARD iqs_status iqs_classify_parallel(
    const iqs_model *model, const iqs_image *image,
    const iqs_executor *exec, void *workspace, size_t workspace_size,
    iqs_result *out);

/* A ready-made executor: a team of n - 1 pthreads plus the calling thread
 * (n in 1..IQS_MAX_WIDTH). The threads sleep between runs. One team runs
 * one iqs_classify_parallel at a time (concurrent run calls are
 * serialised). Absent from MALLOC=0 and STDIO=0 builds.
 * Statuses: IQS_E_ARG (n out of range, NULL out), IQS_E_NOMEM (memory or
 * a thread could not be created; nothing is left running). */
typedef struct iqs_threads iqs_threads;
IQS_API IQS_NODISCARD iqs_status iqs_threads_create(int n,
                                                    iqs_threads **out);
/* The team's executor (width n); valid until iqs_threads_destroy. A task
 * must not call the same team's run (it would wait for itself). */
IQS_API void iqs_threads_executor(iqs_threads *threads, iqs_executor *out);
/* Waits for a run in progress on another thread, joins the threads and
 * frees the team; NULL is a no-op. No run may start after it began. */
IQS_API void iqs_threads_destroy(iqs_threads *threads);

/* ---------------------------------------------------- classic detectors */
/* digiKam's four technical detectors (blur, noise, exposure, compression)
 * re-implemented in C, and the verdict built from them. See
 * docs/detectors.md for the maths and docs/verdict.md for the policies. */

/* Criteria, also the bit positions of iqs_assess_options.detectors. */
#define IQS_DETECT_BLUR 0x1u
#define IQS_DETECT_NOISE 0x2u
#define IQS_DETECT_EXPOSURE 0x4u
#define IQS_DETECT_COMPRESSION 0x8u
#define IQS_DETECT_ALL 0xfu

/* Labels; the values are digiKam's PickLabel codes. */
typedef enum iqs_label {
    IQS_LABEL_NONE = 0,     /* nothing decided (no detector enabled)        */
    IQS_LABEL_REJECTED = 1,
    IQS_LABEL_PENDING = 2,
    IQS_LABEL_ACCEPTED = 3
} iqs_label;

/* "none", "rejected", "pending", "accepted" (static; "unknown" otherwise). */
IQS_API const char *iqs_label_name(iqs_label label);

/* Profiles: named sets of options (see docs/verdict.md).
 * DIGIKAM reproduces digiKam's labels, quirks included. DEFAULT fixes the
 * accidents (correct luma, exact preview averaging) and uses the
 * CALIBRATED scoring (iqs_scoring), which keeps good photos and rejects
 * damaged ones. */
typedef enum iqs_profile {
    IQS_PROFILE_DEFAULT = 0,
    IQS_PROFILE_DIGIKAM = 1
} iqs_profile;

/* Individual digiKam behaviours (bits of iqs_assess_options.quirks). */
#define IQS_QUIRK_SWAP_LUMA 0x1u      /* luma with red and blue swapped, and
                                         the blur background test on red    */
#define IQS_QUIRK_PREVIEW_FLOOR 0x2u  /* Imlib2/digiKam smoothScale integer
                                         arithmetic (rounds down), applied
                                         only when the long side is at least
                                         1.25 x preview_max                 */
#define IQS_QUIRK_DCT_PRESCALE 0x4u   /* first a power-of-two box average
                                         like libjpeg's DCT scaling         */
#define IQS_QUIRK_CLIPPED_NORMAL 0x8u /* exposure: 255 is not over-exposed  */
#define IQS_QUIRKS_DIGIKAM 0xfu

/* Which maths the detectors and the calculator use (docs/verdict.md).
 * DIGIKAM: digiKam's four detectors and its weighted calculator (a weight
 * x punish_factor for a score above punish_above).
 * CALIBRATED: detectors calibrated on graded photo ladders (edge width,
 * noise in flat areas, 8x8 blocking, clipped highlights / lifted mid-tones and
 * highlight level), each score 0.4 at the Accepted and 0.9 at the Rejected
 * limit, and quality = (1 - the worst weighted score) x 100, so one severe
 * damage rejects. punish_* are not used. */
typedef enum iqs_scoring {
    IQS_SCORING_DIGIKAM = 0,
    IQS_SCORING_CALIBRATED = 1
} iqs_scoring;

/* Options of iqs_assess. Initialise with iqs_assess_options_init, then
 * change fields. */
typedef struct iqs_assess_options {
    size_t size;            /* sizeof(iqs_assess_options), set by init     */
    iqs_profile profile;    /* the profile init was called with            */
    unsigned detectors;     /* IQS_DETECT_* bits, default IQS_DETECT_ALL   */
    unsigned quirks;        /* IQS_QUIRK_* bits                            */
    int preview_max;        /* preview long side (1024); 0 = assess the
                               pixels as given, without a preview         */
    int hough_angles;       /* motion-blur Hough angles over [0,pi) (900 =
                               digiKam's pi/900); 0 disables motion blur  */
    float weight_blur;      /* digiKam weights, 1..100 (default 100 each)  */
    float weight_noise;
    float weight_exposure;
    float weight_compression;
    float punish_above;     /* a score above this (0.9) ...                */
    float punish_factor;    /* ... multiplies its weight by this (20)      */
    int rejected_threshold; /* (int)quality <= this: Rejected (10)         */
    int accepted_threshold; /* (int)quality > this: Accepted (60), else
                               Pending                                     */
    iqs_scoring scoring;    /* detector maths and calculator: CALIBRATED
                               (DEFAULT profile) or DIGIKAM               */
} iqs_assess_options;

/* Fills *opt with the profile's values (unknown profiles: DEFAULT). */
IQS_API void iqs_assess_options_init(iqs_assess_options *opt,
                                     iqs_profile profile);

/* The result of an assessment. Scores are in [0,1], larger = more damage,
 * never NaN; a detector that did not run scores 0. */
typedef struct iqs_assessment {
    unsigned detectors;   /* IQS_DETECT_* bits of the detectors that ran   */
    float blur;           /* CALIBRATED: from the edge width; DIGIKAM:
                             blurred fraction of the counted pixels        */
    float noise;          /* CALIBRATED: from the noise std in flat areas;
                             DIGIKAM: sigmoid of the noise variance        */
    float exposure;       /* max(overexposure, underexposure)              */
    float overexposure;   /* CALIBRATED: clipped highlights + lifted
                             mid-tones; DIGIKAM: bright histogram bands    */
    float underexposure;  /* CALIBRATED: how dark the highlights are;
                             DIGIKAM: dark histogram bands                 */
    float compression;    /* CALIBRATED: 8x8 blocking; DIGIKAM: flatness   */
    float quality;        /* 0..100 from the weighted scores; -1 if none ran */
    iqs_label technical;  /* label of the detectors alone                  */
    iqs_label network;    /* label from the network (iqs_verdict_combine),
                             IQS_LABEL_NONE when no network result given  */
    iqs_label label;      /* the verdict                                   */
    int preview_width;    /* size of the preview the detectors saw         */
    int preview_height;
    char reason[64];      /* e.g. "rejected: blurred 0.97"                 */
} iqs_assessment;

/* Bytes of workspace iqs_assess needs for a width x height image with
 * these options (opt NULL = DEFAULT profile); 0 for invalid arguments.
 * Any alignment is accepted: the size includes slack to align to 64. */
IQS_API size_t iqs_assess_workspace_size(int width, int height,
                                         const iqs_assess_options *opt);

/* Makes the preview of the caller image in the workspace, runs the enabled
 * detectors and fills *out (technical verdict; label = technical).
 * opt NULL = DEFAULT profile. No allocation, no I/O, no printing;
 * thread-safe for distinct workspaces.
 * Statuses: IQS_E_ARG (NULL img/out, bad options), IQS_E_IMAGE (bad
 * dims/format/stride), IQS_E_WORKSPACE (NULL or too small). On failure
 * *out is zeroed. */
IQS_API IQS_NODISCARD iqs_status iqs_assess(const iqs_image *img,
                                            const iqs_assess_options *opt,
                                            void *workspace,
                                            size_t workspace_size,
                                            iqs_assessment *out);

/* Convenience: decode the file (EXIF orientation applied), allocate the
 * workspace, assess, free everything. In the DIGIKAM profile a JPEG file
 * gets IQS_QUIRK_DCT_PRESCALE and other formats do not, as in digiKam.
 * Statuses: those of iqs_image_load and iqs_assess, IQS_E_NOMEM. Not
 * available in STDIO=0 builds. */
IQS_API IQS_NODISCARD iqs_status iqs_assess_file(
    const char *path, const iqs_assess_options *opt, iqs_assessment *out,
    iqs_diag *diag);

/* How the network's answer and the detectors' verdict combine. Initialise
 * with iqs_verdict_policy_init. */
typedef struct iqs_verdict_policy {
    size_t size;             /* sizeof(iqs_verdict_policy), set by init    */
    float severe;            /* any run criterion scoring >= this rejects
                                whatever the network says (0.95; > 1 off)  */
    int technical_veto;      /* 1: a technical Rejected always rejects (1) */
    float nima_reject_below; /* NIMA heads: score < this -> Rejected (4.0) */
    float nima_accept_from;  /* NIMA heads: score >= this -> Accepted (6.0) */
} iqs_verdict_policy;

IQS_API void iqs_verdict_policy_init(iqs_verdict_policy *policy);

/* Combines an assessment (from iqs_assess) with an optional network result
 * (net may be NULL: the technical verdict stands). Updates a->network,
 * a->label and a->reason; a->technical and the scores are kept.
 * Rules (docs/verdict.md): severe damage or a technical Rejected rejects;
 * otherwise the network's class decides (3-class heads: class 0 Rejected,
 * 1 Pending, 2 Accepted, as in digiKam; NIMA heads by score); a network
 * result of another shape leaves the technical verdict.
 * policy NULL = defaults. Statuses: IQS_E_ARG (NULL a, bad policy). */
IQS_API IQS_NODISCARD iqs_status iqs_verdict_combine(
    iqs_assessment *a, const iqs_result *net,
    const iqs_verdict_policy *policy);

#ifdef __cplusplus
}
#endif

#endif /* IQS_IQS_H */
