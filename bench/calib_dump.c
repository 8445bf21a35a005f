/*
 * Calibration driver of the classic detectors (not a test, not part of the
 * library): reads the manifest.csv written by tools/calib/ladder.py, assesses
 * every listed image with iqs_assess (decoded once, EXIF applied) and prints
 * one CSV row per image: the ladder coordinates, every criterion's score,
 * the quality, the label and the reason. With --raw it adds the DEFAULT
 * detectors' raw measures before their score mappings (internal functions
 * of lib/detect, the quantities docs/verdict.md calibrates).
 *
 * usage: calib_dump MANIFEST [--profile default|digikam] [--split S] [--raw]
 *   S = all (default), calib or valid. Output goes to stdout.
 * tools/calib/calibrate.py reads this CSV and prints the tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detect.h"
#include "iqs/iqs.h"


int main(int argc, char **argv)
{
    const char *manifest = NULL, *split = "all";
    iqs_assess_options o;
    char line[4096];
    FILE *f;
    int i, raw = 0, profile = IQS_PROFILE_DEFAULT, first = 1;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--profile") && i + 1 < argc) {
            i++;
            if (!strcmp(argv[i], "digikam"))
                profile = IQS_PROFILE_DIGIKAM;
            else if (strcmp(argv[i], "default")) {
                fprintf(stderr, "calib_dump: unknown profile %s\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--split") && i + 1 < argc) {
            split = argv[++i];
        } else if (!strcmp(argv[i], "--raw")) {
            raw = 1;
        } else if (!manifest && argv[i][0] != '-') {
            manifest = argv[i];
        } else {
            fprintf(stderr, "usage: calib_dump MANIFEST [--profile default|"
                            "digikam] [--split all|calib|valid] [--raw]\n");
            return 2;
        }
    }
    if (!manifest) {
        fprintf(stderr, "calib_dump: no manifest given\n");
        return 2;
    }
    f = fopen(manifest, "r");
    if (!f) {
        perror(manifest);
        return 1;
    }
    iqs_assess_options_init(&o, (iqs_profile)profile);
    printf("photo,split,distortion,level,param,blur,noise,exposure,over,"
           "under,compression,quality,label,reason%s\n",
           raw ? ",edge_width,noise_sigma,blockiness,clip,shadow,highlight,"
                 "midtone"
               : "");
    while (fgets(line, sizeof line, f)) {
        char photo[256], sp[32], dist[32], param[32], path[2048];
        int level;
        iqs_image img;
        iqs_assessment a;
        iqs_calib_raw r;
        iqs_assess_options oi = o;
        void *ws;
        size_t n;
        if (first) { /* header */
            first = 0;
            continue;
        }
        if (sscanf(line, "%255[^,],%31[^,],%31[^,],%d,%31[^,],%2047[^\r\n]",
                   photo, sp, dist, &level, param, path) != 6)
            continue;
        if (strcmp(split, "all") && strcmp(split, sp))
            continue;
        if (iqs_image_load(path, NULL, &img, NULL) != IQS_OK) {
            fprintf(stderr, "calib_dump: cannot load %s\n", path);
            continue;
        }
        n = iqs_assess_workspace_size(img.width, img.height, &oi);
        ws = n ? malloc(n) : NULL;
        if (!ws || iqs_assess_raw(&img, &oi, ws, n, &a, &r) != IQS_OK) {
            fprintf(stderr, "calib_dump: cannot assess %s\n", path);
            free(ws);
            iqs_image_free(&img);
            continue;
        }
        printf("%s,%s,%s,%d,%s,%.5f,%.5f,%.5f,%.5f,%.5f,%.5f,%.2f,%s,\"%s\"",
               photo, sp, dist, level, param, a.blur, a.noise, a.exposure,
               a.overexposure, a.underexposure, a.compression, a.quality,
               iqs_label_name(a.label), a.reason);
        if (raw)
            printf(",%.5f,%.5f,%.5f,%.5f,%.5f,%.5f,%.5f", r.edge_width,
                   r.noise_sigma, r.blockiness, r.clip, r.shadow,
                   r.highlight, r.midtone);
        printf("\n");
        fflush(stdout);
        free(ws);
        iqs_image_free(&img);
    }
    fclose(f);
    return 0;
}
