/*
 * iqs: the command-line program (tools/iqs; application code).
 *
 * One binary with three commands: `classify` (the network only), `assess`
 * (the technical detectors, plus the network when a model is given) and
 * `sort` (walk folders, label every photo, optionally write the verdict to
 * XMP sidecars). This file holds argument parsing, model lookup, signal
 * handling and the summary; the work is in run.c, the output formats in
 * out.c, the walker in walk.c and the sidecar merge in xmp.c.
 *
 * Unlike the library, this program owns the process: it prints, picks the
 * exit status, installs signal handlers and decides how many threads
 * OpenBLAS may use.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "iqs/iqs.h"
#include "xmp.h"

#if IQS_BLAS_OPENBLAS
/* The application decides BLAS threading, never the library. iqs runs
 * OpenBLAS single-threaded whatever -j is: multi-threaded OpenBLAS splits
 * the gemms differently and changes probabilities in the 6th decimal
 * (measured: 0.305194 vs 0.305196), so letting -j 1 use BLAS threads would
 * make results depend on -j. Parallelism comes from the workers instead. */
extern void openblas_set_num_threads(int);
#endif

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_INTERRUPTED 130

enum {
    OPT_XMP = 256,
    OPT_DRY_RUN,
    OPT_SIDECAR,
    OPT_RATING,
    OPT_SORTED,
    OPT_BGR,
    OPT_INPUT_SIZE,
    OPT_NO_MODEL,
    OPT_NO_DETECTORS,
    OPT_PROFILE,
    OPT_COLOR,
    OPT_NO_PROGRESS
};

static const char *prog_cmd = "iqs";

static const char usage_main[] =
    "Usage: iqs COMMAND [OPTIONS] ARGS...\n"
    "Image quality sorting: label photos rejected / pending / accepted.\n"
    "\n"
    "Commands:\n"
    "  classify   run the network on images, print class probabilities\n"
    "  assess     run the technical detectors (and the network with a model)\n"
    "  sort       walk files and folders, label every image, write XMP sidecars\n"
    "\n"
    "Options:\n"
    "  -h, --help     show this help; `iqs COMMAND --help` for a command\n"
    "  -V, --version  show the program and library versions\n"
    "\n"
    "Exit status: 0 all went well, 1 some files failed, 2 usage error or\n"
    "unusable model, 130 interrupted. See docs/cli.md and docs/models.md.\n";

static const char usage_classify[] =
    "Usage: iqs classify [--model M.iqsw] [OPTIONS] IMAGE...\n"
    "Runs the network on each image and prints its class probabilities.\n"
    "\n"
    "  -m, --model FILE     IQSW weights (default: $IQS_MODEL; required)\n"
    "  -f, --format FMT     table (default), json (JSON Lines) or csv\n"
    "  -j, --jobs N         images classified at once (default: number of\n"
    "                       cores); output stays in input order\n"
    "      --bgr            feed the network B,G,R like digiKam does\n"
    "      --input-size N   input side for models that accept any size\n"
    "  -h, --help           this help\n"
    "\n"
    "JSON keys: file, probs, class, label, score (10-bin heads), error.\n"
    "A file that cannot be read or decoded is reported with `error` and the\n"
    "run goes on; the exit status is 1 if any failed.\n";

static const char usage_assess[] =
    "Usage: iqs assess [--model M.iqsw] [OPTIONS] IMAGE...\n"
    "Scores each image with the technical detectors (blur, noise, exposure,\n"
    "compression) and, with a model, the network; prints every criterion,\n"
    "the quality, the label and the reason.\n"
    "\n"
    "  -m, --model FILE     IQSW weights (default: $IQS_MODEL; optional)\n"
    "      --no-model       ignore $IQS_MODEL: detectors only\n"
    "      --profile NAME   default, or digikam (reproduce digiKam's labels)\n"
    "  -f, --format FMT     table (default), json (JSON Lines) or csv\n"
    "  -j, --jobs N         worker threads (default: number of cores)\n"
    "      --bgr            feed the network B,G,R like digiKam does\n"
    "      --input-size N   input side for models that accept any size\n"
    "  -h, --help           this help\n";

