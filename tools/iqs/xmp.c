/*
 * XMP sidecar merge (tools/iqs; application code, not part of libiqs).
 *
 * Purpose: write digiKam:PickLabel / xmp:Rating into the sidecar a photo
 * manager reads, without disturbing anything else in it. Instead of
 * parsing into a tree and serialising again (which would reorder
 * attributes, rewrite namespaces and lose comments), the parser below only
 * records byte offsets of elements and attributes; the merge then produces
 * a short list of byte edits (replace a value, insert attributes) and
 * copies everything else verbatim. When the document is not plain,
 * well-formed XML with an rdf:RDF element the merge refuses it, so a
 * sidecar we do not understand is never damaged.
 *
 * Writing follows the usual crash-safe pattern: temporary file in the same
 * folder, fsync, rename, fsync of the folder. Signals are the caller's
 * business; since the final step is a rename, an interrupted run leaves
 * either the old or the new sidecar, never a mixture.
 */
#include "xmp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NS_RDF "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#define NS_XMP "http://ns.adobe.com/xap/1.0/"
#define NS_DK "http://www.digikam.org/ns/1.0/"
#define NS_XML "http://www.w3.org/XML/1998/namespace"

#define MAX_DEPTH 256
#define MAX_ELEMS 200000
#define MAX_ATTRS 800000

typedef struct span {
    size_t off, len;
} span;

typedef struct xattr {
    span name;    /* qualified name                      */
    span val;     /* raw bytes between the quotes        */
    size_t start; /* offset of the name                  */
} xattr;

typedef struct xel {
    int parent;       /* index, -1 for the root                        */
    size_t start;     /* offset of '<'                                 */
    span name;        /* qualified name                                */
    size_t tag_close; /* offset of '>' or of the '/' of "/>"           */
    size_t attrs_end; /* just after the last attribute (or the name)   */
    size_t content;   /* first byte after the start tag                */
    size_t etag;      /* '<' of the end tag (== content when empty)    */
    int empty;        /* <x/>                                          */
    int attr0, nattr; /* attributes at[attr0 .. attr0+nattr)           */
} xel;

typedef struct doc {
    const char *s;
    size_t n;
    xel *el;
    int nel, capel;
    xattr *at;
    int nat, capat;
    char *err;
    size_t errsz;
} doc;

/* A growable byte string; oom is sticky so callers check once. */
typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

typedef struct edit {
    size_t off, del;
    sbuf txt;
} edit;

const char *xmp_status_name(xmp_status st)
{
    switch (st) {
    case XMP_OK: return "ok";
    case XMP_UNCHANGED: return "unchanged";
    case XMP_E_PARSE: return "unparsable sidecar";
    case XMP_E_IO: return "i/o error";
    case XMP_E_NOMEM: return "out of memory";
    case XMP_E_LIMIT: return "sidecar too large";
    case XMP_E_ARG: return "invalid argument";
    }
    return "unknown";
}

