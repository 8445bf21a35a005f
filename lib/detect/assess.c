/*
 * Public entry points of the classic detectors (layer: detect): options
 * and profiles, workspace sizing, and iqs_assess, which plans the preview,
 * carves the caller's workspace, runs the enabled detectors one after the
 * other on the same preview and turns their scores into a verdict.
 *
 * Workspace: [preview RGB8][gray][shared scratch], the scratch being the
 * largest of the preview scaler's and the detectors' needs (they run one at
 * a time). Everything is validated before the first pixel is touched; once
 * the detectors start nothing can fail.
 *
 * Two scorings (iqs_scoring): DIGIKAM runs digiKam's detector maths and
 * calculator; CALIBRATED (the DEFAULT profile) runs the calibrated measures
 * of detect.h, maps them with calib.c and lets the worst criterion decide.
 * Calibrated compression looks at the source pixels, not the preview: the
 * 8x8 grid of a JPEG larger than the preview is gone after area averaging,
 * so a central window of at most COMP_WINDOW x COMP_WINDOW source pixels is
 * converted to gray in the scratch and measured there.
 */
#include <math.h>
#include <string.h>

#include "detect/detect.h"

#define HOUGH_ANGLES_DIGIKAM 900
#define HOUGH_ANGLES_DEFAULT 180
#define COMP_WINDOW 1024
#define COMP_MIN 64 /* no blocking measured below 64x64 (8x8 blocks) */
/* Edge widths are reported at this long side (the ladders' sigma scale). */
#define WIDTH_REF 1024.0

IQS_API void iqs_assess_options_init(iqs_assess_options *opt,
                                     iqs_profile profile)
{
    if (!opt)
        return;
    memset(opt, 0, sizeof *opt);
    opt->size = sizeof *opt;
    opt->profile = profile == IQS_PROFILE_DIGIKAM ? IQS_PROFILE_DIGIKAM
                                                  : IQS_PROFILE_DEFAULT;
    opt->detectors = IQS_DETECT_ALL;
    opt->quirks = opt->profile == IQS_PROFILE_DIGIKAM ? IQS_QUIRKS_DIGIKAM : 0;
    opt->preview_max = 1024;
    /* DEFAULT: 1 degree steps (5x fewer votes, docs/detectors.md). */
    opt->hough_angles = opt->profile == IQS_PROFILE_DIGIKAM
                            ? HOUGH_ANGLES_DIGIKAM
                            : HOUGH_ANGLES_DEFAULT;
    opt->weight_blur = 100;
    opt->weight_noise = 100;
    opt->weight_exposure = 100;
    opt->weight_compression = 100;
    opt->punish_above = 0.9f;
    opt->punish_factor = 20;
    opt->rejected_threshold = 10;
    opt->accepted_threshold = 60;
    opt->scoring = opt->profile == IQS_PROFILE_DIGIKAM ? IQS_SCORING_DIGIKAM
                                                       : IQS_SCORING_CALIBRATED;
}

static int weight_ok(float w)
{
    return w >= 0 && w <= 1e6f;
}

static int options_ok(const iqs_assess_options *o)
{
    return o->size >= sizeof *o && (o->detectors & ~IQS_DETECT_ALL) == 0 &&
           (o->quirks & ~IQS_QUIRKS_DIGIKAM) == 0 && o->preview_max >= 0 &&
           o->preview_max <= 16384 && o->hough_angles >= 0 &&
           o->hough_angles <= 900 && weight_ok(o->weight_blur) &&
           weight_ok(o->weight_noise) && weight_ok(o->weight_exposure) &&
           weight_ok(o->weight_compression) && o->punish_above >= 0 &&
           weight_ok(o->punish_factor) &&
           o->rejected_threshold <= o->accepted_threshold &&
           (o->scoring == IQS_SCORING_DIGIKAM ||
            o->scoring == IQS_SCORING_CALIBRATED);
}

