/*
 * Output formats of the iqs command (tools/iqs; application code).
 *
 * Three renderings of the same record: an aligned table for people, JSON
 * Lines and CSV for scripts. The field names are a stable interface,
 * documented in docs/cli.md; a field whose part did not run (no model, no
 * detectors) is left out of JSON and empty in CSV, never invented.
 */
#include "cli.h"

#include <math.h>
#include <string.h>

#include "xmp.h"

const char *cli_pick_name(int pick)
{
    switch (pick) {
    case XMP_PICK_REJECTED: return "rejected";
    case XMP_PICK_PENDING: return "pending";
    case XMP_PICK_ACCEPTED: return "accepted";
    default: return "none";
    }
}

const char *cli_xmp_name(cli_xmp x)
{
    switch (x) {
    case CLI_XMP_WRITTEN: return "written";
    case CLI_XMP_CREATED: return "created";
    case CLI_XMP_UNCHANGED: return "unchanged";
    case CLI_XMP_WOULD_WRITE: return "would-write";
    case CLI_XMP_WOULD_CREATE: return "would-create";
    case CLI_XMP_SKIPPED: return "skipped";
    case CLI_XMP_FAILED: return "failed";
    default: return "";
    }
}

void cli_json_string(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    while (*p) {
        unsigned c = *p;
        /* Length of a well-formed UTF-8 sequence starting here (0 = not). */
        size_t len = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3
                                  : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
        for (size_t k = 1; k < len; k++)
            if ((p[k] & 0xC0) != 0x80)
                len = 0;
        if (len > 1) {
            fwrite(p, 1, len, f);
            p += len;
            continue;
        }
        if (len == 0) {
            /* Not UTF-8 (file names are bytes): keep it visible and valid JSON. */
            fprintf(f, "\\u%04x", c);
        } else if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc((int)c, f);
        } else if (c == '\n') {
            fputs("\\n", f);
        } else if (c == '\t') {
            fputs("\\t", f);
        } else if (c == '\r') {
            fputs("\\r", f);
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(f, "\\u%04x", c);
        } else {
            fputc((int)c, f);
        }
        p++;
    }
    fputc('"', f);
}

void cli_csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, const char *key, const char *fmt, double v)
{
    fprintf(f, ",\"%s\":", key);
    if (isfinite(v))
        fprintf(f, fmt, v);
    else
        fputs("null", f);
}

static void json_record(FILE *f, const cli_view *v, const cli_rec *r)
{
    fputs("{\"file\":", f);
    cli_json_string(f, r->file);
    if (r->failed && !r->has_net && !r->has_det) {
        fputs(",\"error\":", f);
        cli_json_string(f, r->error);
        fputs("}\n", f);
        return;
    }
    if (v->mode != CLI_MODE_CLASSIFY) {
        fputs(",\"label\":", f);
        cli_json_string(f, cli_pick_name(r->pick));
    }
    if (r->has_det) {
        json_num(f, "quality", "%.2f", r->quality);
        if (r->det_mask & IQS_DETECT_BLUR)
            json_num(f, "blur", "%.4f", r->blur);
        if (r->det_mask & IQS_DETECT_NOISE)
            json_num(f, "noise", "%.4f", r->noise);
        if (r->det_mask & IQS_DETECT_EXPOSURE) {
            json_num(f, "exposure", "%.4f", r->exposure);
            json_num(f, "overexposure", "%.4f", r->overexposure);
            json_num(f, "underexposure", "%.4f", r->underexposure);
        }
        if (r->det_mask & IQS_DETECT_COMPRESSION)
            json_num(f, "compression", "%.4f", r->compression);
        fputs(",\"reason\":", f);
        cli_json_string(f, r->reason);
    }
    if (r->has_net) {
        fputs(",\"probs\":[", f);
        for (int k = 0; k < r->num_classes; k++) {
            if (k)
                fputc(',', f);
            if (isfinite(r->probs[k]))
                fprintf(f, "%.6f", r->probs[k]);
            else
                fputs("null", f);
        }
        fprintf(f, "],\"class\":%d", r->cls);
        fputs(v->mode == CLI_MODE_CLASSIFY ? ",\"label\":" : ",\"class_label\":", f);
        cli_json_string(f, r->class_label ? r->class_label : "");
        if (r->has_score)
            json_num(f, "score", "%.4f", r->score);
    }
    if (v->xmp && r->xmp != CLI_XMP_NONE) {
        fputs(",\"xmp\":", f);
        cli_json_string(f, cli_xmp_name(r->xmp));
    }
    if (r->failed) {
        fputs(",\"error\":", f);
        cli_json_string(f, r->error);
    }
    fputs("}\n", f);
}

static void csv_num(FILE *f, const char *fmt, double v, int show)
{
    fputc(',', f);
    if (show && isfinite(v))
        fprintf(f, fmt, v);
}

static void csv_probs(FILE *f, const cli_rec *r)
{
    fputc(',', f);
    for (int k = 0; r->has_net && k < r->num_classes; k++)
        fprintf(f, k ? ";%.6f" : "%.6f", r->probs[k]);
}

