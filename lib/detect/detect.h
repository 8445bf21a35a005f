/*
 * Internal interface of the classic detectors (layer: detect): the preview
 * scaler, the gray conversion, the filters the detectors are built from
 * (each with a naive reference beside the tuned kernel), the probabilistic
 * Hough transform, the four detectors and the verdict arithmetic.
 * Public entry points are in iqs/iqs.h; docs/detectors.md explains the maths.
 *
 * Conventions: images are tightly packed (row stride = width * channels);
 * every kernel takes explicit dims and caller buffers, never allocates,
 * never fails once its preconditions (stated per function) hold. Nothing here
 * keeps state; every function is thread-safe for distinct buffers.
 */
#ifndef IQS_DETECT_DETECT_H
#define IQS_DETECT_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "base/common.h"

/* ------------------------------------------------------------- preview */

/* Bytes per pixel of a format, 0 for an unknown one (the detect layer's own
 * copy, so that it depends on base only). */
int iqs_detect_bpp(iqs_pixfmt f);

/* Preview size: fit (w, h) into max x max keeping the aspect ratio with
 * Qt's QSize::scale(KeepAspectRatio) integer rule (digiKam's smoothScale
 * target), each side at least 1. Only called when shrinking. */
void iqs_detect_fit(int w, int h, int max, int *ow, int *oh);

/* Plan of the whole preview path for a w x h input under the given quirks
 * (IQS_QUIRK_*) and preview_max (0 = no scaling):
 *   pre  = power-of-two box factor of the DCT-scaling emulation (1 = none),
 *   (mw, mh) = size after that stage, (pw, ph) = final preview size,
 *   scratch = bytes of scratch the scaler needs (see iqs_detect_preview). */
typedef struct iqs_preview_plan {
    int pre;
    int mw, mh;
    int pw, ph;
    size_t scratch;
} iqs_preview_plan;

/* Fills *plan; returns 0 when the sizes overflow size_t. */
int iqs_detect_preview_plan(int w, int h, unsigned quirks, int preview_max,
                            iqs_preview_plan *plan);

/* Makes the RGB8 preview (pw x ph x 3, R,G,B order whatever the source
 * format) of a checked caller image per plan. scratch holds plan->scratch
 * bytes, 8-byte aligned; dst does not overlap the source or scratch.
 * IQS_QUIRK_PREVIEW_FLOOR selects the Imlib2-style round-down integer area
 * scaler, otherwise an exact area average rounded to nearest. */
void iqs_detect_preview(const iqs_image *src, const iqs_preview_plan *plan,
                        unsigned quirks, void *scratch, uint8_t *dst);

/* Round-down area scaler alone (Imlib2 smoothScale arithmetic) from packed
 * RGB8 (sw x sh) to RGB8 (dw x dh), 1 <= dw <= sw, 1 <= dh <= sh. scratch
 * holds iqs_detect_scale_floor_scratch(sw, sh, dw, dh) bytes. Exposed for
 * tests. */
size_t iqs_detect_scale_floor_scratch(int sw, int sh, int dw, int dh);
void iqs_detect_scale_floor(const uint8_t *src, int sw, int sh, uint8_t *dst,
                            int dw, int dh, void *scratch);

/* Gray conversion of packed RGB8 (n pixels) with OpenCV's 8-bit BGR2GRAY
 * fixed point: (c0*1868 + c1*9617 + c2*4899 + 8192) >> 14 applied to the
 * bytes as (B,G,R) when swap == 0 (correct luma 0.299 R + 0.587 G + 0.114 B)
 * or to the bytes as if they were (R,G,B) read as BGR when swap != 0
 * (digiKam's accident: 0.299 on blue, 0.114 on red). */
void iqs_detect_gray(const uint8_t *rgb, size_t n, int swap, uint8_t *gray);

/* -------------------------------------------------------------- filters */

/* 3x3 Laplacian (0 1 0 / 1 -4 1 / 0 1 0) of gray (w x h) into int16 lap,
 * reflect-101 border (a 1-pixel side reflects onto itself). */
void iqs_detect_laplacian(const uint8_t *gray, int w, int h, int16_t *lap);