typedef struct assess_plan {
    iqs_preview_plan pv;
    iqs_blur_params bp;
    size_t rgb, gray, scratch, total;
    int win;                 /* calibrated compression on a source window */
    int wx, wy, ww, wh;      /* its position and size                     */
    iqs_preview_plan wpv;    /* conversion of the window (no scaling)     */
} assess_plan;

/* Central window of the source for the calibrated compression, its offsets
 * multiples of 8 so that a JPEG's grid keeps its phase. */
static int plan_window(int w, int h,
                       assess_plan *ap, size_t *need)
{
    size_t n, t;
    ap->win = 0;
    if (ap->pv.pw == w && ap->pv.ph == h && ap->pv.pre == 1)
        return 1; /* the preview is the source: measure it there */
    ap->ww = w < COMP_WINDOW ? w : COMP_WINDOW;
    ap->wh = h < COMP_WINDOW ? h : COMP_WINDOW;
    ap->wx = ((w - ap->ww) / 2) & ~7;
    ap->wy = ((h - ap->wh) / 2) & ~7;
    if (!iqs_detect_preview_plan(ap->ww, ap->wh, 0, 0, &ap->wpv))
        return 0;
    n = (size_t)ap->ww * ap->wh;
    t = iqs_align_up(4 * n, 64) + ap->wpv.scratch + 64;
    ap->win = 1;
    if (t > *need)
        *need = t;
    return 1;
}

static int plan_all(int w, int h, const iqs_assess_options *o, assess_plan *ap)
{
    size_t P, need, t;

    if (w <= 0 || h <= 0 ||
        !iqs_detect_preview_plan(w, h, o->quirks, o->preview_max, &ap->pv))
        return 0;
    /* P < 2^40 and P < SIZE_MAX / 64 (32-bit hosts) keep every size sum
     * below far from overflow: the scratch sizes are a few words per
     * preview pixel. */
    if (!iqs_mul_ok((size_t)ap->pv.pw, (size_t)ap->pv.ph, &P) ||
        (uint64_t)P > ((uint64_t)1 << 40) || P > SIZE_MAX / 64)
        return 0;
    ap->bp.swap = (o->quirks & IQS_QUIRK_SWAP_LUMA) != 0;
    ap->bp.nangle = o->hough_angles;
    ap->bp.motion = o->hough_angles > 0;
    need = ap->pv.scratch;
    ap->win = 0;
    if (o->scoring == IQS_SCORING_CALIBRATED) {
        if (o->detectors & IQS_DETECT_BLUR) {
            t = iqs_blur_width_scratch(ap->pv.pw, ap->pv.ph);
            need = t > need ? t : need;
        }
        if (o->detectors & IQS_DETECT_NOISE) {
            t = iqs_noise_sigma_scratch(ap->pv.pw, ap->pv.ph);
            need = t > need ? t : need;
        }
        if ((o->detectors & IQS_DETECT_COMPRESSION) &&
            !plan_window(w, h, ap, &need))
            return 0;
    } else {
        if (o->detectors & IQS_DETECT_BLUR) {
            t = iqs_blur_scratch(ap->pv.pw, ap->pv.ph, &ap->bp);
            if (!t)
                return 0;
            need = t > need ? t : need;
        }
        if (o->detectors & IQS_DETECT_NOISE) {
            t = iqs_noise_scratch(ap->pv.pw, ap->pv.ph);
            need = t > need ? t : need;
        }
        if (o->detectors & IQS_DETECT_COMPRESSION) {
            t = iqs_compression_scratch(ap->pv.pw, ap->pv.ph);
            need = t > need ? t : need;
        }
    }
    ap->rgb = 0;
    ap->gray = iqs_align_up(3 * P, 64);
    ap->scratch = ap->gray + iqs_align_up(P, 64);
    ap->total = ap->scratch + iqs_align_up(need, 64) + 64; /* + align slack */
    return 1;
}

