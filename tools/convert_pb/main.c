/*
 * convert_pb: TensorFlow frozen graph (.pb) -> IQSW weights file.
 * Argument parsing and exit codes only; the work is in cpb_convert
 * (emit.c). Exit 0 on success, 1 when the conversion fails (message on
 * stderr naming the node or byte offset; no output file is left), 2 on a
 * usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"

static void usage(FILE *f)
{
    fputs("usage: convert_pb [options] IN.pb OUT.iqsw\n"
          "\n"
          "Converts a frozen Keras InceptionResNetV2 or InceptionV3 image\n"
          "classifier (TensorFlow GraphDef) into an IQSW weights file.\n"
          "\n"
          "options:\n"
          "  --input-size N   input side for graphs whose input size is not\n"
          "                   fixed (default 224 for InceptionResNetV2, 299\n"
          "                   for InceptionV3)\n"
          "  --labels a,b,c   class labels (default bad,normal,good for 3\n"
          "                   classes, 1..10 for a 10-bin NIMA head)\n"
          "  --dump           list the recognised layers with their shapes\n"
          "  --quiet          no summary line\n"
          "  -h, --help       this help\n"
          "\n"
          "Writes OUT.iqsw.tmp next to OUT.iqsw and renames it when complete.\n"
          "Exit status: 0 success, 1 conversion failed, 2 usage error.\n",
          f);
}

/* --opt VALUE or --opt=VALUE; returns the value or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] == '\0' && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

int main(int argc, char **argv)
{
    cpb_options opt;
    memset(&opt, 0, sizeof opt);
    opt.out = stdout;
    const char *pos[2];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--dump")) {
            opt.dump = 1;
        } else if (!strcmp(a, "--quiet")) {
            opt.quiet = 1;
        } else if ((v = opt_value(argc, argv, &i, "--input-size"))) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*v == '\0' || *end || n < 1 || n > (long)IQSW_MAX_INPUT_SIDE) {
                fprintf(stderr, "convert_pb: --input-size must be 1..%u\n",
                        IQSW_MAX_INPUT_SIDE);
                return 2;
            }
            opt.input_size = (unsigned)n;
        } else if ((v = opt_value(argc, argv, &i, "--labels"))) {
            opt.labels = v;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "convert_pb: unknown or incomplete option %s\n", a);
            usage(stderr);
            return 2;
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            fprintf(stderr, "convert_pb: too many arguments\n");
            usage(stderr);
            return 2;
        }
    }
    if (npos != 2) {
        usage(stderr);
        return 2;
    }
    opt.in_path = pos[0];
    opt.out_path = pos[1];
    cpb_err e;
    memset(&e, 0, sizeof e);
    iqs_status s = cpb_convert(&opt, &e);
    if (s != IQS_OK) {
        fprintf(stderr, "convert_pb: %s: %s (%s)\n", opt.in_path, e.msg,
                iqs_strerror(s));
        return s == IQS_E_ARG ? 2 : 1;
    }
    return 0;
}
