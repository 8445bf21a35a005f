/*
 * The worker pool of the iqs command (tools/iqs; application code).
 *
 * N threads share one opened iqs_model (immutable, so no locking) and each
 * owns its workspaces: the network's fixed-size one and a detector
 * workspace that grows to the largest image seen. Workers take the next
 * file index from an atomic counter, so the split is dynamic but every
 * image is computed the same way whatever N is; only the order in which
 * records finish varies, and --sorted restores input order by holding
 * finished records until all earlier ones are printed.
 *
 * Printing, counting and the progress line happen under one mutex, after
 * the expensive work. A stop request (Ctrl-C, broken pipe) only prevents
 * new files from being started; a sidecar being written is finished.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "xmp.h"

atomic_int cli_stop;

typedef struct ctx {
    const cli_opts *o;
    const cli_files *fl;
    FILE *out;
    cli_view view;
    cli_rec *recs;
    unsigned char *done;
    size_t next_print;
    atomic_size_t next;
    pthread_mutex_t mu;
    cli_summary *sum;
    double t0, last_progress;
    size_t ws_size;
    iqs_assess_options aopt;
    int progress_shown;
    int broken; /* stdout failed (closed pipe): print nothing more */
} ctx;

typedef struct worker {
    ctx *c;
    void *ws;      /* network workspace (ws_size bytes)      */
    void *aws;     /* detector workspace, grown as needed    */
    size_t aws_cap;
    pthread_t th;
} worker;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fail(cli_rec *r, const char *fmt, const char *a, const char *b)
{
    r->failed = 1;
    /* A long path may be cut; the record still names the file in full. */
    if (snprintf(r->error, sizeof r->error, fmt, a, b) >= (int)sizeof r->error)
        memcpy(r->error + sizeof r->error - 4, "...", 4);
}

int cli_pick_from_net(const iqs_result *res)
{
    /* One policy for the whole program: the library's verdict rules, fed
     * an assessment in which no detector ran. */
    iqs_assessment a;
    memset(&a, 0, sizeof a);
    a.quality = -1.0f;
    a.technical = IQS_LABEL_NONE;
    a.label = IQS_LABEL_NONE;
    if (iqs_verdict_combine(&a, res, NULL) != IQS_OK || a.label == IQS_LABEL_NONE)
        return -1;
    return (int)a.label;
}

/* The library's decode messages start with the file name ("path: ..." or
 * "...tail: ..."); the record names the file already, so drop it. */
static const char *strip_path(const char *msg, const char *path)
{
    size_t pl = strlen(path);
    if (!strncmp(msg, path, pl) && !strncmp(msg + pl, ": ", 2))
        return msg + pl + 2;
    if (!strncmp(msg, "...", 3)) {
        const char *colon = strstr(msg, ": ");
        size_t tl = colon ? (size_t)(colon - (msg + 3)) : 0;
        if (colon && tl <= pl && !strncmp(path + pl - tl, msg + 3, tl))
            return colon + 2;
    }
    return msg;
}

static int is_jpeg_name(const char *p)
{
    const char *dot = strrchr(p, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") ||
                   !strcasecmp(dot, ".jpe") || !strcasecmp(dot, ".jfif"));
}

static void do_xmp(const cli_opts *o, cli_rec *r)
{
    char side[4096], err[256];
    if (r->pick <= XMP_PICK_NONE) {
        r->xmp = CLI_XMP_SKIPPED;
        return;
    }
    if (xmp_sidecar_path(r->file, o->adobe, side, sizeof side) != 0) {
        r->xmp = CLI_XMP_FAILED;
        fail(r, "sidecar: path too long%s%s", "", "");
        return;
    }
    xmp_update u = {r->pick, o->rating[r->pick]};
    int created = 0;
    xmp_status st = xmp_update_file(side, &u, o->dry_run, &created, err, sizeof err);
    switch (st) {
    case XMP_OK:
        r->xmp = o->dry_run ? (created ? CLI_XMP_WOULD_CREATE : CLI_XMP_WOULD_WRITE)
                            : (created ? CLI_XMP_CREATED : CLI_XMP_WRITTEN);
        break;
    case XMP_UNCHANGED: r->xmp = CLI_XMP_UNCHANGED; break;
    case XMP_E_PARSE:
        r->xmp = CLI_XMP_FAILED;
        fail(r, "sidecar %s left untouched: %s", side, err);
        break;
    default:
        r->xmp = CLI_XMP_FAILED;
        fail(r, "sidecar: %s%s", err[0] ? err : xmp_status_name(st), "");
        break;
    }
}