IQS_API size_t iqs_assess_workspace_size(int width, int height,
                                         const iqs_assess_options *opt)
{
    iqs_assess_options def;
    assess_plan ap;

    if (!opt) {
        iqs_assess_options_init(&def, IQS_PROFILE_DEFAULT);
        opt = &def;
    }
    if (!options_ok(opt) || !plan_all(width, height, opt, &ap))
        return 0;
    return ap.total;
}

static int image_ok(const iqs_image *img)
{
    size_t row, last;
    const int bpp = iqs_detect_bpp(img->format);
    if (bpp == 0 || !img->data || img->width <= 0 || img->height <= 0)
        return 0;
    if (!iqs_mul_ok((size_t)img->width, (size_t)bpp, &row) ||
        img->stride < row)
        return 0;
    return iqs_mul_ok((size_t)(img->height - 1), img->stride, &last) &&
           iqs_add_ok(last, row, &last);
}

/* The calibrated detectors on the preview (rgb, gray: pw x ph); fills the
 * scores of *out and *raw. */
static void run_calibrated(const iqs_image *img, const assess_plan *ap,
                           const iqs_assess_options *o, const uint8_t *rgb,
                           const uint8_t *gray, void *scratch,
                           iqs_assessment *out, iqs_calib_raw *raw)
{
    const int pw = ap->pv.pw, ph = ap->pv.ph;
    const size_t P = (size_t)pw * ph;

    if (o->detectors & IQS_DETECT_BLUR) {
        double wdt = iqs_blur_edge_width(gray, pw, ph, scratch);
        if (wdt > 0)
            wdt *= WIDTH_REF / (double)(pw > ph ? pw : ph);
        raw->edge_width = wdt;
        out->blur = iqs_calib_blur(wdt);
    }
    if (o->detectors & IQS_DETECT_NOISE) {
        raw->noise_sigma = iqs_noise_sigma(gray, pw, ph, scratch);
        out->noise = iqs_calib_noise(raw->noise_sigma);
    }
    if (o->detectors & IQS_DETECT_EXPOSURE) {
        iqs_exposure_stats(rgb, gray, P, &raw->clip, &raw->shadow,
                           &raw->midtone, &raw->highlight);
        out->overexposure = iqs_calib_over(raw->clip, raw->midtone);
        out->underexposure = iqs_calib_under(raw->highlight);
    }
    if (o->detectors & IQS_DETECT_COMPRESSION) {
        if ((ap->win ? ap->ww : pw) < COMP_MIN || (ap->win ? ap->wh : ph) <
                                                      COMP_MIN) {
            /* Too few blocks: one hard edge would read as blocking. */
            raw->blockiness = 1.0;
        } else if (ap->win) {
            const int bpp = iqs_detect_bpp(img->format);
            const size_t n = (size_t)ap->ww * ap->wh;
            uint8_t *wrgb = scratch, *wgray = wrgb + 3 * n;
            iqs_image v = *img;
            v.data = (const uint8_t *)img->data + (size_t)ap->wy * img->stride +
                     (size_t)ap->wx * bpp;
            v.width = ap->ww;
            v.height = ap->wh;
            iqs_detect_preview(&v, &ap->wpv, 0,
                               wrgb + iqs_align_up(4 * n, 64), wrgb);
            iqs_detect_gray(wrgb, n, 0, wgray);
            raw->blockiness = iqs_compression_blockiness(wgray, ap->ww, ap->wh);
        } else {
            raw->blockiness = iqs_compression_blockiness(gray, pw, ph);
        }
        out->compression = iqs_calib_compression(raw->blockiness);
    }
}

IQS_API iqs_status iqs_assess(const iqs_image *img,
                              const iqs_assess_options *opt, void *workspace,
                              size_t workspace_size, iqs_assessment *out)
{
    return iqs_assess_raw(img, opt, workspace, workspace_size, out, NULL);
}

