/*
 * Internal interface of the image path (layer: image): caller-image
 * validation, the nearest-exact resize fused with normalisation into the
 * network's planar float input, and the JPEG/PNG EXIF orientation helpers
 * used by the decoder. Public decoding entry points are in iqs/iqs.h.
 *
 * Nothing here prints, keeps state or locks; every function is thread-safe.
 */
#ifndef IQS_IMAGE_IMAGE_H
#define IQS_IMAGE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "base/common.h"

/* Validates a caller image: img non-NULL (IQS_E_ARG otherwise); then
 * data non-NULL, width and height > 0, a known format, stride >= width *
 * bytes-per-pixel and (height-1)*stride + width*bpp representable in size_t
 * (IQS_E_IMAGE otherwise). Returns IQS_OK for a usable image. Reads only the
 * struct, never the pixels. */
IQS_NODISCARD iqs_status iqs_image_check(const iqs_image *img);

/* Index rules of "nearest-exact" resizing. OpenCV's INTER_NEAREST_EXACT
 * samples, per axis, in 16.16 fixed point:
 *   step = ((src_len << 16) + dst_len / 2) / dst_len     (integer division)
 *   idx  = min((off + i * step) >> 16, src_len - 1)
 * and the offset changed between releases:
 *   IQS_NN_OPENCV_46  off = step / 2 - 1            OpenCV 4.5 - 4.6
 *                     (Debian 12 / Ubuntu 24.04 python3-opencv 4.6.0: the
 *                     reference the tests run against)
 *   IQS_NN_OPENCV_47  off = step / 2 - src_len % 2  OpenCV 4.7 and later 4.x
 *                     (differs from 4.6 only on exact ties, even src_len)
 *   IQS_NN_CENTER     idx = floor((2i + 1) * src_len / (2 * dst_len)), the
 *                     exact pixel-centre rule (Pillow, OpenCV 5.x after
 *                     opencv PR #28873); no fixed-point drift.
 * All pick the source pixel whose centre is nearest the destination pixel
 * centre, up to tie-breaking and fixed-point rounding. Computed in 64 bits,
 * so unlike OpenCV's int arithmetic nothing overflows for src_len >= 32768;
 * indices are also clamped at 0 (OpenCV reads index -1 for upscaling
 * factors beyond 32768). See docs/preprocessing.md. */
typedef enum iqs_nn_rule {
    IQS_NN_OPENCV_46 = 0,
    IQS_NN_OPENCV_47 = 1,
    IQS_NN_CENTER = 2
} iqs_nn_rule;

/* The rule iqs_resize_normalize uses. */
#define IQS_NN_DEFAULT IQS_NN_OPENCV_46

/* The source index sampled for destination index i when resizing a src_len
 * axis to dst_len (both > 0, 0 <= i < dst_len), with the default rule or a
 * given one. Always in [0, src_len). */
int iqs_resize_src_index(int src_len, int dst_len, int i);
int iqs_resize_src_index_rule(int src_len, int dst_len, int i,
                              iqs_nn_rule rule);

/* Nearest-exact resize of src into planar float CHW, fused with
 * normalisation:  dst[c][y][x] = (float)v * scale + offset, evaluated as a
 * float multiply rounded to float, then a float add rounded to float (no
 * fused multiply-add), so scale = 1.0f/127.5f, offset = -1.0f reproduces
 * numpy's  x * np.float32(1/127.5) - np.float32(1)  bit for bit.
 * Channel planes: bgr == 0 gives R,G,B; bgr != 0 gives B,G,R, whatever the
 * source order (RGB8, BGR8, RGBA8, BGRA8; alpha is ignored). GRAY8 is
 * replicated into all three planes.
 * dst holds 3 * oh * ow floats and must not overlap src pixels.
 * Preconditions (not checked here; checked by the callers before planning):
 * iqs_image_check(src) == IQS_OK, oh > 0, ow > 0, dst non-NULL.
 * No allocation; the only state is on the stack. Uses IQS_NN_DEFAULT;
 * the _rule variant takes the index rule explicitly. */
void iqs_resize_normalize(const iqs_image *src, int oh, int ow, float scale,
                          float offset, int bgr, float *restrict dst);
void iqs_resize_normalize_rule(const iqs_image *src, int oh, int ow,
                               float scale, float offset, int bgr,
                               iqs_nn_rule rule, float *restrict dst);

/* The EXIF orientation (1..8) stored in a JPEG (APP1 "Exif" segment, IFD0
 * tag 0x0112) or a PNG (eXIf chunk), in either TIFF byte order. Returns 0
 * when the data has no orientation tag or when anything on the way is
 * malformed or out of bounds (callers treat 0 as 1, "as stored"). Reads at
 * most size bytes of data; never fails in any other way. */
int iqs_exif_orientation(const void *data, size_t size);

/* Results of iqs_jpeg_check. */
enum {
    IQS_JPEG_OK = 0,        /* marker structure sound, scan(s) end in EOI */
    IQS_JPEG_NOT_JPEG = 1,  /* does not start with SOI                    */
    IQS_JPEG_TRUNCATED = 2, /* data ends before EOI (or EOI before a scan) */
    IQS_JPEG_CORRUPT = 3    /* a segment stb_image must not parse (DHT
                               tables of more than 256 symbols, bad table
                               class/id, length < 2)                      */
};

/* Structural check of a JPEG before decoding, over every marker segment
 * of the file including those between progressive scans. stb_image 2.27
 * zero-fills a truncated scan (a half-grey picture would be classified) and
 * writes past its Huffman arrays on a DHT table with more than 256 symbols
 * (the check stb 2.28 added), so the decoder refuses both. Reads at most
 * size bytes; returns one of IQS_JPEG_*. */
int iqs_jpeg_check(const void *data, size_t size);

/* The dimensions a PNG (IHDR) or JPEG (first SOFn before the first scan)
 * header declares, read without decoding and without stb_image's own size
 * sanity limits, so that the pixel limit can report a decompression bomb
 * as IQS_E_LIMIT. Returns 1 and sets *w, *h (JPEG height may be 0, "defined
 * later") when found; 0 and zeros for other formats or malformed headers. */
int iqs_header_dims(const void *data, size_t size, int *w, int *h);

/* Size of the image after applying orientation: 5..8 swap width and
 * height, other values keep them. */
void iqs_orient_dims(int orientation, int w, int h, int *ow, int *oh);

/* Writes src (tightly packed RGB8, w x h) transformed for display by EXIF
 * orientation 1..8 into dst (tightly packed RGB8, dims from
 * iqs_orient_dims). Display pixel (x, y) is taken from stored pixel:
 *   1 (x, y)            2 (w-1-x, y)         3 (w-1-x, h-1-y)
 *   4 (x, h-1-y)        5 (y, x)             6 (y, h-1-x)
 *   7 (w-1-y, h-1-x)    8 (w-1-y, x)
 * Any other orientation value copies src unchanged. src and dst must not
 * overlap. */
void iqs_orient_apply(const uint8_t *restrict src, int w, int h,
                      int orientation, uint8_t *restrict dst);

/* Decodes a file's bytes mapped from path (size 0 is IQS_E_IMAGE "empty
 * image data"); on failure the diag message is prefixed with the path's
 * last 60 characters. What iqs_image_load and iqs_assess_file share. */
iqs_status iqs_image_decode_named(const char *path, const void *data,
                                  size_t size, const iqs_decode_options *opt,
                                  iqs_image *out, iqs_diag *diag);

#endif