static const char usage_sort[] =
    "Usage: iqs sort [--model M.iqsw] [OPTIONS] PATH...\n"
    "Labels every image under PATH (files and folders) rejected, pending or\n"
    "accepted, prints one result per image as it finishes and a summary.\n"
    "\n"
    "  -m, --model FILE       IQSW weights (default: $IQS_MODEL; optional)\n"
    "      --no-model         ignore $IQS_MODEL: detectors only\n"
    "      --no-detectors     network only (digiKam's aesthetic mode)\n"
    "      --profile NAME     default, or digikam (reproduce digiKam's labels)\n"
    "  -r, --recursive        descend into subfolders\n"
    "  -j, --jobs N           worker threads (default: number of cores)\n"
    "  -f, --format FMT       table (default), json (JSON Lines) or csv\n"
    "      --sorted           print in walk order, not completion order\n"
    "      --xmp              write the label into XMP sidecars\n"
    "      --sidecar-style S  digikam (photo.jpg.xmp, default; also darktable)\n"
    "                         or adobe (photo.xmp)\n"
    "      --rating MAP       xmp:Rating per label, e.g.\n"
    "                         rejected=-1,pending=keep,accepted=4\n"
    "                         (default: rejected=-1, others unchanged)\n"
    "      --dry-run          write nothing, report what --xmp would do\n"
    "      --bgr              feed the network B,G,R like digiKam does\n"
    "      --input-size N     input side for models that accept any size\n"
    "      --color WHEN       auto (default), always, never\n"
    "      --no-progress      no progress line on stderr\n"
    "  -h, --help             this help\n"
    "\n"
    "Output fields: file, label, quality, blur, noise, exposure, compression,\n"
    "reason, probs, class, class_label, score, xmp, error (docs/cli.md).\n"
    "Sidecars: digiKam:PickLabel 1 rejected, 2 pending, 3 accepted; merged\n"
    "into existing sidecars, replaced atomically.\n";

static void on_signal(int sig)
{
    static const char msg[] =
        "\niqs: stopping after the images in progress (press Ctrl-C again to quit now)\n";
    (void)sig;
    if (atomic_exchange(&cli_stop, 1))
        _exit(EXIT_INTERRUPTED); /* sidecars are renamed into place: none is half-written */
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A closed stdout is noticed by the writer (EPIPE), which stops the run. */
    signal(SIGPIPE, SIG_IGN);
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "iqs %s: ", prog_cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'iqs %s --help'.\n", prog_cmd);
    return EXIT_USAGE;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_format(const char *s, cli_format *f)
{
    if (!strcmp(s, "table"))
        *f = CLI_FMT_TABLE;
    else if (!strcmp(s, "json") || !strcmp(s, "jsonl"))
        *f = CLI_FMT_JSON;
    else if (!strcmp(s, "csv"))
        *f = CLI_FMT_CSV;
    else
        return -1;
    return 0;
}

/* "rejected=-1,pending=keep,accepted=4" into rating[XMP_PICK_*]. */
static int parse_rating(const char *s, int rating[4])
{
    char buf[256];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        char *eq = strchr(tok, '=');
        long v;
        int pick;
        if (!eq)
            return -1;
        *eq = 0;
        if (!strcmp(tok, "rejected"))
            pick = XMP_PICK_REJECTED;
        else if (!strcmp(tok, "pending"))
            pick = XMP_PICK_PENDING;
        else if (!strcmp(tok, "accepted"))
            pick = XMP_PICK_ACCEPTED;
        else
            return -1;
        if (!strcmp(eq + 1, "keep"))
            rating[pick] = XMP_KEEP;
        else if (parse_int(eq + 1, -1, 5, &v) == 0)
            rating[pick] = (int)v;
        else
            return -1;
    }
    return 0;
}

static int default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)(n > 256 ? 256 : n) : 1;
}

static int open_model(const char *path, int bgr, int input_size, iqs_model **m)
{
    iqs_open_options oo;
    iqs_diag dg;
    memset(&dg, 0, sizeof dg);
    iqs_open_options_init(&oo);
    if (bgr)
        oo.flags |= IQS_OPEN_FEED_BGR;
    oo.input_size = (unsigned)input_size;
    iqs_status st = iqs_model_open_ex(path, &oo, m, &dg);
    if (st != IQS_OK) {
        fprintf(stderr, "iqs %s: cannot open model %s: %s\n", prog_cmd, path,
                dg.msg[0] ? dg.msg : iqs_strerror(st));
        return -1;
    }
    return 0;
}

/* A description of the model for the summary, e.g. "inception_resnet_v2
 * 299x299, 10-bin score head". */