/* Normalised 5x5 box filter of float src into dst (w x h), reflect-101
 * border. tmp holds w*h floats and overlaps neither; dst may equal src. */
void iqs_detect_box5(const float *src, int w, int h, float *tmp, float *dst);

/* Reference 5x5 median of float src (replicate border), by sorting each
 * window. Slow; kept for tests. */
void iqs_detect_median5_ref_f32(const float *src, int w, int h, float *dst);
/* Reference 5x5 median of one channel of interleaved u8 (nch channels,
 * channel c), replicate border, by sorting each window. For tests. */
void iqs_detect_median5_ref_u8(const uint8_t *src, int w, int h, int nch,
                               int c, uint8_t *dst);

/* Tuned thresholded median: out[i] = 1 when the 5x5 median (replicate
 * border) of the binary predicate map is 1, i.e. when at least 13 of the 25
 * window values are 1. Since the median of a window is its 13th smallest
 * value, "median(v) <= t" equals "at least 13 window values <= t": this is
 * the blur detector's "median then threshold" with O(1) work per pixel.
 * tmp holds w*h bytes. bin and out may not overlap. */
void iqs_detect_majority5(const uint8_t *bin, int w, int h, uint8_t *tmp,
                          uint8_t *out);

/* Tuned "equal to its own 5x5 median in every channel" map of interleaved
 * RGB8 (w x h, replicate border): out[i] = 1 when for each channel the pixel
 * value v has fewer than 13 window values below it and at least 13 at or
 * below it (which is exactly "v is the median"). rows holds
 * 5*(w+4)*3 + 6*w bytes. */
void iqs_detect_median_equal_rgb(const uint8_t *rgb, int w, int h,
                                 uint8_t *rows, uint8_t *out);

/* The 16 4x4 Haar kernels K_k[u][v] = b_(k/4)[u] * b_(k%4)[v] with
 * b0 = (1,1,1,1)/2, b1 = (1,1,-1,-1)/2, b2 = (0.7071,-0.7071,0,0),
 * b3 = (0,0,0.7071,-0.7071); k = 0 (DC) is not used by the detector. */
void iqs_detect_haar_kernel(int k, float K[4][4]);

/* Reference: correlation of gray (w x h) with a 4x4 kernel, anchor (2,2)
 * (offsets -2..+1), replicate border, into dst (float). For tests. */
void iqs_detect_filter4_ref(const uint8_t *gray, int w, int h,
                            const float K[4][4], float *dst);

/* ---------------------------------------------------------------- hough */

/* Progressive probabilistic Hough transform of a binary image, a port of
 * OpenCV's HoughLinesP (rho 1, theta pi/nangle, fixed RNG seed, same visiting
 * order, same segment walk, same accumulator updates), on images up to
 * IQS_HOUGH_MAX_SIDE per side. */
#define IQS_HOUGH_MAX_SIDE 64

typedef struct iqs_hough_line {
    int x1, y1, x2, y2;
} iqs_hough_line;

/* Trig tables and accumulator geometry for w x h images, nangle angles
 * over [0, pi). */
typedef struct iqs_hough_plan {
    int w, h, nangle, numrho;
    const float *cos_t;  /* [nangle rounded up to 8]: (float)cos(n*theta) */
    const float *sin_t;  /* same for sin; theta = (float)(pi / nangle)    */
    int rmin;            /* smallest rho any pixel votes for               */
    int accsize;         /* accumulator cells: rho range x nangle          */
} iqs_hough_plan;

/* Bytes of table storage for iqs_hough_plan_init (0 on bad args: sides
 * 1..IQS_HOUGH_MAX_SIDE, nangle 1..3600). */
size_t iqs_hough_plan_size(int w, int h, int nangle);
/* Builds the tables into mem (iqs_hough_plan_size bytes, 16-aligned). */
void iqs_hough_plan_init(iqs_hough_plan *p, int w, int h, int nangle,
                         void *mem);
/* Scratch bytes of one iqs_hough_run call. */
size_t iqs_hough_scratch_size(const iqs_hough_plan *p);
/* Runs the transform on img (p->w x p->h bytes, nonzero = set; img is not
 * modified). Writes at most max_lines segments; returns how many were found
 * (the search stops at max_lines like OpenCV's linesMax). */