/* Decodes, runs the network and/or the detectors, decides, writes XMP. */
static void process(ctx *c, worker *w, size_t i, cli_rec *r)
{
    const cli_opts *o = c->o;
    iqs_image img;
    iqs_diag dg;
    iqs_status st;
    memset(r, 0, sizeof *r);
    r->file = c->fl->v[i].path;
    r->pick = -1;
    if (c->fl->v[i].err) {
        fail(r, "%s%s", strerror(c->fl->v[i].err), "");
        return;
    }
    memset(&dg, 0, sizeof dg);
    st = iqs_image_load(r->file, NULL, &img, &dg);
    if (st != IQS_OK) {
        fail(r, "%s%s", dg.msg[0] ? strip_path(dg.msg, r->file) : iqs_strerror(st), "");
        return;
    }
    iqs_result res;
    if (o->model) {
        st = iqs_classify(o->model, &img, w->ws, c->ws_size, &res);
        if (st != IQS_OK) {
            fail(r, "classify: %s%s", iqs_strerror(st), "");
            goto done;
        }
        r->has_net = 1;
        r->num_classes = res.num_classes;
        memcpy(r->probs, res.probs, sizeof r->probs);
        r->cls = res.top;
        r->class_label = res.label;
        r->has_score = res.has_score;
        r->score = res.score;
    }
    if (o->detectors) {
        iqs_assess_options aopt = c->aopt;
        iqs_assessment a;
        /* As iqs_assess_file does: digiKam's DCT pre-scaling applies to
         * JPEG files only. */
        if (aopt.profile == IQS_PROFILE_DIGIKAM && !is_jpeg_name(r->file))
            aopt.quirks &= ~IQS_QUIRK_DCT_PRESCALE;
        size_t need = iqs_assess_workspace_size(img.width, img.height, &aopt);
        if (need == 0) {
            fail(r, "assess: image of unsupported size%s%s", "", "");
            goto done;
        }
        if (need > w->aws_cap) {
            free(w->aws);
            w->aws = malloc(need);
            w->aws_cap = w->aws ? need : 0;
            if (!w->aws) {
                fail(r, "assess: %s%s", iqs_strerror(IQS_E_NOMEM), "");
                goto done;
            }
        }
        st = iqs_assess(&img, &aopt, w->aws, need, &a);
        if (st != IQS_OK) {
            fail(r, "assess: %s%s", iqs_strerror(st), "");
            goto done;
        }
        if (r->has_net && iqs_verdict_combine(&a, &res, NULL) != IQS_OK) {
            fail(r, "verdict: %s%s", iqs_strerror(IQS_E_INTERNAL), "");
            goto done;
        }
        r->has_det = 1;
        r->det_mask = a.detectors;
        r->quality = a.quality;
        r->blur = a.blur;
        r->noise = a.noise;
        r->exposure = a.exposure;
        r->overexposure = a.overexposure;
        r->underexposure = a.underexposure;
        r->compression = a.compression;
        snprintf(r->reason, sizeof r->reason, "%s", a.reason);
        r->pick = (int)a.label;
    } else if (r->has_net) {
        r->pick = cli_pick_from_net(&res);
    }
done:
    iqs_image_free(&img);
    if (o->xmp && !r->failed && o->mode == CLI_MODE_SORT)
        do_xmp(o, r);
}

static void progress(ctx *c, int final)
{
    cli_summary *s = c->sum;
    double t = now();
    if (!final && t - c->last_progress < 0.1)
        return;
    c->last_progress = t;
    double el = t - c->t0, rate = el > 0 ? (double)s->done / el : 0;
    long eta = rate > 0 ? (long)((double)(s->total - s->done) / rate + 0.5) : 0;
    fprintf(stderr, "\r\033[K%zu/%zu  %.1f img/s  ETA %ld:%02ld", s->done, s->total, rate,
            eta / 60, eta % 60);
    fflush(stderr);
    c->progress_shown = 1;
}

static void clear_progress(ctx *c)
{
    if (c->progress_shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        c->progress_shown = 0;
    }
}

static void print_rec(ctx *c, size_t i)
{
    clear_progress(c);
    if (c->broken)
        return;
    cli_print_record(c->out, &c->view, &c->recs[i]);
    if (fflush(c->out) != 0 || ferror(c->out)) {
        c->broken = 1; /* e.g. `iqs sort ... | head`: stop quietly */
        cli_stop = 1;
    }
}