static void describe_model(const iqs_model *m, char *buf, size_t n)
{
    iqs_model_info info;
    if (iqs_model_get_info(m, &info) != IQS_OK) {
        snprintf(buf, n, "?");
        return;
    }
    snprintf(buf, n, "%s %dx%d, %s%s", info.architecture ? info.architecture : "?",
             info.input_width, info.input_height,
             info.head_kind == IQS_HEAD_NIMA10 ? "10-bin score head" : "",
             info.feeds_bgr ? ", fed BGR" : "");
    if (info.head_kind != IQS_HEAD_NIMA10) {
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, "%d-class head", info.num_classes);
    }
}

/* 1 if the verdict policy can turn this model's output into a label. */
static int model_has_verdict(const iqs_model *m)
{
    iqs_model_info info;
    iqs_result r;
    if (iqs_model_get_info(m, &info) != IQS_OK)
        return 0;
    memset(&r, 0, sizeof r);
    r.num_classes = info.num_classes;
    for (int k = 0; k < info.num_classes && k < IQS_MAX_CLASSES; k++)
        r.probs[k] = 1.0f / (float)info.num_classes;
    r.label = info.labels[0];
    r.has_score = info.head_kind == IQS_HEAD_NIMA10;
    r.score = 5.0f;
    return cli_pick_from_net(&r) >= 0;
}

static void print_summary(const cli_opts *o, const cli_summary *s, const iqs_model *model,
                          const char *model_path, int workers)
{
    double rate = s->seconds > 0 ? (double)s->done / s->seconds : 0;
    fprintf(stderr, "iqs: %zu image%s in %.1f s (%.2f images/s, %d worker%s): ", s->done,
            s->done == 1 ? "" : "s", s->seconds, rate, workers, workers == 1 ? "" : "s");
    fprintf(stderr, "%zu rejected, %zu pending, %zu accepted", s->picks[XMP_PICK_REJECTED],
            s->picks[XMP_PICK_PENDING], s->picks[XMP_PICK_ACCEPTED]);
    if (s->picks[XMP_PICK_NONE])
        fprintf(stderr, ", %zu unlabelled", s->picks[XMP_PICK_NONE]);
    fprintf(stderr, "; %zu failed", s->failed);
    if (s->skipped)
        fprintf(stderr, "; %zu other file%s skipped", s->skipped, s->skipped == 1 ? "" : "s");
    fputc('\n', stderr);
    if (o->xmp) {
        fprintf(stderr, "iqs: sidecars%s: ", o->dry_run ? " (dry run, nothing written)" : "");
        if (o->dry_run)
            fprintf(stderr, "%zu would be created, %zu would be updated",
                    s->xmp[CLI_XMP_WOULD_CREATE], s->xmp[CLI_XMP_WOULD_WRITE]);
        else
            fprintf(stderr, "%zu created, %zu updated", s->xmp[CLI_XMP_CREATED],
                    s->xmp[CLI_XMP_WRITTEN]);
        fprintf(stderr, ", %zu unchanged, %zu failed\n", s->xmp[CLI_XMP_UNCHANGED],
                s->xmp[CLI_XMP_FAILED]);
    }
    if (model) {
        char d[160];
        describe_model(model, d, sizeof d);
        fprintf(stderr, "iqs: model %s (%s)%s\n", model_path, d,
                o->detectors ? " combined with the technical detectors" : "");
    } else {
        fprintf(stderr,
                "iqs: no network model: labels come from the technical detectors alone.\n"
                "     To add the aesthetic network, convert digiKam's model with convert_pb\n"
                "     and pass --model FILE.iqsw or set IQS_MODEL (see docs/models.md).\n");
    }
    if (s->interrupted)
        fprintf(stderr, "iqs: interrupted: %zu of %zu images not processed\n",
                s->total - s->done, s->total);
}

