/*
 * Internal interfaces of the iqs command (tools/iqs): the file walker, the
 * output formats and the worker pool. Application code: it prints, it may
 * keep process-wide state (the stop flag), and its names are prefixed cli_
 * because the test binaries link these objects next to libiqs.
 */
#ifndef IQS_TOOLS_CLI_H
#define IQS_TOOLS_CLI_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>

#include "iqs/iqs.h"

/* ------------------------------------------------------------ walker */

/* One input file. err is the errno of a path that could not be read
 * (missing, unreadable folder); such entries are reported as failures. */
typedef struct cli_file {
    char *path;
    int err;
} cli_file;

typedef struct cli_files {
    cli_file *v;
    size_t n, cap;
    size_t skipped; /* regular files that are not images (by extension) */
} cli_files;

/* 1 if the name ends in an extension the decoder handles (case-insensitive:
 * jpg jpeg jpe jfif png bmp gif tga ppm pgm pnm). */
int cli_is_image_name(const char *name);

/* Adds path to fl: a file as is (with filter, only when it is an image by
 * name, else counted in skipped), a folder as its image files in name
 * order, descending into subfolders when recursive. Entries whose name
 * starts with '.' are ignored inside folders, and symlinked folders are
 * not followed (no loops). Returns 0, or -1 when out of memory. */
int cli_walk(cli_files *fl, const char *path, int recursive, int filter);

void cli_files_free(cli_files *fl);

/* ----------------------------------------------------------- results */

typedef enum cli_format { CLI_FMT_TABLE, CLI_FMT_JSON, CLI_FMT_CSV } cli_format;
typedef enum cli_mode { CLI_MODE_CLASSIFY, CLI_MODE_ASSESS, CLI_MODE_SORT } cli_mode;

/* Outcome of the sidecar step of one file. */
typedef enum cli_xmp {
    CLI_XMP_NONE = 0,    /* --xmp not given, or nothing was attempted   */
    CLI_XMP_WRITTEN,     /* existing sidecar merged and replaced        */
    CLI_XMP_CREATED,     /* new sidecar written                         */
    CLI_XMP_UNCHANGED,   /* already held these values; not rewritten    */
    CLI_XMP_WOULD_WRITE, /* --dry-run                                   */
    CLI_XMP_WOULD_CREATE,
    CLI_XMP_SKIPPED,     /* no label to write                           */
    CLI_XMP_FAILED       /* see cli_rec.error                           */
} cli_xmp;

/* One image's result. Strings are owned by the record (fixed buffers) or
 * static, except class_label, which lives as long as the model. */
typedef struct cli_rec {
    const char *file;
    int failed;          /* error holds the reason                      */
    char error[320];
    int has_net;
    int num_classes;
    float probs[IQS_MAX_CLASSES];
    int cls;
    const char *class_label;
    int has_score;
    float score;
    int has_det;         /* classic detectors ran                       */
    unsigned det_mask;   /* IQS_DETECT_* bits of those that ran         */
    float quality;       /* 0..100, higher is better                    */
    float blur, noise, exposure, compression; /* damage 0..1            */
    float overexposure, underexposure;        /* exposure = max of both  */
    char reason[160];
    int pick;            /* XMP_PICK_* or -1 for no verdict             */
    cli_xmp xmp;
} cli_rec;

/* What a printer shows; fixed for a run so columns stay aligned. */
typedef struct cli_view {
    cli_format format;
    cli_mode mode;
    int has_net, has_det, xmp;
    int num_classes;
    int has_score;  /* the model has a 10-bin score head               */
    int file_width; /* table: width of the file column                 */
    int color;      /* table: ANSI colours                             */
} cli_view;

/* Name of a pick label: "none", "rejected", "pending", "accepted". */
const char *cli_pick_name(int pick);
const char *cli_xmp_name(cli_xmp x);

/* Writes s as a JSON string literal (quotes, escapes, invalid UTF-8 bytes
 * as \u00XX of the byte value). */
void cli_json_string(FILE *f, const char *s);
/* Writes s as a CSV field (RFC 4180 quoting when needed). */
void cli_csv_field(FILE *f, const char *s);

/* Table/CSV header line (nothing for JSON). */
void cli_print_header(FILE *f, const cli_view *v);
/* One record: a table row, a JSON object line or a CSV row. */
void cli_print_record(FILE *f, const cli_view *v, const cli_rec *r);

/* --------------------------------------------------------------- run */

/* Set (to 1) by the SIGINT/SIGTERM handler or a broken stdout: workers
 * finish the file in hand and take no new one. A lock-free atomic, so both
 * the signal handler and the threads may touch it. */
extern atomic_int cli_stop;

typedef struct cli_opts {
    cli_mode mode;
    cli_format format;
    int workers;          /* >= 1                                       */
    int sorted;           /* print in input order                       */
    int xmp, dry_run, adobe;
    int rating[4];        /* xmp:Rating per pick label, XMP_KEEP = keep */
    int progress;         /* progress line on stderr                    */
    int color;
    const iqs_model *model; /* NULL: detectors only                     */
    int detectors;        /* run the classic detectors                  */
    iqs_profile profile;  /* detector options profile                   */
} cli_opts;

typedef struct cli_summary {
    size_t total, done, failed, skipped;
    size_t picks[4];      /* by XMP_PICK_*                              */
    size_t xmp[8];        /* by cli_xmp                                 */
    double seconds;
    int interrupted;
} cli_summary;

/* Maps a network result alone to a pick label with the library's verdict
 * policy (iqs_verdict_combine); -1 when the head has no mapping (neither
 * 3 classes nor a 10-bin score). */
int cli_pick_from_net(const iqs_result *r);

/* Processes every file with o->workers threads (one workspace each) and
 * prints records to out as they finish (in input order with o->sorted).
 * Returns 0, or -1 when setting up failed (message printed to stderr). */
int cli_run(const cli_opts *o, const cli_files *fl, FILE *out, cli_summary *sum);

#endif
