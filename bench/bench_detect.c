/*
 * Benchmark of the classic detectors (not a test): decode + preview + each
 * detector, milliseconds per stage, on one core, for a 12-megapixel JPEG
 * (digiKam's test.jpg, 4000x3000) and a ~1024 px photo, in both profiles.
 *
 * usage: bench_detect [reps] [image ...]
 * Defaults: $IQS_SHARED (or ../shared)/testdata/digikam-imgqsort/test.jpg and
 * testdata/photos/lomiri_dogs.jpg. Reports the median over reps (default 5)
 * of thread CPU time, so a loaded machine does not inflate the numbers
 * (wall-clock medians are printed beside them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detect/detect.h"
#include "iqs/iqs.h"

#define MAXR 64

typedef struct stamp {
    double cpu, wall;
} stamp;

static stamp now(void)
{
    struct timespec a, b;
    stamp s;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    clock_gettime(CLOCK_MONOTONIC, &b);
    s.cpu = a.tv_sec * 1e3 + a.tv_nsec / 1e6;
    s.wall = b.tv_sec * 1e3 + b.tv_nsec / 1e6;
    return s;
}

static int cmpd(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmpd);
    return v[n / 2];
}

enum { S_DECODE, S_PREVIEW, S_GRAY, S_BLUR, S_NOISE, S_EXPO, S_COMP, S_ASSESS, NS };
static const char *names[NS] = { "decode", "preview", "gray", "blur",
                                 "noise", "exposure", "compression",
                                 "iqs_assess (all)" };

static void bench(const char *path, iqs_profile prof, int reps)
{
    double cpu[NS][MAXR], wall[NS][MAXR];
    iqs_assess_options o;
    iqs_image img;
    iqs_diag d;
    iqs_preview_plan pv;
    iqs_blur_params bp;
    uint8_t *rgb = NULL, *gray = NULL;
    void *scratch = NULL, *ws = NULL;
    size_t wsz, sz;
    int r, s, pw = 0, ph = 0;
    iqs_assessment a;

    iqs_assess_options_init(&o, prof);
    memset(&img, 0, sizeof img);
    for (r = 0; r < reps; r++) {
        stamp t0, t1;
        float sink;
        iqs_image_free(&img);
        t0 = now();
        if (iqs_image_load(path, NULL, &img, &d) != IQS_OK) {
            printf("%s: %s\n", path, d.msg);
            return;
        }
        t1 = now();
        cpu[S_DECODE][r] = t1.cpu - t0.cpu;
        wall[S_DECODE][r] = t1.wall - t0.wall;
        if (r == 0) {
            if (!iqs_detect_preview_plan(img.width, img.height, o.quirks,
                                         o.preview_max, &pv))
                return;
            pw = pv.pw;
            ph = pv.ph;
            bp.swap = (o.quirks & IQS_QUIRK_SWAP_LUMA) != 0;
            bp.nangle = o.hough_angles;
            bp.motion = o.hough_angles > 0;
            sz = pv.scratch;
            if (iqs_blur_scratch(pw, ph, &bp) > sz)
                sz = iqs_blur_scratch(pw, ph, &bp);
            if (iqs_noise_scratch(pw, ph) > sz)
                sz = iqs_noise_scratch(pw, ph);
            if (iqs_compression_scratch(pw, ph) > sz)
                sz = iqs_compression_scratch(pw, ph);
            rgb = malloc((size_t)pw * ph * 3);
            gray = malloc((size_t)pw * ph);
            scratch = aligned_alloc(64, iqs_align_up(sz, 64));
            wsz = iqs_assess_workspace_size(img.width, img.height, &o);
            ws = malloc(wsz);
            if (!rgb || !gray || !scratch || !ws)
                return;
        }
#define STAGE(id, expr)                      \
    t0 = now();                              \
    expr;                                    \
    t1 = now();                              \
    cpu[id][r] = t1.cpu - t0.cpu;            \
    wall[id][r] = t1.wall - t0.wall;
        STAGE(S_PREVIEW, iqs_detect_preview(&img, &pv, o.quirks, scratch, rgb))
        STAGE(S_GRAY, iqs_detect_gray(rgb, (size_t)pw * ph,
                                      (o.quirks & IQS_QUIRK_SWAP_LUMA) != 0,
                                      gray))
        STAGE(S_BLUR, sink = iqs_blur_score(rgb, gray, pw, ph, &bp, scratch))
        STAGE(S_NOISE, sink += (float)iqs_noise_variance(gray, pw, ph, scratch))
        {
            float ov, un;
            STAGE(S_EXPO, iqs_exposure_scores(gray, (size_t)pw * ph,
                                              !(o.quirks & IQS_QUIRK_CLIPPED_NORMAL),
                                              &ov, &un))
            sink += ov + un;
        }
        STAGE(S_COMP, sink += iqs_compression_score(rgb, gray, pw, ph, scratch))
        STAGE(S_ASSESS, (void)!iqs_assess(&img, &o, ws, wsz, &a))
#undef STAGE
        if (sink < -1)
            printf("?");
    }
    printf("\n%s, %dx%d -> preview %dx%d, profile %s, median of %d (ms)\n",
           path, img.width, img.height, pw, ph,
           prof == IQS_PROFILE_DIGIKAM ? "digikam" : "default", reps);
    printf("  %-18s %9s %9s\n", "stage", "cpu", "wall");
    for (s = 0; s < NS; s++)
        printf("  %-18s %9.2f %9.2f\n", names[s], median(cpu[s], reps),
               median(wall[s], reps));
    {
        double det = 0;
        for (s = S_BLUR; s <= S_COMP; s++)
            det += median(cpu[s], reps);
        printf("  %-18s %9.2f   (target < 40 on a 1024 px preview)\n",
               "4 detectors (cpu)", det);
    }
    printf("  scores: blur %.4f noise %.4f exposure %.4f compression %.4f -> %s\n",
           a.blur, a.noise, a.exposure, a.compression, a.reason);
    free(rgb);
    free(gray);
    free(scratch);
    free(ws);
    iqs_image_free(&img);
}

int main(int argc, char **argv)
{
    const char *sh = getenv("IQS_SHARED");
    char p1[1024], p2[1024];
    int reps = 5, i, first = 1;

    if (!sh)
        sh = "../shared";
    if (argc > 1) {
        reps = atoi(argv[1]);
        if (reps < 1 || reps > MAXR)
            reps = 5;
        first = 2;
    }
    if (argc > first) {
        for (i = first; i < argc; i++) {
            bench(argv[i], IQS_PROFILE_DEFAULT, reps);
            bench(argv[i], IQS_PROFILE_DIGIKAM, reps);
        }
        return 0;
    }
    snprintf(p1, sizeof p1, "%s/testdata/digikam-imgqsort/test.jpg", sh);
    snprintf(p2, sizeof p2, "%s/testdata/photos/lomiri_dogs.jpg", sh);
    bench(p1, IQS_PROFILE_DEFAULT, reps);
    bench(p1, IQS_PROFILE_DIGIKAM, reps);
    bench(p2, IQS_PROFILE_DEFAULT, reps);
    bench(p2, IQS_PROFILE_DIGIKAM, reps);
    return 0;
}