static void csv_record(FILE *f, const cli_view *v, const cli_rec *r)
{
    char cls[16] = "";
    if (r->has_net)
        snprintf(cls, sizeof cls, "%d", r->cls);
    cli_csv_field(f, r->file);
    if (v->mode == CLI_MODE_CLASSIFY) {
        fprintf(f, ",%s,", cls);
        cli_csv_field(f, r->has_net && r->class_label ? r->class_label : "");
        csv_num(f, "%.4f", r->score, r->has_net && r->has_score);
        csv_probs(f, r);
    } else {
        fputc(',', f);
        if (r->has_net || r->has_det)
            fputs(cli_pick_name(r->pick), f);
        csv_num(f, "%.2f", r->quality, r->has_det);
        csv_num(f, "%.4f", r->blur, r->has_det && (r->det_mask & IQS_DETECT_BLUR));
        csv_num(f, "%.4f", r->noise, r->has_det && (r->det_mask & IQS_DETECT_NOISE));
        csv_num(f, "%.4f", r->exposure, r->has_det && (r->det_mask & IQS_DETECT_EXPOSURE));
        csv_num(f, "%.4f", r->compression,
                r->has_det && (r->det_mask & IQS_DETECT_COMPRESSION));
        fprintf(f, ",%s", cls);
        csv_num(f, "%.4f", r->score, r->has_net && r->has_score);
        csv_probs(f, r);
        fputc(',', f);
        cli_csv_field(f, r->has_det ? r->reason : "");
        fprintf(f, ",%s", cli_xmp_name(r->xmp));
    }
    fputc(',', f);
    cli_csv_field(f, r->failed ? r->error : "");
    fputc('\n', f);
}

/* Display width of UTF-8 text: code points, not bytes. */
static int text_width(const char *s)
{
    int w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

/* The file column: long names keep their tail ("...b/c/photo.jpg"). */
static void put_file(FILE *f, const char *s, int width)
{
    int w = text_width(s);
    if (w > width && width > 3) {
        int drop = w - (width - 3);
        while (drop > 0 && *s) {
            s++;
            while (((unsigned char)*s & 0xC0) == 0x80)
                s++;
            drop--;
        }
        fputs("...", f);
        fputs(s, f);
        return;
    }
    fputs(s, f);
    for (; w < width; w++)
        fputc(' ', f);
}

static void put_color(FILE *f, const cli_view *v, const char *code, const char *text, int width)
{
    if (v->color)
        fprintf(f, "\033[%sm", code);
    fprintf(f, "%-*s", width, text);
    if (v->color)
        fputs("\033[0m", f);
}

void cli_print_header(FILE *f, const cli_view *v)
{
    if (v->format == CLI_FMT_JSON)
        return;
    if (v->format == CLI_FMT_CSV) {
        if (v->mode == CLI_MODE_CLASSIFY)
            fputs("file,class,label,score,probs,error\n", f);
        else
            fputs("file,label,quality,blur,noise,exposure,compression,class,score,probs,"
                  "reason,xmp,error\n",
                  f);
        return;
    }
    put_file(f, "FILE", v->file_width);
    if (v->mode == CLI_MODE_CLASSIFY) {
        fputs("  CLASS  LABEL         SCORE    PROBS\n", f);
        return;
    }
    fputs("  LABEL   ", f);
    if (v->has_det)
        fputs("  QUALITY  BLUR   NOISE  EXPOS  COMPR", f);
    if (v->has_net)
        fputs(v->has_score ? "  CLASS  SCORE " : "  CLASS", f);
    if (v->xmp)
        fputs("  XMP         ", f);
    fputs(v->has_det ? "  REASON\n" : "\n", f);
}

static void table_record(FILE *f, const cli_view *v, const cli_rec *r)
{
    put_file(f, r->file, v->file_width);
    fputs("  ", f);
    if (r->failed && !r->has_net && !r->has_det) {
        put_color(f, v, "31", "error:", 0);
        fprintf(f, " %s\n", r->error);
        return;
    }
    if (v->mode == CLI_MODE_CLASSIFY) {
        fprintf(f, "%5d  %-12s  ", r->cls, r->class_label ? r->class_label : "");
        if (r->has_score)
            fprintf(f, "%6.3f   ", r->score);
        else
            fputs("     -   ", f);
        for (int k = 0; k < r->num_classes; k++)
            fprintf(f, k ? " %.4f" : "%.4f", r->probs[k]);
        fputc('\n', f);
        return;
    }
    static const char *const colors[4] = {"0", "31", "33", "32"};
    int p = r->pick >= 0 && r->pick <= 3 ? r->pick : 0;
    put_color(f, v, colors[p], cli_pick_name(r->pick), 8);
    if (v->has_det) {
        if (r->has_det)
            fprintf(f, "  %7.1f  %5.3f  %5.3f  %5.3f  %5.3f", r->quality, r->blur, r->noise,
                    r->exposure, r->compression);
        else
            fprintf(f, "  %7s  %5s  %5s  %5s  %5s", "-", "-", "-", "-", "-");
    }
    if (v->has_net) {
        fprintf(f, "  %5d", r->has_net ? r->cls : -1);
        if (v->has_score) {
            if (r->has_net && r->has_score)
                fprintf(f, "  %6.3f", r->score);
            else
                fprintf(f, "  %6s", "-");
        }
    }
    if (v->xmp)
        fprintf(f, "  %-12s", cli_xmp_name(r->xmp));
    if (v->has_det)
        fprintf(f, "  %s", r->reason);
    if (r->failed) {
        fputs("  ", f);
        put_color(f, v, "31", "error:", 0);
        fprintf(f, " %s", r->error);
    }
    fputc('\n', f);
}

void cli_print_record(FILE *f, const cli_view *v, const cli_rec *r)
{
    switch (v->format) {
    case CLI_FMT_JSON: json_record(f, v, r); break;
    case CLI_FMT_CSV: csv_record(f, v, r); break;
    default: table_record(f, v, r); break;
    }
}