iqs_status iqs_assess_raw(const iqs_image *img, const iqs_assess_options *opt,
                          void *workspace, size_t workspace_size,
                          iqs_assessment *out, iqs_calib_raw *raw)
{
    iqs_calib_raw rdummy;
    iqs_assess_options def;
    assess_plan ap;
    uint8_t *ws, *rgb, *gray;
    void *scratch;
    size_t P;
    int pw, ph;

    if (!raw)
        raw = &rdummy;
    memset(raw, 0, sizeof *raw);
    if (!out)
        return IQS_E_ARG;
    memset(out, 0, sizeof *out);
    if (!img)
        return IQS_E_ARG;
    if (!opt) {
        iqs_assess_options_init(&def, IQS_PROFILE_DEFAULT);
        opt = &def;
    }
    if (!options_ok(opt))
        return IQS_E_ARG;
    if (!image_ok(img))
        return IQS_E_IMAGE;
    if (!plan_all(img->width, img->height, opt, &ap))
        return IQS_E_IMAGE;
    if (!workspace || workspace_size < ap.total)
        return IQS_E_WORKSPACE;

    ws = (uint8_t *)iqs_align_up((uintptr_t)workspace, 64);
    rgb = ws + ap.rgb;
    gray = ws + ap.gray;
    scratch = ws + ap.scratch;
    pw = ap.pv.pw;
    ph = ap.pv.ph;
    P = (size_t)pw * ph;

    iqs_detect_preview(img, &ap.pv, opt->quirks, scratch, rgb);
    iqs_detect_gray(rgb, P, (opt->quirks & IQS_QUIRK_SWAP_LUMA) != 0, gray);
    out->preview_width = pw;
    out->preview_height = ph;
    out->detectors = opt->detectors;

    if (opt->scoring == IQS_SCORING_CALIBRATED) {
        run_calibrated(img, &ap, opt, rgb, gray, scratch, out, raw);
        out->exposure = out->overexposure > out->underexposure
                            ? out->overexposure
                            : out->underexposure;
        goto verdict;
    }
    if (opt->detectors & IQS_DETECT_BLUR)
        out->blur = iqs_blur_score(rgb, gray, pw, ph, &ap.bp, scratch);
    if (opt->detectors & IQS_DETECT_NOISE)
        out->noise = iqs_noise_score_from_variance(
            iqs_noise_variance(gray, pw, ph, scratch));
    if (opt->detectors & IQS_DETECT_EXPOSURE) {
        iqs_exposure_scores(gray, P,
                            (opt->quirks & IQS_QUIRK_CLIPPED_NORMAL) == 0,
                            &out->overexposure, &out->underexposure);
        out->exposure = out->overexposure > out->underexposure
                            ? out->overexposure
                            : out->underexposure;
    }
    if (opt->detectors & IQS_DETECT_COMPRESSION)
        out->compression = iqs_compression_score(rgb, gray, pw, ph, scratch);

verdict: {
        const float scores[4] = { out->blur, out->noise, out->exposure,
                                  out->compression };
        const float weights[4] = { opt->weight_blur, opt->weight_noise,
                                   opt->weight_exposure,
                                   opt->weight_compression };
        const int en[4] = { (opt->detectors & IQS_DETECT_BLUR) != 0,
                            (opt->detectors & IQS_DETECT_NOISE) != 0,
                            (opt->detectors & IQS_DETECT_EXPOSURE) != 0,
                            (opt->detectors & IQS_DETECT_COMPRESSION) != 0 };
        out->quality =
            opt->scoring == IQS_SCORING_CALIBRATED
                ? iqs_verdict_quality_worst(scores, weights, en, 4)
                : iqs_verdict_quality(scores, weights, en, 4,
                                      opt->punish_above, opt->punish_factor);
    }
    out->technical = iqs_verdict_label(out->quality, opt->rejected_threshold,
                                       opt->accepted_threshold);
    out->network = IQS_LABEL_NONE;
    out->label = out->technical;
    iqs_verdict_reason(out);
    return IQS_OK;
}