int iqs_hough_run(const iqs_hough_plan *p, const uint8_t *img, int threshold,
                  int min_len, int max_gap, void *scratch,
                  iqs_hough_line *lines, int max_lines);
/* The naive reference (direct float votes with a dense accumulator, exactly
 * OpenCV's loop). acc holds nangle * numrho ints, mask w*h bytes, pts w*h
 * ints. For tests. */
int iqs_hough_run_ref(int w, int h, int nangle, const uint8_t *img,
                      int threshold, int min_len, int max_gap, int *acc,
                      uint8_t *mask, int *pts, iqs_hough_line *lines,
                      int max_lines);

/* ------------------------------------------------------------ detectors */

/* All detectors take the RGB8 preview and/or its gray version, w x h, and
 * a scratch area sized by their *_scratch twin. Scores are in [0,1], never
 * NaN; larger = more damage. */

typedef struct iqs_blur_params {
    int swap;        /* background test on true red (digiKam) or blue     */
    int nangle;      /* Hough angles over [0,pi): 900 = theta pi/900      */
    int motion;      /* 0 disables the motion-blur (Hough) part           */
} iqs_blur_params;

size_t iqs_blur_scratch(int w, int h, const iqs_blur_params *bp);
float iqs_blur_score(const uint8_t *rgb, const uint8_t *gray, int w, int h,
                     const iqs_blur_params *bp, void *scratch);

/* The motion test of one block: angles of the segments per digiKam
 * (integer dy/dx, vertical -> 0, negative + pi, below pi/20 -> pi - a);
 * returns 1 when n > 3 and their population stddev < 0.65. */
int iqs_blur_motion_test(const iqs_hough_line *lines, int n);

size_t iqs_noise_scratch(int w, int h);
/* Noise variance estimate V (grey levels^2) and the score sigmoid. */
double iqs_noise_variance(const uint8_t *gray, int w, int h, void *scratch);
float iqs_noise_score_from_variance(double v);
/* The closed-form fit alone from per-band variances and excess kurtoses
 * (n bands); bands with variance <= 1e-9 are skipped. */
double iqs_noise_fit(const double *var, const double *kurt, int n);

/* Exposure from the gray histogram; count255 adds 255 to the over band. */
void iqs_exposure_scores(const uint8_t *gray, size_t n, int count255,
                         float *over, float *under);

size_t iqs_compression_scratch(int w, int h);
float iqs_compression_score(const uint8_t *rgb, const uint8_t *gray, int w,
                            int h, void *scratch);
/* The block-edge map alone (1 = edge), for tests. */
void iqs_compression_edges(const uint8_t *gray, int w, int h, uint8_t *edge);

/* ------------------------------------------- calibrated (DEFAULT) maths */

/* The raw measures of the calibrated detectors (IQS_SCORING_CALIBRATED),
 * before their score mappings; docs/verdict.md gives each one's calibration.
 * Filled by iqs_assess_raw for the detectors that ran. */
typedef struct iqs_calib_raw {
    double edge_width;  /* blur: edge width in px at a 1024 px long side,
                           -1 when the picture has no edges              */
    double noise_sigma; /* noise: std of the noise in flat areas (grey)   */
    double blockiness;  /* compression: 8x8 grid step ratio, 1 = none     */
    double clip;        /* exposure: fraction with a channel >= 254       */
    double shadow;      /* exposure: 5th percentile of gray (0..255),
                           reported only (the earlier over measure)      */
    double highlight;   /* exposure: 99th percentile of gray (0..255)     */
    double midtone;     /* exposure: 35th percentile of gray (0..255)     */
} iqs_calib_raw;

/* Blur: edge width by re-blurring. G = Sobel magnitude (/8, replicate
 * border) of the gray picture, G' the same after a gaussian of sigma 4; over
 * the strongest 5% of edge pixels (G >= 1) r = sum G / sum G', and a
 * gaussian edge of width s gives r = sqrt(s^2 + 16) / s, so
 * s = 4 / sqrt(r^2 - 1). Returns s in pixels of this picture, or -1 when
 * fewer than 16 pixels have G >= 1. scratch: iqs_blur_width_scratch bytes. */