static xmp_status seterr(char *err, size_t errsz, xmp_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static xmp_status seterr(char *err, size_t errsz, xmp_status st, const char *fmt, ...)
{
    if (err && errsz) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* ------------------------------------------------------------ strings */

static void sb_add(sbuf *b, const char *p, size_t n)
{
    if (b->oom || n == 0)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

/* ------------------------------------------------------------- parser */

static int is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static int name_start(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' || c >= 0x80;
}

static int name_char(unsigned char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

static int starts(const doc *d, size_t p, const char *lit)
{
    size_t k = strlen(lit);
    return p <= d->n && d->n - p >= k && memcmp(d->s + p, lit, k) == 0;
}

/* Offset of lit at or after p, or SIZE_MAX. */
static size_t find(const doc *d, size_t p, const char *lit)
{
    size_t k = strlen(lit);
    for (; p < d->n && d->n - p >= k; p++)
        if (d->s[p] == lit[0] && memcmp(d->s + p, lit, k) == 0)
            return p;
    return SIZE_MAX;
}

static xmp_status perr(doc *d, size_t at, const char *what)
{
    return seterr(d->err, d->errsz, XMP_E_PARSE, "%s at byte %zu", what, at);
}

/* A qualified name: at most one colon, not first or last. */
static int scan_name(const doc *d, size_t *p, span *out)
{
    size_t q = *p, colons = 0;
    if (q >= d->n || !name_start((unsigned char)d->s[q]) || d->s[q] == ':')
        return 0;
    while (q < d->n && name_char((unsigned char)d->s[q])) {
        colons += d->s[q] == ':';
        q++;
    }
    if (colons > 1 || d->s[q - 1] == ':')
        return 0;
    out->off = *p;
    out->len = q - *p;
    *p = q;
    return 1;
}

/* Checks that every '&' in s[off, off+len) starts a complete reference. */
static int refs_ok(const doc *d, size_t off, size_t len)
{
    const char *s = d->s;
    for (size_t i = off; i < off + len; i++) {
        if (s[i] != '&')
            continue;
        size_t j = i + 1;
        if (j < off + len && s[j] == '#') {
            j++;
            int hex = j < off + len && s[j] == 'x';
            j += hex;
            size_t d0 = j;
            while (j < off + len && ((s[j] >= '0' && s[j] <= '9') ||
                                     (hex && ((s[j] >= 'a' && s[j] <= 'f') ||
                                              (s[j] >= 'A' && s[j] <= 'F')))))
                j++;
            if (j == d0)
                return 0;
        } else {
            size_t d0 = j;
            while (j < off + len && name_char((unsigned char)s[j]) && s[j] != ':')
                j++;
            if (j == d0)
                return 0;
        }
        if (j >= off + len || s[j] != ';')
            return 0;
        i = j;
    }
    return 1;
}

static int push_el(doc *d)
{
    if (d->nel >= MAX_ELEMS)
        return -1;
    if (d->nel == d->capel) {
        int cap = d->capel ? d->capel * 2 : 32;
        xel *p = realloc(d->el, (size_t)cap * sizeof *p);
        if (!p)
            return -2;
        d->el = p;
        d->capel = cap;
    }
    memset(&d->el[d->nel], 0, sizeof d->el[0]);
    return d->nel++;
}

static int push_attr(doc *d)
{
    if (d->nat >= MAX_ATTRS)
        return -1;
    if (d->nat == d->capat) {
        int cap = d->capat ? d->capat * 2 : 64;
        xattr *p = realloc(d->at, (size_t)cap * sizeof *p);
        if (!p)
            return -2;
        d->at = p;
        d->capat = cap;
    }
    return d->nat++;
}

static int span_eq(const doc *d, span a, span b)
{
    return a.len == b.len && memcmp(d->s + a.off, d->s + b.off, a.len) == 0;
}

/* Parses the start tag at d->s[*pp] == '<' into a new element. */
static xmp_status parse_stag(doc *d, size_t *pp, int parent, int *idx)
{
    size_t p = *pp + 1;
    int i = push_el(d);
    if (i == -1)
        return seterr(d->err, d->errsz, XMP_E_LIMIT, "more than %d elements", MAX_ELEMS);
    if (i < 0)
        return XMP_E_NOMEM;
    xel *e = &d->el[i];
    e->parent = parent;
    e->start = *pp;
    e->attr0 = d->nat;
    if (!scan_name(d, &p, &e->name))
        return perr(d, p, "bad element name");
    e->attrs_end = p;
    for (;;) {
        size_t ws0 = p;
        while (p < d->n && is_ws((unsigned char)d->s[p]))
            p++;
        if (p >= d->n)
            return perr(d, e->start, "unterminated start tag");
        if (d->s[p] == '>') {
            e->tag_close = p;
            e->content = e->etag = p + 1;
            p++;
            break;
        }
        if (d->s[p] == '/') {
            if (p + 1 >= d->n || d->s[p + 1] != '>')
                return perr(d, p, "stray '/' in tag");
            e->tag_close = p;
            e->empty = 1;
            e->content = e->etag = p + 2;
            p += 2;
            break;
        }
        if (p == ws0)
            return perr(d, p, "missing space before attribute");
        span nm;
        size_t a0 = p;
        if (!scan_name(d, &p, &nm))
            return perr(d, p, "bad attribute name");
        while (p < d->n && is_ws((unsigned char)d->s[p]))
            p++;
        if (p >= d->n || d->s[p] != '=')
            return perr(d, p, "expected '='");
        p++;
        while (p < d->n && is_ws((unsigned char)d->s[p]))
            p++;
        if (p >= d->n || (d->s[p] != '"' && d->s[p] != '\''))
            return perr(d, p, "expected quoted value");
        char q = d->s[p++];
        size_t v0 = p;
        while (p < d->n && d->s[p] != q) {
            if (d->s[p] == '<')
                return perr(d, p, "'<' in attribute value");
            p++;
        }
        if (p >= d->n)
            return perr(d, v0, "unterminated attribute value");
        if (!refs_ok(d, v0, p - v0))
            return perr(d, v0, "bad reference in attribute value");
        for (int k = e->attr0; k < d->nat; k++)
            if (span_eq(d, d->at[k].name, nm))
                return perr(d, a0, "duplicate attribute");
        int ai = push_attr(d);
        if (ai == -1)
            return seterr(d->err, d->errsz, XMP_E_LIMIT, "more than %d attributes", MAX_ATTRS);
        if (ai < 0)
            return XMP_E_NOMEM;
        e = &d->el[i]; /* push_attr does not move elements, but stay safe */
        d->at[ai].name = nm;
        d->at[ai].start = a0;
        d->at[ai].val.off = v0;
        d->at[ai].val.len = p - v0;
        e->nattr++;
        p++;
        e->attrs_end = p;
    }
    *pp = p;
    *idx = i;
    return XMP_OK;
}

static xmp_status parse(doc *d)
{
    const unsigned char *u = (const unsigned char *)d->s;
    int stack[MAX_DEPTH];
    int depth = 0, root_seen = 0, root_done = 0;
    size_t p = 0;
    if (d->n >= 2 && ((u[0] == 0xFE && u[1] == 0xFF) || (u[0] == 0xFF && u[1] == 0xFE)))
        return perr(d, 0, "UTF-16 sidecars are not supported");
    if (d->n >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF)
        p = 3;
    while (p < d->n) {
        if (d->s[p] != '<') {
            size_t q = p;
            while (q < d->n && d->s[q] != '<')
                q++;
            if (depth == 0) {
                for (size_t k = p; k < q; k++)
                    if (!is_ws(u[k]))
                        return perr(d, k, "text outside the root element");
            } else if (!refs_ok(d, p, q - p)) {
                return perr(d, p, "bad reference in text");
            }
            p = q;
            continue;
        }
        if (starts(d, p, "<!--")) {
            size_t q = find(d, p + 4, "-->");
            if (q == SIZE_MAX)
                return perr(d, p, "unterminated comment");
            p = q + 3;
            continue;
        }
        if (starts(d, p, "<?")) {
            size_t q = find(d, p + 2, "?>");
            if (q == SIZE_MAX)
                return perr(d, p, "unterminated processing instruction");
            p = q + 2;
            continue;
        }
        if (starts(d, p, "<![CDATA[")) {
            if (depth == 0)
                return perr(d, p, "CDATA outside the root element");
            size_t q = find(d, p + 9, "]]>");
            if (q == SIZE_MAX)
                return perr(d, p, "unterminated CDATA section");
            p = q + 3;
            continue;
        }
        if (starts(d, p, "<!"))
            return perr(d, p, "DTD or declaration not allowed in XMP");
        if (starts(d, p, "</")) {
            size_t t0 = p;
            span nm;
            p += 2;
            if (!scan_name(d, &p, &nm))
                return perr(d, p, "bad end tag");
            while (p < d->n && is_ws(u[p]))
                p++;
            if (p >= d->n || d->s[p] != '>')
                return perr(d, p, "unterminated end tag");
            if (depth == 0)
                return perr(d, t0, "end tag without start tag");
            xel *e = &d->el[stack[depth - 1]];
            if (!span_eq(d, e->name, nm))
                return perr(d, t0, "mismatched end tag");
            e->etag = t0;
            depth--;
            root_done = depth == 0;
            p++;
            continue;
        }
        if (root_done)
            return perr(d, p, "second root element");
        if (depth >= MAX_DEPTH)
            return seterr(d->err, d->errsz, XMP_E_LIMIT, "elements nested deeper than %d",
                          MAX_DEPTH);
        int idx = -1;
        xmp_status st = parse_stag(d, &p, depth ? stack[depth - 1] : -1, &idx);
        if (st != XMP_OK)
            return st;
        root_seen = 1;
        if (!d->el[idx].empty)
            stack[depth++] = idx;
        else if (depth == 0)
            root_done = 1;
    }
    if (depth)
        return perr(d, d->el[stack[depth - 1]].start, "unclosed element");
    if (!root_seen)
        return perr(d, 0, "no root element");
    return XMP_OK;
}

/* ---------------------------------------------------------- namespaces */

/* Prefix part of a qualified name (len 0 when unprefixed). */
static span prefix_of(const doc *d, span q)
{
    span r = {q.off, 0};
    for (size_t k = 0; k < q.len; k++)
        if (d->s[q.off + k] == ':') {
            r.len = k;
            break;
        }
    return r;
}

static span local_of(const doc *d, span q)
{
    span p = prefix_of(d, q);
    if (p.len == 0 && (q.len == 0 || d->s[q.off] != ':'))
        return q;
    span r = {q.off + p.len + 1, q.len - p.len - 1};
    return r;
}

/* 1 if attribute name q is "xmlns" or "xmlns:*"; *pre gets the declared
 * prefix (len 0 for the default namespace). */
static int is_decl(const doc *d, span q, span *pre)
{
    if (q.len < 5 || memcmp(d->s + q.off, "xmlns", 5) != 0)
        return 0;
    if (q.len == 5) {
        pre->off = q.off + 5;
        pre->len = 0;
        return 1;
    }
    if (d->s[q.off + 5] != ':')
        return 0;
    pre->off = q.off + 6;
    pre->len = q.len - 6;
    return 1;
}

/* Namespace bound to prefix (pre, pl) in scope of element i: 1 and the raw
 * value, or 0 when unbound. */
static int lookup(const doc *d, int i, const char *pre, size_t pl, span *uri)
{
    for (; i >= 0; i = d->el[i].parent) {
        const xel *e = &d->el[i];
        for (int k = e->attr0; k < e->attr0 + e->nattr; k++) {
            span dp;
            if (is_decl(d, d->at[k].name, &dp) && dp.len == pl &&
                memcmp(d->s + dp.off, pre, pl) == 0) {
                *uri = d->at[k].val;
                return 1;
            }
        }
    }
    return 0;
}

/* Compares a raw attribute value (with XML references) to a literal. */
static int val_eq(const doc *d, span v, const char *lit)
{
    const char *s = d->s + v.off;
    size_t i = 0, n = v.len;
    for (; i < n; lit++) {
        unsigned long c = (unsigned char)s[i];
        if (c == '&') {
            size_t j = i + 1;
            while (j < n && s[j] != ';')
                j++;
            /* refs_ok guaranteed the ';' */
            const char *r = s + i + 1;
            size_t rl = j - i - 1;
            if (rl == 3 && !memcmp(r, "amp", 3)) c = '&';
            else if (rl == 2 && !memcmp(r, "lt", 2)) c = '<';
            else if (rl == 2 && !memcmp(r, "gt", 2)) c = '>';
            else if (rl == 4 && !memcmp(r, "quot", 4)) c = '"';
            else if (rl == 4 && !memcmp(r, "apos", 4)) c = '\'';
            else if (rl >= 2 && r[0] == '#') {
                c = 0;
                int hex = r[1] == 'x';
                for (size_t k = 1 + (size_t)hex; k < rl && c < 0x110000; k++) {
                    char h = r[k];
                    unsigned dv = (unsigned)(h >= '0' && h <= '9' ? h - '0'
                                             : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                                                    : h - 'A' + 10);
                    c = c * (hex ? 16u : 10u) + dv;
                }
            } else {
                return 0; /* an unknown entity never equals a URI we look for */
            }
            i = j + 1;
        } else {
            i++;
        }
        if (*lit == 0 || (unsigned char)*lit != c)
            return 0;
    }
    return *lit == 0;
}

/* Namespace of element i's name (is_attr 0) or of attribute k of element i
 * (is_attr 1) equals ns. Unprefixed attributes have no namespace. */
static int ns_is(const doc *d, int i, span q, int is_attr, const char *ns)
{
    span pre = prefix_of(d, q), uri;
    if (pre.len == 3 && memcmp(d->s + pre.off, "xml", 3) == 0)
        return strcmp(ns, NS_XML) == 0;
    if (is_attr && pre.len == 0)
        return 0;
    if (!lookup(d, i, d->s + pre.off, pre.len, &uri))
        return 0;
    return val_eq(d, uri, ns);
}

static int local_is(const doc *d, span q, const char *local)
{
    span l = local_of(d, q);
    return l.len == strlen(local) && memcmp(d->s + l.off, local, l.len) == 0;
}

static int el_is(const doc *d, int i, const char *ns, const char *local)
{
    return local_is(d, d->el[i].name, local) && ns_is(d, i, d->el[i].name, 0, ns);
}

#define XML_NS "http://www.w3.org/XML/1998/namespace"

/* Every prefix used must be declared; "xmlns:p" must not be empty. */
static xmp_status check_ns(doc *d)
{
    for (int i = 0; i < d->nel; i++) {
        const xel *e = &d->el[i];
        span pre = prefix_of(d, e->name), uri;
        if (pre.len == 5 && !memcmp(d->s + pre.off, "xmlns", 5))
            return perr(d, e->start, "element in the xmlns namespace");
        if (pre.len && !(pre.len == 3 && !memcmp(d->s + pre.off, "xml", 3)) &&
            !lookup(d, i, d->s + pre.off, pre.len, &uri))
            return perr(d, e->start, "unbound namespace prefix");
        for (int k = e->attr0; k < e->attr0 + e->nattr; k++) {
            span q = d->at[k].name, dp;
            if (is_decl(d, q, &dp)) {
                if (dp.len && d->at[k].val.len == 0)
                    return perr(d, d->at[k].start, "empty namespace declaration");
                /* A declared prefix must be an XML name (an NCName): a merge
                 * that reused "0mp" would write attributes no parser reads. */
                if (dp.len && !name_start((unsigned char)d->s[dp.off]))
                    return perr(d, d->at[k].start, "namespace prefix is not a name");
                for (size_t j = 1; j < dp.len; j++)
                    if (!name_char((unsigned char)d->s[dp.off + j]) || d->s[dp.off + j] == ':')
                        return perr(d, d->at[k].start, "namespace prefix is not a name");
                /* "xmlns" cannot be declared and "xml" only to its own URI
                 * (Namespaces in XML 1.0, section 3). */
                if ((dp.len == 5 && !memcmp(d->s + dp.off, "xmlns", 5)) ||
                    (dp.len == 3 && !memcmp(d->s + dp.off, "xml", 3) &&
                     !(d->at[k].val.len == sizeof XML_NS - 1 &&
                       !memcmp(d->s + d->at[k].val.off, XML_NS, sizeof XML_NS - 1))))
                    return perr(d, d->at[k].start, "reserved namespace prefix rebound");
                continue;
            }
            pre = prefix_of(d, q);
            if (pre.len && !(pre.len == 3 && !memcmp(d->s + pre.off, "xml", 3)) &&
                !lookup(d, i, d->s + pre.off, pre.len, &uri))
                return perr(d, d->at[k].start, "unbound namespace prefix");
        }
    }
    return XMP_OK;
}

/* A prefix bound to ns in scope of element i and not shadowed there. */
static int bound_prefix(const doc *d, int i, const char *ns, span *pre)
{
    for (int j = i; j >= 0; j = d->el[j].parent) {
        const xel *e = &d->el[j];
        for (int k = e->attr0; k < e->attr0 + e->nattr; k++) {
            span dp, uri;
            if (!is_decl(d, d->at[k].name, &dp) || dp.len == 0 ||
                !val_eq(d, d->at[k].val, ns))
                continue;
            if (lookup(d, i, d->s + dp.off, dp.len, &uri) && uri.off == d->at[k].val.off) {
                *pre = dp;
                return 1;
            }
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- merge */

typedef struct prop {
    const char *ns, *local, *pref;
    int value;
} prop;

typedef struct edits {
    edit *e;
    int n, cap;
} edits;

static edit *add_edit(edits *es, size_t off, size_t del)
{
    if (es->n == es->cap) {
        int cap = es->cap ? es->cap * 2 : 8;
        edit *p = realloc(es->e, (size_t)cap * sizeof *p);
        if (!p)
            return NULL;
        es->e = p;
        es->cap = cap;
    }
    edit *e = &es->e[es->n++];
    memset(e, 0, sizeof *e);
    e->off = off;
    e->del = del;
    return e;
}

static int cmp_edit(const void *a, const void *b)
{
    const edit *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* The whitespace that precedes element i's last attribute when it holds a
 * line break (so added attributes follow the file's layout), else " ". */
static void attr_sep(const doc *d, int i, sbuf *sep)
{
    const xel *e = &d->el[i];
    if (e->nattr > 0) {
        size_t a = d->at[e->attr0 + e->nattr - 1].start, b = a;
        while (b > e->name.off + e->name.len && is_ws((unsigned char)d->s[b - 1]))
            b--;
        if (memchr(d->s + b, '\n', a - b)) {
            sb_add(sep, d->s + b, a - b);
            return;
        }
    }
    sb_str(sep, " ");
}

/* Chooses the prefix for ns at element i: an existing binding, else a
 * free name derived from pref, declared in *decls. chosen/nchosen list
 * prefixes declared by this merge (and their namespaces) to avoid clashes. */
static void pick_prefix(const doc *d, int i, const char *ns, const char *pref, const sbuf *sep,
                        sbuf *decls, char chosen[][32], const char **chosen_ns, int *nchosen,
                        char out[32])
{
    span pre, uri;
    if (bound_prefix(d, i, ns, &pre) && pre.len < 32) {
        memcpy(out, d->s + pre.off, pre.len);
        out[pre.len] = 0;
        return;
    }
    for (int k = 0; k < *nchosen; k++)
        if (!strcmp(chosen_ns[k], ns)) {
            strcpy(out, chosen[k]);
            return;
        }
    for (int n = 0;; n++) {
        if (n == 0)
            snprintf(out, 32, "%s", pref);
        else
            snprintf(out, 32, "%s%d", pref, n);
        int clash = lookup(d, i, out, strlen(out), &uri);
        for (int k = 0; k < *nchosen && !clash; k++)
            clash = !strcmp(chosen[k], out);
        if (!clash)
            break;
    }
    strcpy(chosen[*nchosen], out);
    chosen_ns[(*nchosen)++] = ns;
    sb_add(decls, sep->p, sep->n);
    sb_str(decls, "xmlns:");
    sb_str(decls, out);
    sb_str(decls, "=\"");
    sb_str(decls, ns);
    sb_str(decls, "\"");
}

static int is_desc_of(const doc *d, int k, int rdf)
{
    return d->el[k].parent == rdf && el_is(d, k, NS_RDF, "Description");
}

static xmp_status merge_doc(doc *d, const prop *props, int nprops, edits *es)
{
    int rdf = -1;
    for (int i = 0; i < d->nel && rdf < 0; i++)
        if (el_is(d, i, NS_RDF, "RDF"))
            rdf = i;
    if (rdf < 0)
        return perr(d, 0, "no rdf:RDF element");
    int d0 = -1;
    for (int k = rdf + 1; k < d->nel && d0 < 0; k++)
        if (is_desc_of(d, k, rdf))
            d0 = k;

    const prop *missing[4];
    int nmissing = 0;
    char vbuf[16];
    for (int p = 0; p < nprops; p++) {
        int found = 0;
        snprintf(vbuf, sizeof vbuf, "%d", props[p].value);
        for (int i = rdf + 1; i < d->nel; i++) {
            if (!is_desc_of(d, i, rdf))
                continue;
            const xel *e = &d->el[i];
            /* Short form: the property is an attribute of the Description. */
            for (int k = e->attr0; k < e->attr0 + e->nattr; k++) {
                span q = d->at[k].name;
                if (local_is(d, q, props[p].local) && ns_is(d, i, q, 1, props[p].ns)) {
                    edit *ed = add_edit(es, d->at[k].val.off, d->at[k].val.len);
                    if (!ed)
                        return XMP_E_NOMEM;
                    sb_str(&ed->txt, vbuf);
                    found = 1;
                }
            }
            /* Long form: a child element holding the value. */
            for (int c = i + 1; c < d->nel && d->el[c].start < e->etag; c++) {
                const xel *ce = &d->el[c];
                if (ce->parent != i || !el_is(d, c, props[p].ns, props[p].local))
                    continue;
                edit *ed;
                if (ce->empty) {
                    ed = add_edit(es, ce->tag_close, 2);
                    if (!ed)
                        return XMP_E_NOMEM;
                    sb_str(&ed->txt, ">");
                    sb_str(&ed->txt, vbuf);
                    sb_str(&ed->txt, "</");
                    sb_add(&ed->txt, d->s + ce->name.off, ce->name.len);
                    sb_str(&ed->txt, ">");
                } else {
                    ed = add_edit(es, ce->content, ce->etag - ce->content);
                    if (!ed)
                        return XMP_E_NOMEM;
                    sb_str(&ed->txt, vbuf);
                }
                found = 1;
            }
        }
        if (!found)
            missing[nmissing++] = &props[p];
    }
    if (nmissing == 0)
        return XMP_OK;

    /* Add the missing properties as attributes of the first Description,
     * or of a new Description when rdf:RDF has none. */
    int host = d0 >= 0 ? d0 : rdf;
    sbuf sep = {0}, decls = {0}, attrs = {0};
    char chosen[8][32];
    const char *chosen_ns[8];
    int nchosen = 0;
    char pre[32], rdfpre[32];
    if (d0 >= 0)
        attr_sep(d, d0, &sep);
    else
        sb_str(&sep, " ");
    if (d0 < 0)
        pick_prefix(d, host, NS_RDF, "rdf", &sep, &decls, chosen, chosen_ns, &nchosen, rdfpre);
    for (int m = 0; m < nmissing; m++) {
        pick_prefix(d, host, missing[m]->ns, missing[m]->pref, &sep, &decls, chosen, chosen_ns,
                    &nchosen, pre);
        snprintf(vbuf, sizeof vbuf, "%d", missing[m]->value);
        sb_add(&attrs, sep.p, sep.n);
        sb_str(&attrs, pre);
        sb_str(&attrs, ":");
        sb_str(&attrs, missing[m]->local);
        sb_str(&attrs, "=\"");
        sb_str(&attrs, vbuf);
        sb_str(&attrs, "\"");
    }
    xmp_status st = XMP_OK;
    edit *ed;
    if (d0 >= 0) {
        ed = add_edit(es, d->el[d0].attrs_end, 0);
        if (!ed)
            goto nomem;
        sb_add(&ed->txt, decls.p, decls.n);
        sb_add(&ed->txt, attrs.p, attrs.n);
    } else {
        const xel *r = &d->el[rdf];
        ed = r->empty ? add_edit(es, r->tag_close, 2) : add_edit(es, r->etag, 0);
        if (!ed)
            goto nomem;
        if (r->empty)
            sb_str(&ed->txt, ">");
        sb_str(&ed->txt, "<");
        sb_str(&ed->txt, rdfpre);
        sb_str(&ed->txt, ":Description ");
        sb_str(&ed->txt, rdfpre);
        sb_str(&ed->txt, ":about=\"\"");
        sb_add(&ed->txt, decls.p, decls.n);
        sb_add(&ed->txt, attrs.p, attrs.n);
        sb_str(&ed->txt, "/>");
        if (r->empty) {
            sb_str(&ed->txt, "</");
            sb_add(&ed->txt, d->s + r->name.off, r->name.len);
            sb_str(&ed->txt, ">");
        }
    }
    if (sep.oom || decls.oom || attrs.oom || ed->txt.oom)
        goto nomem;
    goto done;
nomem:
    st = XMP_E_NOMEM;
done:
    free(sep.p);
    free(decls.p);
    free(attrs.p);
    return st;
}

xmp_status xmp_merge(const char *in, size_t len, const xmp_update *u, char **out,
                     size_t *out_len, char *err, size_t errsz)
{
    doc d = {0};
    edits es = {0};
    prop props[2];
    int nprops = 0;
    xmp_status st;
    sbuf res = {0};
    if (err && errsz)
        err[0] = 0;
    if (!out || !out_len || !u || (!in && len))
        return seterr(err, errsz, XMP_E_ARG, "NULL argument");
    *out = NULL;
    *out_len = 0;
    if (u->pick_label != XMP_KEEP) {
        if (u->pick_label < 0 || u->pick_label > 3)
            return seterr(err, errsz, XMP_E_ARG, "pick label %d not in 0..3", u->pick_label);
        props[nprops++] = (prop){NS_DK, "PickLabel", "digiKam", u->pick_label};
    }
    if (u->rating != XMP_KEEP) {
        if (u->rating < -1 || u->rating > 5)
            return seterr(err, errsz, XMP_E_ARG, "rating %d not in -1..5", u->rating);
        props[nprops++] = (prop){NS_XMP, "Rating", "xmp", u->rating};
    }
    d.s = in ? in : "";
    d.n = len;
    d.err = err;
    d.errsz = errsz;
    st = parse(&d);
    if (st == XMP_OK)
        st = check_ns(&d);
    if (st == XMP_OK)
        st = merge_doc(&d, props, nprops, &es);
    if (st != XMP_OK)
        goto fail;

    /* Apply the edits left to right; everything between them is copied. */
    if (es.n > 1) /* qsort needs a valid pointer even for 0 elements */
        qsort(es.e, (size_t)es.n, sizeof *es.e, cmp_edit);
    size_t p = 0;
    for (int k = 0; k < es.n; k++) {
        if (es.e[k].txt.oom) {
            st = XMP_E_NOMEM;
            goto fail;
        }
        sb_add(&res, d.s + p, es.e[k].off - p);
        sb_add(&res, es.e[k].txt.p ? es.e[k].txt.p : "", es.e[k].txt.n);
        p = es.e[k].off + es.e[k].del;
    }
    sb_add(&res, d.s + p, d.n - p);
    if (res.oom) {
        st = XMP_E_NOMEM;
        goto fail;
    }
    if (!res.p) {
        res.p = malloc(1);
        if (!res.p) {
            st = XMP_E_NOMEM;
            goto fail;
        }
    }
    *out = res.p;
    *out_len = res.n;
    res.p = NULL;
    st = (*out_len == len && memcmp(*out, d.s, len) == 0) ? XMP_UNCHANGED : XMP_OK;
fail:
    if (st == XMP_E_NOMEM)
        seterr(err, errsz, st, "out of memory");
    for (int k = 0; k < es.n; k++)
        free(es.e[k].txt.p);
    free(es.e);
    free(d.el);
    free(d.at);
    free(res.p);
    return st;
}

xmp_status xmp_create(const xmp_update *u, char **out, size_t *out_len, char *err, size_t errsz)
{
    static const char tmpl[] =
        "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\" x:xmptk=\"iqs\">\n"
        " <rdf:RDF xmlns:rdf=\"" NS_RDF "\">\n"
        "  <rdf:Description\n"
        "    rdf:about=\"\"/>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        "<?xpacket end=\"w\"?>\n";
    xmp_status st = xmp_merge(tmpl, sizeof tmpl - 1, u, out, out_len, err, errsz);
    return st == XMP_UNCHANGED ? XMP_OK : st;
}

int xmp_sidecar_path(const char *image, int adobe, char *buf, size_t bufsz)
{
    size_t n = strlen(image);
    if (adobe) {
        const char *slash = strrchr(image, '/');
        const char *dot = strrchr(image, '.');
        /* Only a dot inside the last component that is not its first byte. */
        if (dot && (!slash || dot > slash + 1) && dot != image)
            n = (size_t)(dot - image);
    }
    if (n + 5 > bufsz)
        return -1;
    memcpy(buf, image, n);
    memcpy(buf + n, ".xmp", 5);
    return 0;
}

/* ----------------------------------------------------------------- files */

static atomic_uint tmp_counter;

static xmp_status read_all(int fd, char **buf, size_t *len, char *err, size_t errsz,
                           const char *path)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return seterr(err, errsz, XMP_E_IO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return seterr(err, errsz, XMP_E_IO, "%s: not a regular file", path);
    if ((uint64_t)st.st_size > XMP_MAX_FILE_BYTES)
        return seterr(err, errsz, XMP_E_LIMIT, "%s: larger than %zu bytes", path,
                      XMP_MAX_FILE_BYTES);
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *p = malloc(cap);
    if (!p)
        return seterr(err, errsz, XMP_E_NOMEM, "out of memory");
    for (;;) {
        if (n == cap) { /* the file grew while we read it */
            if (cap > XMP_MAX_FILE_BYTES) {
                free(p);
                return seterr(err, errsz, XMP_E_LIMIT, "%s: too large", path);
            }
            char *q = realloc(p, cap * 2);
            if (!q) {
                free(p);
                return seterr(err, errsz, XMP_E_NOMEM, "out of memory");
            }
            p = q;
            cap *= 2;
        }
        ssize_t r = read(fd, p + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(p);
            return seterr(err, errsz, XMP_E_IO, "%s: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *buf = p;
    *len = n;
    return XMP_OK;
}

static int write_full(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Replaces target with data via a temporary file in the same folder. */
static xmp_status write_atomic(const char *target, const char *data, size_t len,
                               const struct stat *old, char *err, size_t errsz)
{
    const char *slash = strrchr(target, '/');
    size_t dlen = slash ? (size_t)(slash - target) : 0;
    const char *base = slash ? slash + 1 : target;
    char dir[4096], tmp[4096];
    if (dlen + 1 > sizeof dir)
        return seterr(err, errsz, XMP_E_IO, "%s: path too long", target);
    if (slash) {
        memcpy(dir, target, dlen);
        dir[dlen] = 0;
        if (dlen == 0)
            strcpy(dir, "/");
    } else {
        strcpy(dir, ".");
    }
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 100; tries++) {
        unsigned k = atomic_fetch_add(&tmp_counter, 1u);
        int w = snprintf(tmp, sizeof tmp, "%s%s.%s.iqs-%ld-%u.tmp", slash ? dir : "",
                         slash ? "/" : "", base, (long)getpid(), k);
        if (w < 0 || (size_t)w >= sizeof tmp)
            return seterr(err, errsz, XMP_E_IO, "%s: path too long", target);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            return seterr(err, errsz, XMP_E_IO, "cannot create a file in %s: %s", dir,
                          strerror(errno));
    }
    if (fd < 0)
        return seterr(err, errsz, XMP_E_IO, "cannot create a temporary file in %s", dir);
    const char *what = "write";
    if (write_full(fd, data, len) != 0)
        goto fail;
    if (old) {
        /* Keep the old file's permissions (and owner, when allowed). */
        what = "chmod";
        if (fchmod(fd, old->st_mode & 07777) != 0)
            goto fail;
        if (fchown(fd, old->st_uid, old->st_gid) != 0) {
            /* not permitted for ordinary users: keep ours */
        }
    }
    what = "fsync";
    if (fsync(fd) != 0)
        goto fail;
    what = "close";
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    what = "rename";
    if (rename(tmp, target) != 0)
        goto fail;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        /* Makes the rename durable; a failure here cannot be undone, and
         * the new sidecar is already in place, so it is not an error. */
        (void)fsync(dfd);
        close(dfd);
    }
    return XMP_OK;
fail:;
    int e = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return seterr(err, errsz, XMP_E_IO, "%s: %s failed: %s", target, what, strerror(e));
}

xmp_status xmp_update_file(const char *path, const xmp_update *u, int dry_run, int *created,
                           char *err, size_t errsz)
{
    char real[4096];
    const char *target = path;
    char *old = NULL, *neu = NULL;
    size_t olen = 0, nlen = 0;
    struct stat st, lst;
    int exists = 0;
    xmp_status s;
    if (err && errsz)
        err[0] = 0;
    if (created)
        *created = 0;
    if (!path || !u)
        return seterr(err, errsz, XMP_E_ARG, "NULL argument");
    if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
        if (!realpath(path, real))
            return seterr(err, errsz, XMP_E_IO, "%s: symlink cannot be resolved: %s", path,
                          strerror(errno));
        target = real;
    }
    /* O_NONBLOCK: a FIFO named like the sidecar must not block the open */
    int fd = open(target, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 && errno != ENOENT)
        return seterr(err, errsz, XMP_E_IO, "%s: %s", target, strerror(errno));
    if (fd >= 0) {
        exists = 1;
        if (fstat(fd, &st) != 0) {
            s = seterr(err, errsz, XMP_E_IO, "%s: %s", target, strerror(errno));
            close(fd);
            return s;
        }
        int fl = S_ISREG(st.st_mode) ? fcntl(fd, F_GETFL) : -1;
        if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
            s = seterr(err, errsz, XMP_E_IO, "%s: %s", target,
                       S_ISREG(st.st_mode) ? strerror(errno)
                                           : "not a regular file");
            close(fd);
            return s;
        }
        s = read_all(fd, &old, &olen, err, errsz, target);
        close(fd);
        if (s != XMP_OK)
            return s;
        s = xmp_merge(old, olen, u, &neu, &nlen, err, errsz);
    } else {
        s = xmp_create(u, &neu, &nlen, err, errsz);
    }
    if (created)
        *created = !exists;
    if (s == XMP_OK && !dry_run)
        s = write_atomic(target, neu, nlen, exists ? &st : NULL, err, errsz);
    free(old);
    free(neu);
    return s;
}