/* The shared body of the three commands. */
static int command(int argc, char **argv, cli_mode mode)
{
    static const struct option all_opts[] = {
        {"model", required_argument, NULL, 'm'},
        {"format", required_argument, NULL, 'f'},
        {"jobs", required_argument, NULL, 'j'},
        {"recursive", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {"xmp", no_argument, NULL, OPT_XMP},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"sidecar-style", required_argument, NULL, OPT_SIDECAR},
        {"rating", required_argument, NULL, OPT_RATING},
        {"sorted", no_argument, NULL, OPT_SORTED},
        {"bgr", no_argument, NULL, OPT_BGR},
        {"input-size", required_argument, NULL, OPT_INPUT_SIZE},
        {"no-model", no_argument, NULL, OPT_NO_MODEL},
        {"no-detectors", no_argument, NULL, OPT_NO_DETECTORS},
        {"profile", required_argument, NULL, OPT_PROFILE},
        {"color", required_argument, NULL, OPT_COLOR},
        {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
        {NULL, 0, NULL, 0}};
    /* Which options each command accepts (others are usage errors). */
    static const int classify_ok[] = {'m', 'f', 'j', 'h', OPT_BGR, OPT_INPUT_SIZE, 0};
    static const int assess_ok[] = {'m', 'f', 'j', 'h', OPT_BGR, OPT_INPUT_SIZE,
                                    OPT_NO_MODEL, OPT_PROFILE, 0};
    const int *allowed = mode == CLI_MODE_CLASSIFY ? classify_ok
                         : mode == CLI_MODE_ASSESS ? assess_ok
                                                   : NULL;
    const char *usage = mode == CLI_MODE_CLASSIFY ? usage_classify
                        : mode == CLI_MODE_ASSESS ? usage_assess
                                                  : usage_sort;
    cli_opts o;
    const char *model_path = NULL, *color = "auto";
    int recursive = 0, bgr = 0, no_model = 0, no_progress = 0, workers = 0;
    long input_size = 0, v;
    memset(&o, 0, sizeof o);
    o.mode = mode;
    o.format = CLI_FMT_TABLE;
    o.detectors = mode != CLI_MODE_CLASSIFY;
    o.profile = IQS_PROFILE_DEFAULT;
    o.sorted = mode != CLI_MODE_SORT;
    for (int k = 0; k < 4; k++)
        o.rating[k] = XMP_KEEP;
    o.rating[XMP_PICK_REJECTED] = -1;

    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":m:f:j:rh", all_opts, NULL)) != -1) {
        if (c == '?') {
            if (optopt)
                return usage_error("unknown option -%c", (char[]){(char)optopt, 0});
            return usage_error("unknown option %s", argv[optind - 1]);
        }
        if (c == ':')
            return usage_error("option %s needs a value", argv[optind - 1]);
        if (allowed) {
            int ok = 0;
            for (const int *a = allowed; *a && !ok; a++)
                ok = *a == c;
            if (!ok)
                return usage_error("option %s does not apply to this command",
                                   argv[optind - 1]);
        }
        switch (c) {
        case 'h': fputs(usage, stdout); return 0;
        case 'm': model_path = optarg; break;
        case 'f':
            if (parse_format(optarg, &o.format) != 0)
                return usage_error("unknown format '%s' (table, json or csv)", optarg);
            break;
        case 'j':
            if (parse_int(optarg, 0, 1024, &v) != 0)
                return usage_error("-j needs a number of workers, not '%s'", optarg);
            workers = (int)v;
            break;
        case 'r': recursive = 1; break;
        case OPT_XMP: o.xmp = 1; break;
        case OPT_DRY_RUN: o.dry_run = 1; break;
        case OPT_SIDECAR:
            if (!strcmp(optarg, "adobe"))
                o.adobe = 1;
            else if (!strcmp(optarg, "digikam") || !strcmp(optarg, "darktable"))
                o.adobe = 0;
            else
                return usage_error("unknown sidecar style '%s' (digikam or adobe)", optarg);
            break;
        case OPT_RATING:
            if (parse_rating(optarg, o.rating) != 0)
                return usage_error("bad --rating '%s' (e.g. rejected=-1,accepted=4; "
                                   "values -1..5 or keep)",
                                   optarg);
            break;
        case OPT_SORTED: o.sorted = 1; break;
        case OPT_BGR: bgr = 1; break;
        case OPT_INPUT_SIZE:
            if (parse_int(optarg, 1, 4096, &input_size) != 0)
                return usage_error("bad --input-size '%s'", optarg);
            break;
        case OPT_NO_MODEL: no_model = 1; break;
        case OPT_NO_DETECTORS: o.detectors = 0; break;
        case OPT_PROFILE:
            if (!strcmp(optarg, "default"))
                o.profile = IQS_PROFILE_DEFAULT;
            else if (!strcmp(optarg, "digikam"))
                o.profile = IQS_PROFILE_DIGIKAM;
            else
                return usage_error("unknown profile '%s' (default or digikam)", optarg);
            break;
        case OPT_COLOR:
            if (strcmp(optarg, "auto") && strcmp(optarg, "always") && strcmp(optarg, "never"))
                return usage_error("--color takes auto, always or never, not '%s'", optarg);
            color = optarg;
            break;
        case OPT_NO_PROGRESS: no_progress = 1; break;
        default: return usage_error("unexpected option %s", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return usage_error("no %s given", mode == CLI_MODE_SORT ? "PATH" : "IMAGE");
    if (o.dry_run && !o.xmp)
        return usage_error("--dry-run only makes sense with --xmp%s", "");

    /* Model lookup: --model, else $IQS_MODEL, else none. */
    if (!model_path && !no_model) {
        const char *env = getenv("IQS_MODEL");
        if (env && *env)
            model_path = env;
    }
    if (no_model)
        model_path = NULL;
    if (mode == CLI_MODE_CLASSIFY && !model_path)
        return usage_error("no model: give --model FILE.iqsw or set IQS_MODEL%s "
                           "(docs/models.md explains how to convert digiKam's model)",
                           "");
    if (!model_path && !o.detectors)
        return usage_error("--no-detectors needs a model (--model or IQS_MODEL)%s", "");

    iqs_model *model = NULL;
    if (model_path && open_model(model_path, bgr, (int)input_size, &model) != 0)
        return EXIT_USAGE;
    o.model = model;
    if (model && mode != CLI_MODE_CLASSIFY && !o.detectors && !model_has_verdict(model)) {
        fprintf(stderr,
                "iqs %s: the model's head has neither 3 classes (rejected/pending/accepted) "
                "nor a 10-bin score, so it cannot label photos on its own\n",
                prog_cmd);
        iqs_model_close(model);
        return EXIT_USAGE;
    }

    cli_files fl;
    memset(&fl, 0, sizeof fl);
    for (int k = optind; k < argc; k++) {
        int filter = mode == CLI_MODE_SORT;
        if (cli_walk(&fl, argv[k], mode == CLI_MODE_SORT && recursive, filter) != 0) {
            fprintf(stderr, "iqs: out of memory while listing files\n");
            cli_files_free(&fl);
            iqs_model_close(model);
            return EXIT_FAILED;
        }
    }

    o.workers = workers > 0 ? workers : default_workers();
#if IQS_BLAS_OPENBLAS
    if (model)
        openblas_set_num_threads(1);
#endif
    o.progress = mode == CLI_MODE_SORT && !no_progress && isatty(STDERR_FILENO);
    o.color = !strcmp(color, "always") ||
              (!strcmp(color, "auto") && isatty(STDOUT_FILENO) && !getenv("NO_COLOR"));

    cli_summary sum;
    int rc = cli_run(&o, &fl, stdout, &sum) == 0 ? 0 : EXIT_FAILED;
    if (rc == 0 && mode != CLI_MODE_CLASSIFY) {
        int nw = o.workers < (int)fl.n ? o.workers : (int)(fl.n ? fl.n : 1);
        print_summary(&o, &sum, model, model_path, nw);
    } else if (rc == 0 && sum.interrupted) {
        fprintf(stderr, "iqs: interrupted: %zu of %zu images not processed\n",
                sum.total - sum.done, sum.total);
    }
    if (rc == 0)
        rc = sum.interrupted ? EXIT_INTERRUPTED : sum.failed ? EXIT_FAILED : 0;
    cli_files_free(&fl);
    iqs_model_close(model);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("iqs %d.%d.%d (library %s)\n", IQS_VERSION_MAJOR, IQS_VERSION_MINOR,
               IQS_VERSION_PATCH, iqs_version());
        return 0;
    }
    install_signals();
    prog_cmd = cmd;
    if (!strcmp(cmd, "classify"))
        return command(argc - 1, argv + 1, CLI_MODE_CLASSIFY);
    if (!strcmp(cmd, "assess"))
        return command(argc - 1, argv + 1, CLI_MODE_ASSESS);
    if (!strcmp(cmd, "sort"))
        return command(argc - 1, argv + 1, CLI_MODE_SORT);
    prog_cmd = "";
    fprintf(stderr, "iqs: unknown command '%s'\n\n%s", cmd, usage_main);
    return EXIT_USAGE;
}