size_t iqs_blur_width_scratch(int w, int h);
double iqs_blur_edge_width(const uint8_t *gray, int w, int h, void *scratch);

/* Noise: Immerkaer's estimate (mean |I * [1 -2 1; -2 4 -2; 1 -2 1]| x
 * sqrt(pi/2) / 6) per 16x16 block of the interior, over blocks whose mean
 * gray is in [16, 239] (clipped areas hide noise), and the 10th percentile
 * of those: the noise where the picture is flattest, so texture does not
 * read as noise. All blocks when none qualifies; the whole interior when
 * the picture has no block; 0 below 3x3. scratch: iqs_noise_sigma_scratch. */
size_t iqs_noise_sigma_scratch(int w, int h);
double iqs_noise_sigma(const uint8_t *gray, int w, int h, void *scratch);

/* Compression: blocking at the 8x8 grid. Mean |step| between neighbours per
 * grid phase (x mod 8), along rows and along columns; in each direction the
 * phase with the largest mean is the block boundary B, its two neighbouring
 * phases the interior N; returns (Bh + Bv + 2) / (Nh + Nv + 2) (1 = no
 * blocking). 1.0 for pictures under 16x16. No scratch. */
double iqs_compression_blockiness(const uint8_t *gray, int w, int h);

/* Exposure measures of an RGB8 picture and its gray (n pixels, n > 0), one
 * histogram pass: clip = fraction of pixels with any channel >= 254;
 * shadow, midtone, highlight = 5th, 35th and 99th percentiles of gray,
 * interpolated inside their bin (bin v spans [v - 0.5, v + 0.5)), in
 * [0, 255]. All outputs are written; none may be NULL. */
void iqs_exposure_stats(const uint8_t *rgb, const uint8_t *gray, size_t n,
                        double *clip, double *shadow, double *midtone,
                        double *highlight);
/* The same without the midtone (kept for existing callers). */
void iqs_exposure_measures(const uint8_t *rgb, const uint8_t *gray, size_t n,
                           double *clip, double *shadow, double *highlight);

/* Score mappings (calib.c): damage in [0,1], 0.4 at the Accepted limit and
 * 0.9 at the Rejected limit of the calibration anchors. */
float iqs_calib_blur(double edge_width_1024);
float iqs_calib_noise(double sigma);
float iqs_calib_compression(double blockiness);
/* Over: x = clip + 0.5 x midtone / 255 (midtone = 35th percentile of gray),
 * rising. */
float iqs_calib_over(double clip, double midtone);
float iqs_calib_under(double highlight);

/* iqs_assess with the raw measures of the calibrated detectors as well
 * (raw may be NULL; it is zeroed, then filled for the detectors that ran
 * when opt->scoring is IQS_SCORING_CALIBRATED). For calibration tools. */
iqs_status iqs_assess_raw(const iqs_image *img, const iqs_assess_options *opt,
                          void *workspace, size_t workspace_size,
                          iqs_assessment *out, iqs_calib_raw *raw);

/* -------------------------------------------------------------- verdict */

/* The calibrated calculator: quality = (1 - max over enabled criteria of
 * min(1, score x weight / 100)) x 100; -1 when nothing is enabled. */
float iqs_verdict_quality_worst(const float *scores, const float *weights,
                                const int *enabled, int n);
/* digiKam's calculator: quality from enabled scores and weights (each
 * weight multiplied by punish_factor when its score > punish_above),
 * (1 - weighted mean) * 100; -1 when nothing is enabled. */
float iqs_verdict_quality(const float *scores, const float *weights,
                          const int *enabled, int n, float punish_above,
                          float punish_factor);
/* digiKam's parser: q = (int)quality; <= rejected -> REJECTED, <= accepted
 * -> PENDING, else ACCEPTED; quality < 0 -> NONE. */
iqs_label iqs_verdict_label(float quality, int rejected, int accepted);
/* Writes the technical reason of a (label, scores, quality) into
 * a->reason: "rejected: blurred 0.97", "accepted: quality 78". */
void iqs_verdict_reason(iqs_assessment *a);

#endif