/* Called under the mutex when record i is complete. */
static void finish(ctx *c, size_t i)
{
    cli_summary *s = c->sum;
    const cli_rec *r = &c->recs[i];
    c->done[i] = 1;
    s->done++;
    if (r->failed)
        s->failed++;
    if (r->pick >= 0 && r->pick <= 3 && (r->has_net || r->has_det))
        s->picks[r->pick]++;
    if ((unsigned)r->xmp < sizeof s->xmp / sizeof s->xmp[0])
        s->xmp[r->xmp]++;
    if (c->o->sorted) {
        while (c->next_print < c->fl->n && c->done[c->next_print])
            print_rec(c, c->next_print++);
    } else {
        print_rec(c, i);
    }
    if (c->o->progress)
        progress(c, s->done == s->total);
}

static void *work(void *arg)
{
    worker *w = arg;
    ctx *c = w->c;
    for (;;) {
        if (cli_stop)
            break;
        size_t i = atomic_fetch_add(&c->next, 1);
        if (i >= c->fl->n)
            break;
        process(c, w, i, &c->recs[i]);
        pthread_mutex_lock(&c->mu);
        finish(c, i);
        pthread_mutex_unlock(&c->mu);
    }
    return NULL;
}

int cli_run(const cli_opts *o, const cli_files *fl, FILE *out, cli_summary *sum)
{
    ctx c;
    int rc = -1;
    size_t nw = (size_t)(o->workers > 0 ? o->workers : 1);
    worker *ws = NULL;
    memset(&c, 0, sizeof c);
    memset(sum, 0, sizeof *sum);
    sum->total = fl->n;
    sum->skipped = fl->skipped;
    c.o = o;
    c.fl = fl;
    c.out = out;
    c.sum = sum;
    atomic_init(&c.next, 0);
    if (nw > fl->n && fl->n > 0)
        nw = fl->n;

    c.view.format = o->format;
    c.view.mode = o->mode;
    c.view.has_net = o->model != NULL;
    c.view.has_det = o->detectors;
    c.view.xmp = o->xmp;
    c.view.color = o->color;
    c.view.file_width = 4;
    for (size_t k = 0; k < fl->n; k++) {
        int w = 0;
        for (const char *p = fl->v[k].path; *p; p++)
            w += ((unsigned char)*p & 0xC0) != 0x80;
        if (w > c.view.file_width)
            c.view.file_width = w;
    }
    if (c.view.file_width > 48)
        c.view.file_width = 48;
    if (o->model) {
        iqs_model_info info;
        if (iqs_model_get_info(o->model, &info) == IQS_OK) {
            c.view.num_classes = info.num_classes;
            c.view.has_score = info.head_kind == IQS_HEAD_NIMA10;
        }
        c.ws_size = iqs_workspace_size(o->model);
    }
    iqs_assess_options_init(&c.aopt, o->profile);

    c.recs = calloc(fl->n ? fl->n : 1, sizeof *c.recs);
    c.done = calloc(fl->n ? fl->n : 1, 1);
    ws = calloc(nw, sizeof *ws);
    if (!c.recs || !c.done || !ws) {
        fprintf(stderr, "iqs: out of memory\n");
        goto out;
    }
    for (size_t k = 0; k < nw; k++) {
        ws[k].c = &c;
        if (c.ws_size && !(ws[k].ws = malloc(c.ws_size))) {
            fprintf(stderr, "iqs: cannot allocate a %zu-byte workspace for worker %zu\n",
                    c.ws_size, k + 1);
            goto out;
        }
    }
    if (pthread_mutex_init(&c.mu, NULL) != 0) {
        fprintf(stderr, "iqs: cannot create a mutex\n");
        goto out;
    }
    cli_print_header(out, &c.view);
    fflush(out);
    c.t0 = now();
    size_t started = 0;
    if (nw == 1) {
        work(&ws[0]);
    } else {
        for (; started < nw; started++) {
            int e = pthread_create(&ws[started].th, NULL, work, &ws[started]);
            if (e != 0) {
                fprintf(stderr, "iqs: cannot start worker %zu: %s\n", started + 1, strerror(e));
                if (started == 0) {
                    /* no thread at all: do the work here */
                    work(&ws[0]);
                }
                break;
            }
        }
        for (size_t k = 0; k < started; k++)
            pthread_join(ws[k].th, NULL);
    }
    /* After a stop, flush what finished behind a gap (--sorted). */
    for (; c.next_print < fl->n && o->sorted; c.next_print++)
        if (c.done[c.next_print])
            print_rec(&c, c.next_print);
    clear_progress(&c);
    sum->seconds = now() - c.t0;
    sum->interrupted = sum->done < sum->total;
    pthread_mutex_destroy(&c.mu);
    rc = 0;
out:
    for (size_t k = 0; ws && k < nw; k++) {
        free(ws[k].ws);
        free(ws[k].aws);
    }
    free(ws);
    free(c.recs);
    free(c.done);
    return rc;
}
